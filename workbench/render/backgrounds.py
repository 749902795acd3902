"""Backgrounds: the reading page (the default), looped footage, still images with a slow pan,
or a generated animation.

`resolve_background` looks at the files (the only impure part: listing, probing durations,
decoding every still and the first second of footage, so a damaged file is refused before the
render); `background_graph` turns the result into ffmpeg inputs plus a filter chain that
ends in `[bg]`, a W×H stream at the profile's frame rate. Which clip, which start offset, which
palette all follow from the seed, so a variant seed gives a different but repeatable video.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from workbench.errors import InputError
from workbench.fonts import serif_font_file
from workbench.render.page import (
    PAGE,
    PAGE_FILE,
    PageText,
    is_page_spec,
    page_ass,
    page_graph,
    parse_theme,
    sample_page,
)
from workbench.render.probe import check_media, check_still
from workbench.render.profiles import RenderProfile

VIDEO_EXTS = {".mp4", ".mov", ".mkv", ".webm", ".m4v", ".avi", ".flv"}
IMAGE_EXTS = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}
MAX_IMAGES = 12
GENERATED = "generated"
FONTS_DIR = "fonts"  # the work folder's fonts (render/plan.py writes them there)
STORY_IMAGES = "images:ai"  # pictures made per story beat after the voice (workbench/images)

# Dark, low-contrast palettes: calm enough to read white subtitles over.
PALETTES: tuple[tuple[str, ...], ...] = (
    ("0x1b2a4a", "0x4a1b3a", "0x0f3b3b", "0x2a2a5a"),
    ("0x2b1d0e", "0x4a2c1b", "0x1e2b3a", "0x3a1f2b"),
    ("0x0e2b22", "0x1b3a4a", "0x243a1b", "0x0f1f3b"),
    ("0x301b3a", "0x1b1f4a", "0x3a1b24", "0x142a3a"),
    ("0x1f1f2b", "0x3a2b1b", "0x1b3a3a", "0x2b1b1b"),
)
GRADIENT_TYPES = ("linear", "radial", "circular")


@dataclass(frozen=True)
class Background:
    """A resolved background: what the plan needs, no file access left."""

    kind: Literal["generated", "footage", "images", "page"]
    clips: tuple[tuple[Path, float], ...] = ()  # footage: (path, duration seconds)
    images: tuple[Path, ...] = ()
    seed: int = 0
    # images: when each one comes on (seconds; story images aligned to the voice); () → equal
    starts: tuple[float, ...] = ()
    theme: str = ""  # page: paper | night
    page: PageText | None = None  # page: the narration, set once the voice is made

    def describe(self) -> dict:
        out = {"kind": self.kind, "clips": [[str(p), d] for p, d in self.clips],
               "images": [str(p) for p in self.images], "seed": self.seed,
               **({"starts": list(self.starts)} if self.starts else {})}
        if self.kind == PAGE:
            out["page"] = {"theme": self.theme, "app": self.page.app if self.page else "",
                           "title": self.page.title if self.page else ""}
        return out


def _media_files(folder: Path) -> tuple[list[Path], list[Path]]:
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    return ([p for p in files if p.suffix.lower() in VIDEO_EXTS],
            [p for p in files if p.suffix.lower() in IMAGE_EXTS])


def probe_duration(path: Path) -> float:
    """Duration of a background video in seconds, once it is known to decode (see
    `probe.check_media`: a damaged clip is refused here, not by a stuck render)."""
    return check_media(path, "video", "背景视频")


def resolve_background(spec: str | Path | None, seed: int = 0,
                       page_theme: str = "paper") -> Background:
    """`None`/"page" → the reading page (`page:night` its night theme; the text is added by
    `with_page_text` once the narration exists); "generated" → the built-in animation; a
    folder → its videos (one picked per seed) or, if it has none, its images; a single video
    or image file."""
    if spec is None or str(spec) == "" or is_page_spec(str(spec)):
        return Background(PAGE, seed=seed, theme=parse_theme(str(spec or PAGE), page_theme))
    if str(spec) == GENERATED:
        return Background(GENERATED, seed=seed)
    if str(spec) == STORY_IMAGES:
        raise InputError("images:ai 背景要等配音完成后按文案逐段生成配图，不能单独预览或检查；"
                         "请在 make 或批量任务里使用")
    path = Path(spec).expanduser().absolute()
    if not path.exists():
        raise InputError(f"背景不存在: {path}（给一个视频/图片文件或文件夹，或用 generated）")
    if path.is_dir():
        videos, images = _media_files(path)
        if videos:
            chosen = videos[random.Random(seed).randrange(len(videos))]
            return Background("footage", clips=((chosen, probe_duration(chosen)),), seed=seed)
        if images:
            rng = random.Random(seed)
            picked = rng.sample(images, min(len(images), MAX_IMAGES))
            for image in picked:
                check_still(image)
            return Background("images", images=tuple(picked), seed=seed)
        raise InputError(
            f"背景文件夹里没有视频或图片: {path}"
            f"（支持 {', '.join(sorted(VIDEO_EXTS | IMAGE_EXTS))}）"
        )
    suffix = path.suffix.lower()
    if suffix in VIDEO_EXTS:
        return Background("footage", clips=((path, probe_duration(path)),), seed=seed)
    if suffix in IMAGE_EXTS:
        check_still(path)
        return Background("images", images=(path,), seed=seed)
    raise InputError(f"不支持的背景文件类型: {path}（支持视频 {', '.join(sorted(VIDEO_EXTS))}"
                     f"，图片 {', '.join(sorted(IMAGE_EXTS))}）")


def check_background(spec: str | Path | None) -> None:
    """Every file a background may use decodes — what the batch dry run checks, since the
    variants of a batch pick different clips or images from a folder."""
    resolve_background(spec)
    path = (None if spec is None or str(spec) in ("", GENERATED) or is_page_spec(str(spec))
            else Path(spec).expanduser())
    if path is not None and path.is_dir():
        videos, images = _media_files(path.absolute())
        for video in videos:
            probe_duration(video)
        if not videos:
            for image in images:
                check_still(image)


def with_page_text(bg: Background, text: PageText) -> Background:
    """The page background showing `text` (other kinds are returned as they are)."""
    return replace(bg, page=text) if bg.kind == PAGE else bg


def background_files(bg: Background, duration: float) -> dict[str, str]:
    """Files `background_graph`'s chain reads from the work folder (name → text): the page's
    ASS script, laid out with the book face's metrics."""
    if bg.kind != PAGE:
        return {}
    return {PAGE_FILE: page_ass(bg.page or sample_page(), bg.theme, duration, serif_font_file(),
                               bg.seed)}


