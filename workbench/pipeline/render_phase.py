"""The CPU-heavy half of a job: render → cover → checks → assembled package, with no database.

`prepare_job` (in make.py) leaves a `PreparedJob`: plain, picklable data with every input
resolved to a file or a value. `render_package` turns it into a complete package folder
(`staging`) and returns what the driver needs to record it. It never opens the SQLite store, so
a batch can run it in a worker process or as a Ray task on another machine; only the driver
moves the folder into place and writes rows.
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from workbench import __version__
from workbench.compliance import BannedWord, ComplianceReport, Finding, run_checks
from workbench.drama.rights import rights_record
from workbench.errors import ComplianceBlocked
from workbench.models import MakeJob, Script
from workbench.package import assemble_package
from workbench.pipeline.stages import Progress, no_progress
from workbench.render.cover import cover_from_video
from workbench.render.drama_plan import (
    DramaRenderJob,
    drama_manifest,
    drama_render_plan,
    with_measured_drama_loudness,
)
from workbench.render.encoders import EncoderChoice
from workbench.render.loudness import with_measured_loudness
from workbench.render.plan import RenderJob, render_plan
from workbench.render.probe import probe, read_tags
from workbench.render.run import execute
from workbench.store import utcnow


@dataclass(frozen=True)
class PreparedJob:
    """A job whose script, voice and render inputs are ready: everything the render needs."""

    job: MakeJob
    recipe: dict[str, Any]
    recipe_hash: str
    make_id: int
    script: Script
    script_job_id: int | None
    voice_job_id: int | None  # None: nothing was voiced (a drama cut)
    voice: dict[str, Any]  # the manifest's voice block
    notes: tuple[str, ...]
    srt: Path
    render_job: RenderJob | DramaRenderJob  # output is set by render_package
    checks: dict[str, Any]  # run_checks keyword arguments known before the render
    banner: str
    encoder: EncoderChoice
    cover_at: float
    words: tuple[BannedWord, ...] = field(default=())
    submission_id: str = ""  # "": the recipe's own id (recipe_hash[:12])
    keyword_id: int | None = None  # the task's keyword row (jobs for a task)
    account_id: int | None = None  # the account that keyword was applied for
    # where the subtitle line sits (fractions of the height): the cover's keyword box avoids it
    subtitle_band: tuple[float, float] | None = None
    findings: tuple[Finding, ...] = ()  # checks settled before the render (a drama's rights)

    def __post_init__(self) -> None:
        if not self.submission_id:
            object.__setattr__(self, "submission_id", self.recipe_hash[:12])

    def input_files(self) -> list[Path]:
        """Files the render reads (besides the bundled font), for shipping them to a worker
        that does not share this machine's disk."""
        rj = self.render_job
        if isinstance(rj, DramaRenderJob):
            return [self.srt, *rj.input_files()]
        files = [rj.audio, self.srt, *(p for p, _ in rj.background.clips),
                 *rj.background.images]
        return files + ([rj.bgm] if rj.bgm else [])

    def with_files(self, mapping: dict[Path, Path]) -> PreparedJob:
        """The same job reading its input files from other paths (`mapping[old] = new`)."""
        rj = self.render_job
        if isinstance(rj, DramaRenderJob):
            return replace(self, render_job=rj.with_files(mapping),
                           srt=mapping.get(self.srt, self.srt))
        bg = replace(rj.background,
                     clips=tuple((mapping.get(p, p), d) for p, d in rj.background.clips),
                     images=tuple(mapping.get(p, p) for p in rj.background.images))
        rj = replace(rj, audio=mapping.get(rj.audio, rj.audio), background=bg,
                     bgm=mapping.get(rj.bgm, rj.bgm) if rj.bgm else None,
                     font_file=mapping.get(rj.font_file, rj.font_file))
        return replace(self, render_job=rj, srt=mapping.get(self.srt, self.srt))


@dataclass(frozen=True)
class RenderedPackage:
    """What the render phase hands back to the driver (plain data)."""

    manifest: dict[str, Any]
    report: ComplianceReport
    duration: float


