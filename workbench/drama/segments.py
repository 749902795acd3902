"""A drama video's segments: `--segments 1:12.5-25.0,2:3-18` parsed, checked against the
episodes' real lengths, their edges moved out of spoken lines, put in story order; or, without
`--segments`, the top highlights up to the length limit.

A segment is `(episode, start, end)`: the episode's position in the material (from 1, as
`workbench material add-drama` lists them) and seconds into that episode. Every refusal names
the segment as the user wrote it and says what to write instead.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from workbench.drama.edges import GAP_PAD, Span, span_at, speech_spans
from workbench.errors import InputError
from workbench.materials.sidecar import SubtitleLine

SegmentTuple = tuple[int, float, float]
MAX_TEXT = 2000  # characters of a --segments value
MAX_SEGMENTS = 50
MIN_SECONDS = 0.5  # what is left of a segment after its edges left the lines
END_SLACK = 0.05  # an end this little past the episode's end is the end (rounding)
_SPLIT = re.compile(r"[,，;；\s]+")
_TIME = r"(\d{1,6}(?:\.\d{1,3})?)"
_PART = re.compile(rf"^(\d{{1,4}})\s*[:：]\s*{_TIME}\s*[-~～–—]\s*{_TIME}$")
_FORM = "集数:开始秒-结束秒，如 1:12.5-25.0,2:3-18"


@dataclass(frozen=True)
class EpisodeTimes:
    """What checking and snapping need of one episode."""

    idx: int  # position in the material, from 1
    duration: float
    lines: tuple[SubtitleLine, ...] = ()


def show(segment: SegmentTuple) -> str:
    """A segment as the user writes it: `1:12.5-25`."""
    episode, start, end = segment
    return f"{episode}:{start:g}-{end:g}"


def parse_segments(text: str) -> list[SegmentTuple]:
    """`"1:12.5-25.0,2:3-18"` → `[(1, 12.5, 25.0), (2, 3.0, 18.0)]`, in the order written.
    InputError names the part it cannot read."""
    if len(text) > MAX_TEXT:
        raise InputError(f"--segments 太长（{len(text)} 个字符，最多 {MAX_TEXT}）")
    parts = [p for p in _SPLIT.split(text.strip()) if p]
    if not parts:
        raise InputError(f"--segments 是空的：写成 {_FORM}（不写 --segments 就自动选高光片段）")
    if len(parts) > MAX_SEGMENTS:
        raise InputError(f"--segments 有 {len(parts)} 段，最多 {MAX_SEGMENTS} 段")
    found = []
    for part in parts:
        match = _PART.match(part)
        if not match:
            raise InputError(f"片段「{part[:30]}」看不懂：应写成 {_FORM}（时间是秒数）")
        found.append((int(match.group(1)), float(match.group(2)), float(match.group(3))))
    return found


def check_segments(segments: Sequence[SegmentTuple],
                   episodes: dict[int, EpisodeTimes]) -> list[SegmentTuple]:
    """Each segment against its episode: known episode, start before end, inside the episode
    (an end a rounding error past it becomes the end). Returns them, ends clamped."""
    count = len(episodes)
    checked = []
    for segment in segments:
        episode, start, end = segment
        if episode not in episodes:
            raise InputError(f"片段「{show(segment)}」：这部剧只有 {count} 集，集数应在 1–{count} "
                             "之间（按导入顺序，见 workbench material add-drama 的输出）")
        if end <= start:
            raise InputError(f"片段「{show(segment)}」的结束不晚于开始（倒过来了？）："
                             f"应写成 {show((episode, min(start, end), max(start, end)))}")
        length = episodes[episode].duration
        if start >= length or end > length + END_SLACK:
            raise InputError(f"片段「{show(segment)}」超出了第 {episode} 集的结尾（这一集只有 "
                             f"{length:.2f} 秒）：请把时间改在 0–{length:.2f} 之间")
        checked.append((episode, start, min(end, length)))
    return checked


def snap_out(time: float, spans: Sequence[Span], duration: float) -> float:
    """`time` moved out of the line it falls inside to the nearer gap (a little way into the
    gap, GAP_PAD or half the gap, so the line's last sound is kept whole); else unchanged."""
    span = span_at(time, spans)
    if span is None:
        return time
    i = list(spans).index(span)
    before_gap = span[0] - (spans[i - 1][1] if i else 0.0)
    after_gap = (spans[i + 1][0] if i + 1 < len(spans) else duration) - span[1]
    before = span[0] - min(GAP_PAD, before_gap / 2 if i else before_gap)
    after = span[1] + min(GAP_PAD, after_gap / 2 if i + 1 < len(spans) else after_gap)
    return round(before if time - before <= after - time else after, 3)


def snap_segments(segments: Sequence[SegmentTuple], episodes: dict[int, EpisodeTimes]
                  ) -> tuple[list[SegmentTuple], list[str]]:
    """Edges moved out of spoken lines (a cut mid-sentence is what viewers notice first), with
    a note for each segment that moved. A segment that was all inside one line is refused."""
    snapped, notes = [], []
    for segment in segments:
        episode, start, end = segment
        times = episodes[episode]
        spans = speech_spans(times.lines, times.duration)
        new_start, new_end = snap_out(start, spans, times.duration), snap_out(
            end, spans, times.duration)
        if new_end - new_start < MIN_SECONDS:
            raise InputError(f"片段「{show(segment)}」落在一句台词中间，把边界移到台词间隙后就"
                             "没有剩下画面了：请把它放宽到包含整句台词")
        if (new_start, new_end) != (start, end):
            moved = [f"开头 {start:g}→{new_start:g} 秒" if new_start != start else "",
                     f"结尾 {end:g}→{new_end:g} 秒" if new_end != end else ""]
            notes.append(f"片段 {show(segment)} 的边界落在台词中间，已移到台词间隙："
                         f"{'，'.join(m for m in moved if m)}")
        snapped.append((episode, new_start, new_end))
    return snapped, notes


def story_order(segments: Sequence[SegmentTuple]) -> list[SegmentTuple]:
    """By episode, then start; overlapping segments (the same seconds twice) are refused."""
    ordered = sorted(segments)
    for a, b in pairwise(ordered):
        if a[0] == b[0] and b[1] < a[2] - 1e-6:
            raise InputError(f"片段「{show(a)}」和「{show(b)}」重叠了（同一集的同一段画面会出现"
                             "两次）：请调整时间，让它们不重叠")
    return ordered


def resolve_segments(segments: Sequence[SegmentTuple], episodes: dict[int, EpisodeTimes]
                     ) -> tuple[tuple[SegmentTuple, ...], list[str]]:
    """The user's segments checked, snapped out of lines and in story order, with notes.
    Overlaps are looked for as written (moving edges out of lines never makes one)."""
    checked = check_segments(segments, episodes)
    story_order(checked)
    snapped, notes = snap_segments(checked, episodes)
    ordered = story_order(snapped)
    if ordered != snapped:
        notes.append("片段已按剧情顺序（集数、时间）排列")
    return tuple(ordered), notes


def length_limit(max_seconds: float | None, setting: float, target_seconds: float,
                 end_card_seconds: float) -> float:
    """Seconds of segments a video may hold: the task's limit, else the setting's, else the
    template's target; less the end card, which is appended after the segments."""
    limit = max_seconds or setting or target_seconds
    budget = limit - end_card_seconds
    if budget < MIN_SECONDS * 2:
        raise InputError(f"时长上限 {limit:g} 秒减去片尾 {end_card_seconds:g} 秒后不够放片段："
                         "请提高时长上限，或缩短片尾（render.end_card_seconds）")
    return budget


def total_seconds(segments: Sequence[SegmentTuple]) -> float:
    return sum(end - start for _, start, end in segments)


def pick_for_video(ranked: Sequence[SegmentTuple], budget: float,
                   durations: dict[int, float], max_share: float) -> list[SegmentTuple]:
    """Segments in rank order (none overlapping) up to `budget` seconds in all, none making
    one episode's used share pass `max_share` (so the automatic choice does not set off the
    rights warning); when that leaves nothing, the budget alone decides. In story order, with
    segments that touch joined."""
    for cap in (max_share, 1.0):
        taken: list[SegmentTuple] = []
        total, used = 0.0, dict.fromkeys(durations, 0.0)
        for segment in ranked:
            episode, start, end = segment
            length = end - start
            if (total + length > budget + 1e-6
                    or used[episode] + length > cap * durations[episode] + 1e-6):
                continue
            taken.append(segment)
            total += length
            used[episode] += length
        if taken:
            return join_touching(sorted(taken))
    return []


def join_touching(segments: Sequence[SegmentTuple], gap: float = 0.05) -> list[SegmentTuple]:
    """Story-ordered segments of one episode that touch become one (one cut fewer)."""
    joined: list[SegmentTuple] = []
    for episode, start, end in segments:
        if joined and joined[-1][0] == episode and start - joined[-1][2] <= gap:
            joined[-1] = (episode, joined[-1][1], end)
        else:
            joined.append((episode, start, end))
    return joined
