"""Where a segment may start or end: at a scene cut or in a gap between subtitle lines, and
never inside a spoken line (a cut mid-sentence is the failure viewers notice first).

Lines are merged into speech spans (lines that overlap, two people talking at once, are one
span). A time is allowed when no span has it strictly inside; a span's own start and end are
allowed. A scene cut inside a span moves to the nearer edge of that span.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from workbench.materials.sidecar import SubtitleLine

Span = tuple[float, float]
GAP_PAD = 0.3  # seconds kept after a line ends / before one starts, where the gap allows
SHORT_GAP = 2 * GAP_PAD + 0.2  # a gap up to this long gets one point, in its middle
GRID = 2.5  # seconds between points when there are no lines at all
SAME = 0.05  # points closer than this are one


@dataclass(frozen=True)
class Point:
    time: float
    scene: bool  # a scene cut or an end of the episode


def speech_spans(lines: Iterable[SubtitleLine], duration: float) -> list[Span]:
    """Lines clamped to [0, duration] and merged where they overlap, in order."""
    spans: list[list[float]] = []
    for line in sorted(lines, key=lambda l: (l.start, l.end)):
        start, end = max(0.0, line.start), min(duration, line.end)
        if end <= start:
            continue
        if spans and start < spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], end)
        else:
            spans.append([start, end])
    return [(a, b) for a, b in spans]


def span_at(time: float, spans: Sequence[Span]) -> Span | None:
    """The span that has `time` strictly inside it, if any."""
    i = bisect_right(spans, (time, float("inf"))) - 1
    if i >= 0 and spans[i][0] < time < spans[i][1]:
        return spans[i]
    return None


def snap(time: float, spans: Sequence[Span],
         side: Literal["start", "end", "nearest"] = "nearest") -> float:
    """`time` moved out of any line: a segment's start moves back to the line's start (the
    line is kept whole), its end forward to the line's end, a scene cut to the nearer edge."""
    span = span_at(time, spans)
    if span is None:
        return time
    if side == "start":
        return span[0]
    if side == "end":
        return span[1]
    return span[0] if time - span[0] <= span[1] - time else span[1]


def snap_points(spans: Sequence[Span], cuts: Sequence[float], duration: float) -> list[Point]:
    """Every allowed segment edge worth trying, ascending: the episode's ends, scene cuts
    (snapped out of lines), and points in the gaps between spans; with no spans at all, a
    grid as well."""
    points = [Point(0.0, True), Point(duration, True)]
    points += [Point(snap(c, spans), True) for c in cuts if 0 < c < duration]
    bounds = [0.0, *[t for span in spans for t in span], duration]
    for gap_start, gap_end in zip(bounds[0::2], bounds[1::2], strict=True):
        if gap_end - gap_start <= SHORT_GAP:
            points.append(Point((gap_start + gap_end) / 2, False))
        else:
            if gap_start > 0:
                points.append(Point(gap_start + GAP_PAD, False))
            if gap_end < duration:
                points.append(Point(gap_end - GAP_PAD, False))
    if not spans:
        steps = int(duration / GRID)
        points += [Point(i * GRID, False) for i in range(1, steps + 1) if i * GRID < duration]
    return _dedupe(points, spans)


def _dedupe(points: list[Point], spans: Sequence[Span]) -> list[Point]:
    """Times to the millisecond (unless that would put one inside a line), one point per
    SAME seconds; a scene point wins over a gap point."""
    kept: list[Point] = []
    rounded = (Point(round(p.time, 3), p.scene) if span_at(round(p.time, 3), spans) is None
               else p for p in points)
    for point in sorted(rounded, key=lambda p: (p.time, not p.scene)):
        if kept and point.time - kept[-1].time < SAME:
            if point.scene and not kept[-1].scene:
                kept[-1] = point
            continue
        kept.append(point)
    return kept
