"""The cover image: one frame of the video, darkened, with the title and the search keyword.

Platforms show the cover as the thumbnail, so the title must read at a glance: it is large,
centred in the upper-middle third, white with a dark outline and soft shadow, and wrapped
to at most three lines (shrinking, and as the last resort an ellipsis, keep it inside the
margins). The keyword block below tells viewers what to type in the reading app:
"{app}搜索" over "【keyword】" in yellow on a dark rounded box. Only the bundled Noto Sans SC is
used, so no glyph renders as tofu whatever fonts the machine has.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont, ImageOps

from workbench.errors import InputError, RenderError
from workbench.files import write_bytes_atomic
from workbench.fonts import default_font_file

WIDTH_SHARE = 0.86  # text spans at most this share of the width (7% margins)
MAX_TITLE_LINES = 3
DARKEN = 0.72  # brightness factor applied to the frame so white text reads
KEYWORD_YELLOW = (255, 212, 0)  # #FFD400, as in the subtitles
ELLIPSIS = "…"
_PARTS = re.compile(r"\s*[｜|]\s*")
_NO_START = "，。！？、；：）》」』】〉…—”’,.!?;:)]}"  # never starts a line (glued to the previous)
_NO_END = "（《「『【〈“‘([{"  # never ends a line (glued to the next)
_UNIT = re.compile(
    rf"[{re.escape(_NO_END)}]*(?:[A-Za-z0-9]+|\S)[{re.escape(_NO_START)}]*|\s+"
)

Font = ImageFont.FreeTypeFont


@lru_cache(maxsize=64)
def load_font(size: int, font_file: Path | None = None) -> Font:
    """The bundled Noto Sans SC (or `font_file`) at `size` pixels."""
    path = Path(font_file) if font_file else default_font_file()
    try:
        return ImageFont.truetype(str(path), size)
    except OSError:
        raise InputError(f"无法加载字体 {path}：请确认文件存在且是 TTF/OTF 字体") from None


def grab_frame(video: Path, at: float) -> Image.Image:
    """The RGB frame shown at `at` seconds, clamped into the video (0 … last frame)."""
    from moviepy import VideoFileClip

    video = Path(video)
    if not video.is_file():
        raise InputError(f"找不到视频文件: {video}（请检查路径，或先渲染视频）")
    try:
        clip = VideoFileClip(str(video), audio=False)
    except (OSError, KeyError, ValueError, IndexError) as exc:
        last = next((ln for ln in reversed(str(exc).splitlines()) if ln.strip()), "")
        raise RenderError(
            f"无法读取视频 {video}：{last.strip()[:120]}（文件可能损坏或不是视频，请重新渲染）"
        ) from None
    with clip:
        duration = float(clip.duration or 0.0)
        frame_time = 1.0 / clip.fps if clip.fps else 0.04
        t = at if math.isfinite(at) else 0.0
        t = min(max(t, 0.0), max(duration - frame_time, 0.0))
        frame = clip.get_frame(t)
    return Image.fromarray(frame).convert("RGB")


def _wrap(text: str, width: float, measure: Callable[[str], float]) -> list[str]:
    """Greedy line breaking between units (a CJK character or a Latin word with its glued
    punctuation); a unit wider than `width` stands alone on its line."""
    lines: list[str] = []
    line = ""
    for unit in _UNIT.findall(text):
        if not line.strip() or measure((line + unit).strip()) <= width:
            line = line + unit if line.strip() or not unit.isspace() else ""
        else:
            lines.append(line.strip())
            line = "" if unit.isspace() else unit
    if line.strip():
        lines.append(line.strip())
    return lines


def _balanced(text: str, width: float, measure: Callable[[str], float]) -> list[str]:
    """As few lines as greedy wrapping needs, but of even length (no one-character last line)."""
    lines = _wrap(text, width, measure)
    low, high = width / max(len(lines), 1), width
    while high - low > 2:  # the narrowest width that needs no more lines
        mid = (low + high) / 2
        if len(_wrap(text, mid, measure)) <= len(lines):
            high = mid
        else:
            low = mid
    return _wrap(text, high, measure)


def _ellipsize(text: str, width: float, measure: Callable[[str], float]) -> str:
    """`text` cut so that it plus "…" fits `width`."""
    while text and measure(text + ELLIPSIS) > width:
        text = text[:-1]
    return text.rstrip() + ELLIPSIS


def fit_title(title: str, width: float, *, max_size: int, min_size: int,
              font_file: Path | None = None) -> tuple[Font, list[str]]:
    """The largest font size (down to `min_size`) at which `title` wraps into at most three
    lines within `width`; if none does, the `min_size` lines with the last one ellipsized."""
    size = max_size
    while True:
        font = load_font(size, font_file)
        stroke = _stroke(size)

        def measure(s: str, font: Font = font, stroke: int = stroke) -> float:
            return font.getlength(s) + 2 * stroke

        # "hook｜book" titles break at the bar first: the bar itself is not drawn
        lines = [line for part in _PARTS.split(title) if part.strip()
                 for line in _balanced(part.strip(), width, measure)]
        if len(lines) <= MAX_TITLE_LINES and all(measure(ln) <= width for ln in lines):
            return font, lines
        if size <= min_size:
            lines = _wrap(title, width, measure)
            kept = lines[:MAX_TITLE_LINES]
            for i, line in enumerate(kept):
                cut = i == len(kept) - 1 and len(lines) > len(kept)
                if cut or measure(line) > width:
                    kept[i] = _ellipsize(line, width, measure)
            return font, kept
        size = max(min_size, int(size * 0.92))


def _stroke(size: int) -> int:
    return max(2, round(size / 14))


def _draw_title(img: Image.Image, lines: list[str], font: Font, center_y: float) -> None:
    width = img.width
    size = font.size
    line_height = size * 1.28
    top = center_y - line_height * len(lines) / 2
    stroke = _stroke(size)
    ys = [top + line_height * (i + 0.5) for i in range(len(lines))]
    shadow = Image.new("RGBA", img.size, (0, 0, 0, 0))
    shadow_draw = ImageDraw.Draw(shadow)
    offset = max(2, round(size * 0.04))
    for line, y in zip(lines, ys, strict=True):
        shadow_draw.text((width / 2 + offset, y + offset), line, font=font, anchor="mm",
                         fill=(0, 0, 0, 160), stroke_width=stroke, stroke_fill=(0, 0, 0, 160))
    img.alpha_composite(shadow.filter(ImageFilter.GaussianBlur(max(1, size * 0.03))))
    draw = ImageDraw.Draw(img)
    bold = max(1, round(size / 40))  # the bundled font has no bold: thicken with a white stroke
    for line, y in zip(lines, ys, strict=True):
        draw.text((width / 2, y), line, font=font, anchor="mm", fill="white",
                  stroke_width=stroke, stroke_fill=(16, 16, 16))
        draw.text((width / 2, y), line, font=font, anchor="mm", fill="white",
                  stroke_width=bold, stroke_fill="white")


def _clear_of(center_y: float, box_h: float, band: tuple[float, float] | None,
              height: int) -> float:
    """The box centre nearest `center_y` whose box stays clear of `band` (fractions of the
    height: where the subtitle line sits in the grabbed frame), above it if there is room."""
    if band is None:
        return center_y
    gap = height * 0.015
    top, bottom = band[0] * height - gap, band[1] * height + gap
    if center_y + box_h / 2 <= top or center_y - box_h / 2 >= bottom:
        return center_y
    above = top - box_h / 2
    below = bottom + box_h / 2
    options = [c for c in (above, below)
               if c - box_h / 2 >= height * 0.47 and c + box_h / 2 <= height * 0.97]
    return min(options, key=lambda c: abs(c - center_y)) if options else center_y


def _draw_keyword(img: Image.Image, app: str, keyword: str, unit: float, center_y: float,
                  font_file: Path | None, avoid: tuple[float, float] | None = None) -> None:
    width = img.width
    pad = round(unit * 0.045)
    room = WIDTH_SHARE * width - 2 * pad
    small = load_font(round(unit * 0.055), font_file)
    big_size, min_big = round(unit * 0.09), round(unit * 0.055)
    while big_size > min_big and load_font(big_size, font_file).getlength(f"【{keyword}】") > room:
        big_size = max(min_big, int(big_size * 0.92))
    big = load_font(big_size, font_file)
    line1 = f"{app}搜索"
    if small.getlength(line1) > room:
        line1 = _ellipsize(app, room - small.getlength("搜索"), small.getlength) + "搜索"
    line2 = f"【{keyword}】"
    if big.getlength(line2) > room:
        inner = room - big.getlength("【】")
        line2 = f"【{_ellipsize(keyword, inner, big.getlength)}】"
    h1, h2, gap = small.size * 1.2, big.size * 1.2, unit * 0.015
    box_w = max(small.getlength(line1), big.getlength(line2)) + 2 * pad
    box_h = h1 + gap + h2 + 2 * pad
    center_y = _clear_of(center_y, box_h, avoid, img.height)
    left, top = (width - box_w) / 2, center_y - box_h / 2
    overlay = Image.new("RGBA", img.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    draw.rounded_rectangle((left, top, left + box_w, top + box_h), radius=round(unit * 0.03),
                           fill=(0, 0, 0, 175))
    draw.text((width / 2, top + pad + h1 / 2), line1, font=small, anchor="mm",
              fill=(255, 255, 255, 235), stroke_width=1, stroke_fill=(255, 255, 255, 235))
    draw.text((width / 2, top + pad + h1 + gap + h2 / 2), line2, font=big, anchor="mm",
              fill=KEYWORD_YELLOW, stroke_width=max(1, round(big.size / 40)),
              stroke_fill=KEYWORD_YELLOW)
    img.alpha_composite(overlay)


def make_cover(frame: Image.Image, *, title: str, keyword: str, app: str, out: Path,
               size: tuple[int, int] = (1080, 1920), font_file: Path | None = None,
               quality: int = 90, avoid: tuple[float, float] | None = None) -> Path:
    """Write the cover for `frame` to `out` (RGB JPEG, written atomically, mode 0644).
    `avoid` is the subtitle band of the frame (fractions of its height): the keyword box is
    moved clear of it, so the box never half-covers a subtitle line."""
    width, height = size
    if width < 16 or height < 16:
        raise InputError(f"封面尺寸过小: {width}x{height}")
    if not 1 <= quality <= 100:
        raise InputError(f"JPEG 质量应在 1–100 之间，收到 {quality}")
    img = ImageOps.fit(frame.convert("RGB"), (width, height), Image.Resampling.LANCZOS)
    img = ImageEnhance.Brightness(img).enhance(DARKEN).convert("RGBA")
    unit = min(width, height * 9 / 16)  # sizes follow the width of a 9:16 frame
    title = " ".join(title.split())
    if title:
        font, lines = fit_title(title, WIDTH_SHARE * width, max_size=round(unit * 0.1),
                                min_size=round(unit * 0.055), font_file=font_file)
        _draw_title(img, lines, font, center_y=height * 0.34)
    keyword, app = keyword.strip(), app.strip()
    if keyword:
        _draw_keyword(img, app, keyword, unit, center_y=height * 0.70, font_file=font_file,
                      avoid=avoid)
    buf = io.BytesIO()
    img.convert("RGB").save(buf, "JPEG", quality=quality, optimize=True)
    out = Path(out)
    write_bytes_atomic(out, buf.getvalue())
    return out


def cover_from_video(video: Path, out: Path, *, at: float, title: str, keyword: str, app: str,
                     size: tuple[int, int] = (1080, 1920),
                     avoid: tuple[float, float] | None = None) -> Path:
    """Grab the frame at `at` seconds of `video` and write its cover to `out`."""
    frame = grab_frame(video, at)
    return make_cover(frame, title=title, keyword=keyword, app=app, out=out, size=size,
                      avoid=avoid)
