"""Story images on a timeline: image i from `starts[i]` to `starts[i+1]`, with a slow pan.

Cheap by construction: each still is decoded, scaled and converted to yuv420p once (one
frame), then repeated with ffmpeg's `loop` filter (reference-counted copies, no new pixels)
and moved with `crop`, whose x/y are evaluated per frame but only shift the picture's data
pointers. So the pan costs nearly nothing per frame, unlike `zoompan` or a per-frame `scale`
of a looped image, and the render stays at the background-only floor (bench/render.py
`--background images:ai`). Frame counts come from the rounded start times, so cuts land on
the frame where each beat's first line is spoken, and rounding never accumulates.
"""

from __future__ import annotations

import math
from pathlib import Path

from workbench.render.profiles import RenderProfile

MARGIN = 1.12  # the still is scaled 12% larger than the frame; the pan travels this margin
# (dx, dy) directions of the pan, one per beat in turn: across, back, and two diagonals
PANS = ((1, 0), (-1, 0), (1, 1), (-1, -1), (0, 1), (0, -1))


def _axis(direction: int, frames: int, span: str) -> str:
    if direction == 0:
        return f"({span})/2"
    travel = f"n/{max(1, frames - 1)}"
    return f"({span})*{travel}" if direction > 0 else f"({span})*(1-{travel})"


def frame_counts(starts: tuple[float, ...], duration: float, fps: int) -> list[int]:
    """Frames of each image: from its start's frame to the next start's (the last: to the
    end, plus one frame of slack that the output's -t cuts)."""
    marks = [round(max(0.0, s) * fps) for s in starts]
    marks[0] = 0
    end = math.ceil(duration * fps) + 1
    counts = []
    for i, mark in enumerate(marks):
        nxt = marks[i + 1] if i + 1 < len(marks) else end
        counts.append(max(1, nxt - mark))
    return counts


def timed_stills_graph(images: tuple[Path, ...], starts: tuple[float, ...],
                       profile: RenderProfile, duration: float, first_input: int,
                       seed: int = 0) -> tuple[list[str], str]:
    """ffmpeg input args and a filter chain producing `[bg]`."""
    if len(images) != len(starts) or not images:
        raise ValueError("one start time per image")
    w, h, fps = profile.width, profile.height, profile.fps
    bw, bh = math.ceil(w * MARGIN / 2) * 2, math.ceil(h * MARGIN / 2) * 2
    args: list[str] = []
    chains, labels = [], []
    for i, (image, frames) in enumerate(zip(images, frame_counts(starts, duration, fps),
                                            strict=True)):
        args += ["-framerate", str(fps), "-i", str(Path(image).absolute())]
        dx, dy = PANS[(i + seed) % len(PANS)]
        x, y = _axis(dx, frames, "iw-ow"), _axis(dy, frames, "ih-oh")
        chains.append(
            f"[{first_input + i}:v]scale={bw}:{bh}:force_original_aspect_ratio=increase"
            f":flags=lanczos,crop={bw}:{bh},setsar=1,format=yuv420p,"
            f"loop=loop={frames - 1}:size=1:start=0,settb=1/{fps},setpts=N,"
            f"crop={w}:{h}:'{x}':'{y}'[st{i}]")
        labels.append(f"[st{i}]")
    if len(images) == 1:
        return args, chains[0].replace("[st0]", "[bg]")
    return args, ";".join(chains) + f";{''.join(labels)}concat=n={len(images)}:v=1:a=0[bg]"
