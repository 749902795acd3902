"""Narration timings → one-line Chinese subtitle events, written as ASS (styled) and SRT.

Vertical promotion videos show one short line at a time, so every event is a single line of at
most `max_chars` characters. Lines break first at clause punctuation, then at jieba word
boundaries (balanced, so no 1–2 character orphan), and never inside a jieba word or the task
keyword: a word cut across two lines is hard to read and a cut keyword is not found by viewers.
The only line allowed to exceed `max_chars` is one jieba word (or the keyword, or a number such
as 23:40 that jieba cuts at its colon) that is longer than the limit by itself; it then stands
alone. Punctuation is glued to its word (openers to the next, the rest to the previous), and a
break inside quotes or 《》 is avoided when an equally short layout exists.

Times come from the TTS word timings: a line starts when its first word is spoken and ends when
its last word ends. Characters without a word (punctuation) do not move either end. When a line
starts or ends inside a TTS word (TTS and jieba disagree about words), the time is interpolated
linearly by character position within that word.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass, replace
from pathlib import Path

import pysubs2

from workbench.errors import InputError
from workbench.files import write_text_atomic
from workbench.fonts import default_font_file, em_per_size
from workbench.text import (
    CLAUSE_MARKS,
    CLOSE_BRACKETS,
    CLOSE_QUOTES,
    ELLIPSIS,
    OPEN_QUOTES,
    SENTENCE_END,
    jieba,
    split_clauses,
    split_sentences,
    visible_len,
)
from workbench.voice.timing import TimedWord, TimingMap

log = logging.getLogger(__name__)

GAP_CLOSE = 0.3  # seconds: a shorter gap inside a segment is bridged (less flicker)
_OPENERS = OPEN_QUOTES + "《（(【〈[「"
_CLOSERS = CLOSE_QUOTES + CLOSE_BRACKETS + '"'
_TRAILING = SENTENCE_END + ELLIPSIS + CLAUSE_MARKS + "—－～~.·"  # never ends a shown line
_HEX = re.compile(r"#?([0-9a-fA-F]{6})")


@dataclass(frozen=True)
class SubtitleStyle:
    """How subtitles look. Colours are `#RRGGBB` strings (what colour pickers give us);
    `margin_v` 480 puts the line about a quarter up from the bottom of a 1080x1920 frame, above
    the platform's own caption and button overlays."""

    font_name: str = "Noto Sans SC"
    font_size: int = 84
    primary_colour: str = "#FFFFFF"
    outline_colour: str = "#000000"
    keyword_colour: str = "#FFD400"  # warm yellow
    outline: float = 4.0
    shadow: float = 1.0
    bold: bool = False
    alignment: int = 2  # numpad style: bottom centre
    margin_v: int = 480
    margin_lr: int = 60
    play_res_x: int = 1080
    play_res_y: int = 1920


@dataclass(frozen=True)
class SubtitleEvent:
    start: float  # seconds in the final audio
    end: float
    text: str  # one line, trailing punctuation stripped
    segment: int  # index into TimingMap.segments
    char_start: int = 0  # the line's span in the segment text (before stripping)
    char_end: int = 0


def max_chars_for(style: SubtitleStyle) -> int:
    """Characters per line that fit the frame: CJK glyphs are one em wide, and libass makes
    the em `em_per_size` of the font size."""
    em = style.font_size * em_per_size(default_font_file())
    return math.floor((style.play_res_x - 2 * style.margin_lr) / em)


# --- line breaking -------------------------------------------------------------------------

def clean_line(text: str) -> str:
    """A line as shown: no trailing ，。！？… marks (also not just inside a closing quote, so
    `“一张票。”` shows as `“一张票”`), no stray leading clause marks; quotes and brackets stay."""
    text = text.strip().lstrip(CLAUSE_MARKS + SENTENCE_END + ELLIPSIS + " ")
    closers = ""
    while True:
        text = text.rstrip(_TRAILING + _OPENERS + " ")
        if not text or text[-1] not in _CLOSERS:
            break
        closers = text[-1] + closers
        text = text[:-1]
    return text + closers if text else ""


