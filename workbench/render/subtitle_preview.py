"""One still frame showing a subtitle look before anything is rendered: the background, a sample
subtitle line in the resolved style (karaoke caught half-way through the line, so both its
colours show), the keyword banner and the AI label, drawn by the same libass pass as the video.

ffmpeg runs in a temporary folder holding the overlay ASS and the font, as the render does, and
is bounded by a timeout; the PNG is written atomically.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from workbench.ffmpeg import run_ffmpeg
from workbench.files import atomic_output
from workbench.fonts import default_font_file
from workbench.render.backgrounds import (
    Background,
    background_files,
    background_fonts,
    background_graph,
)
from workbench.render.overlays import OverlaySpec, build_overlay_ass
from workbench.render.plan import FONTS_DIR, OVERLAY_FILE
from workbench.render.profiles import RenderProfile, get_profile
from workbench.render.run import write_workdir
from workbench.subtitle_styles import ResolvedSubtitles, styled_ass
from workbench.subtitles import SubtitleEvent
from workbench.text import jieba
from workbench.voice.timing import SegmentSpan, TimedWord, TimingMap

SAMPLE_LINE = "那天夜里我在渡口等来了{keyword}"
PREVIEW_SECONDS = 2.0  # the sample line is "spoken" over this long; the still is its middle
TIMEOUT = 60.0


def sample_timing(text: str, seconds: float = PREVIEW_SECONDS) -> TimingMap:
    """A timing map that speaks `text` word by word (jieba words) evenly over `seconds`."""
    words, pos = [], 0
    cut = [w for w in jieba().cut(text)]
    step = seconds / max(1, len(cut))
    for i, word in enumerate(cut):
        words.append(TimedWord(word, i * step, (i + 1) * step, 0, pos, pos + len(word)))
        pos += len(word)
    return TimingMap(audio="", sample_rate=0, duration=seconds, backend="preview", voice="",
                     segments=[SegmentSpan("hook", text, 0.0, seconds)], words=words)


def render_still(ass_text: str, background: Background, out: Path, *, at: float,
                 profile: RenderProfile | None = None, seconds: float | None = None) -> Path:
    """The frame shown at `at` seconds of `background` with `ass_text` burned in, as PNG."""
    profile = profile or get_profile("final")
    seconds = max(seconds or 0.0, at + 0.5)
    bg_args, bg_chain = background_graph(background, profile, seconds, first_input=0)
    graph = f"{bg_chain};[bg]subtitles=filename={OVERLAY_FILE}:fontsdir={FONTS_DIR}[v]"
    font = default_font_file()
    with tempfile.TemporaryDirectory(prefix="wb-preview-") as tmp:
        work = Path(tmp)
        # the overlay, and the reading page's script and face
        write_workdir(work, {OVERLAY_FILE: ass_text, **background_files(background, seconds)},
                      (font, *background_fonts(background)))
        with atomic_output(Path(out), ".png") as part:
            run_ffmpeg(["-y", *bg_args, "-filter_complex", graph, "-map", "[v]",
                        "-ss", f"{at:.3f}", "-frames:v", "1", "-f", "image2",
                        "-c:v", "png", "-pix_fmt", "rgb24", str(Path(part).absolute())],
                       timeout=TIMEOUT, what="字幕预览", cwd=work)
    return Path(out)


def preview_frame(resolved: ResolvedSubtitles, out: Path, *, keyword: str, banner: str,
                  label: str, background: Background | None = None,
                  sample: str = SAMPLE_LINE) -> Path:
    """The preview still for `resolved`: background + sample line + banner + label."""
    text = sample.replace("{keyword}", keyword)
    while len(text) > resolved.max_chars and not text.startswith(keyword or "\0") \
            and len(text) > len(keyword) + 2:
        text = text[1:]  # one line, as the video shows it: drop words from the front
    timing = sample_timing(text)
    event = SubtitleEvent(0.0, PREVIEW_SECONDS, text, 0, 0, len(text))
    subs = styled_ass([event], resolved, keyword, timing).to_string("ass")
    spec = OverlaySpec(label=label, label_seconds=0, banner=banner, end_card=(),
                       end_card_seconds=0, keyword=keyword)
    ass, _ = build_overlay_ass(subs, spec, PREVIEW_SECONDS, default_font_file(), (1080, 1920))
    return render_still(ass, background or Background("generated"), out,
                        at=PREVIEW_SECONDS / 2, seconds=PREVIEW_SECONDS)
