"""The driver's half of a drama job (prepare.py hands a job with a `DramaBinding` here): the
script (a cut's hook and caption, or a narration written and voiced through the cache and
trimmed to the segments), every segment resolved to a file, times, picture size and subtitle
band, the rights checks and the text checks — a `PreparedJob` whose render job is a
`DramaRenderJob`, plain data for any worker.

A narration longer than the segments is trimmed, not refused: its body loses sentences from
the end and is voiced again (only the body: the voice cache keeps the rest), at most
`FIT_ROUNDS` times; only when the hook and the call to action alone are too long is the job
refused, with what to do.
"""

from __future__ import annotations

import json
from pathlib import Path

import pysubs2
from sqlite_utils import Database

from workbench.compliance import aigc_metadata, load_banned_words, run_checks
from workbench.config import Settings
from workbench.drama.mask import episode_band
from workbench.drama.rights import rights_record, share_findings
from workbench.errors import ComplianceBlocked, InputError
from workbench.files import write_text_atomic
from workbench.fonts import default_font_file
from workbench.models import Script
from workbench.package import caption_text
from workbench.pipeline.drama_bind import DramaBinding
from workbench.pipeline.drama_script import (
    cut_script,
    drama_context,
    narration_script,
    shorten,
)
from workbench.pipeline.job_plan import JobPlan
from workbench.pipeline.prepare import job_script, overlay_spec
from workbench.pipeline.render_phase import PreparedJob
from workbench.pipeline.stages import (
    Progress,
    VoiceJob,
    VoiceOutcome,
    make_voice,
    no_progress,
    within,
)
from workbench.platform.gate import job_keyword
from workbench.render.bgm import resolve_bgm
from workbench.render.drama_plan import (
    DramaClip,
    DramaRenderJob,
    drama_render_plan,
    frame_seconds,
)
from workbench.render.encoders import choose_encoder
from workbench.render.profiles import RenderProfile, get_profile

FIT_ROUNDS = 4
HOOK_SECONDS = 3.0  # the cut's hook caption: the golden first three seconds


def drama_clips(plan: JobPlan, drama: DramaBinding, profile: RenderProfile, band_setting: str,
                masked: bool) -> tuple[DramaClip, ...]:
    """Every segment as a clip: its file (which must still be there), whole output frames, its
    picture's size and, when Workbench adds subtitles, the band to blur."""
    clips = []
    for idx, start, end in plan.job.segments or ():
        ref = drama.episode(idx)
        path = Path(ref.path)
        if not path.is_file():
            raise InputError(f"第 {idx} 集的文件不见了：{path}（被移动或删除了？请放回原处，或重新 "
                             "workbench material add-drama）")
        seconds = min(frame_seconds(end - start, profile.fps), ref.duration - start)
        clips.append(DramaClip(
            path=path, start=start, seconds=round(seconds, 6), width=ref.width,
            height=ref.height, has_audio=ref.has_audio,
            band=episode_band(ref.row(), band_setting) if masked else None,
            episode=idx, number=ref.number, sha256=ref.sha256, episode_seconds=ref.duration,
            source=ref.path))
    return tuple(clips)


def original_srt(clips: tuple[DramaClip, ...], drama: DramaBinding, path: Path) -> Path:
    """The episodes' own lines, moved onto the video's timeline (a cut's caption file)."""
    subs = pysubs2.SSAFile()
    at = 0.0
    for clip in clips:
        for line in drama.episode(clip.episode).lines:
            if clip.start <= (line.start + line.end) / 2 < clip.start + clip.seconds:
                start = max(at, at + line.start - clip.start)
                end = min(at + clip.seconds, at + line.end - clip.start)
                subs.append(pysubs2.SSAEvent(start=round(start * 1000), end=round(end * 1000),
                                             text=line.text))
        at += clip.seconds
    write_text_atomic(path, subs.to_string("srt"))
    return path


def voice_to_fit(plan: JobPlan, script: Script, work: Path, available: float,
                 settings: Settings, db: Database, progress: Progress
                 ) -> tuple[Script, VoiceOutcome, list[str]]:
    """The narration voiced, its body shortened and voiced again while it runs past the
    segments (`available` seconds)."""
    job, notes = plan.job, []
    for round_ in range(FIT_ROUNDS):
        voice = make_voice(VoiceJob(
            script=script, out_dir=work, backend=job.voice_backend, voice=job.voice,
            rate=job.rate, pitch=job.pitch, volume=job.volume, hint=plan.template.voice_hint,
        ), settings, db, within(progress, round_ / FIT_ROUNDS, (round_ + 1) / FIT_ROUNDS))
        if voice.timing.duration <= available:
            return script, voice, notes
        script, note = shorten(script, voice.timing, available)
        notes.append(note)
    raise InputError(f"解说配音删减 {FIT_ROUNDS} 次后仍比片段总长 {available:.1f} 秒长：请多选一些片段，"
                     "或加快语速（--rate）")


