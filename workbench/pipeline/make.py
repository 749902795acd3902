"""run_job: the whole job, script → voice → subtitles → render → checks → package."""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pysubs2
from sqlite_utils import Database

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
from workbench.fonts import default_font_file
from workbench.models import MakeJob, Script
from workbench.package import (
    MANIFEST,
    caption_text,
    discard_staging,
    install_package,
    staging_dir,
    verify_package,
)
from workbench.pipeline.render_phase import PreparedJob, RenderedPackage, render_package
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
from workbench.render.encoders import choose_encoder
from workbench.render.overlays import OverlaySpec
from workbench.render.plan import RenderJob, render_plan
from workbench.render.profiles import get_profile
from workbench.rewrite.prompts import get_prompt
from workbench.script.templates import ScriptTemplate, get_template
from workbench.store.cache import content_hash
from workbench.store.jobs import failure_recorded, finish_job, start_job
from workbench.store.submissions import find_by_recipe, record_submission

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


@dataclass(frozen=True)
class JobPlan:
    """A job with its recipe worked out (template and prompt hashes included): no DB access."""

    job: MakeJob
    template: ScriptTemplate
    recipe: dict[str, Any]
    recipe_hash: str

    @property
    def submission_id(self) -> str:
        return self.recipe_hash[:12]


def plan_make(job: MakeJob, settings: Settings) -> JobPlan:
    template = get_template(job.template, settings.template_dirs)
    prompt = get_prompt(job.prompt, settings.prompt_dirs)
    recipe = {**job.recipe(settings), "template_hash": template.content_hash,
              "prompt_hash": prompt.content_hash}
    return JobPlan(job, template, recipe, content_hash(recipe))


def finished_package(plan: JobPlan, settings: Settings, db: Database) -> Path | None:
    """The package of an identical job when it is recorded and every file verifies."""
    final = settings.submissions_dir / plan.submission_id
    if find_by_recipe(db, plan.recipe_hash) and final.is_dir() and not verify_package(final):
        return final
    return None


def start_make(plan: JobPlan, db: Database) -> int:
    job = plan.job
    return start_job(db, "make", plan.recipe_hash, material_id=job.material_id,
                     chapter=job.chapter, template_id=job.template, prompt_id=job.prompt,
                     keyword=job.keyword, app=plan.recipe["app"], params=plan.recipe)


def run_job(job: MakeJob, settings: Settings, db: Database, progress: Progress = no_progress,
            *, cancel: threading.Event | None = None, force: bool = False) -> MakeOutcome:
    """Material → script → voice + subtitles → video → checked submission package.

    Three phases: `prepare_job` (script, voice, render inputs; DB), `render_package` (no DB:
    a batch runs it in worker processes) and `record_package` (move into place, rows)."""
    settings.ensure_dirs()
    plan = plan_make(job, settings)
    submission_id = plan.submission_id
    make_id = start_make(plan, db)
    with failure_recorded(db, make_id):
        final = None if force else finished_package(plan, settings, db)
        if final is not None:
            manifest = json.loads((final / MANIFEST).read_text(encoding="utf-8"))
            finish_job(db, make_id, {"package": str(final), "reused": True}, cache_hit=1)
            progress(1.0, "已有相同的成品，直接复用")
            report = ComplianceReport([Finding(**f) for f in manifest["compliance"]["findings"]])
            return MakeOutcome(final, submission_id, make_id, manifest, report, True, [])
        try:
            prepared = prepare_job(plan, make_id, settings, db, _within(progress, 0.0, 0.3))
            staging = staging_dir(settings.submissions_dir, submission_id)
            rendered = render_package(prepared, staging, _within(progress, 0.3, 0.98), cancel)
            outcome = record_package(prepared, rendered, staging, settings, db)
        except BaseException:  # failed, blocked, cancelled, Ctrl-C: no half package is kept
            discard_staging(settings.submissions_dir, submission_id)
            raise
    progress(1.0, f"完成：{outcome.package}")
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


