"""A job's plan: its recipe worked out, with no database access (the lifecycle's first step)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workbench.config import Settings
from workbench.models import MakeJob
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

    @property
    def submission_id(self) -> str:
        return self.recipe_hash[:12]


def plan_job(job: MakeJob, settings: Settings) -> JobPlan:
    """Pure: the same job and settings always give the same recipe hash (the package id)."""
    template = get_template(job.template, settings.template_dirs)
    prompt = get_prompt(job.prompt, settings.prompt_dirs)
    recipe = {**job.recipe(settings), "template_hash": template.content_hash,
              "prompt_hash": prompt.content_hash}
    return JobPlan(job, template, recipe, content_hash(recipe))
