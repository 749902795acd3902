"""Subtitles drawn once per line and switched in by time, instead of libass on every frame.

libass blends every event's outline, shadow and fill into each frame it is shown on. Plain
subtitle lines never change while they are shown, so the render draws each state of the
subtitle band once (a line, or nothing between lines), in the same ffmpeg process: the lines
are laid out in a script of their own where state i is shown at second i, libass draws every
state on a black and a white canvas of the band (as static_overlay.py does for the label and
banner), the pair gives colour and alpha, and the strips are stamped with the times their
states start. One `overlay` then lays the band over each frame, taking the latest strip whose
time has come: a blend of the band's pixels with ffmpeg's SIMD path, and no per-frame text
layout.

Only scripts this module can place exactly take this path: one alignment, event margins from
the style, and no override tags but colours and resets (the keyword highlight). Karaoke
(`\\kf` sweeps) and anything animated or positioned stay with libass (`plan_strips` → None).
The band comes from the style (font size, line count, outline, shadow) with margins;
tests/test_subtitle_strips.py checks that libass puts no ink outside it and that the pixels
match libass drawing on the frame.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import pysubs2

from workbench.render.overlays import PLAY_H, PLAY_W
from workbench.render.static_overlay import Band, coverage_chain

STRIPS_FILE = "strips.ass"
PAD = 12  # play px of slack above and below a line's box
LINE = 1.3  # a line's height, in font sizes (libass: ascender + descender ≈ the size)
MAX_STATES = 2000  # the strip times are one expression; past this, libass draws the lines
_TAGS = re.compile(r"\{([^}]*)\}")
_STATIC_TAG = re.compile(r"\\(?:1?c&H[0-9A-Fa-f]{2,8}&|r)")


@dataclass(frozen=True)
class SubtitleStrips:
    """What the graph needs: the states' script, the band and when each state starts."""

    script: str  # ASS for the band's canvas: state i shown from second i to i + 1
    band: Band  # rows of the frame (x 0, full width)
    starts_ms: tuple[int, ...]  # state i is on screen from starts_ms[i]


def _static(text: str) -> bool:
    """Only colour changes and resets in the line's override blocks."""
    return all(_STATIC_TAG.sub("", block).strip() == "" for block in _TAGS.findall(text))


def _band_rows(top: float, bottom: float, height: int) -> tuple[int, int]:
    """Play rows [top, bottom) grown outwards to edges that land on even frame rows."""
    step = 2 * (PLAY_H // math.gcd(PLAY_H, height))
    lo = max(0, math.floor(top / step) * step)
    hi = min(PLAY_H, math.ceil(bottom / step) * step)
    return lo, hi


def plan_strips(subtitles_ass: str | None, frame: tuple[int, int]) -> SubtitleStrips | None:
    """The strips for `subtitles_ass` on a frame of `frame` pixels, or None when libass must
    draw it per frame (karaoke, animation, positions, mixed alignments, no lines)."""
    if not subtitles_ass:
        return None
    subs = pysubs2.SSAFile.from_string(subtitles_ass)
    events = [e for e in subs if not e.is_comment and e.end > e.start]
    if not events or len(events) * 2 > MAX_STATES:
        return None
    if (subs.info.get("PlayResX") != str(PLAY_W) or subs.info.get("PlayResY") != str(PLAY_H)
            or any(e.marginv or e.marginl or e.marginr for e in events)
            or not all(_static(e.text) for e in events)):
        return None
    styles = {e.style for e in events}
    if not styles <= set(subs.styles):
        return None
    aligns = {int(subs.styles[name].alignment) for name in styles}
    rows = {(a - 1) // 3 for a in aligns}  # 0 bottom, 1 middle, 2 top
    if len(rows) != 1:
        return None
    row = rows.pop()
    lines = max(e.text.count(r"\N") + 1 for e in events)
    reach = max(subs.styles[n].outline + subs.styles[n].shadow for n in styles)
    size = max(subs.styles[n].fontsize for n in styles)
    box = lines * size * LINE + 2 * reach + 2 * PAD
    margins = {subs.styles[n].marginv for n in styles}
    if len(margins) != 1 and row != 1:
        return None
    margin = margins.pop()
    if row == 0:
        bottom = PLAY_H - margin + reach + PAD
        top = bottom - box
    elif row == 2:
        top = margin - reach - PAD
        bottom = top + box
    else:
        top, bottom = (PLAY_H - box) / 2, (PLAY_H + box) / 2
    lo, hi = _band_rows(top, bottom, frame[1])
    if row == 1:  # symmetric about the middle, so the canvas keeps libass's centre
        half = max(PLAY_H // 2 - lo, hi - PLAY_H // 2)
        lo, hi = _band_rows(PLAY_H / 2 - half, PLAY_H / 2 + half, frame[1])

    canvas = pysubs2.SSAFile()
    canvas.info.update(subs.info)
    canvas.info["PlayResY"] = str(hi - lo)
    for name in styles:
        style = subs.styles[name].copy()
        if row == 0:
            style.marginv = hi - (PLAY_H - style.marginv)
        elif row == 2:
            style.marginv = style.marginv - lo
        canvas.styles[name] = style
    bounds = sorted({0} | {e.start for e in events} | {e.end for e in events})
    for i, at in enumerate(bounds):
        for e in events:
            if e.start <= at < e.end:
                canvas.append(pysubs2.SSAEvent(start=i * 1000, end=(i + 1) * 1000,
                                               style=e.style, layer=e.layer, text=e.text))
    h = frame[1]
    band = Band(0, lo * h // PLAY_H, frame[0], (hi - lo) * h // PLAY_H)
    return SubtitleStrips(script=canvas.to_string("ass"), band=band, starts_ms=tuple(bounds))


def strips_graph(strips: SubtitleStrips, fps: int, fonts_dir: str, src: str, out: str) -> str:
    """Filter-graph chains that lay the subtitle strips (from `STRIPS_FILE` in the work
    folder) over stream `[src]`, giving `[out]`."""
    n = len(strips.starts_ms)
    w, h = strips.band.w, strips.band.h
    # two canvases per state, at seconds i (all 0) and i + 0.5 (all 255): libass draws state i
    canvas = f"color=c=black:s={w}x{h}:r=2,trim=end_frame={2 * n},format=yuv444p"
    neutral = f"color=c=black:s={w}x{h}:r=2,trim=end_frame={n},format=yuv444p,setpts=N"
    when = "+".join(f"{ms}*eq(N,{i})" for i, ms in enumerate(strips.starts_ms))
    return ";".join([
        (f"{canvas},lutyuv=y=0:u=0:v=0,lutyuv=y=255:u=255:v=255:enable='mod(n,2)',"
         f"subtitles=filename={STRIPS_FILE}:fontsdir={fonts_dir},split[sub_p][sub_q]"),
        "[sub_p]select='not(mod(n,2))',setpts=N[sub_k]",
        "[sub_q]select='mod(n,2)',setpts=N[sub_w]",
        coverage_chain("sub", "sub_k", "sub_w", neutral, "sub_rgba"),
        f"[sub_rgba]settb=1/1000,setpts='{when}'[sub_s]",
        (f"[{src}][sub_s]overlay=x=0:y={strips.band.y}:alpha=straight:format=yuv420"
         f":eof_action=repeat[{out}]"),
    ])
