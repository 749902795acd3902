"""A job's plan: its recipe worked out, with no database access (the lifecycle's first step)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from workbench.config import Settings
from workbench.models import MakeJob
from workbench.pipeline.drama_bind import DramaBinding, drama_recipe
from workbench.rewrite.prompts import get_prompt
from workbench.script.templates import ScriptTemplate, get_template
from workbench.store.cache import content_hash


@dataclass(frozen=True)
class JobPlan:
    """A job with its recipe worked out (template and prompt hashes included)."""

    job: MakeJob
    template: ScriptTemplate
    recipe: dict[str, Any]
    recipe_hash: str
    # Where the package goes: the recipe's own id, or a new take of it when a published package
    # holds that id (lifecycle.claim); published packages are never overwritten.
    submission_id: str = ""
    notes: tuple[str, ...] = field(default=())  # for the user, carried into the outcome
    drama: DramaBinding | None = None  # a drama job's episodes and lines (drama_bind.py)

    def __post_init__(self) -> None:
        if not self.submission_id:
            object.__setattr__(self, "submission_id", self.recipe_hash[:12])


def plan_job(job: MakeJob, settings: Settings, drama: DramaBinding | None = None) -> JobPlan:
    """Pure: the same job and settings (and, for a drama, the same bound episodes) always
    give the same recipe hash (the package id)."""
    template = get_template(job.template, settings.template_dirs)
    prompt = get_prompt(job.prompt, settings.prompt_dirs)
    recipe = {**job.recipe(settings), "template_hash": template.content_hash,
              "prompt_hash": prompt.content_hash}
    if drama is not None:
        recipe["drama"] = drama_recipe(job, drama, settings)
    draft = f"这是草稿（--draft），成品包不能发布：口令「{job.keyword}」审核通过后去掉 --draft 重新生成"
    notes = ((draft,) if job.draft else ()) + (drama.notes if drama else ())
    return JobPlan(job, template, recipe, content_hash(recipe), notes=notes, drama=drama)
