"""模板实验室 · 试用 and 对比: a template (the editor's unsaved text, a template as it is now, or
a stored version) tried on a novel chapter or drama segments — each segment's text, estimated
seconds and characters per second, where the keyword falls, the checks — then 2–4 of them side
by side with the differences highlighted, and on demand a draft preview of the first seconds.

A thin shell over workbench/lab (trial, compare, preview): what `workbench lab try` and
`workbench lab compare` call. All text put into HTML here is escaped.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd
from sqlite_utils import Database

from workbench.compliance import LEVEL_NAMES
from workbench.config import Settings
from workbench.errors import InputError
from workbench.lab.compare import (
    MAX_TRIALS,
    MIN_TRIALS,
    Cell,
    Comparison,
    compare_trials,
    mark_spans,
)
from workbench.lab.preview import DEFAULT_SECONDS, preview_clip
from workbench.lab.refs import LabTemplate, from_text, is_file_ref, resolve
from workbench.lab.trial import KeywordSpot, Material, Trial, run_trial
from workbench.lab.versions import parse_ref
from workbench.ui import choices
from workbench.ui.common import handler, owner, session
from workbench.ui.lab_editor import PROMPT

EDITOR = "editor"  # the template choice for the editor's unsaved text
EDITOR_NAME = Path("编辑器草稿.j2")
SEGMENT_HEADERS = ["段落", "文字", "字数", "预计秒数", "字/秒", "起始秒"]
CHECK_HEADERS = ["级别", "检查", "说明"]
BACKENDS = [("规则改写（离线，默认）", "rules"), ("设置里的改写方式（可能是 LLM）", "")]
DEFAULT_KEYWORD = "示例口令"
PROGRESS = gr.Progress()  # Gradio swaps in a live tracker for each call


# Inputs ------------------------------------------------------------------------------------
@handler
def pick_material(material: Any) -> tuple[Any, Any]:
    """A novel shows its chapters; a drama the segments box instead."""
    with session() as (_, db):
        if not material:
            return gr.Dropdown(choices=[], value=None), gr.Textbox(visible=False)
        if choices.is_drama(db, material):
            return gr.Dropdown(choices=[], value=None, visible=False), gr.Textbox(visible=True)
        options = choices.chapters(db, int(material))
    return (gr.Dropdown(choices=options, value=options[0][1] if options else None, visible=True),
            gr.Textbox(visible=False))


def material_of(db: Database, material: Any, chapter: Any, segments: str | None,
                keyword: str | None, backend: str | None, prompt: str | None) -> Material:
    try:
        material_id = int(str(material))
    except ValueError:
        raise InputError("请先选择素材（小说或短剧）") from None
    drama = choices.is_drama(db, material_id)
    picked: int | None = None
    if not drama and chapter not in (None, ""):
        try:
            picked = int(str(chapter))
        except ValueError:
            raise InputError("章节无效：请从列表里选择章节") from None
    if not drama and picked is None:
        raise InputError("请选择章节")
    return Material(material_id, chapter=picked,
                    segments=((segments or "").strip() or None) if drama else None,
                    keyword=(keyword or "").strip(), backend=backend or None,
                    prompt=prompt or "narration")


def lab_template(settings: Settings, db: Database, ref: str | None, text: str | None,
                 kind: str | None, actor: str) -> LabTemplate:
    """The editor's text, a template id or `id@N` (never a path: the page names no files)."""
    ref = (ref or "").strip()
    if ref == EDITOR:
        if kind == PROMPT:
            raise InputError("编辑器里是提示词：试用需要模板，请在「编辑」里载入一个模板，"
                             "或在这里选一个已保存的模板")
        if not (text or "").strip():
            raise InputError("编辑器是空的：先在「编辑」里载入一个模板，或在这里选一个已保存的模板")
        return from_text(text or "", EDITOR_NAME, settings)
    if not ref or is_file_ref(ref):
        raise InputError("请选择要试用的模板（编辑器里的内容、模板或 模板@版本）")
    parse_ref(ref)
    return resolve(db, settings, ref, actor=actor)


# 试用 --------------------------------------------------------------------------------------
def keyword_words(keyword: str, spot: KeywordSpot | None) -> str:
    if spot is None:
        return f"没有说到口令「{keyword}」"
    return f"口令「{keyword}」在 {spot.segment} 段，约第 {spot.second:.1f} 秒"


