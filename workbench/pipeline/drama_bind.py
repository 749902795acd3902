"""A job bound to its material before it is planned: a novel needs a chapter and a novel
template; a drama needs a drama template and gets its segments resolved — the user's
`--segments` checked against the real episode lengths, their edges moved out of spoken lines,
put in story order; or, without them, the top highlights up to the length limit.

This runs once per job in the lifecycle (`lifecycle.plan_bound`), before `plan_job`, because
a drama job's recipe depends on what it resolves: the segments and every used episode's
sha256. The `DramaBinding` it returns is plain, picklable data that the rest of the job reads
instead of the database.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sqlite_utils import Database

from workbench.config import DRAMA_FITS, Settings
from workbench.drama.highlights import find_highlights
from workbench.drama.mask import parse_band
from workbench.drama.segments import (
    EpisodeTimes,
    length_limit,
    parse_segments,
    pick_for_video,
    resolve_segments,
    show,
    total_seconds,
)
from workbench.errors import InputError
from workbench.materials.drama import list_episodes
from workbench.materials.library import get_material
from workbench.materials.sidecar import SubtitleLine
from workbench.models import MakeJob
from workbench.script.templates import get_template
from workbench.transcribe.service import episode_lines

DRAMA_PROMPT = "drama-narration"  # the rewrite prompt a drama job uses unless it names one
DEFAULT_PROMPT = "narration"


@dataclass(frozen=True)
class EpisodeRef:
    """One used episode, as the render and the rights record need it."""

    idx: int  # position in the material, from 1
    number: int | None  # the episode number its file name gives
    path: str
    sha256: str
    duration: float
    width: int
    height: int
    has_audio: bool
    subtitle_path: str | None
    subtitle_format: str | None
    lines: tuple[SubtitleLine, ...]  # sidecar subtitles or transcript, seconds

    def row(self) -> dict[str, Any]:
        return {"subtitle_path": self.subtitle_path, "subtitle_format": self.subtitle_format}


@dataclass(frozen=True)
class DramaBinding:
    title: str  # 剧名
    episodes: tuple[EpisodeRef, ...]  # the episodes the segments use, by position
    notes: tuple[str, ...] = ()  # for the user: edges moved, highlights chosen, no subtitles

    def episode(self, idx: int) -> EpisodeRef:
        for ref in self.episodes:
            if ref.idx == idx:
                return ref
        raise KeyError(idx)

    def lines_in(self, idx: int, start: float, end: float) -> list[str]:
        """The lines of episode `idx` whose middle is inside [start, end)."""
        return [line.text for line in self.episode(idx).lines
                if start <= (line.start + line.end) / 2 < end]


def parse_job_segments(text: str | None) -> tuple[tuple[int, float, float], ...] | None:
    """`--segments` as the job's field (None when not given), read but not yet checked."""
    return None if text is None else tuple(parse_segments(text))


