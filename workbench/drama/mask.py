"""Where an episode's burned-in subtitles are: the band of its picture that Workbench blurs when
it adds subtitles of its own, so two subtitle lines never show at once.

The band is a pair of fractions of the picture's height (0 = top). It comes from the setting
`drama.mask_band`: `off`, a band such as `0.72-0.92`, or `auto` — from the episode's sidecar
subtitles when they say where their text is (an ASS file: each line's style, alignment,
vertical margin, font size and any `\\pos`), else the conventional lower band of a master
(SRT and VTT carry no position).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pysubs2

from workbench.errors import InputError
from workbench.materials.encoding import decode_text

Band = tuple[float, float]
LOWER_BAND: Band = (0.70, 0.95)  # where masters burn their subtitles, when nothing says
AUTO, OFF = "auto", "off"
LINE_HEIGHT = 1.25  # of the font size, per row of text
PAD = 0.015  # of the height, around the text found
_BAND = re.compile(r"^\s*(0(?:\.\d+)?|1(?:\.0+)?)\s*[-~～–]\s*(0(?:\.\d+)?|1(?:\.0+)?)\s*$")
_POS = re.compile(r"\\pos\(\s*(-?[\d.]+)\s*,\s*(-?[\d.]+)\s*\)")
_AN = re.compile(r"\\an([1-9])")


def parse_band(text: str) -> Band | str | None:
    """The setting's value: `auto`, None for `off`, or a band. InputError says how to write it."""
    value = text.strip().lower()
    if value == AUTO:
        return AUTO
    if value in (OFF, "none", "0"):
        return None
    match = _BAND.match(value)
    if match:
        top, bottom = float(match.group(1)), float(match.group(2))
        if 0 <= top < bottom <= 1:
            return (top, bottom)
    raise InputError(f"drama.mask_band 的值「{text[:30]}」无效：写 auto、off，或画面高度的一段比例"
                     "（上-下，0 是顶部），如 0.72-0.92")


def ass_band(path: Path) -> Band | None:
    """The band the dialogue of an ASS/SSA file occupies, or None when it cannot be read."""
    try:
        text, _ = decode_text(path.read_bytes(), str(path))
        subs = pysubs2.SSAFile.from_string(text)  # ass or ssa, as the file says
    except (OSError, InputError, pysubs2.Pysubs2Error, ValueError):
        return None
    height = _play_res_y(subs)
    top, bottom = 1.0, 0.0
    for event in subs:
        if event.is_comment or not event.plaintext.strip():
            continue
        style = subs.styles.get(event.style) or pysubs2.SSAStyle()
        rows = event.text.count(r"\N") + event.text.count(r"\n") + 1
        size = style.fontsize * LINE_HEIGHT * rows + 2 * style.outline
        found = _AN.search(event.text)
        alignment = int(found.group(1)) if found else int(style.alignment)
        margin = event.marginv or style.marginv
        pos = _POS.search(event.text)
        if alignment >= 7:  # top
            first = float(pos.group(2)) if pos else margin
        elif alignment >= 4:  # middle
            first = (float(pos.group(2)) if pos else height / 2) - size / 2
        else:  # bottom
            first = (float(pos.group(2)) if pos else height - margin) - size
        top, bottom = min(top, first / height), max(bottom, (first + size) / height)
    if bottom <= top:
        return None
    return (round(max(0.0, top - PAD), 3), round(min(1.0, bottom + PAD), 3))


def _play_res_y(subs: pysubs2.SSAFile) -> float:
    try:
        value = float(subs.info.get("PlayResY", 288))
    except ValueError:
        return 288.0
    return value if value > 0 else 288.0


def episode_band(episode: dict[str, Any], setting: str) -> Band | None:
    """The band to blur in `episode` (an `episodes` row) under `setting`; None: no mask."""
    chosen = parse_band(setting)
    if chosen != AUTO:
        return chosen  # type: ignore[return-value]
    if episode.get("subtitle_format") == "ass" and episode.get("subtitle_path"):
        found = ass_band(Path(episode["subtitle_path"]))
        if found is not None:
            return found
    return LOWER_BAND