def background_fonts(bg: Background) -> tuple[Path, ...]:
    """Font files the background's chain needs in the work folder's fonts/."""
    return (serif_font_file(),) if bg.kind == PAGE else ()


def _cover(w: int, h: int) -> str:
    """Scale to fill w×h and centre-crop: no black bars, whatever the source shape."""
    return f"scale={w}:{h}:force_original_aspect_ratio=increase,crop={w}:{h},setsar=1"


def footage_start(bg: Background) -> float:
    """Where in its clip a footage background starts (from the seed: variants differ)."""
    return random.Random(bg.seed).uniform(0, max(0.0, bg.clips[0][1] - 1.0))


def background_graph(bg: Background, profile: RenderProfile, duration: float,
                     first_input: int) -> tuple[list[str], str]:
    """ffmpeg input args and a filter chain producing `[bg]` for `duration` seconds."""
    w, h, fps = profile.width, profile.height, profile.fps
    if bg.kind == PAGE:
        return page_graph(bg.theme, bg.seed, w, h, fps, duration, first_input, FONTS_DIR)
    rng = random.Random(bg.seed)
    if bg.kind == GENERATED:
        palette = PALETTES[rng.randrange(len(PALETTES))]
        kind = GRADIENT_TYPES[rng.randrange(len(GRADIENT_TYPES))]
        colours = ":".join(f"c{i}={c}" for i, c in enumerate(palette))
        # Drawn small and scaled up: smooth gradients lose nothing and cost almost nothing.
        source = (f"gradients=s={w // 4}x{h // 4}:r={fps}:{colours}:n={len(palette)}"
                  f":speed=0.006:type={kind}:seed={bg.seed % 2**31}:d={duration + 1:.3f}")
        return (["-f", "lavfi", "-i", source],
                f"[{first_input}:v]scale={w}:{h}:flags=bicubic,setsar=1,fps={fps}[bg]")
    if bg.kind == "footage":
        path, _ = bg.clips[0]
        start = footage_start(bg)
        args = ["-stream_loop", "-1", "-ss", f"{start:.3f}", "-i", str(path)]
        return args, f"[{first_input}:v]{_cover(w, h)},fps={fps}[bg]"
    if bg.starts:
        from workbench.render.story_stills import timed_stills_graph

        return timed_stills_graph(bg.images, bg.starts, profile, duration, first_input, bg.seed)
    # Still images: each shown for an equal share, panning slowly across a 12% larger frame.
    n = len(bg.images)
    share = duration / n + 0.5
    args: list[str] = []
    chains, labels = [], []
    bw, bh = round(w * 1.12) // 2 * 2, round(h * 1.12) // 2 * 2
    for i, image in enumerate(bg.images):
        args += ["-loop", "1", "-framerate", str(fps), "-t", f"{share:.3f}", "-i", str(image)]
        forward = (i + bg.seed) % 2 == 0
        x = f"(iw-ow)*t/{share:.3f}" if forward else f"(iw-ow)*(1-t/{share:.3f})"
        chains.append(f"[{first_input + i}:v]{_cover(bw, bh)},crop={w}:{h}:'{x}':'(ih-oh)/2',"
                      f"fps={fps},format=yuv420p[im{i}]")
        labels.append(f"[im{i}]")
    if n == 1:
        return args, chains[0].replace("[im0]", "[bg]")
    return args, ";".join(chains) + f";{''.join(labels)}concat=n={n}:v=1:a=0[bg]"
