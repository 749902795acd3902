"""`workbench template …` and `workbench prompts`: list, lint and try script templates."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from workbench.cli.common import (
    AppOpt,
    ChapterOpt,
    KeywordOpt,
    MaterialOpt,
    VarOpt,
    app,
    current_settings,
    err,
    new_table,
    open_store,
    out,
    parse_vars,
)

template_app = typer.Typer(help="脚本模板：列出、检查、试渲染。", no_args_is_help=True)
app.add_typer(template_app, name="template")


# templates -------------------------------------------------------------------------------
@template_app.command("list")
def template_list() -> None:
    """列出可用的脚本模板。"""
    from workbench.script.templates import list_templates

    table = new_table("ID", "名称", "类型", "版本", "目标秒数", "说明")
    for t in list_templates(current_settings().template_dirs):
        table.add_row(t.id, t.name, t.kind, t.version, str(t.target_seconds), t.description)
    out.print(table)


@template_app.command("lint")
def template_lint(
    files: Annotated[list[Path], typer.Argument(help="模板文件（.j2）")],
) -> None:
    """检查模板：语法、变量、沙箱违规、片段与口令。有错误时退出码为 1。"""
    from workbench.script.lint import lint_template

    errors = 0
    for path in files:
        issues = lint_template(path)
        for issue in issues:
            (err if issue.level == "error" else out).print(str(issue))
        errors += sum(1 for i in issues if i.level == "error")
        if not issues:
            out.print(f"{path}: 没有问题")
    if errors:
        raise typer.Exit(1)


@template_app.command("render")
def template_render(
    template: Annotated[str, typer.Argument(help="模板 ID 或 .j2 文件路径")],
    material: MaterialOpt,
    chapter: ChapterOpt,
    keyword: KeywordOpt,
    app_name: AppOpt = None,
    var: VarOpt = [],  # noqa: B006
) -> None:
    """只渲染模板（不改写），输出各片段。"""
    from workbench.materials.library import get_chapter, get_material
    from workbench.pipeline import template_context
    from workbench.script.templates import get_template, render_template

    settings = current_settings()
    db = open_store(settings)
    tpl = get_template(template, settings.template_dirs)
    mat = get_material(db, material)
    ch = get_chapter(db, material, chapter)
    context = template_context(mat, ch, keyword, app_name or settings.app_name, parse_vars(var))
    segments = render_template(tpl, context, chars_per_second=settings.chars_per_second)
    out.print_json(data={"template": tpl.id, "version": tpl.version,
                         "segments": [{"name": s.name, "text": s.text} for s in segments]})


@app.command("prompts")
def prompts_cmd() -> None:
    """列出改写提示词。"""
    from workbench.rewrite.prompts import list_prompts

    table = new_table("ID", "名称", "版本", "说明")
    for p in list_prompts(current_settings().prompt_dirs):
        table.add_row(p.id, p.name, p.version, p.description)
    out.print(table)