def trial_summary(trial: Trial) -> str:
    parts = [f"**{trial.label}**（哈希 `{trial.content_hash}`）",
             f"合计约 **{trial.total_seconds:.1f} 秒**（目标 {trial.target_seconds:g} 秒）",
             f"开头 {trial.hook_seconds:.1f} 秒", keyword_words(trial.keyword, trial.keyword_at),
             trial.backend_note + ("（缓存）" if trial.cached else ""),
             f"用时 {trial.milliseconds} 毫秒"]
    text = " · ".join(parts)
    return text + (f"\n\n标题：{trial.title}" if trial.title else "")


def segment_rows(trial: Trial) -> pd.DataFrame:
    rows = [[s.name, s.text, s.chars, f"{s.seconds:.1f}", f"{s.chars_per_second:.1f}",
             f"{s.start:.1f}"] for s in trial.segments]
    return pd.DataFrame(rows, columns=SEGMENT_HEADERS)


def check_rows(trial: Trial) -> pd.DataFrame:
    rows = [[LEVEL_NAMES[f.level], f.check, f.message] for f in trial.checks]
    return pd.DataFrame(rows, columns=CHECK_HEADERS)


@handler
def try_template(ref: str | None, text: str | None, kind: str | None, material: Any,
                 chapter: Any, segments: str | None, keyword: str | None, backend: str | None,
                 prompt: str | None, request: gr.Request
                 ) -> tuple[str, pd.DataFrame, pd.DataFrame]:
    with session() as (settings, db):
        lab = lab_template(settings, db, ref, text, kind, f"app:{owner(request)}")
        chosen = material_of(db, material, chapter, segments, keyword, backend, prompt)
        trial = run_trial(settings, db, lab, chosen)
    return trial_summary(trial), segment_rows(trial), check_rows(trial)


def _progress(progress: gr.Progress) -> Callable[[float, str], None]:
    return lambda fraction, message: progress(fraction, desc=message)


def _seconds(value: float | None) -> float:
    return float(value) if value is not None else DEFAULT_SECONDS


@handler
def preview_one(ref: str | None, text: str | None, kind: str | None, material: Any,
                chapter: Any, segments: str | None, keyword: str | None, backend: str | None,
                prompt: str | None, seconds: float | None, request: gr.Request,
                progress: gr.Progress = PROGRESS) -> tuple[str, str]:
    """The first seconds of the draft video (rendered for real; cached)."""
    with session() as (settings, db):
        lab = lab_template(settings, db, ref, text, kind, f"app:{owner(request)}")
        chosen = material_of(db, material, chapter, segments, keyword, backend, prompt)
        clip = preview_clip(settings, db, lab, chosen, _seconds(seconds),
                            progress=_progress(progress))
    return str(clip.path), f"{lab.label} 的前 {clip.seconds:g} 秒（draft{'，缓存' if clip.cached else ''}）"


# 对比 --------------------------------------------------------------------------------------
def _refs(refs: list[str] | None) -> list[str]:
    picked = list(refs or [])
    if not MIN_TRIALS <= len(picked) <= MAX_TRIALS:
        raise InputError(f"请选择 {MIN_TRIALS} 到 {MAX_TRIALS} 个模板或版本（现在选了 {len(picked)} 个）")
    return picked


@handler
def compare(refs: list[str] | None, text: str | None, kind: str | None, material: Any,
            chapter: Any, segments: str | None, keyword: str | None, backend: str | None,
            prompt: str | None, request: gr.Request) -> str:
    picked = _refs(refs)
    with session() as (settings, db):
        chosen = material_of(db, material, chapter, segments, keyword, backend, prompt)
        actor = f"app:{owner(request)}"
        labs = [lab_template(settings, db, ref, text, kind, actor) for ref in picked]
        comparison = compare_trials([run_trial(settings, db, lab, chosen) for lab in labs])
    return comparison_html(comparison, chosen.keyword)


