"""run_job: the whole job, script → voice → subtitles → render → checks → package."""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import asdict, dataclass
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
from workbench.models import MakeJob, Script
from workbench.package import (
    MANIFEST,
    caption_text,
    discard_staging,
    finish_package,
    staging_dir,
    verify_package,
)
from workbench.pipeline.stages import (
    Progress,
    ScriptJob,
    VoiceJob,
    make_script,
    make_voice,
    no_progress,
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
from workbench.rewrite.prompts import get_prompt
from workbench.script.templates import ScriptTemplate, get_template
from workbench.store import utcnow
from workbench.store.cache import content_hash
from workbench.store.jobs import failure_recorded, finish_job, start_job
from workbench.store.submissions import find_by_recipe, record_submission
from workbench.subtitles import (
    default_font_file,
)

log = logging.getLogger(__name__)


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


def run_job(job: MakeJob, settings: Settings, db: Database, progress: Progress = no_progress,
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
        try:
            outcome = _make(job, template, recipe, recipe_hash, make_id, settings, db,
                            progress, cancel)
        except BaseException:  # failed, blocked, cancelled, Ctrl-C: no half package is kept
            discard_staging(settings.submissions_dir, submission_id)
            raise
    finish_job(db, make_id, {"package": str(outcome.package), "submission": submission_id},
               notes="；".join(outcome.notes) or None)
    return outcome


def edited_script(job: MakeJob, app: str) -> Script:
    """The user's edited script, checked: at least one segment with words to say, and the
    job's keyword and app (the keyword on screen must be the task's, not a stale one)."""
    try:
        script = Script.from_dict(job.script or {})
    except (TypeError, ValueError) as exc:
        raise InputError(f"编辑后的脚本格式不对：{exc}。请重新生成脚本。") from None
    if not any(seg.text.strip() for seg in script.segments):
        raise InputError("编辑后的脚本没有任何文字，请至少填写一段。")
    script.keyword, script.app = job.keyword, app
    script.material_id, script.chapter = job.material_id, job.chapter
    return script


def _make(job: MakeJob, template: ScriptTemplate, recipe: dict[str, Any], recipe_hash: str,
          make_id: int, settings: Settings, db: Database, progress: Progress,
          cancel: threading.Event | None) -> MakeOutcome:
    submission_id = recipe_hash[:12]
    work = settings.outputs_dir / "jobs" / submission_id
    if job.script is not None:
        script, script_job_id = edited_script(job, recipe["app"]), None
    else:
        script_out = make_script(ScriptJob(
            material_id=job.material_id, chapter=job.chapter, template=job.template,
            keyword=job.keyword, app=job.app, prompt=job.prompt, backend=job.rewrite_backend,
            variables=job.variables, seed=job.seed, instruction=job.instruction,
        ), settings, db, _within(progress, 0.0, 0.1))
        script, script_job_id = script_out.script, script_out.job_id
    write_text_atomic(work / "script.json",
                      json.dumps(script.to_dict(), ensure_ascii=False, indent=2))
    voice = make_voice(VoiceJob(
        script=script, out_dir=work, backend=job.voice_backend, voice=job.voice, rate=job.rate,
        pitch=job.pitch, volume=job.volume,
    ), settings, db, _within(progress, 0.1, 0.3))
    for stage_job in (script_job_id, voice.job_id):
        if stage_job is not None:
            db["jobs"].update(stage_job, {"parent_id": make_id})

    progress(0.3, "准备渲染")
    profile = get_profile(recipe["profile"])
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
    # Text checks first: a blocked script should not cost a render (planning is pure and cheap).
    planned = render_plan(render_job)
    pre = run_checks(**checks, on_screen=planned.on_screen, label=planned.label, metadata=None,
                     expected_produce_id=None)
    if pre.blocked:
        raise ComplianceBlocked(pre.block_message())
    progress(0.3, "测量响度")
    render_job = with_measured_loudness(render_job)
    plan = render_plan(render_job)
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
        "jobs": {"make": make_id, "script": script_job_id, "voice": voice.job_id},
        "script_edited": job.script is not None,
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
