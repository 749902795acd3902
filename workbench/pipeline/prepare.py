"""The driver's half of a job: script (or the user's edited one), voice and subtitles through
the stage cache, every render input resolved, text checks run. The lifecycle (lifecycle.py)
calls it for every job, whichever front end started it, so a step every job needs goes here.
"""

from __future__ import annotations

import json

import pysubs2
from sqlite_utils import Database

from workbench.compliance import aigc_metadata, load_banned_words, run_checks
from workbench.config import Settings
from workbench.errors import ComplianceBlocked, InputError, WorkbenchError
from workbench.files import write_text_atomic
from workbench.fonts import default_font_file
from workbench.footage import is_tag, pick
from workbench.images.service import story_images, story_images_backend
from workbench.materials.library import get_chapter
from workbench.models import MakeJob, Script
from workbench.package import caption_text
from workbench.pipeline.job_plan import JobPlan
from workbench.pipeline.render_phase import PreparedJob
from workbench.pipeline.stages import (
    Progress,
    ScriptJob,
    VoiceJob,
    make_script,
    make_voice,
    no_progress,
    within,
)
from workbench.platform.gate import job_keyword
from workbench.render.backgrounds import STORY_IMAGES, resolve_background, with_page_text
from workbench.render.bgm import resolve_bgm
from workbench.render.encoders import choose_encoder
from workbench.render.overlays import OverlaySpec
from workbench.render.page import page_text
from workbench.render.plan import RenderJob, render_plan
from workbench.render.profiles import get_profile
from workbench.script.edits import edited_script
from workbench.script.templates import ScriptTemplate
from workbench.subtitle_styles import resolve_subtitles

DEFAULT_END_CARD = ("{app}搜索", "【{keyword}】", "看完整故事")


def fill_wording(text: str, values: dict[str, str]) -> str:
    """Fill {app}/{keyword} in on-screen wording; other braces are a clear error."""
    try:
        return text.format(**values)
    except (KeyError, IndexError, ValueError) as exc:
        raise InputError(f"画面文字「{text}」里有无法识别的占位符 {exc}（只能用 {{app}} 和 {{keyword}}）"
                         ) from None


def overlay_spec(job: MakeJob, template: ScriptTemplate, settings: Settings,
                 script: Script) -> tuple[str, OverlaySpec]:
    """The banner wording and everything drawn over the video, for `script`'s keyword."""
    wording = {"app": script.app, "keyword": script.keyword}
    banner = fill_wording(job.banner or template.banner or settings.banner, wording)
    end_card = template.end_card or DEFAULT_END_CARD
    return banner, OverlaySpec(
        label=settings.ai_label, label_seconds=settings.ai_label_seconds, banner=banner,
        end_card=tuple(fill_wording(line, wording) for line in end_card),
        end_card_seconds=settings.end_card_seconds, keyword=script.keyword)


def job_script(job: MakeJob, app: str) -> Script:
    """The user's edited script, bound to this job: the keyword on screen must be the task's,
    not a stale one."""
    script = edited_script(job.script or {})
    script.keyword, script.app = job.keyword, app
    script.material_id, script.chapter = job.material_id, job.chapter
    return script


def _chapter_title(db: Database, material_id: int, chapter: int, script: Script) -> str:
    """The chapter's title for the reading page's header (the video's title if the chapter is
    gone or the material has no chapters)."""
    try:
        return get_chapter(db, material_id, chapter).title
    except WorkbenchError:
        return script.title


def prepare_job(plan: JobPlan, make_id: int, settings: Settings, db: Database,
                progress: Progress = no_progress) -> PreparedJob:
    """Script, voice and subtitles (cached), render inputs resolved, text checks run (a blocked
    script costs no render). Raises ComplianceBlocked / InputError."""
    if plan.drama is not None:  # a drama's segments instead of a chapter
        from workbench.pipeline.drama_prepare import prepare_drama_job

        return prepare_drama_job(plan, make_id, settings, db, progress)
    job, template, recipe = plan.job, plan.template, plan.recipe
    recipe_hash, submission_id = plan.recipe_hash, plan.submission_id
    # The task's keyword once more: a batch can run for hours, and a keyword approved when it
    # was planned may have expired (or been rejected) since.
    keyword = job_keyword(job, db)
    work = settings.outputs_dir / "jobs" / submission_id
    # Files first: a damaged background or music file is refused before it costs a script
    # or a voice (and long before it could stall the render).
    story = job.background == STORY_IMAGES
    # images:ai is made after the voice (its pictures follow the voice timings); without an
    # images backend that is a clear error now, before the script and the voice cost anything
    images_backend = story_images_backend(settings) if story else None
    background = None if story else resolve_background(
        pick(db, job.background, job.seed, "video") if is_tag(job.background) else job.background,
        seed=job.seed, page_theme=settings.page_theme)
    bgm = resolve_bgm(pick(db, job.bgm, job.seed, "music") if is_tag(job.bgm) else job.bgm,
                      settings.cache_dir)
    if job.script is not None:
        script, script_job_id = job_script(job, recipe["app"]), None
    else:
        script_out = make_script(ScriptJob(
            material_id=job.material_id, chapter=job.chapter, template=job.template,
            keyword=job.keyword, app=job.app, prompt=job.prompt, backend=job.rewrite_backend,
            variables=job.variables, seed=job.wording_seed, instruction=job.instruction,
            task_id=job.task_id,
        ), settings, db, within(progress, 0.0, 0.33))
        script, script_job_id = script_out.script, script_out.job_id
    write_text_atomic(work / "script.json",
                      json.dumps(script.to_dict(), ensure_ascii=False, indent=2))
    look = resolve_subtitles(settings, template.subtitles, job.subtitles,
                             template_name=f"模板 {template.id}")
    voice = make_voice(VoiceJob(
        script=script, out_dir=work, backend=job.voice_backend, voice=job.voice, rate=job.rate,
        pitch=job.pitch, volume=job.volume, hint=template.voice_hint, subtitles=look,
    ), settings, db, within(progress, 0.33, 0.95))
    for stage_job in (script_job_id, voice.job_id):
        if stage_job is not None:
            db["jobs"].update(stage_job, {"parent_id": make_id})

    story_notes: tuple[str, ...] = ()
    if images_backend is not None:
        try:  # its HTTP client is made on first use, here, and closed here
            story_out = story_images(settings, images_backend, template.images, voice.timing,
                                     seed=job.seed, progress=within(progress, 0.95, 0.96))
        finally:
            images_backend.close()
        background, story_notes = story_out.background(job.seed), (story_out.note,)
    assert background is not None
    background = with_page_text(background, page_text(
        voice.timing, script.app, _chapter_title(db, job.material_id, job.chapter, script)))
    progress(0.96, "准备渲染")
    profile = get_profile(recipe["profile"])
    banner, overlays = overlay_spec(job, template, settings, script)
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
        background=background, profile=profile,
        output=work / "video.mp4", font_file=default_font_file(),
        bgm=bgm, bgm_volume=job.bgm_level(settings),
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
    notes = (*plan.notes, *voice.notes, *story_notes,
             *([encoder.reason] if recipe["encoder"] == "auto" else []))
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
        words=tuple(words), submission_id=submission_id, subtitle_band=look.band(),
        keyword_id=keyword["id"] if keyword else None,
        account_id=keyword["account_id"] if keyword else None)
