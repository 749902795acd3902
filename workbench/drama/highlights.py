"""Highlight segments of a drama: candidates between allowed edges, scored, ranked, picked.

Candidates run from one allowed edge (edges.py: scene cuts and gaps between lines, never inside
a line) to a later one, MIN_SECONDS–MAX_SECONDS long. A candidate's score adds up:

- dialogue: the scores of its lines (dialogue.py), per NORM_SECONDS of length (a segment
  shorter than that is not boosted for being short), plus ENDING_BONUS when it ends on a
  cliffhanger line: a clip should stop where the viewer wants more;
- density: many characters spoken per second (台词密集);
- loudness: louder than the episode's median window (声音激烈);
- scene activity: several cuts inside it (镜头切换快); edges on scene cuts, best both (完整场景);
  less for a cut just inside an edge (a second of another scene is a sloppy clip).

`pick` takes candidates in rank order, skipping any that overlaps one already taken or would
pass the total length, and returns them in rank order.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlite_utils import Database

from workbench.drama.dialogue import CLIFFHANGER, CONFLICT, EMOTION, QUESTION, SUSPENSE
from workbench.drama.edges import snap_points
from workbench.drama.facts import EpisodeFacts, LinesFor, Progress, gather, sidecar_lines

MIN_SECONDS = 3.0
MAX_SECONDS = 30.0
NORM_SECONDS = 10.0
ENDING_BONUS = 1.0
MAX_ENDS_PER_START = 80  # bounds the candidates of an episode with very many short lines
MAX_PER_EPISODE = 500  # an episode's best candidates kept for the ranking over all episodes
MAX_RESULTS = 50
DENSE, LOUD, FAST_CUTS, WHOLE_SCENE = "台词密集", "声音激烈", "镜头切换快", "完整场景"
REASON_ORDER = (CLIFFHANGER, CONFLICT, QUESTION, EMOTION, SUSPENSE, DENSE, LOUD, FAST_CUTS,
                WHOLE_SCENE)
MAX_TEXT_CHARS = 400
EDGE_ON_CUT = 0.15  # per edge on a scene cut: clips read best cut to cut
SLIVER_SECONDS = 1.5  # a cut this close to an edge shows a flash of the next or last scene
SLIVER_PENALTY = 0.5


@dataclass(frozen=True)
class Highlight:
    episode: int  # position in the material, from 1
    start: float
    end: float
    score: float
    reasons: tuple[str, ...]
    text: str

    @property
    def seconds(self) -> float:
        return self.end - self.start

    def overlaps(self, other: Highlight) -> bool:
        return (self.episode == other.episode and self.start < other.end
                and other.start < self.end)

    def to_dict(self) -> dict[str, Any]:
        return {"episode": self.episode, "start": round(self.start, 3),
                "end": round(self.end, 3), "score": round(self.score, 2),
                "reasons": list(self.reasons), "text": self.text}


@dataclass(frozen=True)
class HighlightReport:
    highlights: list[Highlight]
    notes: list[str]  # for the user: where lines came from, episodes without any


def segment_text(facts: EpisodeFacts, start: float, end: float) -> str:
    text = " ".join(facts.lines[i].text for i in facts.lines_between(start, end))
    return text if len(text) <= MAX_TEXT_CHARS else text[:MAX_TEXT_CHARS - 1] + "…"


def score_segment(facts: EpisodeFacts, start: float, end: float, *, start_on_cut: bool = False,
                  end_on_cut: bool = False) -> tuple[float, tuple[str, ...]]:
    """The score of [start, end) in the episode and the reasons for it; `start_on_cut`,
    `end_on_cut`: the edge is a scene cut or an end of the episode."""
    length = max(end - start, 1e-3)
    held = facts.lines_between(start, end)
    reasons: set[str] = set()
    dialogue = 0.0
    for i in held:
        dialogue += facts.scores[i].score
        reasons.update(facts.scores[i].reasons)
    score = dialogue / (max(length, NORM_SECONDS) / NORM_SECONDS)
    if held and facts.scores[held[-1]].cliffhanger:
        score += ENDING_BONUS
    chars_per_second = sum(len(facts.lines[i].text) for i in held) / length
    if chars_per_second > 2.0:
        score += min(1.0, (chars_per_second - 2.0) / 3.0) * 0.8
        if chars_per_second >= 3.5:
            reasons.add(DENSE)
    loud = facts.loudness.between(start, end)
    if loud is not None:
        above = loud - facts.loudness.median
        score += min(1.0, max(0.0, above / 10.0)) * 0.8
        if above >= 3.0:
            reasons.add(LOUD)
    inner = [cut for cut in facts.cuts if start < cut < end]
    slivers = sum(1 for cut in inner if cut - start < SLIVER_SECONDS or end - cut < SLIVER_SECONDS)
    score -= SLIVER_PENALTY * slivers
    per_ten = (len(inner) - slivers) / length * 10  # more than one cut per 10 s: quick pace
    score += min(1.0, max(0.0, per_ten - 1.0) / 3.0) * 0.5
    if len(inner) - slivers >= 2 and per_ten >= 2.0:
        reasons.add(FAST_CUTS)
    score += EDGE_ON_CUT * (start_on_cut + end_on_cut)
    if start_on_cut and end_on_cut:
        reasons.add(WHOLE_SCENE)
    return score, tuple(r for r in REASON_ORDER if r in reasons)


def highlight(facts: EpisodeFacts, start: float, end: float, *, start_on_cut: bool = False,
              end_on_cut: bool = False, extra: Sequence[str] = ()) -> Highlight:
    score, reasons = score_segment(facts, start, end, start_on_cut=start_on_cut,
                                   end_on_cut=end_on_cut)
    reasons = tuple(dict.fromkeys((*extra, *reasons)))
    return Highlight(facts.idx, start, end, score, reasons, segment_text(facts, start, end))


def candidates(facts: EpisodeFacts) -> list[Highlight]:
    """The best MAX_PER_EPISODE segments between two allowed edges whose length is within
    bounds, without their text (`with_text` adds it to the few that are shown)."""
    points = snap_points(facts.spans, facts.cuts, facts.duration)
    shortest = min(MIN_SECONDS, facts.duration)
    found = []
    for i, first in enumerate(points):
        ends = 0
        for last in points[i + 1:]:
            length = last.time - first.time
            if length > MAX_SECONDS or ends >= MAX_ENDS_PER_START:
                break
            if length + 1e-6 < shortest:
                continue
            ends += 1
            score, reasons = score_segment(facts, first.time, last.time,
                                           start_on_cut=first.scene, end_on_cut=last.scene)
            found.append(Highlight(facts.idx, first.time, last.time, score, reasons, ""))
    return heapq.nsmallest(MAX_PER_EPISODE, found, key=rank_key)


def with_text(chosen: Sequence[Highlight], facts: Sequence[EpisodeFacts]) -> list[Highlight]:
    by_idx = {f.idx: f for f in facts}
    return [replace(h, text=segment_text(by_idx[h.episode], h.start, h.end)) for h in chosen]


def rank_key(h: Highlight) -> tuple[float, float, int, float]:
    """Best first; of equal scores the shorter (the same merit, more concentrated)."""
    return (-round(h.score, 6), h.seconds, h.episode, h.start)


def rank(found: Sequence[Highlight]) -> list[Highlight]:
    return sorted(found, key=rank_key)


def pick(ranked: Sequence[Highlight], max_seconds: float | None,
         limit: int = MAX_RESULTS) -> list[Highlight]:
    """The best segments in rank order, none overlapping another, up to `max_seconds` in all;
    a segment that scores nothing only when there is no other."""
    chosen: list[Highlight] = []
    total = 0.0
    for candidate in ranked:
        if candidate.score <= 0 and chosen:  # nothing to recommend it: not a filler
            break
        if max_seconds is not None and total + candidate.seconds > max_seconds + 1e-6:
            continue
        if any(candidate.overlaps(c) for c in chosen):
            continue
        chosen.append(candidate)
        total += candidate.seconds
        if len(chosen) >= limit or (max_seconds is not None
                                    and max_seconds - total < MIN_SECONDS):
            break
    return chosen


def find_highlights(db: Database, material_id: int, episodes: Sequence[int] | None = None, *,
                    max_seconds: float | None = 60.0, lines_for: LinesFor = sidecar_lines,
                    progress: Progress | None = None) -> HighlightReport:
    """The material's best segments (of `episodes`, positions from 1; all when None), ranked,
    at most `max_seconds` in all."""
    facts, notes = gather(db, material_id, episodes, lines_for=lines_for, progress=progress)
    found = [h for f in facts for h in candidates(f)]
    return HighlightReport(with_text(pick(rank(found), max_seconds), facts), notes)
