"""Everything drawn over the background, as one ASS script for one libass pass.

The part-2 subtitles are kept as they are; this adds the AI-content label, the keyword banner
and the end card as further styles and events. libass renders them all in the same filter, so
the overlays cost next to nothing on top of the subtitles, and sizes are given in the
1080×1920 play resolution whatever the output size.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pysubs2

from workbench.fonts import em_per_size
from workbench.subtitles import escape_ass

PLAY_W, PLAY_H = 1080, 1920
YELLOW = pysubs2.Color(0xFF, 0xD4, 0x00)
WHITE = pysubs2.Color(0xFF, 0xFF, 0xFF)
BLACK = pysubs2.Color(0, 0, 0)
LABEL_TOP = 80  # px from the top of the frame, above the platform's own top bar content
LABEL_MIN_HEIGHT = 0.05  # of the frame's shorter side (GB 45438-2025)
LABEL_TARGET_HEIGHT = 0.056  # what we aim for: a margin above the legal minimum
SIDE_MARGIN = 60


@dataclass(frozen=True)
class LabelPlan:
    """What the renderer planned for the visible AI label; compliance.check_ai_label checks it."""

    text: str
    start: float
    end: float
    text_height_px: float
    frame_width: int
    frame_height: int


@dataclass(frozen=True)
class OverlaySpec:
    label: str  # "本视频含AI生成内容"
    label_seconds: float  # 0: the whole video
    banner: str  # "番茄小说搜索【夜渡迷局】"
    end_card: tuple[str, ...]  # lines, e.g. ("番茄小说搜索", "【夜渡迷局】", "看完整故事")
    end_card_seconds: float
    keyword: str


@cache
def _ink(font_file: Path, em_px: int, text: str) -> tuple[int, int]:
    """Width and height of the ink of `text` drawn with an em of `em_px` pixels."""
    from PIL import ImageFont

    left, top, right, bottom = ImageFont.truetype(str(font_file), em_px).getbbox(text)
    return right - left, bottom - top


def text_height(font_file: Path, size: float, text: str) -> float:
    """Ink height in play-resolution pixels of `text` at ASS font size `size`."""
    em = size * em_per_size(font_file)
    return _ink(font_file, 200, text)[1] * em / 200


def text_width(font_file: Path, size: float, text: str) -> float:
    em = size * em_per_size(font_file)
    return _ink(font_file, 200, text)[0] * em / 200


def fit_size(font_file: Path, text: str, wanted: float, width: float) -> int:
    """The wanted font size, made smaller when the text would not fit `width`."""
    natural = text_width(font_file, wanted, text)
    return int(wanted if natural <= width else wanted * width / natural)


def label_size(font_file: Path, text: str) -> int:
    """The smallest font size whose ink is LABEL_TARGET_HEIGHT of the frame's shorter side."""
    target = LABEL_TARGET_HEIGHT * min(PLAY_W, PLAY_H)
    size = 40
    while text_height(font_file, size, text) < target and size < 200:
        size += 1
    return size


def _style(size: int, colour: pysubs2.Color, alignment: int, margin_v: int, *,
           outline: float, shadow: float = 0, box: bool = False) -> pysubs2.SSAStyle:
    return pysubs2.SSAStyle(
        fontname="Noto Sans SC", fontsize=size, primarycolor=colour, secondarycolor=colour,
        outlinecolor=pysubs2.Color(0, 0, 0, 0x60 if box else 0),
        backcolor=pysubs2.Color(0, 0, 0, 0x80),
        outline=outline, shadow=shadow, alignment=pysubs2.Alignment(alignment),
        marginl=SIDE_MARGIN, marginr=SIDE_MARGIN, marginv=margin_v,
        borderstyle=3 if box else 1,
    )


DIM_ALPHA = 0x58  # the end card's black veil (&H58& below): ASS alpha, 00 opaque … FF clear


def end_card_dim(spec: OverlaySpec, duration: float) -> str:
    """The end card's veil as an ffmpeg filter (with a trailing comma) for the background
    stream under the overlay, or "". The same blend libass would do (towards limited-range
    black, Y 16, U/V 128), as a lookup table enabled from the end card's start: a full-frame
    ASS drawing cost more than the label, banner and subtitles together."""
    if not (spec.end_card and spec.end_card_seconds > 0):
        return ""
    end_ms = round(duration * 1000)
    start = max(0, end_ms - round(spec.end_card_seconds * 1000)) / 1000
    keep = DIM_ALPHA / 255
    y, uv = f"val*{keep:.4f}+{16 * (1 - keep):.3f}", f"val*{keep:.4f}+{128 * (1 - keep):.3f}"
    return f"lutyuv=y={y}:u={uv}:v={uv}:enable='gte(t,{start:.3f})',"


