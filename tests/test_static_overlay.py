"""The label and banner drawn once and overlaid (render/static_overlay.py) look the same as
libass drawing them on every frame: same luma within rounding, nothing cut off by the bands,
the label switched off when it ends. Real ffmpeg, one or two frames per case."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from workbench.ffmpeg import run_ffmpeg
from workbench.fonts import default_font_file
from workbench.render.overlays import OverlaySpec, add_label_and_banner, new_ass, top_layout
from workbench.render.static_overlay import (
    STATIC_FILE,
    bands,
    static_ass,
    static_overlay_graph,
)

FPS = 10
GREY = "0x8c8c8c"  # neither the outline's black, the box's, the text's white nor the yellow


def spec(label: str = "本视频含AI生成内容", banner: str = "番茄小说搜索【夜渡迷局】",
         label_seconds: float = 0) -> OverlaySpec:
    return OverlaySpec(label=label, label_seconds=label_seconds, banner=banner, end_card=(),
                       end_card_seconds=0, keyword="夜渡迷局")


def frames(tmp: Path, s: OverlaySpec, size: tuple[int, int], duration: float,
           picks: tuple[int, ...], *, ours: bool) -> list[np.ndarray]:
    """Luma planes (and chroma) of frames `picks` of a grey clip with the label and banner,
    drawn by the static overlay (`ours`) or by libass on every frame."""
    w, h = size
    font = default_font_file()
    layout = top_layout(s, duration, font)
    work = tmp / ("ours" if ours else "libass")
    (work / "fonts").mkdir(parents=True)
    (work / "fonts" / font.name).symlink_to(font)
    if ours:  # laid out for the canvas of the frame's top
        script = static_ass(s, duration, layout, h)
    else:  # the same events in the full overlay's play resolution
        full = new_ass()
        add_label_and_banner(full, s, duration, layout)
        script = full.to_string("ass")
    (work / STATIC_FILE).write_text(script, encoding="utf-8")
    src = f"color=c={GREY}:s={w}x{h}:r={FPS}:d={duration},format=yuv420p"
    if ours:
        graph = (f"{src}[src];" + static_overlay_graph(s, duration, layout, font, size, FPS,
                                                       "fonts", src="src", out="out"))
    else:
        graph = f"{src},subtitles=filename={STATIC_FILE}:fontsdir=fonts[out]"
    pick = "+".join(f"eq(n,{n})" for n in picks)
    raw = run_ffmpeg(["-filter_complex", f"{graph};[out]select='{pick}',format=yuv420p[v]",
                      "-map", "[v]", "-fps_mode", "passthrough", "-f", "rawvideo", "pipe:1"],
                     cwd=work, what="test overlay")
    size_of = w * h * 3 // 2
    assert len(raw) == size_of * len(picks)
    return [np.frombuffer(raw[i * size_of:(i + 1) * size_of], np.uint8).astype(int)
            for i in range(len(picks))]


def split_planes(frame: np.ndarray, w: int, h: int) -> tuple[np.ndarray, np.ndarray]:
    return frame[:w * h].reshape(h, w), frame[w * h:].reshape(2, h // 2, w // 2)


@pytest.mark.parametrize(("size", "s"), [
    ((1080, 1920), spec()),
    ((720, 1280), spec()),
    ((1080, 1920), spec(label="AI生成", banner="搜【夜】")),
    ((720, 1280), spec(banner="番茄小说搜索【一个特别特别长的书名会被缩小字号放进一行】")),
])
def test_same_picture_as_libass_on_every_frame(tmp_path: Path, size: tuple[int, int],
                                               s: OverlaySpec) -> None:
    w, h = size
    (ours,) = frames(tmp_path, s, size, 1.0, (3,), ours=True)
    (theirs,) = frames(tmp_path, s, size, 1.0, (3,), ours=False)
    y_ours, c_ours = split_planes(ours, w, h)
    y_theirs, c_theirs = split_planes(theirs, w, h)
    drawn = np.abs(y_theirs - int(GREY[2:4], 16) * 219 // 255 - 16) > 4
    assert drawn.sum() > 0.01 * w * h  # libass did draw the label and banner
    # luma: the same within rounding everywhere (a band too small would cut ink off)
    assert np.abs(y_ours - y_theirs).max() <= 3
    # chroma: the same but where 4:2:0 is subsampled at the yellow's edges, and not tinted
    # (a colour left on untouched pixels tints the outline's outer edge: bias ≥ 0.04)
    diff = c_ours - c_theirs
    assert (np.abs(diff) > 8).sum() < 0.02 * drawn.sum() and np.abs(diff).max() <= 32
    assert np.abs(diff.reshape(2, -1).sum(axis=1)).max() < 0.015 * drawn.sum()
    # the bands hold all of it and not much more than it
    label, banner = bands(s, top_layout(s, 1.0, default_font_file()), default_font_file(), size)
    inside = np.zeros((h, w), bool)
    for band in (label, banner):
        inside[band.y:band.y + band.h, band.x:band.x + band.w] = True
    assert not (drawn & ~inside).any()
    assert inside.sum() < 3 * drawn.sum()


def test_label_goes_off_when_it_ends(tmp_path: Path) -> None:
    s = spec(label_seconds=1.0)
    size = (720, 1280)
    early, late = frames(tmp_path, s, size, 2.0, (5, 15), ours=True)
    label, banner = bands(s, top_layout(s, 2.0, default_font_file()), default_font_file(), size)
    grey = int(GREY[2:4], 16) * 219 // 255 + 16

    def ink(frame: np.ndarray, band) -> int:
        y, _ = split_planes(frame, *size)
        region = y[band.y:band.y + band.h, band.x:band.x + band.w]
        return int((np.abs(region - grey) > 4).sum())

    assert ink(early, label) > 2000 and ink(late, label) == 0
    assert ink(early, banner) > 2000 and ink(late, banner) == ink(early, banner)
