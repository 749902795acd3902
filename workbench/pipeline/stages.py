"""The script and voice stages as recorded jobs."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from workbench.config import Settings
from workbench.errors import InputError
from workbench.materials.library import get_chapter, get_material
from workbench.models import Chapter, Script
from workbench.platform.gate import check_keyword
from workbench.platform.tasks import get_task
from workbench.rewrite.base import RewriteRequest
from workbench.rewrite.prompts import get_prompt
from workbench.rewrite.registry import resolve_backend
from workbench.rewrite.service import rewrite_cached
from workbench.script.templates import get_template, render_template
from workbench.store.cache import StageCache, content_hash
from workbench.store.jobs import failure_recorded, finish_job, start_job
from workbench.subtitle_styles import (
    ResolvedSubtitles,
    resolve_subtitles,
    write_styled_subtitles,
)
from workbench.subtitles import build_events
from workbench.voice.audio import write_m4a, write_wav
from workbench.voice.base import VoiceHint
from workbench.voice.registry import plan_voice
from workbench.voice.service import voice_script
from workbench.voice.timing import TimingMap

log = logging.getLogger(__name__)
Progress = Callable[[float, str], None]


def no_progress(fraction: float, message: str) -> None:
    pass


def within(progress: Progress, lo: float, hi: float) -> Progress:
    """A progress callback for one part [lo, hi] of a bigger job."""
    return lambda fraction, message: progress(lo + (hi - lo) * fraction, message)


def template_context(
    material: dict[str, Any], chapter: Chapter, keyword: str, app: str,
    variables: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The built-in template variables for one chapter, plus the user's own."""
    return {
        "keyword": keyword, "app": app, "book_title": material["title"],
        "chapter_title": chapter.title, "chapter_index": chapter.index,
        "chapter_text": chapter.text, **(variables or {}),
    }


@dataclass(frozen=True)
class ScriptJob:
    """What to write: a value, so the same job always gives the same script."""

    material_id: int
    chapter: int
    template: str
    keyword: str
    app: str | None = None  # None: settings.app_name
    prompt: str = "narration"
    backend: str | None = None  # None: settings.rewrite_backend
    variables: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    instruction: str = ""
    task_id: int | None = None  # the task whose keyword rules apply (else the base rules)


@dataclass
class ScriptOutcome:
    script: Script
    job_id: int
    backend_note: str  # which backend ran and why, for the user


def make_script(
    job: ScriptJob, settings: Settings, db: Database, progress: Progress = no_progress
) -> ScriptOutcome:
    """Material chapter → template segments → rewritten narration, recorded as a job. The
    keyword goes on screen, so it obeys the keyword rules (its task's, when given) first."""
    keyword = check_keyword(job.keyword, settings,
                            get_task(db, job.task_id) if job.task_id is not None else None)
    if keyword != job.keyword:
        job = replace(job, keyword=keyword)
    app = job.app or settings.app_name
    material = get_material(db, job.material_id)
    chapter = get_chapter(db, job.material_id, job.chapter)
    template = get_template(job.template, settings.template_dirs)
    prompt = get_prompt(job.prompt, settings.prompt_dirs)
    resolved = resolve_backend(job.backend or settings.rewrite_backend, settings)
    backend = resolved.backend

    fields = asdict(job)
    if fields["task_id"] is None:  # added later: left out while unset, as MakeJob does
        del fields["task_id"]
    recipe = {**fields, "app": app, "template_hash": template.content_hash,
              "prompt_hash": prompt.content_hash, "backend": backend.name, "model": backend.model}
    job_id = start_job(
        db, "script", content_hash(recipe),
        material_id=job.material_id, chapter=job.chapter, template_id=template.id,
        prompt_id=prompt.id, keyword=job.keyword, app=app, backend=backend.name,
        model=backend.model, params=recipe,
    )
    with failure_recorded(db, job_id):
        progress(0.1, "生成脚本")
        context = template_context(material, chapter, job.keyword, app, job.variables)
        segments = render_template(template, context, chars_per_second=settings.chars_per_second)
        progress(0.3, f"改写文案（{backend.name}）")
        request = RewriteRequest(
            segments=segments, keyword=job.keyword, app=app,
            target_chars=round(template.target_seconds * settings.chars_per_second),
            book_title=material["title"], chapter_title=chapter.title, prompt=prompt,
            seed=job.seed, instruction=job.instruction,
        )
        result, cached = rewrite_cached(request, backend, StageCache(db))
        script = Script(
            segments=result.segments, title=result.title, caption=result.caption,
            hashtags=result.hashtags, keyword=job.keyword, app=app, template_id=template.id,
            template_version=template.version, template_hash=template.content_hash,
            prompt_id=prompt.id, backend=backend.name, model=backend.model,
            material_id=job.material_id, chapter=job.chapter, cached=cached,
        )
    finish_job(db, job_id, script.to_dict(), cache_hit=int(cached))
    progress(1.0, "脚本完成（缓存）" if cached else "脚本完成")
    return ScriptOutcome(script=script, job_id=job_id, backend_note=resolved.reason)


