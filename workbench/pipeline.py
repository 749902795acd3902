"""The only place that chains stages. UI, CLI and batch all call these functions."""

from __future__ import annotations

import json
import logging
import shutil
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pysubs2
from sqlite_utils import Database

from workbench import __version__
from workbench.compliance import (
    ComplianceReport,
    Finding,
    aigc_metadata,
    load_banned_words,
    run_checks,
)
from workbench.config import Settings
from workbench.errors import ComplianceBlocked, InputError
from workbench.files import write_text_atomic
from workbench.materials.library import get_chapter, get_material
from workbench.models import Chapter, MakeJob, Script
from workbench.package import (
    MANIFEST,
    caption_text,
    finish_package,
    staging_dir,
    verify_package,
)
from workbench.render.backgrounds import resolve_background
from workbench.render.bgm import resolve_bgm
from workbench.render.cover import cover_from_video
from workbench.render.encoders import choose_encoder
from workbench.render.loudness import with_measured_loudness
from workbench.render.overlays import OverlaySpec
from workbench.render.plan import RenderJob, render_plan
from workbench.render.probe import probe, read_tags
from workbench.render.profiles import get_profile
from workbench.render.run import execute
from workbench.rewrite.base import RewriteRequest
from workbench.rewrite.prompts import get_prompt
from workbench.rewrite.registry import resolve_backend
from workbench.rewrite.service import rewrite_cached
from workbench.script.templates import get_template, render_template
from workbench.store import utcnow
from workbench.store.cache import StageCache, content_hash
from workbench.store.jobs import failure_recorded, finish_job, start_job
from workbench.store.submissions import find_by_recipe, record_submission
from workbench.subtitles import (
    SubtitleStyle,
    build_events,
    default_font_file,
    max_chars_for,
    write_subtitles,
)
from workbench.voice.audio import write_m4a, write_wav
from workbench.voice.registry import plan_voice
from workbench.voice.service import voice_script
from workbench.voice.timing import TimingMap

log = logging.getLogger(__name__)
Progress = Callable[[float, str], None]


def _no_progress(fraction: float, message: str) -> None:
    pass


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


@dataclass
class ScriptOutcome:
    script: Script
    job_id: int
    backend_note: str  # which backend ran and why, for the user