def _tokens(text: str, keyword: str) -> list[tuple[int, int]]:
    """jieba word spans covering `text`; each keyword occurrence is one span. The text is cut
    around the keyword first, so jieba's global dictionary is never touched."""
    pieces: list[tuple[int, int, bool]] = []
    pos = 0
    while keyword and (k := text.find(keyword, pos)) >= 0:
        pieces += [(pos, k, False), (k, k + len(keyword), True)]
        pos = k + len(keyword)
    pieces.append((pos, len(text), False))
    spans: list[tuple[int, int]] = []
    for a, b, is_keyword in pieces:
        if a == b:
            continue
        if is_keyword:
            spans.append((a, b))
            continue
        for word in jieba().cut(text[a:b]):
            spans.append((a, a + len(word)))
            a += len(word)
    return spans


def _units(text: str, tokens: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Tokens with punctuation glued on: openers to the next word, everything else to the
    previous one, so a break never leaves `“` at a line end or `，` at a line start."""
    units: list[list[int]] = []
    pending: int | None = None  # start of openers waiting for a word
    for a, b in tokens:
        chunk = text[a:b]
        if all(c in _OPENERS for c in chunk):
            pending = a if pending is None else pending
        elif units and pending is None and (
            not any(c.isalnum() for c in chunk)
            or (chunk[0].isdigit() and a > 1 and text[a - 1] in ",.:" and text[a - 2].isdigit())
        ):  # punctuation, or the rest of a number such as 23:40 or 1,000
            units[-1][1] = b
        else:
            units.append([a if pending is None else pending, b])
            pending = None
    if pending is not None:
        if units:
            units[-1][1] = len(text)
        else:
            units.append([pending, len(text)])
    return [(a, b) for a, b in units]


def _clause_cuts(text: str) -> set[int]:
    """Offsets where a clause or sentence starts or ends, or an ellipsis pauses. An end moves
    past the closing quotes and spaces after its mark: they belong to the clause before."""
    ends: list[int] = [m.end() for m in re.finditer(f"[{ELLIPSIS}]+", text)]
    cuts: set[int] = set()
    pos = 0
    for sentence in split_sentences(text):
        for clause in split_clauses(sentence):
            start = text.find(clause, pos)
            if start >= 0:  # always: split_* return substrings
                pos = start + len(clause)
                cuts.add(start)
                ends.append(pos)
    for end in ends:
        while end < len(text) and (text[end] in _CLOSERS or text[end].isspace()):
            end += 1
        cuts.add(end)
    # "1,000" and "23:40" are numbers, not clauses
    return {c for c in cuts if not (1 < c < len(text) and text[c - 1] in ",:"
                                    and text[c - 2].isdigit() and text[c].isdigit())}


def _quote_depths(text: str) -> list[int]:
    """How many quotes or brackets are open before each offset (a break there splits them)."""
    depths, depth, ascii_open = [0], 0, False
    for ch in text:
        if ch == '"':
            depth += -1 if ascii_open else 1
            ascii_open = not ascii_open
        elif ch in _OPENERS:
            depth += 1
        elif ch in _CLOSERS:
            depth = max(0, depth - 1)
        depths.append(depth)
    return depths


def _pack(text: str, units: list[tuple[int, int]], max_chars: int,
          depths: list[int]) -> list[list[tuple[int, int]]]:
    """Fewest lines within `max_chars`; among those, the most even lengths (least sum of
    squares), with a penalty for a 1–2 character orphan and for a break inside quotes."""
    n = len(units)
    penalty = max_chars * max_chars
    best: list[tuple[int, int, int] | None] = [(0, 0, 0)] + [None] * n  # (lines, cost, from)
    for j in range(1, n + 1):
        for i in range(j - 1, -1, -1):
            length = visible_len(clean_line(text[units[i][0]:units[j - 1][1]]))
            if length > max_chars and j - i > 1:
                break  # longer lines only get longer; a lone word may exceed
            prev = best[i]
            if prev is None:
                continue
            cost = prev[1] + length * length
            if length <= 2 and (i, j) != (0, n):
                cost += penalty
            if j < n and depths[units[j][0]] > 0:
                cost += penalty
            if best[j] is None or (prev[0] + 1, cost) < best[j][:2]:  # type: ignore[index]
                best[j] = (prev[0] + 1, cost, i)
    lines: list[list[tuple[int, int]]] = []
    j = n
    while j > 0:
        i = best[j][2]  # type: ignore[index]
        lines.append(units[i:j])
        j = i
    return lines[::-1]


# --- timing --------------------------------------------------------------------------------

def _char_times(n: int, words: list[TimedWord]) -> list[tuple[float, float] | None]:
    """Per character of a segment: its (start, end) interpolated inside its word, or None."""
    times: list[tuple[float, float] | None] = [None] * n
    for w in words:
        a, b = max(0, w.char_start), min(n, w.char_end)
        step = (w.end - w.start) / (b - a) if b > a else 0.0
        for c in range(a, b):
            if times[c] is None:
                times[c] = (w.start + step * (c - a), w.start + step * (c - a + 1))
    return times


def _span_time(times: list[tuple[float, float] | None], a: int, b: int
               ) -> tuple[float, float] | None:
    timed = [t for t in times[a:b] if t is not None]
    return (timed[0][0], timed[-1][1]) if timed else None


def _limit_duration(line: list[tuple[int, int]], times: list[tuple[float, float] | None],
                    max_duration: float) -> list[list[tuple[int, int]]]:
    """Split a line that would stay on screen too long at the word boundary that best halves
    its time; a single word that is still too long is clipped later."""
    span = _span_time(times, line[0][0], line[-1][1])
    if span is None or span[1] - span[0] <= max_duration or len(line) < 2:
        return [line]

    def worst(k: int) -> float:
        parts = [_span_time(times, p[0][0], p[-1][1]) for p in (line[:k], line[k:])]
        return max((t[1] - t[0]) if t else 0.0 for t in parts)

    k = min(range(1, len(line)), key=worst)
    return (_limit_duration(line[:k], times, max_duration)
            + _limit_duration(line[k:], times, max_duration))


def _segment_events(index: int, text: str, words: list[TimedWord], keyword: str,
                    max_chars: int, max_duration: float) -> list[SubtitleEvent]:
    times = _char_times(len(text), words)
    units = _units(text, _tokens(text, keyword))
    cuts, depths = _clause_cuts(text), _quote_depths(text)
    clauses: list[list[tuple[int, int]]] = []
    for unit in units:
        if not clauses or unit[0] in cuts:
            clauses.append([])
        clauses[-1].append(unit)
    events: list[SubtitleEvent] = []
    for clause in clauses:
        for packed in _pack(text, clause, max_chars, depths):
            for line in _limit_duration(packed, times, max_duration):
                a, b = line[0][0], line[-1][1]
                shown, span = clean_line(text[a:b]), _span_time(times, a, b)
                if not shown or span is None:
                    log.debug("dropping untimed line %r", text[a:b])
                    continue
                events.append(SubtitleEvent(span[0], span[1], shown, index, a, b))
    return events


def build_events(timing: TimingMap, *, max_chars: int | None = None, min_duration: float = 0.6,
                 max_duration: float = 5.0) -> list[SubtitleEvent]:
    """Subtitle events for the whole narration, in time order, never overlapping.

    A line shorter than `min_duration` is held longer, into the following silence but never
    past the next line's start; a line longer than `max_duration` is split at a word boundary,
    or clipped if it is one word. Gaps under GAP_CLOSE inside a segment are bridged; a segment
    change (hook → body) keeps its pause so the viewer sees the cut.
    """
    if max_chars is None:
        max_chars = max_chars_for(SubtitleStyle())
    if max_chars < 2:
        raise InputError(f"每行字数上限至少为 2（收到 {max_chars}）")
    if min_duration < 0 or max_duration <= 0 or min_duration > max_duration:
        raise InputError(
            f"字幕时长设置无效：最短 {min_duration} 秒，最长 {max_duration} 秒（需 0 ≤ 最短 ≤ 最长）"
        )
    by_segment: dict[int, list[TimedWord]] = {}
    for w in timing.words:
        if not 0 <= w.segment < len(timing.segments):
            raise InputError(f"时间轴中的词“{w.text}”指向不存在的段落 {w.segment}")
        by_segment.setdefault(w.segment, []).append(w)
    raw: list[SubtitleEvent] = []
    for i, seg in enumerate(timing.segments):
        words = sorted(by_segment.get(i, []), key=lambda w: (w.start, w.char_start))
        raw += _segment_events(i, seg.text, words, timing.keyword, max_chars, max_duration)
    raw.sort(key=lambda e: (e.start, e.segment, e.char_start))

    events: list[SubtitleEvent] = []
    for k, ev in enumerate(raw):
        nxt = raw[k + 1] if k + 1 < len(raw) else None
        end = max(ev.end, ev.start + min_duration)
        if nxt is not None and nxt.segment == ev.segment and nxt.start - end < GAP_CLOSE:
            end = max(end, nxt.start)
        end = min(end, ev.start + max_duration)
        if nxt is not None:
            end = min(end, nxt.start)
        elif timing.duration > 0:
            end = min(end, max(ev.end, timing.duration))  # do not outlast the audio
        if end - ev.start < 1e-3:  # two lines with the same start: broken word timings
            log.warning("subtitle line %r has no time of its own; dropped", ev.text)
            continue
        events.append(replace(ev, end=end))
    return events


# --- output --------------------------------------------------------------------------------

def _colour(value: str, alpha: int = 0) -> pysubs2.Color:
    m = _HEX.fullmatch(value.strip())
    if not m:
        raise InputError(f"颜色格式应为 #RRGGBB（收到 {value!r}）")
    rgb = int(m.group(1), 16)
    return pysubs2.Color(rgb >> 16, (rgb >> 8) & 0xFF, rgb & 0xFF, alpha)


def _override_colour(value: str) -> str:
    """ASS override colours are blue-green-red: #FFD400 → &H00D4FF&."""
    c = _colour(value)
    return f"&H{c.b:02X}{c.g:02X}{c.r:02X}&"


def escape_ass(text: str) -> str:
    """Braces and backslashes would start override tags; show full-width look-alikes instead."""
    return text.translate(str.maketrans({"{": "｛", "}": "｝", "\\": "＼"}))


def _ass_text(text: str, keyword: str, colour_tag: str) -> str:
    text = escape_ass(text)
    if keyword:
        text = text.replace(keyword, f"{{\\c{colour_tag}}}{keyword}{{\\r}}")
    return text


def to_ass(events: list[SubtitleEvent], style: SubtitleStyle, keyword: str) -> pysubs2.SSAFile:
    """An ASS script with one style; keyword occurrences switch to the keyword colour and back
    (`{\\r}` resets to the style)."""
    try:
        alignment = pysubs2.Alignment(style.alignment)
    except ValueError:
        raise InputError(f"字幕对齐方式应为 1–9（小键盘方位），收到 {style.alignment}") from None
    subs = pysubs2.SSAFile()
    subs.info.update({
        "PlayResX": str(style.play_res_x),
        "PlayResY": str(style.play_res_y),
        "WrapStyle": "2",  # no automatic wrapping: lines are broken here, by words
        "ScaledBorderAndShadow": "yes",
    })
    subs.styles["Default"] = pysubs2.SSAStyle(
        fontname=style.font_name, fontsize=style.font_size,
        primarycolor=_colour(style.primary_colour), secondarycolor=_colour(style.primary_colour),
        outlinecolor=_colour(style.outline_colour), backcolor=_colour(style.outline_colour, 0x80),
        bold=style.bold, outline=style.outline, shadow=style.shadow,
        alignment=alignment, marginl=style.margin_lr,
        marginr=style.margin_lr, marginv=style.margin_v,
    )
    tag = _override_colour(style.keyword_colour)
    for ev in events:
        subs.append(pysubs2.SSAEvent(start=round(ev.start * 1000), end=round(ev.end * 1000),
                                     text=_ass_text(ev.text, keyword, tag), style="Default"))
    return subs


def write_subtitles(events: list[SubtitleEvent], base: Path, *,
                    style: SubtitleStyle = SubtitleStyle(), keyword: str = ""
                    ) -> tuple[Path, Path]:
    """Write `base.ass` and `base.srt` atomically; the SRT is the same lines without styling
    (pysubs2 drops the override tags), for platforms that take a separate caption file."""
    subs = to_ass(events, style, keyword)
    ass_path, srt_path = Path(base).with_suffix(".ass"), Path(base).with_suffix(".srt")
    write_text_atomic(ass_path, subs.to_string("ass"))
    write_text_atomic(srt_path, subs.to_string("srt"))
    return ass_path, srt_path
