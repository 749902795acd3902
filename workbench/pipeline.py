"""The only place that chains stages. UI, CLI and batch all call these functions."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlite_utils import Database

from workbench.config import Settings
from workbench.errors import WorkbenchError
from workbench.materials.library import get_chapter, get_material
from workbench.models import Chapter, Script
from workbench.rewrite.base import RewriteRequest
from workbench.rewrite.prompts import get_prompt
from workbench.rewrite.registry import resolve_backend
from workbench.rewrite.service import rewrite_cached
from workbench.script.templates import get_template, render_template
from workbench.store.cache import StageCache, content_hash
from workbench.store.jobs import fail_job, finish_job, start_job

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
    try:
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
    except WorkbenchError as exc:
        fail_job(db, job_id, str(exc))
        raise
    except KeyboardInterrupt:
        fail_job(db, job_id, "已取消")
        raise
    except Exception as exc:  # record the failure, then let the edge report it
        fail_job(db, job_id, f"{type(exc).__name__}: {exc}")
        raise
    finish_job(db, job_id, script.to_dict(), cache_hit=int(cached))
    progress(1.0, "脚本完成（缓存）" if cached else "脚本完成")
    return ScriptOutcome(script=script, job_id=job_id, backend_note=resolved.reason)
