"""A drama job's script. The template sees the segments (their subtitle lines, episode numbers,
the drama's title, keyword and app):

- `cut` (切片) has no narration: its `hook` is the caption shown in the first seconds and its
  `cta` the line that goes into the publishing caption; no backend is asked for anything;
- `narrated` (解说) is written like a novel's narration — the template, then the rewrite backend
  (rules offline, an LLM when configured) through the stage cache, recorded as a `script`
  job — and, once voiced, trimmed (`shorten`) when it would run past the segments.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sqlite_utils import Database

from workbench.config import Settings
from workbench.drama.dialogue import score_line
from workbench.drama.segments import SegmentTuple
from workbench.errors import InputError
from workbench.models import MakeJob, Script, Segment
from workbench.pipeline.drama_bind import DramaBinding
from workbench.pipeline.stages import Progress, no_progress
from workbench.rewrite.base import RewriteRequest
from workbench.rewrite.prompts import get_prompt
from workbench.rewrite.registry import resolve_backend
from workbench.rewrite.rules import make_title
from workbench.rewrite.service import rewrite_cached
from workbench.script.templates import ScriptTemplate, render_template
from workbench.store.cache import StageCache, content_hash
from workbench.store.jobs import failure_recorded, finish_job, start_job
from workbench.text import cut_sentence, fit_sentences, split_sentences, visible_len
from workbench.voice.timing import TimingMap

NARRATION_FILL = 0.85  # of the segments' length the narration aims to fill: room to breathe
SHORTEN_MARGIN = 0.3  # seconds a shortened narration aims below the segments' end
MIN_BODY_CHARS = 6  # a body cut shorter than this is dropped instead


def episodes_label(numbers: Sequence[int]) -> str:
    return f"第{'、'.join(map(str, numbers))}集"


def drama_context(drama: DramaBinding, segments: Sequence[SegmentTuple], keyword: str,
                  app: str, variables: dict[str, Any], chars_per_second: float
                  ) -> dict[str, Any]:
    """The template's variables for these segments (see script/variables.DRAMA_VARIABLES)."""
    segs = []
    for idx, start, end in segments:
        lines = drama.lines_in(idx, start, end)
        segs.append({"episode": idx, "number": drama.episode(idx).number, "start": start,
                     "end": end, "seconds": round(end - start, 3), "text": " ".join(lines),
                     "lines": lines})
    total = round(sum(s["seconds"] for s in segs), 3)
    spoken = [line for s in segs for line in s["lines"]]
    strongest = max(spoken, key=lambda text: score_line(text).score, default="")
    return {"keyword": keyword, "app": app, "drama_title": drama.title, "segments": segs,
            "episode_numbers": list(dict.fromkeys(s["number"] or s["episode"] for s in segs)),
            "strongest_line": strongest, "total_seconds": total,
            "target_seconds": max(1, int(total)),
            "target_chars": round(total * chars_per_second * NARRATION_FILL), **variables}


def drama_hashtags(title: str, app: str) -> list[str]:
    return [tag for tag in ("短剧推荐", "短剧", title, app.replace(" ", "")) if tag]


def cut_script(template: ScriptTemplate, context: dict[str, Any], job: MakeJob,
               settings: Settings) -> Script:
    """The cut's hook caption and caption line, from the template alone."""
    segments = render_template(template, context, chars_per_second=settings.chars_per_second)
    texts = {s.name: s.text for s in segments}
    hook = texts.get("hook", "")
    return Script(segments=segments, title=make_title(hook, context["drama_title"]),
                  caption=texts.get("cta", ""),
                  hashtags=drama_hashtags(context["drama_title"], context["app"]),
                  keyword=context["keyword"], app=context["app"], template_id=template.id,
                  template_version=template.version, template_hash=template.content_hash,
                  material_id=job.material_id, chapter=None)


