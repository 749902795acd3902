"""`workbench lab …`: the template lab — live lint, try, compare, versions — over
`workbench.lab` (the same library the app's 模板实验室 tab uses)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from workbench.cli.common import (
    AppOpt,
    PromptOpt,
    RewriteBackendOpt,
    VarOpt,
    app,
    current_settings,
    err,
    new_table,
    open_store,
    out,
    parse_vars,
    progress_bar,
    short_time,
)

lab_app = typer.Typer(help="模板实验室：实时检查、试用、对比、版本，以及哪个模板更赚钱（stats）。",
                      no_args_is_help=True)
app.add_typer(lab_app, name="lab")

JsonOpt = Annotated[bool, typer.Option("--json", help="输出 JSON")]
LabMaterialOpt = Annotated[int, typer.Option("--material", help="素材 ID（workbench material list）")]
LabChapterOpt = Annotated[int | None, typer.Option(help="小说章节序号（从 1 开始）")]
LabSegmentsOpt = Annotated[str | None, typer.Option(
    help="短剧片段 集数:开始秒-结束秒，逗号分隔，如 1:2-14,2:3-10（不写就自动选高光片段）")]
LabKeywordOpt = Annotated[str, typer.Option(help="口令（搜索词），试用时默认 示例口令")]
SeedOpt = Annotated[int, typer.Option(help="改写的变体种子")]
PreviewOpt = Annotated[float | None, typer.Option(
    "--preview", help="另外渲染前 N 秒的 draft 预览视频（真实渲染，需要几秒）")]
NoteOpt = Annotated[str, typer.Option(help="这个版本的说明")]


def _dump(data: Any) -> None:
    out.print(json.dumps(data, ensure_ascii=False, indent=2, default=str), soft_wrap=True)


@lab_app.command("lint")
def lab_lint(
    file: Annotated[Path, typer.Argument(help="模板（.j2）或提示词（.md）文件")],
    as_json: JsonOpt = False,
) -> None:
    """检查模板或提示词：语法、变量、沙箱、时长、口令、违禁词、时间与内存上限。有错误时退出码为 1。"""
    from workbench.lab.lint_live import lint_text
    from workbench.lab.versions import read_template_text

    report = lint_text(read_template_text(file), current_settings(), file)
    if as_json:
        _dump({"file": str(file), **report.to_dict()})
    else:
        for issue in report.issues:
            (err if issue.is_error else out).print(f"{file}:{issue} [{issue.kind}]")
        if not report.issues:
            out.print(f"{file}: 没有问题")
    if not report.ok:
        raise typer.Exit(1)


def _material(material: int, chapter: int | None, segments: str | None, keyword: str,
              app_name: str | None, var: list[str], rewrite_backend: str | None, prompt: str,
              seed: int) -> Any:
    from workbench.lab.trial import Material

    return Material(material_id=material, chapter=chapter, segments=segments, keyword=keyword,
                    app=app_name, variables=parse_vars(var), backend=rewrite_backend,
                    prompt=prompt, seed=seed)


def _preview(settings: Any, db: Any, lab: Any, material: Any, seconds: float) -> Any:
    from workbench.lab.preview import preview_clip

    with progress_bar() as progress:
        return preview_clip(settings, db, lab, material, seconds, progress=progress)


@lab_app.command("try")
def lab_try(
    template: Annotated[str, typer.Argument(help="模板文件（.j2）、模板 ID 或 ID@版本")],
    material: LabMaterialOpt,
    chapter: LabChapterOpt = None,
    segments: LabSegmentsOpt = None,
    keyword: LabKeywordOpt = "示例口令",
    app_name: AppOpt = None,
    var: VarOpt = [],  # noqa: B006
    rewrite_backend: RewriteBackendOpt = "rules",
    prompt: PromptOpt = "narration",
    seed: SeedOpt = 0,
    preview: PreviewOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """在素材上试用模板：各段文案、估计时长、字/秒、口令位置和检查结果（不配音、不渲染）。"""
    from workbench.lab.refs import resolve
    from workbench.lab.trial import run_trial
    from workbench.platform.history import cli_actor

    settings = current_settings()
    db = open_store(settings)
    lab = resolve(db, settings, template, actor=cli_actor())
    chosen = _material(material, chapter, segments, keyword, app_name, var, rewrite_backend,
                       prompt, seed)
    trial = run_trial(settings, db, lab, chosen)
    clip = _preview(settings, db, lab, chosen, preview) if preview else None
    if as_json:
        data = trial.to_dict()
        if clip is not None:
            data["preview"] = {"path": str(clip.path), "seconds": clip.seconds,
                               "cached": clip.cached}
        _dump(data)
        return
    err.print(trial.backend_note + ("（缓存）" if trial.cached else ""))
    _print_trial(trial)
    if clip is not None:
        out.print(f"预览: {clip.path}（前 {clip.seconds:g} 秒，draft{'，缓存' if clip.cached else ''}）")


def _print_trial(trial: Any) -> None:
    from workbench.compliance import LEVEL_NAMES

    table = new_table("段落", "字数", "秒", "字/秒", "起点", "文案",
                      title=f"{trial.label}（{trial.content_hash}）", keep=("段落",))
    for seg in trial.segments:
        table.add_row(seg.name, str(seg.chars), f"{seg.seconds:.1f}",
                      f"{seg.chars_per_second:.1f}", f"{seg.start:.1f}", seg.text)
    out.print(table)
    out.print(f"合计约 {trial.total_seconds:.1f} 秒（目标 {trial.target_seconds:g} 秒），"
              f"开头 {trial.hook_seconds:.1f} 秒，{_keyword_at(trial.keyword, trial.keyword_at)}")
    if trial.title:
        out.print(f"标题: {trial.title}")
    for finding in trial.checks:
        out.print(f"  {LEVEL_NAMES[finding.level]} [{finding.check}] {finding.message}")
    out.print(f"用时 {trial.milliseconds} 毫秒")


def _keyword_at(keyword: str, spot: Any) -> str:
    if spot is None:
        return f"没有说到口令「{keyword}」"
    return f"口令「{keyword}」在 {spot.segment} 段，约第 {spot.second:.1f} 秒"


@lab_app.command("compare")
def lab_compare(
    templates: Annotated[list[str], typer.Argument(
        help="2 到 4 个：模板文件（.j2）、模板 ID 或 ID@版本；第一个是基准")],
    material: LabMaterialOpt,
    chapter: LabChapterOpt = None,
    segments: LabSegmentsOpt = None,
    keyword: LabKeywordOpt = "示例口令",
    app_name: AppOpt = None,
    var: VarOpt = [],  # noqa: B006
    rewrite_backend: RewriteBackendOpt = "rules",
    prompt: PromptOpt = "narration",
    seed: SeedOpt = 0,
    preview: PreviewOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """同一素材上并排对比 2–4 个模板或版本：文案差异、时长、开头长度、口令位置、检查结果。"""
    from workbench.lab.compare import MAX_TRIALS, MIN_TRIALS, compare_trials, marked_text
    from workbench.lab.refs import resolve
    from workbench.lab.trial import run_trial
    from workbench.platform.history import cli_actor

    if not MIN_TRIALS <= len(templates) <= MAX_TRIALS:
        raise typer.BadParameter(f"需要 {MIN_TRIALS} 到 {MAX_TRIALS} 个模板（收到 {len(templates)} 个）")
    settings = current_settings()
    db = open_store(settings)
    chosen = _material(material, chapter, segments, keyword, app_name, var, rewrite_backend,
                       prompt, seed)
    labs = [resolve(db, settings, ref, actor=cli_actor()) for ref in templates]
    comparison = compare_trials([run_trial(settings, db, lab, chosen) for lab in labs])
    clips = [_preview(settings, db, lab, chosen, preview) for lab in labs] if preview else []
    if as_json:
        data = comparison.to_dict()
        if clips:
            data["previews"] = [{"path": str(c.path), "seconds": c.seconds} for c in clips]
        _dump(data)
        return
    table = new_table("段落", *(c.label for c in comparison.columns), keep=("段落",),
                      title="对比（{+新增+} [-删去-] {~与其他列不同~}，以第一列为基准）")
    for row in comparison.rows:
        table.add_row(row.segment, *(marked_text(cell) for cell in row.cells))
    cols = comparison.columns
    table.add_row("秒", *(f"{c.total_seconds:.1f} / 目标 {c.target_seconds:g}" for c in cols))
    table.add_row("开头", *(f"{c.hook_seconds:.1f} 秒" for c in cols))
    table.add_row("口令", *(_keyword_at(keyword, c.keyword_at) for c in cols))
    table.add_row("相似度", *(f"{c.similarity:.0%}" for c in cols))
    table.add_row("检查", *(f"阻止 {c.checks['block']} · 提醒 {c.checks['warn']}"
                          + "".join(f"\n{p}" for p in c.problems) for c in cols))
    if clips:
        table.add_row("预览", *(str(c.path) for c in clips))
    out.print(table)


@lab_app.command("save")
def lab_save(
    file: Annotated[Path, typer.Argument(help="编辑好的模板文件（.j2）")],
    note: NoteOpt = "",
) -> None:
    """把模板存为新版本（内容没变就不新增），并写入用户模板文件夹，make 随即用上新版本。最后一行是版本号。"""
    from workbench.lab.versions import save_file
    from workbench.platform.history import cli_actor

    settings = current_settings()
    result = save_file(open_store(settings), settings, file, note=note, actor=cli_actor())
    _print_saved(result)


def _print_saved(result: Any) -> None:
    version = result.version
    if result.adopted is not None:
        err.print(f"先记录了原有模板文件为 {result.adopted.ref}")
    if result.created:
        err.print(f"已保存 {version.ref}（{version.content_hash}）")
    else:
        err.print(f"内容与最新版本 {version.ref} 相同，没有新增版本")
    if result.written is not None:
        err.print(f"已写入 {result.written}：workbench make --template {version.template_id} "
                  "将使用这个版本")
    out.print(str(version.version))


@lab_app.command("versions")
def lab_versions(
    template_id: Annotated[str, typer.Argument(help="模板 ID")],
    as_json: JsonOpt = False,
) -> None:
    """一个模板的所有版本，以及每个版本做了多少条成品（提交记录）。"""
    from workbench.lab.versions import adopt, list_versions, parse_ref, usage
    from workbench.platform.history import cli_actor

    settings = current_settings()
    db = open_store(settings)
    template_id, _ = parse_ref(template_id)
    adopt(db, settings, template_id, actor=cli_actor())
    versions = list_versions(db, template_id)
    used = usage(db, template_id)
    if as_json:
        _dump({"template_id": template_id, "unmatched_submissions": used.unmatched,
               "versions": [{**v.to_dict(), "submissions": used.counts.get(v.version, 0)}
                            for v in versions]})
        return
    if not versions:
        out.print(f"模板 {template_id} 还没有版本（也没有这个 id 的模板文件）")
        return
    table = new_table("版本", "哈希", "时间", "来源", "作者", "成品数", "说明",
                      title=f"模板 {template_id} 的版本", keep=("版本", "哈希", "时间"))
    for v in versions:
        table.add_row(str(v.version), v.content_hash, short_time(v.created_at), v.origin,
                      v.actor, str(used.counts.get(v.version, 0)), v.note)
    out.print(table)
    if used.unmatched:
        out.print(f"另有 {used.unmatched} 条成品用的版本不在实验室记录里（在实验室之外改过的文件）")


@lab_app.command("show")
def lab_show(
    ref: Annotated[str, typer.Argument(help="ID@版本（只写 ID 时是最新版本）")],
    source: Annotated[bool, typer.Option("--source", help="只输出模板全文")] = False,
    as_json: JsonOpt = False,
) -> None:
    """一个版本：信息、用它做的成品，或模板全文（--source）。"""
    from workbench.lab.versions import get_version, parse_ref, submissions_of

    db = open_store(current_settings())
    template_id, number = parse_ref(ref)
    version = get_version(db, template_id, number)
    if source:
        out.print(version.source, end="")
        return
    made = submissions_of(db, version)
    if as_json:
        _dump({**version.to_dict(with_source=True), "submissions": made})
        return
    for key, value in version.to_dict().items():
        if value:
            out.print(f"{key}: {value}")
    table = new_table("编号", "时间", "状态", "口令", "标题", title=f"用 {version.ref} 做的成品",
                      keep=("编号", "时间", "状态"))
    for row in made:
        table.add_row(row["id"], short_time(row["created_at"]), row["status"], row["keyword"],
                      row["title"] or "")
    out.print(table)


@lab_app.command("export")
def lab_export(
    ref: Annotated[str, typer.Argument(help="ID（全部版本）或 ID@版本（一个版本）")],
    out_path: Annotated[Path | None, typer.Option(
        "--out", help="文件（一个版本，.j2）或文件夹；默认当前文件夹")] = None,
) -> None:
    """把版本导出为 .j2 文件（<id>.v<版本>.j2，front matter 里的 version 与版本号一致）。"""
    from workbench.lab.versions import export_versions, get_version, list_versions, parse_ref

    db = open_store(current_settings())
    template_id, number = parse_ref(ref)
    versions = ([get_version(db, template_id, number)] if number is not None
                else list_versions(db, template_id))
    if not versions:
        get_version(db, template_id)  # raises the "no versions" error
    for path in export_versions(versions, out_path or Path(".")):
        out.print(str(path))


@lab_app.command("import")
def lab_import(
    file: Annotated[Path, typer.Argument(help="导出的（或别处来的）模板文件（.j2）")],
    note: NoteOpt = "",
) -> None:
    """把一个模板文件导入为新版本（先检查，有错误不导入）。最后一行是版本号。"""
    from workbench.lab.versions import import_file
    from workbench.platform.history import cli_actor

    settings = current_settings()
    result = import_file(open_store(settings), settings, file, note=note, actor=cli_actor())
    _print_saved(result)