@dataclass(frozen=True)
class TopLayout:
    """Where the label and the banner go, in play-resolution pixels (both top-centred)."""

    label_size: int  # ASS font size
    label_end: float  # seconds
    banner_size: int
    banner_top: int  # MarginV of the banner line


LABEL_OUTLINE = 12  # the label's box reaches this far beyond its line (ASS BorderStyle 3)
BANNER_OUTLINE, BANNER_SHADOW = 5, 2


def top_layout(spec: OverlaySpec, duration: float, font_file: Path) -> TopLayout:
    usable = PLAY_W - 2 * SIDE_MARGIN
    lsize = label_size(font_file, spec.label)
    lsize = min(lsize, fit_size(font_file, spec.label, lsize, usable - 40))
    label_end = duration if spec.label_seconds <= 0 else min(duration, spec.label_seconds)
    return TopLayout(label_size=lsize, label_end=label_end,
                     banner_size=fit_size(font_file, spec.banner, 96, usable),
                     banner_top=LABEL_TOP + round(lsize * 1.25) + 60)


def new_ass() -> pysubs2.SSAFile:
    """An empty script in the play resolution every overlay is laid out in."""
    subs = pysubs2.SSAFile()
    subs.info.update({"PlayResX": str(PLAY_W), "PlayResY": str(PLAY_H), "WrapStyle": "2",
                      "ScaledBorderAndShadow": "yes"})
    return subs


def add_label_and_banner(subs: pysubs2.SSAFile, spec: OverlaySpec, duration: float,
                         layout: TopLayout) -> None:
    subs.styles["AiLabel"] = _style(layout.label_size, WHITE, 8, LABEL_TOP,
                                    outline=LABEL_OUTLINE, box=True)
    subs.append(pysubs2.SSAEvent(start=0, end=round(layout.label_end * 1000), style="AiLabel",
                                 layer=4, text=escape_ass(spec.label)))
    subs.styles["Banner"] = _style(layout.banner_size, YELLOW, 8, layout.banner_top,
                                   outline=BANNER_OUTLINE, shadow=BANNER_SHADOW)
    subs.append(pysubs2.SSAEvent(start=0, end=round(duration * 1000), style="Banner", layer=2,
                                 text=escape_ass(spec.banner)))


def build_overlay_ass(subtitles_ass: str | None, spec: OverlaySpec, duration: float,
                      font_file: Path, frame: tuple[int, int], *, static: bool = False
                      ) -> tuple[str, LabelPlan]:
    """The subtitles plus label, banner and end card, as ASS text; and where the label is.
    `static=True` leaves out what a render draws outside this libass pass: the label and the
    banner (`static_overlay` draws them once) and the veil behind the end card
    (`end_card_dim`)."""
    subs = pysubs2.SSAFile.from_string(subtitles_ass) if subtitles_ass else new_ass()
    for event in subs:
        event.layer = 3  # subtitles over the end card's dimming
    end_ms = round(duration * 1000)
    usable = PLAY_W - 2 * SIDE_MARGIN

    layout = top_layout(spec, duration, font_file)
    lsize, label_end = layout.label_size, layout.label_end
    if not static:
        add_label_and_banner(subs, spec, duration, layout)

    if spec.end_card and spec.end_card_seconds > 0:
        start_ms = max(0, end_ms - round(spec.end_card_seconds * 1000))
        dim_veil = (r"{\an7\pos(0,0)\p1\bord0\shad0\1c&H000000&\1a&H58&}"
                    f"m 0 0 l {PLAY_W} 0 {PLAY_W} {PLAY_H} 0 {PLAY_H}{{\\p0}}")
        if not static:  # a drawing: its style only needs to exist
            subs.append(pysubs2.SSAEvent(start=start_ms, end=end_ms, layer=0,
                                         style="Banner", text=dim_veil))
        subs.styles["EndCard"] = _style(88, WHITE, 5, 0, outline=5, shadow=2)
        lines = []
        for line in spec.end_card:
            big = spec.keyword and spec.keyword in line
            size = fit_size(font_file, line, 124 if big else 88, usable)
            colour = r"\1c&H00D4FF&" if big else r"\1c&HFFFFFF&"
            lines.append(f"{{\\fs{size}{colour}}}{escape_ass(line)}")
        subs.append(pysubs2.SSAEvent(start=start_ms, end=end_ms, style="EndCard", layer=1,
                                     text=r"{\an5\pos(540,900)}" + r"\N".join(lines)))

    w, h = frame
    scale = min(w, h) / min(PLAY_W, PLAY_H)
    placed = LabelPlan(
        text=spec.label, start=0.0, end=label_end,
        text_height_px=round(text_height(font_file, lsize, spec.label) * scale, 1),
        frame_width=w, frame_height=h,
    )
    return subs.to_string("ass"), placed
