"""Story images on a timeline: image i from `starts[i]` to `starts[i+1]`, with a slow zoom or
pan (Ken Burns): the beats take turns zooming in, panning, zooming out, panning.

Cheap by construction: each still is decoded, scaled and converted to yuv420p once (one
frame, MARGIN times the frame's size), then repeated with ffmpeg's `loop` filter
(reference-counted copies, no new pixels). A pan moves `crop` over it, whose x/y are evaluated
per frame but only shift the picture's data pointers (by even steps: luma and chroma move
together, which x264 predicts exactly). A zoom scales that one frame per frame
(bilinear, `eval=frame`) from the frame's size up to the still's, and `crop` keeps the middle:
about 2 ms a frame at 1080×1920, from the pre-scaled still, never from the original (not
`zoompan`, which sets up a new scaler every frame and moves its window in whole, chroma-aligned
pixels). The scaled size moves in steps of 2 px, so the middle stays exactly in place and the
edges move by at most one pixel at a time (the crop is `exact`, so an odd offset is not
rounded to the chroma grid). What a zoom really costs is x264's work: every size step is a new
picture to code (a detailed 5 s beat: ~4× the bits, 1.5–2× the encode CPU of a pan), which any
zooming background pays; bench/render.py `--background images:ai` encodes the same motion
without the overlays as its floor. Frame counts come from the rounded start times, so cuts land
on the frame where each beat's first line is spoken, and rounding never accumulates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from workbench.render.profiles import RenderProfile

MARGIN = 1.12  # the still is scaled 12% larger than the frame; pans and zooms travel this
# (dx, dy) directions of the pans, one per panning beat in turn: across, back, two diagonals
PANS = ((1, 0), (-1, 0), (1, 1), (-1, -1), (0, 1), (0, -1))


@dataclass(frozen=True)
class Motion:
    """How one beat's still moves: a zoom (in: +1, out: −1) about the middle, or a pan."""

    zoom: int = 0
    dx: int = 0
    dy: int = 0

    def zoom_at(self, frame: int, frames: int) -> float:
        """The planned magnification at `frame` of `frames`: 1 shows the whole still fitted to
        cover the video frame, MARGIN its middle at the pre-scaled size (what a pan shows)."""
        if self.zoom == 0:
            return MARGIN
        done = frame / max(1, frames - 1)
        return 1 + (MARGIN - 1) * (done if self.zoom > 0 else 1 - done)


def beat_motion(index: int, seed: int = 0) -> Motion:
    """Beat `index`'s motion: zoom in, pan, zoom out, pan, … (the seed shifts the cycle)."""
    turn = index + seed
    if turn % 2 == 0:
        return Motion(zoom=1 if turn % 4 == 0 else -1)
    dx, dy = PANS[(turn // 2) % len(PANS)]
    return Motion(dx=dx, dy=dy)


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


def still_size(profile: RenderProfile) -> tuple[int, int]:
    """The size each still is scaled to once: MARGIN times the frame, even."""
    return (math.ceil(profile.width * MARGIN / 2) * 2,
            math.ceil(profile.height * MARGIN / 2) * 2)


def motion_chain(motion: Motion, frames: int, fps: int, frame: tuple[int, int],
                 still: tuple[int, int]) -> str:
    """The per-frame filters that move a looped still of size `still` into `frame`."""
    w, h = frame
    if motion.zoom == 0:
        x, y = _axis(motion.dx, frames, "iw-ow"), _axis(motion.dy, frames, "ih-oh")
        # even offsets (crop's default): luma and chroma move together, so x264 predicts
        # the pan exactly; odd 1-px steps (`exact`) shift the chroma by half a pixel against
        # the luma and cost ~3× the bits
        return f"crop={w}:{h}:'{x}':'{y}'"
    bw, bh = still
    # the scaled size from w×h (zoom 1) to the still's (zoom MARGIN), in steps of 2 px: the
    # zoom is linear in time and the middle stays put
    # from the frame's time (pts = frame number): scale's and crop's `n` are counted apart
    span = max(1, frames - 1) / fps
    done = f"t/{span:.6f}" if motion.zoom > 0 else f"(1-t/{span:.6f})"
    x, y = f"round({(bw - w) // 2}*{done})", f"round({(bh - h) // 2}*{done})"
    # crop's iw/ih keep the first frame's size: its offsets come from the frame number too
    return (f"scale=w='{w}+2*{x}':h='{h}+2*{y}':eval=frame:flags=bilinear,"
            f"crop={w}:{h}:'{x}':'{y}':exact=1")


def timed_stills_graph(images: tuple[Path, ...], starts: tuple[float, ...],
                       profile: RenderProfile, duration: float, first_input: int,
                       seed: int = 0) -> tuple[list[str], str]:
    """ffmpeg input args and a filter chain producing `[bg]`."""
    if len(images) != len(starts) or not images:
        raise ValueError("one start time per image")
    w, h, fps = profile.width, profile.height, profile.fps
    bw, bh = still_size(profile)
    args: list[str] = []
    chains, labels = [], []
    for i, (image, frames) in enumerate(zip(images, frame_counts(starts, duration, fps),
                                            strict=True)):
        args += ["-framerate", str(fps), "-i", str(Path(image).absolute())]
        move = motion_chain(beat_motion(i, seed), frames, fps, (w, h), (bw, bh))
        chains.append(
            f"[{first_input + i}:v]scale={bw}:{bh}:force_original_aspect_ratio=increase"
            f":flags=lanczos,crop={bw}:{bh},setsar=1,format=yuv420p,"
            f"loop=loop={frames - 1}:size=1:start=0,settb=1/{fps},setpts=N,"
            f"{move},setsar=1[st{i}]")
        labels.append(f"[st{i}]")
    if len(images) == 1:
        return args, chains[0].replace("[st0]", "[bg]")
    return args, ";".join(chains) + f";{''.join(labels)}concat=n={len(images)}:v=1:a=0[bg]"
