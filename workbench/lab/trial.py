"""Try a template on real material in well under a second: the template rendered on a novel
chapter (or a drama's segments), rewritten by the `rules` backend (or the configured LLM,
through the stage cache), and each segment's estimated spoken length — no voice, no render.

The material is read exactly as `make` reads it (`template_context` for a chapter,
`bind_material` + `drama_context` for a drama), so what the lab shows is what `make` would
narrate with the same keyword, variables and seed. Nothing is recorded but the rewrite's cache
entry; an LLM answer is cached like `make`'s, so trying again costs nothing.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlite_utils import Database

from workbench.compliance import Finding, load_banned_words, scan_banned_words
from workbench.config import Settings
from workbench.errors import InputError
from workbench.lab.estimate import SegmentEstimate, estimate_segments
from workbench.lab.lint_live import lint_template_text
from workbench.lab.refs import LabTemplate
from workbench.materials.library import get_chapter, get_material
from workbench.models import MakeJob, Segment
from workbench.pipeline.drama_bind import bind_material, parse_job_segments
from workbench.pipeline.drama_script import drama_context, episodes_label
from workbench.pipeline.stages import template_context
from workbench.rewrite.base import RewriteRequest
from workbench.rewrite.prompts import get_prompt
from workbench.rewrite.registry import resolve_backend
from workbench.rewrite.service import rewrite_cached
from workbench.script.templates import render_template
from workbench.store.cache import StageCache

HOOK_SECONDS = 3.0  # the golden three seconds (黄金三秒)


@dataclass(frozen=True)
class Material:
    """What to try a template on, and the job's wording options (as `make` takes them)."""

    material_id: int
    chapter: int | None = None  # a novel's chapter (from 1)
    segments: str | None = None  # a drama's "1:2-14,2:3-10"; None: its top highlights
    keyword: str = "示例口令"
    app: str | None = None  # None: settings.app_name
    variables: dict[str, Any] = field(default_factory=dict)
    backend: str | None = "rules"  # rewrite backend; None: settings.rewrite_backend
    prompt: str = "narration"
    seed: int = 0


@dataclass(frozen=True)
class KeywordSpot:
    segment: str  # the segment the keyword is first said in
    index: int  # character offset in that segment's text
    second: float  # estimated second of the narration it is said at


@dataclass(frozen=True)
class Trial:
    label: str  # suspense@3, my.j2
    template_id: str
    version: str  # the front matter's
    content_hash: str
    kind: str  # novel | drama
    target_seconds: float
    backend: str  # the rewrite backend that ran ("" for a drama cut: nothing is rewritten)
    backend_note: str
    cached: bool  # the rewrite came from the cache
    segments: list[SegmentEstimate]
    title: str
    caption: str
    hashtags: list[str]
    keyword: str
    keyword_at: KeywordSpot | None
    checks: list[Finding]
    milliseconds: int  # how long the trial took

    @property
    def total_seconds(self) -> float:
        return self.segments[-1].end if self.segments else 0.0

    @property
    def hook_seconds(self) -> float:
        hook = next((s for s in self.segments if s.name == "hook"), None)
        return hook.seconds if hook else 0.0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["total_seconds"] = self.total_seconds
        data["hook_seconds"] = self.hook_seconds
        return data


def keyword_spot(segments: list[SegmentEstimate], keyword: str) -> KeywordSpot | None:
    for segment in segments:
        index = segment.text.find(keyword) if keyword else -1
        if index >= 0:
            return KeywordSpot(segment.name, index, segment.second_at(index))
    return None