def prepare_drama_job(plan: JobPlan, make_id: int, settings: Settings, db: Database,
                      progress: Progress = no_progress) -> PreparedJob:
    """Script, voice (narrated), clips, checks; raises ComplianceBlocked / InputError."""
    job, template, recipe, drama = plan.job, plan.template, plan.recipe, plan.drama
    assert drama is not None and job.segments
    keyword = job_keyword(job, db)  # checked again: a batch may run for hours
    work = settings.outputs_dir / "jobs" / plan.submission_id
    work.mkdir(parents=True, exist_ok=True)
    bgm = resolve_bgm(job.bgm, settings.cache_dir)
    profile = get_profile(recipe["profile"])
    clips = drama_clips(plan, drama, profile, settings.drama_mask_band, template.narrated)
    segments_seconds = sum(c.seconds for c in clips)
    context = drama_context(drama, job.segments, job.keyword, recipe["app"], job.variables,
                            settings.chars_per_second)
    notes: list[str] = []
    voice = None
    script_job_id = None
    if not template.narrated:
        script = cut_script(template, context, job, settings)
        srt = original_srt(clips, drama, work / "original.srt")
    else:
        if job.script is not None:
            script = job_script(job, recipe["app"])
        else:
            script, script_job_id = narration_script(job, template, context, settings, db,
                                                     within(progress, 0.0, 0.3))
        script, voice, notes = voice_to_fit(plan, script, work, segments_seconds, settings, db,
                                            within(progress, 0.3, 0.95))
        srt = voice.srt_path
    write_text_atomic(work / "script.json",
                      json.dumps(script.to_dict(), ensure_ascii=False, indent=2))
    for stage_job in (script_job_id, voice.job_id if voice else None):
        if stage_job is not None:
            db["jobs"].update(stage_job, {"parent_id": make_id})

    progress(0.96, "准备渲染")
    banner, overlays = overlay_spec(job, template, settings, script)
    encoder = choose_encoder(recipe["encoder"], crf=profile.crf, preset=profile.preset)
    aigc = aigc_metadata(settings.aigc_producer, plan.submission_id, reserved1=plan.recipe_hash)
    timing = voice.timing if voice else None
    spans: tuple[tuple[float, float], ...] = ()
    if timing is not None:  # where the voice speaks: its words, else its segments
        spans = (tuple((w.start, w.end) for w in timing.words)
                 or tuple((s.start, s.end) for s in timing.segments))
    render_job = DramaRenderJob(
        clips=clips, overlays=overlays, profile=profile, output=work / "video.mp4",
        font_file=default_font_file(), fit=recipe["drama"]["fit"],
        narration=voice.audio_path if voice else None,
        narration_spans=spans, narration_seconds=timing.duration if timing else 0.0,
        subtitles_ass=voice.ass_path.read_text(encoding="utf-8") if voice else None,
        hook=script.segment("hook").text if not template.narrated else "",
        hook_seconds=HOOK_SECONDS, original_volume=settings.drama_original_volume,
        duck_volume=settings.drama_duck_volume, bgm=bgm, bgm_volume=job.bgm_level(settings),
        loudness=settings.loudness, encoder_args=encoder.args,
        encoder_input_args=encoder.input_args, encoder_filter_suffix=encoder.filter_suffix,
        metadata={"AIGC": aigc, "title": script.title, "comment": banner})
    words = load_banned_words(settings.banned_words_file)
    subtitles = [e.plaintext for e in pysubs2.load(str(voice.ass_path))] if voice else []
    checks = {"title": script.title, "caption": caption_text(script, banner),
              "subtitles": subtitles, "keyword": script.keyword,
              "duration": render_job.duration,
              "max_seconds": job.max_seconds or settings.max_seconds or None}
    rights = share_findings(rights_record(clips, render_job.end_card_seconds),
                            settings.drama_max_episode_share)
    planned = drama_render_plan(render_job)  # text checks first: a blocked script costs no render
    pre = run_checks(**checks, words=words, on_screen=planned.on_screen, label=planned.label,
                     metadata=None, expected_produce_id=None)
    if pre.blocked:
        raise ComplianceBlocked(pre.block_message())
    hook_end = timing.segments[0].end if timing and timing.segments else 1.0
    plan_notes = (*plan.notes, *notes, *(voice.notes if voice else ()),
                  *([encoder.reason] if recipe["encoder"] == "auto" else []))
    progress(1.0, "准备渲染")
    return PreparedJob(
        job=job, recipe=recipe, recipe_hash=plan.recipe_hash, make_id=make_id, script=script,
        script_job_id=script_job_id, voice_job_id=voice.job_id if voice else None,
        voice=({"backend": timing.backend, "voice": timing.voice, "rate": timing.rate,
                "pitch": timing.pitch, "volume": timing.volume, "fallback": timing.fallback,
                "synthesized": voice.synthesized, "cached": voice.cached}
               if voice and timing else {"backend": None, "narration": False}),
        notes=tuple(plan_notes), srt=srt, render_job=render_job, checks=checks, banner=banner,
        encoder=encoder,
        cover_at=job.cover_at if job.cover_at is not None else min(hook_end, 1.5),
        words=tuple(words), submission_id=plan.submission_id,
        keyword_id=keyword["id"] if keyword else None,
        account_id=keyword["account_id"] if keyword else None, findings=tuple(rights))
