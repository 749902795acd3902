"""What highlights are chosen from, per episode: its subtitle lines (scored), speech spans,
scene cuts and loudness windows.

Lines come through a `lines_for(episode_row) -> (lines, note)` callable, so the source can be
swapped (the sidecar subtitles stored at import by default; a transcript when there are none)
without this package knowing about transcription.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlite_utils import Database

from workbench.drama.dialogue import LineScore, score_lines
from workbench.drama.edges import Span, snap, speech_spans
from workbench.drama.loudness import Loudness, loudness
from workbench.drama.scenes import scene_cuts
from workbench.errors import InputError
from workbench.materials.episode_ranges import drama_episodes as all_episodes
from workbench.materials.sidecar import SubtitleLine, stored_lines
from workbench.store.cache import StageCache

LinesFor = Callable[[dict[str, Any]], tuple[list[SubtitleLine], str | None]]
Progress = Callable[[float, str], None]
OFFLINE_NOTE = "离线：没有字幕，只根据镜头和声音挑选片段"


def sidecar_lines(episode: dict[str, Any]) -> tuple[list[SubtitleLine], str | None]:
    """The sidecar subtitles read at import (episodes.subtitles), or none."""
    return stored_lines(episode), None


@dataclass
class EpisodeFacts:
    idx: int  # the episode's position in the material, from 1
    duration: float
    lines: list[SubtitleLine]  # inside [0, duration], sorted by start
    scores: list[LineScore]  # one per line
    spans: list[Span]
    cuts: list[float]  # scene cuts, moved out of lines
    loudness: Loudness
    mids: list[float] = field(init=False)  # each line's middle, ascending with `lines`

    def __post_init__(self) -> None:
        self.mids = [(line.start + line.end) / 2 for line in self.lines]

    def lines_between(self, start: float, end: float) -> range:
        """Indexes of the lines whose middle is in [start, end): the lines a segment holds
        (its edges are never inside a line, so a line is wholly in or out)."""
        return range(bisect_left(self.mids, start), bisect_left(self.mids, end))

    @classmethod
    def build(cls, idx: int, duration: float, lines: Sequence[SubtitleLine],
              cuts: list[float], sound: Loudness) -> EpisodeFacts:
        kept = sorted((SubtitleLine(max(0.0, l.start), min(duration, l.end),
                                    " ".join(l.text.split()))  # a two-row cue is one line
                       for l in lines if l.text.strip() and l.start < duration),
                      key=lambda l: ((l.start + l.end) / 2, l.start))
        kept = [l for l in kept if l.end > l.start]
        spans = speech_spans(kept, duration)
        # a cut inside a line moves to the line's nearer edge: that is where the scene ends
        moved = sorted({snap(c, spans) for c in cuts if 0 < c < duration})
        return cls(idx, duration, kept, score_lines(kept, moved, duration), spans, moved, sound)


def drama_episodes(db: Database, material_id: int) -> list[dict[str, Any]]:
    """The episodes of a drama material; a clear error for a novel or an unknown id."""
    material, episodes = all_episodes(db, material_id)
    if not episodes:
        raise InputError(f"素材 #{material_id}《{material['title']}》没有剧集：请重新导入")
    return episodes


def gather(db: Database, material_id: int, episodes: Sequence[int] | None = None, *,
           lines_for: LinesFor = sidecar_lines, progress: Progress | None = None
           ) -> tuple[list[EpisodeFacts], list[str]]:
    """Facts for the chosen episodes (positions from 1; all when None) and notes for the
    user (where lines came from, which episodes have none)."""
    rows = drama_episodes(db, material_id)
    if episodes and not all(1 <= i <= len(rows) for i in episodes):
        raise InputError(f"素材 #{material_id} 只有 {len(rows)} 集：集数应在 1–{len(rows)} 之间")
    chosen = [rows[i - 1] for i in episodes] if episodes else rows
    cache = StageCache(db)
    facts, notes, silent = [], [], []
    for n, row in enumerate(chosen):
        if progress:
            progress(n / len(chosen), f"分析第 {row['idx']} 集")
        lines, note = lines_for(row)
        if note:
            notes.append(note)
        if not lines:
            silent.append(row["idx"])
        duration = float(row["duration"])
        facts.append(EpisodeFacts.build(row["idx"], duration, lines, scene_cuts(row, cache),
                                        loudness(row, cache)))
    if silent and len(silent) == len(chosen):
        notes.append(OFFLINE_NOTE)
    elif silent:
        notes.append(f"第 {'、'.join(map(str, silent))} 集没有字幕：这几集只根据镜头和声音挑选片段")
    if progress:
        progress(1.0, "分析完成")
    return facts, notes
