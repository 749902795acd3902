"""The AI label and the keyword banner, drawn once and laid over every frame.

libass draws each of its events on every frame, and blending the label's box and the banner's
outline, shadow and fill cost ~1.5 ms a frame at 1080×1920: more than the subtitles, which
change. These two never change (the label may only stop early), so the render draws them once,
in the same ffmpeg process: libass renders the script on two canvases (the frame's top) whose
planes are all 0 and all 255. Every pixel libass touches becomes `canvas·(1−a) + colour·a`, so the two
renders differ by `255·(1−a)`: their difference gives the coverage `a` (the alpha), and the
render on 0 divided by `a` gives the colour. Pixels libass left alone get a neutral colour, so
they cannot tint their neighbours when the chroma is subsampled. The result is cut into two
bands (label, banner) that `overlay` blends over each frame with straight alpha (ffmpeg's
SIMD path), touching only their own pixels; the label's band is switched off when it ends.

The colours are those libass gives in YUV (the canvases are YUV 4:4:4), so the luma is the
same as libass drawing on the frame (±2) and the chroma at least as close to a 4:4:4 render.
Bands come from the font's metrics with margins; tests/test_static_overlay.py checks that no
coverage falls outside them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from workbench.render.overlays import (
    BANNER_OUTLINE,
    BANNER_SHADOW,
    LABEL_OUTLINE,
    LABEL_TOP,
    PLAY_H,
    PLAY_W,
    OverlaySpec,
    TopLayout,
    add_label_and_banner,
    new_ass,
    text_width,
)

STATIC_FILE = "static.ass"
PAD = 8  # play px of slack around each band, above and below
SIDE_PAD = 32  # play px each side: libass centres the advance width, the metrics give the ink


@dataclass(frozen=True)
class Band:
    """A rectangle of the output frame, in its pixels (even, for 4:2:0)."""

    x: int
    y: int
    w: int
    h: int


def canvas_rows(layout: TopLayout, height: int) -> tuple[int, int]:
    """The canvas libass draws on: the frame's top (play rows, frame rows) down to below the
    banner, at the frame's scale. A full-frame canvas would hold ~6 MB per filter for nothing."""
    step = PLAY_H // math.gcd(PLAY_H, height)  # play rows that map to whole frame rows
    bottom = layout.banner_top + layout.banner_size + BANNER_OUTLINE + BANNER_SHADOW + 2 * PAD
    play = min(PLAY_H, math.ceil(bottom / (2 * step)) * 2 * step)  # even in the frame too
    return play, play * height // PLAY_H


def static_ass(spec: OverlaySpec, duration: float, layout: TopLayout, height: int) -> str:
    """The label and the banner alone, as ASS text (the same styles as the full overlay), laid
    out for a canvas of the frame's top `canvas_rows` (PlayResY cut to match: same scale)."""
    subs = new_ass()
    subs.info["PlayResY"] = str(canvas_rows(layout, height)[0])
    add_label_and_banner(subs, spec, duration, layout)
    return subs.to_string("ass")


def _band(x0: float, y0: float, x1: float, y1: float, frame: tuple[int, int]) -> Band:
    """Play-resolution edges → an even-aligned rectangle of the frame, grown outwards."""
    w, h = frame
    sx, sy = w / PLAY_W, h / PLAY_H
    left = max(0, math.floor(x0 * sx / 2) * 2)
    top = max(0, math.floor(y0 * sy / 2) * 2)
    right = min(w, math.ceil(x1 * sx / 2) * 2)
    bottom = min(h, math.ceil(y1 * sy / 2) * 2)
    return Band(left, top, max(2, right - left), max(2, bottom - top))


def bands(spec: OverlaySpec, layout: TopLayout, font_file: Path, frame: tuple[int, int]
          ) -> tuple[Band, Band]:
    """Where the label and the banner can have ink (box, outline, shadow included). A line
    is one font size tall in ASS; the widths come from the ink, with SIDE_PAD for bearings."""
    half = text_width(font_file, layout.label_size, spec.label) / 2 + LABEL_OUTLINE + SIDE_PAD
    label = _band(PLAY_W / 2 - half, LABEL_TOP - LABEL_OUTLINE - PAD, PLAY_W / 2 + half,
                  LABEL_TOP + layout.label_size + LABEL_OUTLINE + PAD, frame)
    reach = BANNER_OUTLINE + BANNER_SHADOW
    half = text_width(font_file, layout.banner_size, spec.banner) / 2 + reach + SIDE_PAD
    banner = _band(PLAY_W / 2 - half, layout.banner_top - reach - PAD, PLAY_W / 2 + half,
                   layout.banner_top + layout.banner_size + reach + PAD, frame)
    return label, banner


def static_overlay_graph(spec: OverlaySpec, duration: float, layout: TopLayout,
                         font_file: Path, frame: tuple[int, int], fps: int, fonts_dir: str,
                         src: str, out: str) -> str:
    """Filter-graph chains that lay the label and banner (from `STATIC_FILE` in the work
    folder) over stream `[src]`, giving `[out]`."""
    w, h = frame
    rows = canvas_rows(layout, h)[1]
    canvas = f"color=c=black:s={w}x{rows}:r={fps},trim=end_frame=1,format=yuv444p"
    draw = f"subtitles=filename={STATIC_FILE}:fontsdir={fonts_dir}"
    touched = "'255*gt(val,0)'"
    label, banner = bands(spec, layout, font_file, frame)
    enable = (f":enable='lt(t,{layout.label_end:.3f})'"
              if layout.label_end < duration - 1e-6 else "")

    def lay(band: Band) -> str:
        return f"overlay=x={band.x}:y={band.y}:eval=init:alpha=straight:format=yuv420"

    return ";".join([
        # one libass instance draws both canvases (each instance loads the CJK font: ~20 MB)
        f"{canvas},lutyuv=y=0:u=0:v=0[top_z]",
        f"{canvas},lutyuv=y=255:u=255:v=255[top_f]",
        f"[top_z][top_f]concat=n=2:v=1:a=0,{draw},split[top_p][top_q]",
        "[top_p]select='eq(n,0)',split[top_k0][top_k1]",
        "[top_q]select='eq(n,1)',setpts=PTS-STARTPTS[top_w]",
        "[top_k0][top_w]blend=all_mode=difference,negate,split=3[top_a0][top_a1][top_a2]",
        "[top_k1][top_a0]blend=all_mode=divide[top_c]",
        f"[top_a1]lutyuv=y={touched}:u={touched}:v={touched}[top_m]",
        f"{canvas}[top_n]",
        "[top_n][top_c][top_m]maskedmerge[top_cn]",
        "[top_a2]extractplanes=y[top_a]",
        "[top_cn][top_a]alphamerge,format=yuva420p,split[top_l][top_b]",
        f"[top_l]crop={label.w}:{label.h}:{label.x}:{label.y}[top_lab]",
        f"[top_b]crop={banner.w}:{banner.h}:{banner.x}:{banner.y}[top_ban]",
        f"[{src}][top_lab]{lay(label)}{enable}[top_o]",
        f"[top_o][top_ban]{lay(banner)}[{out}]",
    ])