@handler
def preview_many(refs: list[str] | None, text: str | None, kind: str | None, material: Any,
                 chapter: Any, segments: str | None, keyword: str | None, backend: str | None,
                 prompt: str | None, seconds: float | None, request: gr.Request,
                 progress: gr.Progress = PROGRESS) -> tuple[Any, ...]:
    """A preview clip per compared template (one after another), in the columns' order."""
    picked = _refs(refs)
    videos: list[Any] = []
    with session() as (settings, db):
        chosen = material_of(db, material, chapter, segments, keyword, backend, prompt)
        actor = f"app:{owner(request)}"
        for i, ref in enumerate(picked):
            lab = lab_template(settings, db, ref, text, kind, actor)
            share = 1 / len(picked)
            clip = preview_clip(settings, db, lab, chosen, _seconds(seconds), progress=(
                lambda f, m, i=i, share=share: progress(i * share + f * share, desc=m)))
            videos.append(gr.Video(value=str(clip.path), label=f"{lab.label}（前 {clip.seconds:g} 秒）",
                                   visible=True))
    videos += [gr.Video(value=None, visible=False)] * (MAX_TRIALS - len(videos))
    return tuple(videos)


_STYLE = """<style>
.lab-compare table { border-collapse: collapse; width: 100%; table-layout: fixed; }
.lab-compare th, .lab-compare td { border: 1px solid var(--border-color-primary, #ddd);
  padding: 6px 8px; vertical-align: top; text-align: left; line-height: 1.6; }
.lab-compare thead th { background: var(--background-fill-secondary, #f6f6f6); }
.lab-compare th:first-child { width: 6em; white-space: nowrap; }
.lab-compare ins { background: #bbf7d0; color: #14532d; text-decoration: none; }
.lab-compare del { background: #fecaca; color: #7f1d1d; }
.lab-compare mark { background: #fde68a; color: #713f12; }
.lab-compare .meta { color: var(--body-text-color-subdued, #666); font-size: 0.85em; }
.lab-compare .missing { color: var(--body-text-color-subdued, #999); }
.lab-compare ul { margin: 0.2em 0 0 1.1em; padding: 0; font-size: 0.9em; }
.lab-compare .legend { margin-top: 0.4em; font-size: 0.9em; }
</style>"""


HTML_MARKS = {"insert": ("<ins>", "</ins>"), "delete": ("<del>", "</del>"),
              "changed": ("<mark>", "</mark>")}


def spans_html(cell: Cell | None) -> str:
    if cell is None:
        return '<span class="missing">（没有这一段）</span>'
    meta = f"{cell.chars} 字 · {cell.seconds:.1f} 秒 · 从第 {cell.start:.1f} 秒起"
    return mark_spans(cell.spans, HTML_MARKS, html.escape) + f'<div class="meta">{meta}</div>'


def comparison_html(comparison: Comparison, keyword: str) -> str:
    e = html.escape
    columns = comparison.columns
    head = "".join(f"<th>{e(c.label)}{'（基准）' if i == 0 else ''}<div class='meta'>"
                   f"{e(c.content_hash)}</div></th>" for i, c in enumerate(columns))
    body = [f"<tr><th>{e(row.segment)}</th>" + "".join(
        f"<td>{spans_html(cell)}</td>" for cell in row.cells) + "</tr>"
        for row in comparison.rows]

    def line(name: str, cells: list[str]) -> str:
        return f"<tr><th>{name}</th>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"

    body.append(line("合计", [f"{c.total_seconds:.1f} 秒 / 目标 {c.target_seconds:g} 秒"
                            for c in columns]))
    body.append(line("开头", [f"{c.hook_seconds:.1f} 秒" for c in columns]))
    body.append(line("口令", [e(keyword_words(keyword, c.keyword_at)) for c in columns]))
    body.append(line("相似度", [f"{c.similarity:.0%}" for c in columns]))
    body.append(line("检查", [
        f"阻止 {c.checks['block']} · 提醒 {c.checks['warn']} · 通过 {c.checks['pass']}"
        + ("<ul>" + "".join(f"<li>{e(p)}</li>" for p in c.problems) + "</ul>"
           if c.problems else "") for c in columns]))
    legend = ('<p class="legend"><ins>新增</ins> <del>删去</del> <mark>与其他列不同</mark>'
              "（以第一列为基准）</p>")
    return (f'{_STYLE}<div class="lab-compare"><table><thead><tr><th>段落</th>{head}</tr>'
            f"</thead><tbody>{''.join(body)}</tbody></table>{legend}</div>")