def make_script(
    job: ScriptJob, settings: Settings, db: Database, progress: Progress = _no_progress
) -> ScriptOutcome:
    """Material chapter → template segments → rewritten narration, recorded as a job."""
    app = job.app or settings.app_name
    material = get_material(db, job.material_id)
    chapter = get_chapter(db, job.material_id, job.chapter)
    template = get_template(job.template, settings.template_dirs)
    prompt = get_prompt(job.prompt, settings.prompt_dirs)
    resolved = resolve_backend(job.backend or settings.rewrite_backend, settings)
    backend = resolved.backend

    recipe = {**asdict(job), "app": app, "template_hash": template.content_hash,
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
    job: VoiceJob, settings: Settings, db: Database, progress: Progress = _no_progress
) -> VoiceOutcome:
    """Script → narration audio + timing map + ASS/SRT subtitles in `job.out_dir`, as a job."""
    if job.audio_format not in AUDIO_FORMATS:
        raise InputError(f"不支持的音频格式: {job.audio_format}（可选 {', '.join(AUDIO_FORMATS)}）")
    plan = plan_voice(settings, job.backend, job.voice, job.rate, job.pitch, job.volume)
    pause = settings.voice_pause if job.pause is None else job.pause
    style = SubtitleStyle(font_size=settings.subtitle_font_size)
    max_chars = job.max_chars or settings.subtitle_max_chars or max_chars_for(style)
    script = job.script
    recipe = {
        "script": script.to_dict() | {"cached": None}, "backend": plan.primary.backend.name,
        "params": asdict(plan.primary.params), "pause": pause, "format": job.audio_format,
        "max_chars": max_chars, "font_size": style.font_size,
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
        ass_path, srt_path = write_subtitles(events, job.out_dir / "subtitles", style=style,
                                             keyword=script.keyword)
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


# The whole job: script → voice → subtitles → render → package --------------------------------
@dataclass
class MakeOutcome:
    package: Path
    submission_id: str
    job_id: int
    manifest: dict[str, Any]
    compliance: ComplianceReport
    reused: bool  # an identical package already existed and verified
    notes: list[str]


DEFAULT_END_CARD = ("{app}搜索", "【{keyword}】", "看完整故事")


def fill_wording(text: str, values: dict[str, str]) -> str:
    """Fill {app}/{keyword} in on-screen wording; other braces are a clear error."""
    try:
        return text.format(**values)
    except (KeyError, IndexError, ValueError) as exc:
        raise InputError(f"画面文字「{text}」里有无法识别的占位符 {exc}（只能用 {{app}} 和 {{keyword}}）"
                         ) from None


def _within(progress: Progress, lo: float, hi: float) -> Progress:
    return lambda fraction, message: progress(lo + (hi - lo) * fraction, message)


def run_job(job: MakeJob, settings: Settings, db: Database, progress: Progress = _no_progress,
            *, cancel: threading.Event | None = None, force: bool = False) -> MakeOutcome:
    """Material → script → voice + subtitles → video → checked submission package."""
    settings.ensure_dirs()
    template = get_template(job.template, settings.template_dirs)
    prompt = get_prompt(job.prompt, settings.prompt_dirs)
    recipe = {**job.recipe(settings), "template_hash": template.content_hash,
              "prompt_hash": prompt.content_hash}
    recipe_hash = content_hash(recipe)
    submission_id = recipe_hash[:12]
    final = settings.submissions_dir / submission_id
    make_id = start_job(db, "make", recipe_hash, material_id=job.material_id,
                        chapter=job.chapter, template_id=job.template, prompt_id=job.prompt,
                        keyword=job.keyword, app=recipe["app"], params=recipe)
    with failure_recorded(db, make_id):
        existing = find_by_recipe(db, recipe_hash)
        if existing and not force and final.is_dir() and not verify_package(final):
            manifest = json.loads((final / MANIFEST).read_text(encoding="utf-8"))
            finish_job(db, make_id, {"package": str(final), "reused": True}, cache_hit=1)
            progress(1.0, "已有相同的成品，直接复用")
            report = ComplianceReport([Finding(**f) for f in manifest["compliance"]["findings"]])
            return MakeOutcome(final, submission_id, make_id, manifest, report, True, [])
        outcome = _make(job, recipe, recipe_hash, make_id, settings, db, progress, cancel)
    finish_job(db, make_id, {"package": str(outcome.package), "submission": submission_id},
               notes="；".join(outcome.notes) or None)
    return outcome


def _make(job: MakeJob, recipe: dict[str, Any], recipe_hash: str, make_id: int,
          settings: Settings, db: Database, progress: Progress,
          cancel: threading.Event | None) -> MakeOutcome:
    submission_id = recipe_hash[:12]
    work = settings.outputs_dir / "jobs" / submission_id
    script_out = make_script(ScriptJob(
        material_id=job.material_id, chapter=job.chapter, template=job.template,
        keyword=job.keyword, app=job.app, prompt=job.prompt, backend=job.rewrite_backend,
        variables=job.variables, seed=job.seed, instruction=job.instruction,
    ), settings, db, _within(progress, 0.0, 0.1))
    script = script_out.script
    write_text_atomic(work / "script.json",
                      json.dumps(script.to_dict(), ensure_ascii=False, indent=2))
    voice = make_voice(VoiceJob(
        script=script, out_dir=work, backend=job.voice_backend, voice=job.voice, rate=job.rate,
        pitch=job.pitch, volume=job.volume,
    ), settings, db, _within(progress, 0.1, 0.3))
    for stage_job in (script_out.job_id, voice.job_id):
        db["jobs"].update(stage_job, {"parent_id": make_id})

    progress(0.3, "准备渲染")
    profile = get_profile(recipe["profile"])
    template = get_template(job.template, settings.template_dirs)
    wording = {"app": script.app, "keyword": script.keyword}
    banner = fill_wording(job.banner or template.banner or settings.banner, wording)
    end_card = template.end_card or DEFAULT_END_CARD
    overlays = OverlaySpec(
        label=settings.ai_label, label_seconds=settings.ai_label_seconds, banner=banner,
        end_card=tuple(fill_wording(line, wording) for line in end_card),
        end_card_seconds=settings.end_card_seconds, keyword=script.keyword)
    subtitles = pysubs2.load(str(voice.ass_path))
    words = load_banned_words(settings.banned_words_file)
    max_seconds = job.max_seconds or settings.max_seconds or None
    checks = {"title": script.title, "caption": caption_text(script, banner),
                  "subtitles": [e.plaintext for e in subtitles], "keyword": script.keyword,
                  "words": words, "duration": voice.timing.duration, "max_seconds": max_seconds}
    font = default_font_file()
    encoder = choose_encoder(recipe["encoder"], crf=profile.crf, preset=profile.preset)
    aigc = aigc_metadata(settings.aigc_producer, submission_id, reserved1=recipe_hash)
    staging = staging_dir(settings.submissions_dir, submission_id)
    render_job = RenderJob(
        audio=voice.audio_path, duration=voice.timing.duration,
        subtitles_ass=voice.ass_path.read_text(encoding="utf-8"), overlays=overlays,
        background=resolve_background(job.background, seed=job.seed), profile=profile,
        output=staging / "video.mp4", font_file=font,
        bgm=resolve_bgm(job.bgm, settings.cache_dir), bgm_volume=settings.bgm_volume,
        loudness=settings.loudness, encoder_args=encoder.args,
        encoder_input_args=encoder.input_args, encoder_filter_suffix=encoder.filter_suffix,
        metadata={"AIGC": aigc, "title": script.title, "comment": banner},
    )
    progress(0.3, "测量响度")
    render_job = with_measured_loudness(render_job)
    plan = render_plan(render_job)
    # Text checks first: a blocked script should not cost a render.
    pre = run_checks(**checks, on_screen=plan.on_screen, label=plan.label, metadata=None,
                     expected_produce_id=None)
    if pre.blocked:
        shutil.rmtree(staging, ignore_errors=True)
        raise ComplianceBlocked(pre.block_message())
    result = execute(plan, _within(progress, 0.3, 0.92), cancel=cancel,
                     message=f"渲染视频（{profile.name}，{encoder.name}）")
    progress(0.93, "生成封面")
    hook_end = voice.timing.segments[0].end if voice.timing.segments else 1.0
    cover_from_video(result.path, staging / "cover.jpg",
                     at=job.cover_at if job.cover_at is not None else min(hook_end, 1.5),
                     title=script.title, keyword=script.keyword, app=script.app)
    progress(0.96, "合规检查")
    report = run_checks(**checks, on_screen=plan.on_screen, label=plan.label,
                        metadata=read_tags(result.path), expected_produce_id=submission_id)
    if report.blocked:
        shutil.rmtree(staging, ignore_errors=True)
        raise ComplianceBlocked(report.block_message())
    info = probe(result.path)
    manifest = {
        "id": submission_id, "created_at": utcnow(), "workbench": __version__,
        "recipe_hash": recipe_hash, "recipe": recipe,
        "material": {"id": job.material_id, "chapter": job.chapter},
        "template": {"id": script.template_id, "version": script.template_version,
                     "hash": script.template_hash},
        "prompt": {"id": script.prompt_id},
        "rewrite": {"backend": script.backend, "model": script.model, "cached": script.cached},
        "voice": {"backend": voice.timing.backend, "voice": voice.timing.voice,
                  "rate": voice.timing.rate, "pitch": voice.timing.pitch,
                  "volume": voice.timing.volume, "fallback": voice.timing.fallback,
                  "synthesized": voice.synthesized, "cached": voice.cached},
        "render": {"profile": profile.name, "size": [info.width, info.height], "fps": info.fps,
                   "encoder": encoder.name, "encoder_reason": encoder.reason,
                   "background": render_job.background.describe(),
                   "bgm": str(render_job.bgm) if render_job.bgm else None,
                   "loudness": settings.loudness,
                   "mix_loudness_before": render_job.measured_loudness, "banner": banner,
                   "label": asdict(plan.label),
                   "end_card": list(overlays.end_card), "seconds": round(result.seconds, 2)},
        "durations": {"narration": round(voice.timing.duration, 3),
                      "video": round(info.duration, 3)},
        "jobs": {"make": make_id, "script": script_out.job_id, "voice": voice.job_id},
        "keyword": script.keyword, "task_id": job.task_id, "title": script.title,
        "caption": script.caption, "hashtags": script.hashtags, "aigc": json.loads(aigc),
        "compliance": report.to_dict(),
    }
    progress(0.98, "打包")
    final = settings.submissions_dir / submission_id
    package = finish_package(staging, final, script=script, banner=banner, report=report,
                             srt=voice.srt_path, manifest=manifest)
    record_submission(db, {
        "id": submission_id, "job_id": make_id, "recipe_hash": recipe_hash,
        "material_id": job.material_id, "chapter": job.chapter, "keyword": script.keyword,
        "task_id": job.task_id, "title": script.title, "path": str(final),
        "video_sha256": package.manifest["files"]["video.mp4"]["sha256"],
        "duration": info.duration, "profile": profile.name, "compliance": report.to_dict(),
        "warnings": len(report.warnings), "status": "ready", "publish_url": None,
        "published_at": None, "created_at": manifest["created_at"],
    })
    progress(1.0, f"完成：{final}")
    notes = [*voice.notes, *([encoder.reason] if recipe["encoder"] == "auto" else [])]
    return MakeOutcome(final, submission_id, make_id, package.manifest, report, False, notes)