def run_trial(settings: Settings, db: Database, lab: LabTemplate, material: Material
              ) -> Trial:
    """The script `lab`'s template makes from `material`, with estimates and checks."""
    started = time.perf_counter()
    keyword = material.keyword.strip()
    if not keyword:
        raise InputError("口令不能为空：试用时也要给一个口令（--keyword），cta 段要用到它")
    app = material.app or settings.app_name
    template = lab.template
    row = get_material(db, material.material_id)
    resolved = resolve_backend(material.backend or settings.rewrite_backend, settings)
    if row.get("kind") == "drama":
        job = MakeJob(material_id=material.material_id, chapter=None, template=str(lab.file),
                      keyword=keyword, app=app, prompt=material.prompt,
                      variables=material.variables,
                      segments=parse_job_segments(material.segments))
        bound, drama = bind_material(job, settings, db)
        assert drama is not None and bound.segments is not None
        context = drama_context(drama, bound.segments, keyword, app, material.variables,
                                settings.chars_per_second)
        target = float(context["total_seconds"])
        titles = (context["drama_title"],
                  f"{episodes_label(context['episode_numbers'])}片段")
        prompt_id, rewrite = bound.prompt, template.narrated
    else:
        if material.segments is not None:
            raise InputError(f"素材 #{row['id']} 是小说：用 --chapter 选章节（--segments 只用于短剧）")
        if material.chapter is None:
            raise InputError(f"素材 #{row['id']} 是小说：请用 --chapter 指定章节（从 1 开始）")
        if template.kind != "novel":
            raise InputError(f"模板 {template.id} 是短剧模板，素材 #{row['id']} 是小说：请换小说模板")
        chapter = get_chapter(db, material.material_id, material.chapter)
        context = template_context(row, chapter, keyword, app, material.variables)
        target = float(template.target_seconds)
        titles = (row["title"], chapter.title)
        prompt_id, rewrite = material.prompt, True
    segments = render_template(template, context, chars_per_second=settings.chars_per_second)
    title, caption, hashtags, cached, backend = "", "", [], False, ""
    if rewrite:
        backend = resolved.backend.name
        request = RewriteRequest(
            segments=segments, keyword=keyword, app=app,
            target_chars=int(context.get("target_chars") or round(
                template.target_seconds * settings.chars_per_second)),
            book_title=titles[0], chapter_title=titles[1],
            prompt=get_prompt(prompt_id, settings.prompt_dirs), seed=material.seed)
        result, cached = rewrite_cached(request, resolved.backend, StageCache(db))
        segments = result.segments
        title, caption, hashtags = result.title, result.caption, result.hashtags
    else:  # a drama cut: the hook is the on-screen caption, the cta the publishing line
        texts = {s.name: s.text for s in segments}
        caption = texts.get("cta", "")
    estimates = estimate_segments(segments, settings.chars_per_second,
                                  template.voice.get("rate"))
    spot = keyword_spot(estimates, keyword)
    checks = trial_checks(settings, lab, segments, estimates, title, caption, keyword, target)
    return Trial(
        label=lab.label, template_id=template.id, version=template.version,
        content_hash=template.content_hash, kind=template.kind, target_seconds=target,
        backend=backend, backend_note=resolved.reason if rewrite else "短剧切片：不改写",
        cached=cached, segments=estimates, title=title, caption=caption,
        hashtags=list(hashtags), keyword=keyword, keyword_at=spot, checks=checks,
        milliseconds=round((time.perf_counter() - started) * 1000))


def trial_checks(settings: Settings, lab: LabTemplate, segments: list[Segment],
                 estimates: list[SegmentEstimate], title: str, caption: str, keyword: str,
                 target: float) -> list[Finding]:
    """What the lab checks on a trial's script: the template's own lint, the keyword in the
    cta, length against the target, the hook's length, banned words (the list `make` uses)."""
    findings: list[Finding] = []
    report = lint_template_text(lab.template.source, settings, lab.template.path)
    for issue in report.issues:
        findings.append(Finding("lint", "block" if issue.is_error else "warn", issue.message,
                                f"{lab.label}:{issue.line}"))
    cta = next((s.text for s in segments if s.name == "cta"), "")
    if keyword in cta:
        findings.append(Finding("keyword", "pass", f"cta 段包含口令「{keyword}」", "cta"))
    else:
        findings.append(Finding("keyword", "block", f"cta 段没有口令「{keyword}」", "cta"))
    total = estimates[-1].end if estimates else 0.0
    if lab.template.kind == "novel" and total > target:
        findings.append(Finding("duration", "warn",
                                f"估计约 {total:.0f} 秒，超过目标 {target:.0f} 秒", "duration"))
    else:
        findings.append(Finding("duration", "pass",
                                f"估计约 {total:.0f} 秒（目标 {target:.0f} 秒）", "duration"))
    hook = next((e for e in estimates if e.name == "hook"), None)
    if hook is not None and hook.seconds > HOOK_SECONDS:
        findings.append(Finding("hook", "warn", f"开头约 {hook.seconds:.1f} 秒，超过 "
                                f"{HOOK_SECONDS:g} 秒（黄金三秒）", "hook"))
    words = load_banned_words(settings.banned_words_file)
    texts: dict[str, str] = {"title": title, "caption": caption,
                             **{s.name: s.text for s in segments}}
    findings += scan_banned_words({k: v for k, v in texts.items() if v}, words)
    return findings