def render_package(prepared: PreparedJob, staging: Path, progress: Progress = no_progress,
                   cancel: threading.Event | None = None) -> RenderedPackage:
    """Loudness pass, one ffmpeg render, cover, post-render checks and the package files, all
    inside `staging` (an empty folder). Raises ComplianceBlocked / RenderError / Cancelled."""
    job, recipe, submission_id = prepared.job, prepared.recipe, prepared.submission_id
    script, checks = prepared.script, {**prepared.checks, "words": list(prepared.words)}
    progress(0.0, "测量响度")
    render_job: RenderJob | DramaRenderJob = replace(prepared.render_job,
                                                     output=staging / "video.mp4")
    if isinstance(render_job, DramaRenderJob):
        render_job = with_measured_drama_loudness(render_job)
        plan = drama_render_plan(render_job)
    else:
        render_job = with_measured_loudness(render_job)
        plan = render_plan(render_job)
    profile, encoder = render_job.profile, prepared.encoder
    result = execute(plan, lambda f, m: progress(0.9 * f, m), cancel=cancel,
                     message=f"渲染视频（{profile.name}，{encoder.name}）")
    progress(0.92, "生成封面")
    cover_from_video(result.path, staging / "cover.jpg", at=prepared.cover_at,
                     title=script.title, keyword=script.keyword, app=script.app,
                     avoid=prepared.subtitle_band)
    progress(0.95, "合规检查")
    report = run_checks(**checks, on_screen=plan.on_screen, label=plan.label,
                        metadata=read_tags(result.path), expected_produce_id=submission_id)
    report = ComplianceReport([*report.findings, *prepared.findings])
    if report.blocked:
        raise ComplianceBlocked(report.block_message())
    info = probe(result.path)
    overlays = render_job.overlays
    if isinstance(render_job, DramaRenderJob):
        drawn = drama_manifest(render_job)
        narration = render_job.narration_seconds
    else:
        drawn = {"background": render_job.background.describe()}
        narration = render_job.duration
    manifest = {
        "id": submission_id, "created_at": utcnow(), "workbench": __version__,
        "recipe_hash": prepared.recipe_hash, "recipe": recipe,
        "material": {"id": job.material_id, "chapter": job.chapter,
                     **({"segments": [list(s) for s in job.segments]} if job.segments else {})},
        "template": {"id": script.template_id, "version": script.template_version,
                     "hash": script.template_hash},
        "prompt": {"id": script.prompt_id},
        "rewrite": {"backend": script.backend, "model": script.model, "cached": script.cached},
        "voice": prepared.voice,
        "render": {"profile": profile.name, "size": [info.width, info.height], "fps": info.fps,
                   "encoder": encoder.name, "encoder_reason": encoder.reason,
                   **drawn, "bgm": str(render_job.bgm) if render_job.bgm else None,
                   "loudness": render_job.loudness,
                   "mix_loudness_before": render_job.measured_loudness,
                   "banner": prepared.banner, "label": asdict(plan.label),
                   "end_card": list(overlays.end_card), "seconds": round(result.seconds, 2)},
        "durations": {"narration": round(narration, 3), "video": round(info.duration, 3),
                      **({"segments": render_job.segments_seconds,
                          "end_card": render_job.end_card_seconds}
                         if isinstance(render_job, DramaRenderJob) else {})},
        "jobs": {"make": prepared.make_id, "script": prepared.script_job_id,
                 "voice": prepared.voice_job_id},
        "script_edited": job.script is not None, "draft": job.draft,
        "keyword": script.keyword, "task_id": job.task_id, "title": script.title,
        "caption": script.caption, "hashtags": script.hashtags,
        "aigc": json.loads(render_job.metadata["AIGC"]),
        "compliance": report.to_dict(),
    }
    if isinstance(render_job, DramaRenderJob):  # the rights record: which seconds of which file
        manifest["drama"] = rights_record(render_job.clips, render_job.end_card_seconds)
    progress(0.98, "打包")
    manifest = assemble_package(staging, submission_id, script=script, banner=prepared.banner,
                                report=report, srt=prepared.srt, manifest=manifest,
                                draft=job.draft)
    return RenderedPackage(manifest=manifest, report=report, duration=info.duration)
