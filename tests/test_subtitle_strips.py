"""Subtitle lines drawn once and switched in by time (render/subtitle_strips.py) look the same
as libass drawing them on every frame, on the same frames: same luma within rounding, no ink
outside the band, each line on from the frame its event starts to the frame it ends, in every
preset that can take this path; karaoke and positioned text stay with libass. Real ffmpeg."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from workbench.ffmpeg import run_ffmpeg
from workbench.fonts import default_font_file
from workbench.render.subtitle_strips import STRIPS_FILE, plan_strips, strips_graph
from workbench.subtitle_styles import POSITIONS, PRESETS
from workbench.subtitles import SubtitleEvent, SubtitleStyle, to_ass

FPS = 20
GREY = "0x8c8c8c"
KEYWORD = "夜渡迷局"
SUBS_FILE = "subs.ass"


def script(style: SubtitleStyle, spans: tuple[tuple[float, float, str], ...]) -> str:
    events = [SubtitleEvent(start=a, end=b, text=t, segment=0) for a, b, t in spans]
    return to_ass(events, style, KEYWORD).to_string("ass")


def frames(tmp: Path, ass: str, size: tuple[int, int], duration: float,
           picks: tuple[int, ...] | None, *, ours: bool) -> list[np.ndarray]:
    """YUV 4:2:0 frames (flat arrays) of a grey clip with the subtitles, drawn by the strips
    (`ours`) or by libass on every frame; `picks` None: every frame."""
    w, h = size
    font = default_font_file()
    work = tmp / ("ours" if ours else "libass")
    (work / "fonts").mkdir(parents=True)
    (work / "fonts" / font.name).symlink_to(font)
    src = f"color=c={GREY}:s={w}x{h}:r={FPS}:d={duration},format=yuv420p"
    if ours:
        strips = plan_strips(ass, size)
        assert strips is not None
        (work / STRIPS_FILE).write_text(strips.script, encoding="utf-8")
        graph = f"{src}[src];" + strips_graph(strips, FPS, "fonts", src="src", out="out")
    else:
        (work / SUBS_FILE).write_text(ass, encoding="utf-8")
        graph = f"{src},subtitles=filename={SUBS_FILE}:fontsdir=fonts[out]"
    pick = ("select='" + "+".join(f"eq(n,{n})" for n in picks) + "'," if picks else "")
    raw = run_ffmpeg(["-filter_complex", f"{graph};[out]{pick}format=yuv420p[v]",
                      "-map", "[v]", "-fps_mode", "passthrough", "-f", "rawvideo", "pipe:1"],
                     cwd=work, what="test strips")
    size_of = w * h * 3 // 2
    count = len(picks) if picks else round(duration * FPS)
    assert len(raw) == size_of * count
    return [np.frombuffer(raw[i * size_of:(i + 1) * size_of], np.uint8).astype(int)
            for i in range(count)]


def luma(frame: np.ndarray, w: int, h: int) -> np.ndarray:
    return frame[:w * h].reshape(h, w)


GREY_Y = int(GREY[2:4], 16) * 219 // 255 + 16

CASES = [
    ((1080, 1920), PRESETS["white-outline"].style),
    ((720, 1280), PRESETS["yellow-outline"].style),
    ((1080, 1920), PRESETS["big-center"].style),
    ((720, 1280), SubtitleStyle(alignment=POSITIONS["top"], margin_v=300, font_size=70)),
]


@pytest.mark.parametrize(("size", "style"), CASES)
def test_same_picture_as_libass_on_every_frame(tmp_path: Path, size: tuple[int, int],
                                               style: SubtitleStyle) -> None:
    w, h = size
    ass = script(style, ((0.0, 0.5, f"船票背面写着{KEYWORD}"), (0.5, 1.0, "雾里传来一声咳嗽")))
    picks = (3, 14)
    ours = frames(tmp_path, ass, size, 1.0, picks, ours=True)
    theirs = frames(tmp_path, ass, size, 1.0, picks, ours=False)
    band = plan_strips(ass, size).band
    inside = np.zeros((h, w), bool)
    inside[band.y:band.y + band.h] = True
    assert band.h < 0.3 * h  # a band, not the frame
    for a, b in zip(ours, theirs, strict=True):
        y_ours, y_theirs = luma(a, w, h), luma(b, w, h)
        drawn = np.abs(y_theirs - GREY_Y) > 4
        assert drawn.sum() > 0.003 * w * h  # libass did draw a line
        assert not (drawn & ~inside).any()  # all of it inside the band
        assert np.abs(y_ours - y_theirs).max() <= 3
        c_diff = a[w * h:] - b[w * h:]
        assert (np.abs(c_diff) > 8).sum() < 0.03 * drawn.sum() and np.abs(c_diff).max() <= 40


def test_each_line_is_on_exactly_while_its_event_runs(tmp_path: Path) -> None:
    """Every frame of a clip: boundaries off the frame grid, a gap, back-to-back lines."""
    size = (360, 640)
    w, h = size
    spans = ((0.23, 0.81, "那天夜里江上起了大雾"), (0.81, 1.37, f"{KEYWORD}的真相"),
             (1.52, 2.2, "她数了数船上的乘客"))
    ass = script(SubtitleStyle(), spans)
    ours = frames(tmp_path, ass, size, 2.5, None, ours=True)
    theirs = frames(tmp_path, ass, size, 2.5, None, ours=False)
    shown = []
    for n, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        y_ours, y_theirs = luma(a, w, h), luma(b, w, h)
        assert np.abs(y_ours - y_theirs).max() <= 3, n
        shown.append(bool((np.abs(y_ours - GREY_Y) > 4).any()))
    expected = [any(s <= n / FPS < e for s, e, _ in spans) for n in range(len(ours))]
    assert shown == expected


@pytest.mark.parametrize("text", [
    r"{\kf20}船票{\kf30}背面",  # karaoke sweeps: libass draws them per frame
    r"{\pos(540,900)}船票背面",
    r"{\fad(200,200)}船票背面",
])
def test_animated_or_positioned_lines_stay_with_libass(text: str) -> None:
    ass = script(SubtitleStyle(), ((0.0, 1.0, "船票"),)).replace("船票", text)
    assert plan_strips(ass, (1080, 1920)) is None
    assert plan_strips(None, (1080, 1920)) is None
    assert plan_strips(script(SubtitleStyle(), ((0.0, 1.0, "船票"),)), (1080, 1920))