def prepare_job(plan: JobPlan, make_id: int, settings: Settings, db: Database,
                progress: Progress = no_progress) -> PreparedJob:
    """The cheap, cache-backed half on the driver: script (or the edited one), voice and
    subtitles, every render input resolved, text checks run (a blocked script costs no
    render). Raises ComplianceBlocked / InputError."""
    job, template, recipe = plan.job, plan.template, plan.recipe
    recipe_hash, submission_id = plan.recipe_hash, plan.submission_id
    work = settings.outputs_dir / "jobs" / submission_id
    if job.script is not None:
        script, script_job_id = edited_script(job, recipe["app"]), None
    else:
        script_out = make_script(ScriptJob(
            material_id=job.material_id, chapter=job.chapter, template=job.template,
            keyword=job.keyword, app=job.app, prompt=job.prompt, backend=job.rewrite_backend,
            variables=job.variables, seed=job.wording_seed, instruction=job.instruction,
        ), settings, db, _within(progress, 0.0, 0.33))
        script, script_job_id = script_out.script, script_out.job_id
    write_text_atomic(work / "script.json",
                      json.dumps(script.to_dict(), ensure_ascii=False, indent=2))
    voice = make_voice(VoiceJob(
        script=script, out_dir=work, backend=job.voice_backend, voice=job.voice, rate=job.rate,
        pitch=job.pitch, volume=job.volume,
    ), settings, db, _within(progress, 0.33, 0.95))
    for stage_job in (script_job_id, voice.job_id):
        if stage_job is not None:
            db["jobs"].update(stage_job, {"parent_id": make_id})

    progress(0.96, "准备渲染")
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
              "duration": voice.timing.duration, "max_seconds": max_seconds}
    encoder = choose_encoder(recipe["encoder"], crf=profile.crf, preset=profile.preset)
    aigc = aigc_metadata(settings.aigc_producer, submission_id, reserved1=recipe_hash)
    render_job = RenderJob(
        audio=voice.audio_path, duration=voice.timing.duration,
        subtitles_ass=voice.ass_path.read_text(encoding="utf-8"), overlays=overlays,
        background=resolve_background(job.background, seed=job.seed), profile=profile,
        output=work / "video.mp4", font_file=default_font_file(),
        bgm=resolve_bgm(job.bgm, settings.cache_dir), bgm_volume=settings.bgm_volume,
        loudness=settings.loudness, encoder_args=encoder.args,
        encoder_input_args=encoder.input_args, encoder_filter_suffix=encoder.filter_suffix,
        metadata={"AIGC": aigc, "title": script.title, "comment": banner},
    )
    # Text checks first: a blocked script should not cost a render (planning is pure and cheap).
    planned = render_plan(render_job)
    pre = run_checks(**checks, words=words, on_screen=planned.on_screen, label=planned.label,
                     metadata=None, expected_produce_id=None)
    if pre.blocked:
        raise ComplianceBlocked(pre.block_message())
    timing = voice.timing
    hook_end = timing.segments[0].end if timing.segments else 1.0
    notes = (*voice.notes, *([encoder.reason] if recipe["encoder"] == "auto" else []))
    progress(1.0, "准备渲染")
    return PreparedJob(
        job=job, recipe=recipe, recipe_hash=recipe_hash, make_id=make_id, script=script,
        script_job_id=script_job_id, voice_job_id=voice.job_id,
        voice={"backend": timing.backend, "voice": timing.voice, "rate": timing.rate,
               "pitch": timing.pitch, "volume": timing.volume, "fallback": timing.fallback,
               "synthesized": voice.synthesized, "cached": voice.cached},
        notes=tuple(notes), srt=voice.srt_path, render_job=render_job, checks=checks,
        banner=banner, encoder=encoder,
        cover_at=job.cover_at if job.cover_at is not None else min(hook_end, 1.5),
        words=tuple(words))


def record_package(prepared: PreparedJob, rendered: RenderedPackage, staging: Path,
                   settings: Settings, db: Database) -> MakeOutcome:
    """Move the assembled package into place and write its submission row (driver only)."""
    job, script, manifest = prepared.job, prepared.script, rendered.manifest
    submission_id = prepared.submission_id
    final = settings.submissions_dir / submission_id
    install_package(staging, final)
    record_submission(db, {
        "id": submission_id, "job_id": prepared.make_id, "recipe_hash": prepared.recipe_hash,
        "material_id": job.material_id, "chapter": job.chapter, "keyword": script.keyword,
        "task_id": job.task_id, "title": script.title, "path": str(final),
        "video_sha256": manifest["files"]["video.mp4"]["sha256"],
        "duration": rendered.duration, "profile": manifest["render"]["profile"],
        "compliance": rendered.report.to_dict(), "warnings": len(rendered.report.warnings),
        "status": "ready", "publish_url": None, "published_at": None,
        "created_at": manifest["created_at"],
    })
    return MakeOutcome(final, submission_id, prepared.make_id, manifest, rendered.report,
                       False, list(prepared.notes))
