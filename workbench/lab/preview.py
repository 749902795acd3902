"""A preview clip: the first seconds of the real video a template would make, in the draft
profile, cached by what decides it.

It goes through the job lifecycle's own steps — `plan_bound` (keyword, material, segments) and
`prepare_job` (script, voice and subtitles through the stage cache, render inputs, text checks)
— then renders the same plan with the output cut to N seconds (`render.plan.first_seconds`).
So the clip shows exactly what `make --profile draft` would show for those seconds (background,
subtitles, label, banner), without a package or a submission row. The work is recorded as a
`lab_preview` job, with its script and voice jobs under it as `make` does.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from sqlite_utils import Database

from workbench.config import Settings
from workbench.errors import InputError
from workbench.lab.refs import LabTemplate
from workbench.lab.trial import Material
from workbench.models import MakeJob
from workbench.pipeline.drama_bind import parse_job_segments
from workbench.pipeline.lifecycle import plan_bound
from workbench.pipeline.prepare import prepare_job
from workbench.pipeline.stages import Progress, no_progress, within
from workbench.render.drama_plan import DramaRenderJob, drama_render_plan
from workbench.render.plan import first_seconds, render_plan
from workbench.render.run import execute
from workbench.store.cache import content_hash
from workbench.store.jobs import failure_recorded, finish_job, start_job

DEFAULT_SECONDS = 5.0
MAX_SECONDS = 30.0  # a preview is the opening; the whole video is `make --profile draft`
RENDER_TIMEOUT = 300.0
VERSION = 1  # bump when what a preview shows changes for the same job


@dataclass(frozen=True)
class Preview:
    path: Path  # an MP4 under the cache folder
    seconds: float  # its length (the narration's, when shorter than asked)
    cached: bool
    notes: tuple[str, ...]  # from planning: segments chosen, a draft keyword …


def previews_dir(settings: Settings) -> Path:
    return settings.cache_dir / "previews" / "lab"


def preview_clip(settings: Settings, db: Database, lab: LabTemplate, material: Material,
                 seconds: float = DEFAULT_SECONDS, *, background: str | None = None,
                 progress: Progress = no_progress) -> Preview:
    """The first `seconds` of the draft video `lab`'s template makes from `material`."""
    if not 0 < seconds <= MAX_SECONDS:
        raise InputError(f"预览时长应在 0 到 {MAX_SECONDS:g} 秒之间（收到 {seconds:g}）；"
                         "完整视频请用 workbench make --profile draft")
    settings.ensure_dirs()
    job = MakeJob(material_id=material.material_id, chapter=material.chapter,
                  template=str(lab.file), keyword=material.keyword.strip(), app=material.app,
                  prompt=material.prompt, rewrite_backend=material.backend,
                  variables=material.variables, seed=material.seed, profile="draft",
                  background=background, segments=parse_job_segments(material.segments))
    plan = plan_bound(job, settings, db)
    key = content_hash("lab-preview", VERSION, plan.recipe_hash, round(seconds, 2))[:16]
    out = previews_dir(settings) / f"{lab.template.id}-{key}.mp4"
    if out.is_file():
        progress(1.0, "预览（缓存）")
        return Preview(out, _length(out, seconds), True, plan.notes)
    preview_id = start_job(db, "lab_preview", plan.recipe_hash, material_id=job.material_id,
                           chapter=job.chapter, template_id=lab.template.id,
                           prompt_id=job.prompt, keyword=job.keyword,
                           app=plan.recipe["app"], params=plan.recipe)
    with failure_recorded(db, preview_id):
        prepared = prepare_job(plan, preview_id, settings, db, within(progress, 0.0, 0.5))
        render_job = replace(prepared.render_job, output=out)
        full = (drama_render_plan(render_job) if isinstance(render_job, DramaRenderJob)
                else render_plan(render_job))
        cut = first_seconds(full, seconds)
        execute(cut, within(progress, 0.5, 1.0), timeout=RENDER_TIMEOUT,
                message=f"渲染预览（前 {cut.duration:g} 秒，draft）")
    finish_job(db, preview_id, {"preview": str(out), "seconds": cut.duration})
    return Preview(out, float(cut.duration), False, plan.notes)


def _length(path: Path, asked: float) -> float:
    from workbench.render.probe import probe

    try:
        return round(probe(path).duration, 2)
    except Exception:  # noqa: BLE001 - only a label; the file itself is what counts
        return asked