# Voice + subtitles -------------------------------------------------------------------------
AUDIO_FORMATS = ("wav", "m4a")


@dataclass(frozen=True)
class VoiceJob:
    """Which script to speak and how; None means 'from settings'."""

    script: Script
    out_dir: Path
    backend: str | None = None
    voice: str | None = None
    rate: str | None = None
    pitch: str | None = None
    volume: str | None = None
    pause: float | None = None
    audio_format: str = "wav"  # wav | m4a (AAC 192 kb/s)
    max_chars: int | None = None  # subtitle line limit; None: settings / what fits 1080 px
    hint: VoiceHint | None = None  # the script template's voice wishes (front matter `voice:`)
    subtitles: ResolvedSubtitles | None = None  # the subtitle look; None: from settings


@dataclass
class VoiceOutcome:
    timing: TimingMap
    audio_path: Path
    timings_path: Path
    ass_path: Path
    srt_path: Path
    job_id: int
    backend_note: str  # the plan, for the user
    notes: list[str]  # fallbacks and the like, also recorded on the job
    synthesized: int
    cached: int


def make_voice(
    job: VoiceJob, settings: Settings, db: Database, progress: Progress = no_progress
) -> VoiceOutcome:
    """Script → narration audio + timing map + ASS/SRT subtitles in `job.out_dir`, as a job."""
    if job.audio_format not in AUDIO_FORMATS:
        raise InputError(f"不支持的音频格式: {job.audio_format}（可选 {', '.join(AUDIO_FORMATS)}）")
    plan = plan_voice(settings, job.backend, job.voice, job.rate, job.pitch, job.volume,
                      job.hint)
    pause = settings.voice_pause if job.pause is None else job.pause
    look = job.subtitles or resolve_subtitles(settings)
    max_chars = job.max_chars or look.max_chars
    script = job.script
    recipe = {
        "script": script.to_dict() | {"cached": None}, "backend": plan.primary.backend.name,
        "params": asdict(plan.primary.params), "pause": pause, "format": job.audio_format,
        "max_chars": max_chars, "font_size": look.style.font_size,
        **({} if look.is_default else {"subtitles": look.recipe()}),
    }
    job_id = start_job(
        db, "voice", content_hash(recipe), material_id=script.material_id,
        chapter=script.chapter, template_id=script.template_id or None,
        keyword=script.keyword, app=script.app, backend=plan.primary.backend.name,
        model=plan.primary.params.voice, params=recipe | {"out_dir": str(job.out_dir)},
    )
    with failure_recorded(db, job_id):
        progress(0.05, plan.reason)
        spoken = voice_script(script, plan, StageCache(db), settings.cache_dir / "voice",
                              pause=pause, progress=progress)
        progress(0.92, "写入音频与字幕")
        timing = spoken.timing
        audio_path = job.out_dir / f"narration.{job.audio_format}"
        write = write_m4a if job.audio_format == "m4a" else write_wav
        write(audio_path, spoken.pcm, spoken.sample_rate)
        timing.audio = audio_path.name
        timings_path = job.out_dir / "timings.json"
        timing.save(timings_path)
        events = build_events(timing, max_chars=max_chars)
        ass_path, srt_path = write_styled_subtitles(events, job.out_dir / "subtitles", look,
                                                    script.keyword, timing)
    result = {
        "audio": str(audio_path), "timings": str(timings_path), "ass": str(ass_path),
        "srt": str(srt_path), "duration": timing.duration, "backend": timing.backend,
        "voice": timing.voice, "fallback": timing.fallback, "subtitle_events": len(events),
        "synthesized": spoken.synthesized, "cached": spoken.cached,
    }
    finish_job(db, job_id, result, cache_hit=int(spoken.all_cached), backend=timing.backend,
               model=timing.voice, notes="；".join(spoken.notes) or None)
    progress(1.0, "配音完成（缓存）" if spoken.all_cached else "配音完成")
    return VoiceOutcome(
        timing=timing, audio_path=audio_path, timings_path=timings_path, ass_path=ass_path,
        srt_path=srt_path, job_id=job_id, backend_note=plan.reason, notes=spoken.notes,
        synthesized=spoken.synthesized, cached=spoken.cached,
    )