def narration_script(job: MakeJob, template: ScriptTemplate, context: dict[str, Any],
                     settings: Settings, db: Database, progress: Progress = no_progress
                     ) -> tuple[Script, int]:
    """Template → rewrite (cached), recorded as a `script` job; returns it and the job id."""
    prompt = get_prompt(job.prompt, settings.prompt_dirs)
    resolved = resolve_backend(job.rewrite_backend or settings.rewrite_backend, settings)
    backend = resolved.backend
    app, keyword = context["app"], context["keyword"]
    recipe = {"material_id": job.material_id, "segments": [list(s) for s in job.segments or ()],
              "template": template.id, "keyword": keyword, "app": app, "prompt": prompt.id,
              "variables": job.variables, "seed": job.wording_seed,
              "instruction": job.instruction, "template_hash": template.content_hash,
              "prompt_hash": prompt.content_hash, "backend": backend.name,
              "model": backend.model}
    job_id = start_job(db, "script", content_hash(recipe), material_id=job.material_id,
                       chapter=None, template_id=template.id, prompt_id=prompt.id,
                       keyword=keyword, app=app, backend=backend.name, model=backend.model,
                       params=recipe)
    with failure_recorded(db, job_id):
        progress(0.1, "生成解说稿")
        segments = render_template(template, context, chars_per_second=settings.chars_per_second)
        progress(0.3, f"改写解说（{backend.name}）")
        request = RewriteRequest(
            segments=segments, keyword=keyword, app=app, target_chars=context["target_chars"],
            book_title=context["drama_title"],
            chapter_title=f"{episodes_label(context['episode_numbers'])}片段",
            prompt=prompt, seed=job.wording_seed, instruction=job.instruction)
        result, cached = rewrite_cached(request, backend, StageCache(db))
        hashtags = (drama_hashtags(context["drama_title"], app) if backend.name == "rules"
                    else result.hashtags)
        script = Script(
            segments=result.segments, title=result.title, caption=result.caption,
            hashtags=hashtags, keyword=keyword, app=app, template_id=template.id,
            template_version=template.version, template_hash=template.content_hash,
            prompt_id=prompt.id, backend=backend.name, model=backend.model,
            material_id=job.material_id, chapter=None, cached=cached)
    finish_job(db, job_id, script.to_dict(), cache_hit=int(cached))
    progress(1.0, "解说稿完成（缓存）" if cached else "解说稿完成")
    return script, job_id


def _shorter_text(text: str, chars: int) -> str:
    """Whole sentences of `text` within `chars`; a first sentence too long is cut."""
    if chars < MIN_BODY_CHARS:
        return ""
    kept = "".join(fit_sentences(split_sentences(text), chars))
    return kept if visible_len(kept) <= chars else cut_sentence(kept, chars)


def shorten(script: Script, timing: TimingMap, available: float) -> tuple[Script, str]:
    """The script with its body cut so the narration fits `available` seconds, and a note.
    InputError when even the hook and the call to action alone are too long."""
    excess = timing.duration - available + SHORTEN_MARGIN
    body = next((s for s in timing.segments if s.name == "body"), None)
    too_long = InputError(
        f"解说配音 {timing.duration:.1f} 秒，比片段总长 {available:.1f} 秒还长，删掉正文后开头和"
        "结尾引导也放不下：请多选一些片段（--segments），或加快语速（--rate +40%）")
    if body is None or not body.text:
        raise too_long
    spoken = max(body.end - body.start, 1e-3)
    chars = visible_len(body.text)
    keep = int(chars * (spoken - excess) / spoken) if spoken > excess else 0
    text = _shorter_text(body.text, keep)
    if text == body.text:  # nothing shorter to say: drop the body
        text = ""
    segments = [Segment(s.name, text) if s.name == "body" else s for s in script.segments]
    segments = [s for s in segments if s.text]
    note = (f"解说配音 {timing.duration:.1f} 秒，比片段总长 {available:.1f} 秒长："
            f"正文从 {chars} 字删到 {visible_len(text)} 字")
    return replace(script, segments=segments), note