def bind_material(job: MakeJob, settings: Settings, db: Database
                  ) -> tuple[MakeJob, DramaBinding | None]:
    """The job checked against its material (and, for a drama, its segments resolved). A
    novel job whose material is not stored yet (a batch's dry run plans with id 0) is left
    to the stages that read the chapter, as before."""
    if job.chapter is not None and not any(db["materials"].rows_where(
            "id = ?", [job.material_id], select="id", limit=1)):
        return job, None
    material = get_material(db, job.material_id)
    template = get_template(job.template, settings.template_dirs)
    name = f"素材 #{material['id']}《{material['title']}》"
    if material.get("kind") != "drama":
        if job.segments is not None or job.fit is not None:
            raise InputError(f"{name}是小说：--segments 和 --fit 只用于短剧素材")
        if job.chapter is None:
            raise InputError(f"{name}是小说：请用 --chapter 指定章节（从 1 开始）")
        if template.kind != "novel":
            raise InputError(f"模板 {template.id} 是短剧模板，{name}是小说：请换一个小说模板"
                             "（workbench template list）")
        return job, None
    if job.chapter is not None:
        raise InputError(f"{name}是短剧，没有章节：去掉 --chapter（用 --segments 选片段，"
                         "不写就自动选高光片段）")
    if template.kind != "drama":
        raise InputError(f"模板 {template.id} 是小说模板，{name}是短剧：请用短剧模板 cut（切片）"
                         "或 narrated（解说）")
    if job.fit is not None and job.fit not in DRAMA_FITS:
        raise InputError(f"--fit 只能是 {' 或 '.join(DRAMA_FITS)}（收到 {job.fit[:20]!r}）")
    if job.background not in (None, "", "generated"):
        raise InputError(f"{name}是短剧，画面就是所选片段：去掉 --background")
    parse_band(settings.drama_mask_band)  # a bad setting is refused before any work
    rows = {row["idx"]: row for row in list_episodes(db, job.material_id)}
    if not rows:
        raise InputError(f"{name}没有剧集：请重新用 workbench material add-drama 导入")
    lines: dict[int, tuple[list[SubtitleLine], str]] = {}

    def lines_of(row: dict[str, Any]) -> tuple[list[SubtitleLine], str | None]:
        if row["idx"] not in lines:
            found = episode_lines(row, settings, db)
            lines[row["idx"]] = (found.lines, found.note)
        return lines[row["idx"]][0], lines[row["idx"]][1] or None

    if job.segments is None:
        durations = {idx: float(row["duration"]) for idx, row in rows.items()}
        segments, notes = _from_highlights(job, template.target_seconds, durations, settings,
                                           db, lines_of)
    else:
        wanted = {idx for idx, _, _ in job.segments if idx in rows}
        times = {idx: EpisodeTimes(idx, float(row["duration"]),
                                   tuple(lines_of(row)[0]) if idx in wanted else ())
                 for idx, row in rows.items()}
        segments, found_notes = resolve_segments(job.segments, times)
        notes = [*found_notes, *(note for idx in sorted(wanted)
                                 if (note := lines[idx][1]))]
    limit = job.max_seconds or settings.max_seconds
    video = total_seconds(segments) + settings.end_card_seconds
    if limit and video > limit + 1e-6:  # known now: refuse before anything is made
        raise InputError(f"片段共 {total_seconds(segments):.1f} 秒，加上片尾 "
                         f"{settings.end_card_seconds:g} 秒超过时长上限 {limit:g} 秒：请减少或缩短"
                         "片段（--segments）")
    used = sorted({idx for idx, _, _ in segments})
    episodes = tuple(_ref(rows[idx], lines_of(rows[idx])[0]) for idx in used)
    prompt = DRAMA_PROMPT if job.prompt == DEFAULT_PROMPT else job.prompt
    bound = replace(job, segments=segments, prompt=prompt,
                    bgm="none" if job.bgm is None else job.bgm)
    return bound, DramaBinding(material["title"], episodes, tuple(dict.fromkeys(notes)))


def _from_highlights(job: MakeJob, target_seconds: float, durations: dict[int, float],
                     settings: Settings, db: Database, lines_of: Any
                     ) -> tuple[tuple[tuple[int, float, float], ...], list[str]]:
    """The top highlights up to the length limit and the episode share, in story order."""
    budget = length_limit(job.max_seconds, settings.max_seconds, target_seconds,
                          settings.end_card_seconds)
    report = find_highlights(db, job.material_id, max_seconds=None, lines_for=lines_of)
    ranked = [(h.episode, round(h.start, 3), round(h.end, 3)) for h in report.highlights]
    segments = tuple(pick_for_video(ranked, budget, durations,
                                    settings.drama_max_episode_share))
    if not segments:
        raise InputError("没有找到合适的高光片段（剧集太短，或时长上限太小）：请用 --segments "
                         "指定片段，如 1:12.5-25.0")
    chosen = "，".join(show(s) for s in segments)
    return segments, [*report.notes, (f"自动选了 {len(segments)} 段高光（共 "
                      f"{total_seconds(segments):.1f} 秒，上限 {budget:g} 秒）：{chosen}")]


def _ref(row: dict[str, Any], lines: list[SubtitleLine]) -> EpisodeRef:
    return EpisodeRef(
        idx=row["idx"], number=row.get("number"), path=row["path"], sha256=row["sha256"],
        duration=float(row["duration"]), width=int(row["width"]), height=int(row["height"]),
        has_audio=bool(row.get("audio_codec")), subtitle_path=row.get("subtitle_path"),
        subtitle_format=row.get("subtitle_format"), lines=tuple(lines))


def drama_recipe(job: MakeJob, drama: DramaBinding, settings: Settings) -> dict[str, Any]:
    """What else decides a drama video: the episode files and the drama settings."""
    return {"episodes": [[ref.idx, ref.sha256] for ref in drama.episodes],
            "fit": job.fit or settings.drama_fit,
            "original_volume": settings.drama_original_volume,
            "duck_volume": settings.drama_duck_volume, "mask_band": settings.drama_mask_band,
            "max_episode_share": settings.drama_max_episode_share}
