"""模板实验室 · 编辑 and 版本: a template or a prompt in a code editor, linted as it is typed;
saved as a new version; the versions of a template with the packages made from each, loaded
back into the editor, exported and imported as files.

A thin shell over workbench/lab (lint_live, refs, versions): the functions `workbench lab
lint`, `save`, `versions`, `show`, `export` and `import` call.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd
from sqlite_utils import Database

from workbench.config import Settings
from workbench.errors import InputError
from workbench.lab.lint_live import LintReport, lint_text
from workbench.lab.refs import resolve
from workbench.lab.versions import (
    TemplateVersion,
    adopt,
    export_name,
    export_versions,
    get_version,
    import_file,
    list_versions,
    parse_ref,
    save_version,
    submissions_of,
    usage,
)
from workbench.rewrite.prompts import list_prompts
from workbench.script.templates import list_templates
from workbench.ui.common import handler, owner, session
from workbench.ui.platform_choices import without_path

TEMPLATE, PROMPT = "template", "prompt"
CURRENT = ""  # the version choice for "what make uses now"
LINT_HEADERS = ["行", "类型", "级别", "说明"]
VERSION_HEADERS = ["版本", "哈希", "时间", "备注", "来源", "用过的成品数"]
MADE_HEADERS = ["编号", "时间", "状态", "口令", "标题"]
KIND_NAMES = {"syntax": "语法", "front_matter": "头部信息", "variable": "变量", "sandbox": "沙箱",
              "limit": "时间/内存上限", "keyword": "口令", "banned": "违禁词", "length": "时长",
              "layout": "版式", "render": "试渲染", "other": "其他"}
EXPORTS = ("ui", "exports", "lab")  # under WORKBENCH_HOME; ui/exports is served (app.launch)


# Choices -----------------------------------------------------------------------------------
def source_choices(settings: Settings) -> list[tuple[str, str]]:
    """Every template and prompt, as `template:<id>` / `prompt:<id>`."""
    templates = [(f"模板 · {t.name}（{t.id}）", f"{TEMPLATE}:{t.id}")
                 for t in list_templates(settings.template_dirs)]
    prompts = [(f"提示词 · {p.name}（{p.id}）", f"{PROMPT}:{p.id}")
               for p in list_prompts(settings.prompt_dirs)]
    return templates + prompts


def template_choices(settings: Settings) -> list[tuple[str, str]]:
    return [(f"{t.name}（{t.id}）", t.id) for t in list_templates(settings.template_dirs)]


def _told(version: TemplateVersion) -> bool:
    """A note someone wrote (not the lab's own for a file it recorded)."""
    return bool(version.note) and not version.origin.startswith("file:")


def version_choices(db: Database, template_id: str) -> list[tuple[str, str]]:
    """"Current file" first, then the stored versions, newest first."""
    stored = [(f"v{v.version} · {v.created_at[:16].replace('T', ' ')}"
               + (f" · {v.note[:20]}" if _told(v) else ""), str(v.version))
              for v in reversed(list_versions(db, template_id))]
    return [("当前文件（make 正在用的）", CURRENT), *stored]


def ref_choices(settings: Settings, db: Database, actor: str) -> list[tuple[str, str]]:
    """Every template as it is now (`id`) and every stored version (`id@N`), for 试用 and 对比.
    Templates the lab has not seen yet are recorded first (as `workbench lab versions` does)."""
    out: list[tuple[str, str]] = []
    for template in list_templates(settings.template_dirs):
        adopt(db, settings, template.id, actor=actor)
        out.append((f"{template.name}（{template.id}，当前）", template.id))
        out += [(f"{template.id}@{v.version}" + (f" · {v.note[:16]}" if _told(v) else ""),
                 f"{template.id}@{v.version}")
                for v in reversed(list_versions(db, template.id))]
    return out


def split_source(value: str | None) -> tuple[str, str]:
    kind, sep, ident = (value or "").partition(":")
    if not sep or kind not in (TEMPLATE, PROMPT) or not ident:
        raise InputError("请先从列表里选择要编辑的模板或提示词")
    return kind, ident


# Editing -----------------------------------------------------------------------------------
@handler
def pick_source(value: str | None) -> Any:
    """The version choices of a template (none for a prompt)."""
    kind, ident = split_source(value)
    if kind == PROMPT:
        return gr.Dropdown(choices=[("提示词没有版本", CURRENT)], value=CURRENT, interactive=False)
    with session() as (settings, db):
        template_id, _ = parse_ref(ident)
        adopt(db, settings, template_id)
        return gr.Dropdown(choices=version_choices(db, template_id), value=CURRENT,
                           interactive=True)


@handler
def load_source(value: str | None, version: str | None, request: gr.Request
                ) -> tuple[str, str, str, Any]:
    """The text into the editor: (text, kind, status, save button)."""
    kind, ident = split_source(value)
    with session() as (settings, db):
        if kind == PROMPT:
            prompt = next((p for p in list_prompts(settings.prompt_dirs) if p.id == ident), None)
            if prompt is None:
                raise InputError(f"找不到提示词 {ident}（可能已被删除，刷新页面再选）")
            text = prompt.path.read_text("utf-8")
            words = (f"已载入提示词 **{prompt.name}**（{prompt.id}）。提示词没有版本库："
                     "这里只检查，保存请改提示词文件。")
            return text, PROMPT, words, gr.Button(interactive=False)
        ref = f"{ident}@{version}" if version else ident
        lab = resolve(db, settings, ref, actor=f"app:{owner(request)}")
    what = f"版本 {lab.version}" if lab.version else "当前文件（实验室还没有记录）"
    words = (f"已载入模板 **{lab.template.name}**（{lab.label}，{what}，哈希 "
             f"`{lab.template.content_hash}`）。改完点「保存为新版本」。")
    return lab.template.source, TEMPLATE, words, gr.Button(interactive=True)


def lint_rows(report: LintReport) -> pd.DataFrame:
    rows = [[issue.line, KIND_NAMES.get(issue.kind, issue.kind),
             "错误" if issue.is_error else "警告", issue.message] for issue in report.issues]
    return pd.DataFrame(rows, columns=LINT_HEADERS)


def lint_summary(report: LintReport) -> str:
    if not report.issues:
        return "没有发现问题"
    lines = sorted({issue.line for issue in report.issues})
    shown = "、".join(map(str, lines[:12])) + ("…" if len(lines) > 12 else "")
    warnings = len(report.issues) - report.errors
    head = f"**{report.errors} 个错误**" if report.errors else "没有错误"
    return f"{head}，{warnings} 个警告（第 {shown} 行）"


@handler
def lint_editor(text: str | None, kind: str | None) -> tuple[str, pd.DataFrame]:
    """What lint finds in the editor's text (typed, not saved)."""
    if not (text or "").strip():
        return "编辑器是空的：先选择一个模板或提示词载入", lint_rows(LintReport(TEMPLATE, []))
    with session() as (settings, _):
        report = lint_text(text or "", settings, kind=kind or TEMPLATE)
    return lint_summary(report), lint_rows(report)


@handler
def save_editor(text: str | None, kind: str | None, note: str | None, request: gr.Request
                ) -> tuple[str, Any, Any]:
    """The editor's template as a new version (refused with lint's errors): the message and
    the source and version choices pointing at it (the editor then loads it, see lab_tab)."""
    if kind == PROMPT:
        raise InputError("编辑器里是提示词：提示词没有版本库，这里只检查，不能保存为版本")
    if not (text or "").strip():
        raise InputError("编辑器是空的：先选择一个模板载入，改好再保存")
    with session() as (settings, db):
        result = save_version(db, settings, text or "", note=(note or "").strip(),
                              actor=f"app:{owner(request)}")
        version = result.version
        choices = version_choices(db, version.template_id)
        sources = source_choices(settings)
    if result.created:
        message = (f"已保存为 **{version.ref}**（哈希 `{version.content_hash}`）；"
                   f"创作和 make 使用模板 {version.template_id} 时将用这个版本")
    else:
        message = f"内容与最新版本 **{version.ref}** 相同，没有新增版本"
    if result.adopted is not None:
        message += f"（先记录了原有模板文件为 {result.adopted.ref}）"
    return (message, gr.Dropdown(choices=sources, value=f"{TEMPLATE}:{version.template_id}"),
            gr.Dropdown(choices=choices, value=str(version.version), interactive=True))


# Versions ----------------------------------------------------------------------------------
def version_rows(db: Database, template_id: str) -> tuple[pd.DataFrame, str]:
    versions = list_versions(db, template_id)
    used = usage(db, template_id)
    rows = [[v.version, v.content_hash, v.created_at[:19].replace("T", " "), v.note,
             v.origin if not v.origin.startswith("file:") else "模板文件",
             used.counts.get(v.version, 0)] for v in reversed(versions)]
    note = f"模板 {template_id}：{len(versions)} 个版本"
    if used.unmatched:
        note += f"；另有 {used.unmatched} 条成品用的版本不在实验室记录里（在实验室之外改过的文件）"
    return pd.DataFrame(rows, columns=VERSION_HEADERS), note


@handler
def show_versions(template_id: str | None, request: gr.Request
                  ) -> tuple[pd.DataFrame, str, Any]:
    if not template_id:
        raise InputError("请先选择一个模板")
    with session() as (settings, db):
        template_id, _ = parse_ref(template_id)
        adopt(db, settings, template_id, actor=f"app:{owner(request)}")
        table, note = version_rows(db, template_id)
        stored = [(label, value) for label, value in version_choices(db, template_id)
                  if value != CURRENT]
    return table, note, gr.Dropdown(choices=stored, value=stored[0][1] if stored else None)


@handler
def pick_version(template_id: str | None, version: str | None
                 ) -> tuple[pd.DataFrame, Any]:
    """The packages made with the version, and its file ready to download."""
    if not template_id or not version:
        return pd.DataFrame([], columns=MADE_HEADERS), gr.DownloadButton(value=None)
    with session() as (settings, db):
        chosen = get_version(db, template_id, int(version))
        made = submissions_of(db, chosen)
        folder = settings.home.joinpath(*EXPORTS)
        path = export_versions([chosen], folder / export_name(chosen))[0]
    rows = [[m["id"], (m["created_at"] or "")[:16].replace("T", " "), m["status"],
             m["keyword"], m["title"] or ""] for m in made]
    return (pd.DataFrame(rows, columns=MADE_HEADERS),
            gr.DownloadButton(f"下载 {path.name}", value=str(path)))


@handler
def version_to_editor(template_id: str | None, version: str | None
                      ) -> tuple[Any, Any, str, str, str, Any, Any]:
    """The chosen version into the editor, and the editor's sub-tab shown."""
    if not template_id or not version:
        raise InputError("请先选择一个模板和版本")
    with session() as (settings, db):
        chosen = get_version(db, template_id, int(version))
        choices = version_choices(db, template_id)
        sources = source_choices(settings)
    return (gr.Dropdown(choices=sources, value=f"{TEMPLATE}:{template_id}"),
            gr.Dropdown(choices=choices, value=str(chosen.version), interactive=True),
            chosen.source, TEMPLATE,
            f"已载入 **{chosen.ref}**（哈希 `{chosen.content_hash}`）。改完点「保存为新版本」。",
            gr.Button(interactive=True), gr.Tabs(selected="lab-edit"))


@handler
def import_version(file: str | None, note: str | None, request: gr.Request
                   ) -> tuple[str, Any]:
    if not file:
        raise InputError("请先选择要导入的模板文件（.j2）")
    path = Path(file)
    with session() as (settings, db):
        try:
            result = import_file(db, settings, path, note=(note or "").strip(),
                                 actor=f"app:{owner(request)}")
        except InputError as exc:
            raise InputError(without_path(str(exc), file)) from None
        ids = template_choices(settings)
    version = result.version
    message = (f"已导入为 **{version.ref}**（哈希 `{version.content_hash}`）" if result.created
               else f"内容与最新版本 **{version.ref}** 相同，没有新增版本")
    return message, gr.Dropdown(choices=ids, value=version.template_id)
