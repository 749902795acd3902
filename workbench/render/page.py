"""The reading-page background: the narration set like a page of a reading app.

A paper (or night) colour from ffmpeg's `color` source, and on it one ASS script that libass
draws in the same ffmpeg pass: a header (the app's name, the chapter title, a rule) and the
text in Noto Serif SC, scrolling in step with the narration, the sentence being spoken in the
highlight colour. The scroll is piecewise linear between sentence starts (one `\\move` per
line and interval), so the spoken sentence reaches the reading line as it begins and the line
being spoken stays near it; nothing is drawn frame by frame in Python.

Layout (1080×1920 play resolution, the overlay's): the AI label and the keyword banner keep
the top 360 px, the page header sits under them, the text area ends above Workbench's own
subtitle band (bottom margin 480 px), so subtitles, label and banner never sit on body text.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import pysubs2

from workbench.errors import InputError
from workbench.fonts import em_per_size
from workbench.render.overlays import PLAY_W, new_ass
from workbench.subtitles import _colour, _override_colour, escape_ass
from workbench.text import CLOSE_BRACKETS, CLOSE_QUOTES, split_sentences
from workbench.voice.timing import TimingMap

if TYPE_CHECKING:
    from PIL.ImageFont import FreeTypeFont

PAGE = "page"
PAGE_FILE = "page.ass"
THEMES = ("paper", "night")
SERIF = "Noto Serif SC"

SIDE = 72  # px: the page's left and right margins
HEADER_TOP = 380  # px: under the AI label and the banner
APP_EM, TITLE_EM, BODY_EM = 34, 58, 52  # glyph sizes in px (em), not ASS font sizes
RULE_Y = 540
TEXT_TOP, TEXT_BOTTOM = 570, 1330  # the text area; subtitles sit below 1330
FADE_STRIP, FADE_STRIPS = 8, 6  # px, count: the soft edges of the text area
LINE_HEIGHT = 90  # px: about 1.7 × the body em, like a reading app
# (body em, line height) per variant seed, with the paper tint: siblings of a batch must not
# look like copies of each other (platforms compare sampled frames), so lines break elsewhere.
SIZES = ((BODY_EM, LINE_HEIGHT), (46, 84), (58, 100), (49, 96))
FADE = FADE_STRIP * FADE_STRIPS
FIRST_LINE = TEXT_TOP + FADE  # the first line's top before any scrolling
READING_LINE = FIRST_LINE + 2 * LINE_HEIGHT  # where the spoken sentence begins (seed 0)
INDENT = "\u3000\u3000"  # paragraphs start with two full-width spaces
NO_LINE_START = "，。、；：！？,.;:!?…）》】」』”’" + CLOSE_QUOTES + CLOSE_BRACKETS
NO_LINE_END = "“‘「『（《【(" 
SAMPLE_TEXT = ("江上起了大雾，渡口的灯一盏接一盏熄灭。她攥着一张褪色的船票，站在最后一级台阶上。",
               "船夫从雾里撑出一条小船，说这条船只渡有缘人。")


@dataclass(frozen=True)
class PageTheme:
    papers: tuple[str, ...]  # background colours (#RRGGBB), one per variant seed
    ink: str  # body text
    highlight: str  # the sentence being spoken
    muted: str  # app name and the rule
    title: str  # chapter title


# Paper: the cream, white, green and parchment pages reading apps offer; night: their dark pages.
THEME_COLOURS = {
    "paper": PageTheme(papers=("#F6EFDC", "#F4F2EC", "#E4EDD9", "#EFE5D1"), ink="#3B3226",
                       highlight="#C8461E", muted="#8C806E", title="#2A221A"),
    "night": PageTheme(papers=("#1B1C20", "#15181D", "#1F1C19", "#181E1B"), ink="#8E8B84",
                       highlight="#E6A646", muted="#5E5B55", title="#B5B1A8"),
}


@dataclass(frozen=True)
class PageSentence:
    text: str
    start: float | None  # seconds in the narration; None: not spoken (no word timings)
    new_paragraph: bool


@dataclass(frozen=True)
class PageText:
    """What the page shows: plain, picklable data (the plan reads no files)."""

    app: str
    title: str
    sentences: tuple[PageSentence, ...]


def parse_theme(spec: str, default: str = "paper") -> str:
    """`page` → the default theme, `page:night` → night; anything else after `page:` is an
    error that lists the themes."""
    _, sep, theme = spec.partition(":")
    theme = theme.strip() if sep else default
    if theme not in THEMES:
        raise InputError(f"阅读页主题 {theme!r} 不存在（可用 page:{'、page:'.join(THEMES)}）")
    return theme


def is_page_spec(spec: object) -> bool:
    return isinstance(spec, str) and (spec == PAGE or spec.startswith(PAGE + ":"))


def paper_colour(theme: str, seed: int) -> str:
    papers = THEME_COLOURS[theme].papers
    return papers[seed % len(papers)]


def page_text(timing: TimingMap, app: str, title: str) -> PageText:
    """The narration's sentences in order, each with the time its first word is spoken;
    every segment (hook, body, call to action) and every line in it starts a paragraph."""
    sentences: list[PageSentence] = []
    for index, segment in enumerate(timing.segments):
        words = timing.segment_words(index)
        pos = 0
        for para in segment.text.splitlines():
            first = True
            for sentence in split_sentences(para):
                a = segment.text.find(sentence, pos)
                if a < 0:  # cannot happen: split_sentences returns substrings
                    continue
                pos = b = a + len(sentence)
                starts = [w.start for w in words if a <= w.char_start < b]
                sentences.append(PageSentence(sentence, min(starts) if starts else None, first))
                first = False
    return PageText(app=app, title=title, sentences=tuple(sentences))


def sample_page(app: str = "", title: str = "第一章") -> PageText:
    """A short page for previews (thumbnails), spread over the first seconds."""
    sentences = [PageSentence(s, float(i), j == 0)
                 for i, (j, s) in enumerate((j, s) for para in SAMPLE_TEXT
                                            for j, s in enumerate(split_sentences(para)))]
    return PageText(app=app or "阅读", title=title, sentences=tuple(sentences))


# --- layout ---------------------------------------------------------------------------------

@cache
def _font(font_file: Path) -> FreeTypeFont:
    from PIL import ImageFont

    return ImageFont.truetype(str(font_file), 1000)


@cache
def _advance(font_file: Path, ch: str) -> float:
    """Advance width of `ch` for an em of 1000 px."""
    return _font(font_file).getlength(ch)


def _ass_size(font_file: Path, em_px: float) -> int:
    """The ASS font size whose em is `em_px` (libass sizes by winAscent + winDescent)."""
    return round(em_px / em_per_size(font_file))


Run = tuple[str, int]  # text, sentence index
Line = tuple[Run, ...]


def _runs(chars: list[tuple[str, int]]) -> Line:
    runs: list[Run] = []
    for ch, k in chars:
        if runs and runs[-1][1] == k:
            runs[-1] = (runs[-1][0] + ch, k)
        else:
            runs.append((ch, k))
    return tuple(runs)


def layout(text: PageText, font_file: Path, body_em: float = BODY_EM,
           width: float = PLAY_W - 2 * SIDE) -> list[Line]:
    """Lines of runs, broken by width at any character (CJK). Line-breaking rules as in CJK
    typesetting: a mark that may not start a line (，。」…) hangs at the end of the previous
    one, but only one: with two, the character before them moves down with them; an opening
    quote or bracket never ends a line."""
    lines: list[Line] = []
    current: list[tuple[str, int]] = []  # (character, sentence index)

    def advance(ch: str) -> float:
        return _advance(font_file, ch) * body_em / 1000

    def used() -> float:
        return sum(advance(c) for c, _ in current)

    for k, sentence in enumerate(text.sentences):
        if sentence.new_paragraph and (current or lines):
            lines.append(_runs(current))
            current = []
        for ch in (INDENT if sentence.new_paragraph else "") + sentence.text:
            if used() + advance(ch) <= width or not current:
                current.append((ch, k))
                continue
            if ch in NO_LINE_START and current[-1][0] not in NO_LINE_START:
                current.append((ch, k))  # hangs in the margin
                continue
            cut = len(current)
            while cut > 1 and (current[cut - 1][0] in NO_LINE_END
                               or (ch in NO_LINE_START and current[cut - 1][0] in NO_LINE_START)):
                cut -= 1  # move the hanging marks (and any opener) down ...
            if ch in NO_LINE_START and cut > 1:
                cut -= 1  # ... with the character they belong to
            lines.append(_runs(current[:cut]))
            current = [*current[cut:], (ch, k)]
    if current:
        lines.append(_runs(current))
    return lines


# --- the ASS script -------------------------------------------------------------------------

def _offsets(lines: list[Line], text: PageText, duration: float, line_height: int = LINE_HEIGHT
             ) -> list[tuple[int, float, int | None]]:
    """(centiseconds, scroll offset px, sentence spoken from then on) at each interval start,
    plus the end. Offsets never go back and never past the last line."""
    first_line: dict[int, int] = {}
    for i, line in enumerate(lines):
        for _, k in line:
            first_line.setdefault(k, i)
    content = len(lines) * line_height
    reading = FIRST_LINE + 2 * line_height
    most = max(0, FIRST_LINE + content - (TEXT_BOTTOM - FADE))
    end_cs = max(1, round(duration * 100))
    points: list[tuple[int, float, int | None]] = [(0, 0.0, None)]
    for k, sentence in enumerate(text.sentences):
        if sentence.start is None or k not in first_line:
            continue
        cs = round(sentence.start * 100)
        if cs >= end_cs:
            break
        want = FIRST_LINE + first_line[k] * line_height - reading
        offset = min(most, max(points[-1][1], want, 0))
        if cs <= points[-1][0]:  # starts with the previous point (e.g. at 0)
            points[-1] = (points[-1][0], offset, k)
            continue
        points.append((cs, offset, k))
    last = FIRST_LINE + len(lines) * line_height - reading
    points.append((end_cs, min(most, max(points[-1][1], last)), None))
    return points


def _line_text(line: Line, spoken: int | None, ink: str, highlight: str) -> str:
    out = []
    for chunk, k in line:
        body = escape_ass(chunk)
        out.append(f"{{\\1c{highlight}}}{body}{{\\1c{ink}}}" if k == spoken else body)
    return "".join(out)


def _fades(paper: str, end_ms: int) -> list[pysubs2.SSAEvent]:
    """Paper-coloured strips of rising opacity over the text area's edges, so lines scroll in
    and out softly instead of being cut."""
    events, colour = [], _override_colour(paper)
    for edge, step in ((TEXT_TOP, 1), (TEXT_BOTTOM - FADE_STRIP, -1)):
        for i in range(FADE_STRIPS):
            y = edge + step * i * FADE_STRIP
            alpha = round(0x100 * i / FADE_STRIPS)  # 0: opaque at the very edge
            shape = f"m 0 0 l {PLAY_W} 0 {PLAY_W} {FADE_STRIP} 0 {FADE_STRIP}"
            events.append(pysubs2.SSAEvent(
                start=0, end=end_ms, style="PageApp", layer=1,
                text=f"{{\\pos(0,{y})\\p1\\1c{colour}\\1a&H{alpha:02X}&}}{shape}{{\\p0}}"))
    return events


def page_ass(text: PageText, theme: str, duration: float, font_file: Path, seed: int = 0
             ) -> str:
    """The whole page as an ASS script for libass over a `color` source of the paper."""
    colours = THEME_COLOURS[theme]
    ink, highlight = _override_colour(colours.ink), _override_colour(colours.highlight)
    subs = new_ass()

    def style(em: float, colour: str, bold: bool = False) -> pysubs2.SSAStyle:
        c = _colour(colour)
        return pysubs2.SSAStyle(fontname=SERIF, fontsize=_ass_size(font_file, em),
                                primarycolor=c, secondarycolor=c, outline=0, shadow=0,
                                bold=bold, alignment=pysubs2.Alignment(7),
                                marginl=SIDE, marginr=SIDE, marginv=0)

    subs.styles["PageApp"] = style(APP_EM, colours.muted)
    subs.styles["PageTitle"] = style(TITLE_EM, colours.title, bold=True)
    body_em, line_height = SIZES[seed % len(SIZES)]
    subs.styles["PageBody"] = style(body_em, colours.ink)
    end_ms = max(10, round(duration * 1000))
    header = [("PageApp", HEADER_TOP, text.app), ("PageTitle", HEADER_TOP + 60, text.title)]
    for name, y, value in header:
        if value:
            fitted = _fit(font_file, value, APP_EM if name == "PageApp" else TITLE_EM)
            subs.append(pysubs2.SSAEvent(start=0, end=end_ms, style=name,
                                         text=f"{{\\pos({SIDE},{y})\\fs{fitted}}}"
                                              f"{escape_ass(value)}"))
    rule = (f"{{\\pos({SIDE},{RULE_Y})\\p1\\1c{_override_colour(colours.muted)}\\1a&H80&}}"
            f"m 0 0 l {PLAY_W - 2 * SIDE} 0 {PLAY_W - 2 * SIDE} 2 0 2{{\\p0}}")
    subs.append(pysubs2.SSAEvent(start=0, end=end_ms, style="PageApp", text=rule))

    subs.events += _fades(paper_colour(theme, seed), end_ms)
    lines = layout(text, font_file, body_em)
    points = _offsets(lines, text, duration, line_height)
    clip = f"\\clip(0,{TEXT_TOP},{PLAY_W},{TEXT_BOTTOM})"
    for (t0, o0, spoken), (t1, o1, _) in itertools.pairwise(points):
        if t1 <= t0:
            continue
        for i, line in enumerate(lines):
            y0 = FIRST_LINE + i * line_height - o0  # where the line is as the interval starts
            y1 = FIRST_LINE + i * line_height - o1  # and as it ends (never lower)
            if y1 > TEXT_BOTTOM or y0 + line_height < TEXT_TOP:
                continue  # off the text area for the whole interval
            tags = (f"{{\\move({SIDE},{y0:.0f},{SIDE},{y1:.0f}){clip}}}" if o1 != o0
                    else f"{{\\pos({SIDE},{y0:.0f}){clip}}}")
            subs.append(pysubs2.SSAEvent(start=t0 * 10, end=t1 * 10, style="PageBody",
                                         text=tags + _line_text(line, spoken, ink, highlight)))
    return subs.to_string("ass")


def _fit(font_file: Path, value: str, em: float) -> int:
    """ASS size for `value` at `em`, smaller when it would not fit the page's width."""
    width = sum(_advance(font_file, ch) for ch in value) * em / 1000
    room = PLAY_W - 2 * SIDE
    return _ass_size(font_file, em if width <= room else em * room / width)


def page_graph(theme: str, seed: int, w: int, h: int, fps: int, duration: float,
               first_input: int, fonts_dir: str) -> tuple[list[str], str]:
    """ffmpeg input args (the paper colour) and the chain that draws `PAGE_FILE` on it."""
    paper = paper_colour(theme, seed).lstrip("#")
    source = f"color=c=0x{paper}:s={w}x{h}:r={fps}:d={duration + 1:.3f}"
    chain = f"[{first_input}:v]subtitles=filename={PAGE_FILE}:fontsdir={fonts_dir},setsar=1[bg]"
    return ["-f", "lavfi", "-i", source], chain
