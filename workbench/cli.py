"""The `workbench` command: a thin shell over the library (no logic lives here)."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from typer.exceptions import TyperException

from workbench.config import OPTIONS, Settings, load_settings
from workbench.errors import WorkbenchError
from workbench.render.profiles import PROFILES
from workbench.rewrite.registry import CHOICES as REWRITE_CHOICES
from workbench.voice.registry import CHOICES as VOICE_CHOICES

app = typer.Typer(
    help="Workbench：小说推文 / 短剧推广视频工作台。",
    no_args_is_help=True,
    pretty_exceptions_enable=False,  # rich tracebacks print locals, which may hold secrets
    add_completion=False,
)
material_app = typer.Typer(help="素材：导入与查看小说。", no_args_is_help=True)
submissions_app = typer.Typer(help="提交记录：成品包的列表、详情与回填。", no_args_is_help=True)
template_app = typer.Typer(help="脚本模板：列出、检查、试渲染。", no_args_is_help=True)
app.add_typer(material_app, name="material")
app.add_typer(template_app, name="template")
app.add_typer(submissions_app, name="submissions")

out = Console(markup=False, highlight=False, soft_wrap=True)
err = Console(stderr=True, markup=False, highlight=False, soft_wrap=True)


def _settings() -> Settings:
    return load_settings()


def _db(settings: Settings):
    from workbench.store import open_db

    settings.ensure_dirs()
    return open_db(settings.db_path)


def _table(*columns: str, title: str | None = None, keep: tuple[str, ...] = ()) -> Table:
    """A table; columns named in `keep` are never wrapped (ids, times)."""
    table = Table(title=title)
    for column in columns:
        table.add_column(column, overflow="fold", no_wrap=column in keep)
    return table


def _short_time(iso: str | None) -> str:
    """'2026-11-22T07:41:21+00:00' → '11-22 07:41' (UTC), to keep tables narrow."""
    return f"{iso[5:10]} {iso[11:16]}" if iso and len(iso) >= 16 else (iso or "")


def _parse_vars(pairs: list[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise typer.BadParameter(f"--var 需要 名称=值 的形式，收到 {pair!r}")
        values[name.strip()] = value
    return values


# Options that several commands take, declared once: the same name and help everywhere.
MaterialOpt = Annotated[int, typer.Option(help="素材 ID（workbench material list）")]
ChapterOpt = Annotated[int, typer.Option(help="章节序号（从 1 开始）")]
TemplateOpt = Annotated[str, typer.Option(help="模板 ID 或 .j2 文件路径")]
KeywordOpt = Annotated[str, typer.Option(help="口令（搜索词）")]
AppOpt = Annotated[str | None, typer.Option("--app", help="阅读平台，如 番茄小说")]
VarOpt = Annotated[list[str], typer.Option(help="模板变量 名称=值，可重复")]
PromptOpt = Annotated[str, typer.Option(help="改写提示词 ID")]
RewriteBackendOpt = Annotated[str | None, typer.Option(
    help=f"改写后端 {'|'.join(REWRITE_CHOICES)}")]
VoiceBackendOpt = Annotated[str | None, typer.Option(help=f"配音后端 {'|'.join(VOICE_CHOICES)}")]
VoiceOpt = Annotated[str | None, typer.Option(help="音色，如 zh-CN-YunxiNeural 或 cmn")]
RateOpt = Annotated[str | None, typer.Option(help="语速，如 +20%")]
ProfileOpt = Annotated[str | None, typer.Option(help=f"输出规格 {'|'.join(PROFILES)}")]
LimitOpt = Annotated[int, typer.Option(help="显示条数")]
# `--backend` meant the rewrite backend of `script`/`make` and the voice backend of
# `voice`/`voices`; it still works there, hidden from help, with a note to use the clear name.
OldBackendOpt = Annotated[str | None, typer.Option(
    "--backend", hidden=True, help="已弃用：改用 --rewrite-backend 或 --voice-backend")]


def _backend_alias(old: str | None, new: str | None, new_flag: str) -> str | None:
    """The value of `new_flag`, or of the deprecated `--backend` standing for it."""
    if old is None:
        return new
    err.print(f"注意: --backend 已弃用，请改用 {new_flag}", style="yellow")
    if new is not None and new != old:
        raise typer.BadParameter(f"--backend {old} 与 {new_flag} {new} 矛盾：只写 {new_flag}")
    return old


# config ----------------------------------------------------------------------------------
@app.command("config")
def config_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出")] = False,
) -> None:
    """显示生效的设置（密钥已遮盖）及每项的来源。"""
    settings = _settings()
    shown = settings.masked()
    if as_json:
        out.print_json(data=shown)
        return
    table = _table("设置", "值", "来源", "环境变量", title="Workbench 设置")
    env_of = {o.name: o.env for o in OPTIONS}
    for name, value in shown.items():
        source = settings.sources.get(name, "")
        table.add_row(name, "" if value is None else str(value), source, env_of.get(name, ""))
    out.print(table)
    if settings.config_file:
        out.print(f"配置文件: {settings.config_file}")


# materials -------------------------------------------------------------------------------
@material_app.command("add")
def material_add(
    file: Annotated[Path, typer.Argument(help="小说文件：TXT（任意常见编码）或 EPUB")],
    title: Annotated[str | None, typer.Option(help="书名（默认从文件中识别）")] = None,
) -> None:
    """导入一本小说并切分章节。"""
    from workbench.materials.library import add_material

    db = _db(_settings())
    row, created = add_material(db, file, title=title)
    verb = "已导入" if created else "已存在（同一文件，未重复导入）"
    out.print(
        f"{verb}: #{row['id']} 《{row['title']}》 {row['chapter_count']} 章, "
        f"{row['chars']} 字, 编码 {row['encoding']}, 切分方式 {row['split']}"
    )


@material_app.command("list")
def material_list() -> None:
    """列出已导入的素材。"""
    from workbench.materials.library import list_materials

    rows = list_materials(_db(_settings()))
    if not rows:
        out.print("还没有素材。用 workbench material add 文件 导入。")
        return
    table = _table("ID", "书名", "格式", "编码", "章节", "字数", "导入时间")
    for r in rows:
        table.add_row(str(r["id"]), r["title"], r["format"], r["encoding"],
                      str(r["chapter_count"]), str(r["chars"]), _short_time(r["created_at"]))
    out.print(table)


@material_app.command("show")
def material_show(
    material_id: Annotated[int, typer.Argument(help="素材 ID")],
    chapter: Annotated[int | None, typer.Option(help="显示该章全文")] = None,
) -> None:
    """显示素材的章节目录，或某一章的全文。"""
    from workbench.materials.library import get_chapter, get_material, list_chapters

    db = _db(_settings())
    material = get_material(db, material_id)
    if chapter is not None:
        ch = get_chapter(db, material_id, chapter)
        out.print(f"{ch.title}（{ch.chars} 字）\n", style="bold")
        out.print(ch.text)
        return
    out.print(f"#{material['id']} 《{material['title']}》 编码 {material['encoding']}, "
              f"来源 {material['filename']}")
    table = _table("章", "标题", "字数")
    for c in list_chapters(db, material_id):
        table.add_row(str(c["idx"]), c["title"], str(c["chars"]))
    out.print(table)


# templates -------------------------------------------------------------------------------
@template_app.command("list")
def template_list() -> None:
    """列出可用的脚本模板。"""
    from workbench.script.templates import list_templates

    table = _table("ID", "名称", "类型", "版本", "目标秒数", "说明")
    for t in list_templates(_settings().template_dirs):
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

    settings = _settings()
    db = _db(settings)
    tpl = get_template(template, settings.template_dirs)
    mat = get_material(db, material)
    ch = get_chapter(db, material, chapter)
    context = template_context(mat, ch, keyword, app_name or settings.app_name, _parse_vars(var))
    segments = render_template(tpl, context, chars_per_second=settings.chars_per_second)
    out.print_json(data={"template": tpl.id, "version": tpl.version,
                         "segments": [{"name": s.name, "text": s.text} for s in segments]})


@app.command("prompts")
def prompts_cmd() -> None:
    """列出改写提示词。"""
    from workbench.rewrite.prompts import list_prompts

    table = _table("ID", "名称", "版本", "说明")
    for p in list_prompts(_settings().prompt_dirs):
        table.add_row(p.id, p.name, p.version, p.description)
    out.print(table)


# script ----------------------------------------------------------------------------------
@app.command("script")
def script_cmd(
    material: MaterialOpt,
    chapter: ChapterOpt,
    template: TemplateOpt,
    keyword: KeywordOpt,
    prompt: PromptOpt = "narration",
    app_name: AppOpt = None,
    rewrite_backend: RewriteBackendOpt = None,
    backend: OldBackendOpt = None,
    seed: Annotated[int, typer.Option(help="变体种子（同一种子结果相同）")] = 0,
    var: VarOpt = [],  # noqa: B006
    out_file: Annotated[Path | None, typer.Option("--out", help="写入 JSON 文件")] = None,
) -> None:
    """把一章小说写成带口令的口播脚本（JSON），并记录任务。"""
    from workbench.pipeline import ScriptJob, make_script

    backend = _backend_alias(backend, rewrite_backend, "--rewrite-backend")
    settings = _settings()
    db = _db(settings)
    job = ScriptJob(material_id=material, chapter=chapter, template=template, keyword=keyword,
                    app=app_name, prompt=prompt, backend=backend, seed=seed,
                    variables=_parse_vars(var))
    with err.status("生成脚本…"):
        outcome = make_script(job, settings, db)
    err.print(outcome.backend_note + ("，结果来自缓存" if outcome.script.cached else ""))
    payload = json.dumps({"job_id": outcome.job_id, **outcome.script.to_dict()},
                         ensure_ascii=False, indent=2)
    if out_file:
        from workbench.files import write_text_atomic

        write_text_atomic(out_file, payload + "\n")
        err.print(f"已写入 {out_file}（任务 #{outcome.job_id}）")
    else:
        print(payload)


# voice -----------------------------------------------------------------------------------
@app.command("voices")
def voices_cmd(
    voice_backend: Annotated[str | None, typer.Option(
        help=f"{'|'.join(VOICE_CHOICES)}（默认 auto: 能连上 edge 时含 edge 列表）")] = None,
    backend: OldBackendOpt = None,
) -> None:
    """列出可用的配音音色（离线 espeak 音色，以及能联网时 edge 的中文音色）。"""
    from workbench.voice.catalog import list_all_voices

    backend = _backend_alias(backend, voice_backend, "--voice-backend") or "auto"
    listing = list_all_voices(_settings(), backend)
    table = _table("音色", "后端", "语言", "性别", "说明")
    for v in listing.voices:
        table.add_row(v.id, v.backend, v.locale, v.gender, v.description)
    out.print(table)
    for note in listing.notes:
        err.print(note)


@app.command("voice")
def voice_cmd(
    script: Annotated[Path, typer.Option(help="脚本 JSON（workbench script --out 的输出）")],
    out_dir: Annotated[Path, typer.Option("--out", help="输出文件夹")],
    voice: VoiceOpt = None,
    rate: RateOpt = None,
    pitch: Annotated[str | None, typer.Option(help="音调，如 -5Hz")] = None,
    volume: Annotated[str | None, typer.Option(help="音量，如 +10%")] = None,
    voice_backend: VoiceBackendOpt = None,
    backend: OldBackendOpt = None,
    pause: Annotated[float | None, typer.Option(help="段落间停顿（秒）")] = None,
    audio_format: Annotated[str, typer.Option("--format", help="音频格式 wav|m4a")] = "wav",
    max_chars: Annotated[int | None, typer.Option(help="字幕每行最多字数")] = None,
) -> None:
    """为脚本配音：写出音频、逐词时间轴 timings.json、字幕 .ass 与 .srt。"""
    from workbench.models import Script
    from workbench.pipeline import VoiceJob, make_voice

    backend = _backend_alias(backend, voice_backend, "--voice-backend")
    settings = _settings()
    db = _db(settings)
    job = VoiceJob(script=Script.load(script), out_dir=out_dir, backend=backend, voice=voice,
                   rate=rate, pitch=pitch, volume=volume, pause=pause,
                   audio_format=audio_format, max_chars=max_chars)
    with err.status("配音中…") as status:
        outcome = make_voice(job, settings, db, lambda f, m: status.update(f"{m}（{f:.0%}）"))
    err.print(outcome.backend_note)
    for note in outcome.notes:
        err.print(f"注意: {note}", style="yellow")
    t = outcome.timing
    cache = f"，{outcome.cached} 段来自缓存" if outcome.cached else ""
    out.print(f"配音: {t.backend} {t.voice}，时长 {t.duration:.2f} 秒，{len(t.words)} 个词{cache}")
    for path in (outcome.audio_path, outcome.timings_path, outcome.ass_path, outcome.srt_path):
        out.print(f"已写入 {path}")
    out.print(f"任务 #{outcome.job_id}")


@app.command("jobs")
def jobs_cmd(limit: LimitOpt = 20) -> None:
    """最近的任务记录。"""
    from workbench.store.jobs import list_jobs

    table = _table("ID", "类型", "状态", "素材/章", "模板", "口令", "后端", "缓存", "时间", "错误")
    for j in list_jobs(_db(_settings()), limit):
        table.add_row(
            str(j["id"]), j["kind"], j["status"], f"{j['material_id']}/{j['chapter']}",
            j["template_id"] or "", j["keyword"] or "", j["backend"] or "",
            "是" if j["cache_hit"] else "", _short_time(j["created_at"]), (j["error"] or "")[:60],
        )
    out.print(table)


@contextmanager
def _progress_bar() -> Iterator[Callable[[float, str], None]]:
    """A live bar on stderr; the callback takes (fraction, message) like every stage."""
    columns = (TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
               TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task("准备", total=1.0)
        yield lambda fraction, message: bar.update(task, completed=fraction,
                                                   description=message)


def _print_outcome(outcome) -> None:
    for note in outcome.notes:
        err.print(f"注意: {note}", style="yellow")
    report = outcome.compliance
    out.print(report.summary() + ("（复用已有成品）" if outcome.reused else ""))
    for finding in report.warnings:
        out.print(f"  提醒 [{finding.where or finding.check}] {finding.message}")
    out.print(f"成品包: {outcome.package}")
    out.print(f"视频: {outcome.package / 'video.mp4'}")


@app.command("make")
def make_cmd(
    material: MaterialOpt,
    chapter: ChapterOpt,
    template: TemplateOpt,
    keyword: KeywordOpt,
    profile: ProfileOpt = None,
    background: Annotated[str | None, typer.Option(
        help="背景：generated（默认，内置动画）、视频/图片文件或文件夹")] = None,
    bgm: Annotated[str | None, typer.Option(help="背景音乐：generated（默认）、none 或音频文件")]
    = None,
    voice: VoiceOpt = None,
    rate: RateOpt = None,
    voice_backend: VoiceBackendOpt = None,
    rewrite_backend: RewriteBackendOpt = None,
    backend: OldBackendOpt = None,
    prompt: PromptOpt = "narration",
    app_name: AppOpt = None,
    banner: Annotated[str | None, typer.Option(help="口令横幅文字，可用 {app} {keyword}")] = None,
    encoder: Annotated[str | None, typer.Option(help="libx264（默认）| auto（先试硬件编码）")]
    = None,
    seed: Annotated[int, typer.Option(help="变体种子：背景配色/片段/起点随之变化")] = 0,
    var: VarOpt = [],  # noqa: B006
    task: Annotated[int | None, typer.Option(help="平台任务 ID（可选）")] = None,
    max_seconds: Annotated[float | None, typer.Option(help="任务限定的最长时长（秒）")] = None,
    cover_at: Annotated[float | None, typer.Option(help="封面取第几秒的画面")] = None,
    force: Annotated[bool, typer.Option("--force", help="即使已有相同成品也重新生成")] = False,
) -> None:
    """一条龙：脚本 → 改写 → 配音 → 字幕 → 渲染 → 合规检查 → 成品包，输出成品包路径。"""
    from workbench.pipeline import MakeJob, run_job

    rewrite_backend = _backend_alias(backend, rewrite_backend, "--rewrite-backend")
    settings = _settings()
    db = _db(settings)
    job = MakeJob(material_id=material, chapter=chapter, template=template, keyword=keyword,
                  app=app_name, prompt=prompt, rewrite_backend=rewrite_backend,
                  variables=_parse_vars(var), seed=seed, voice_backend=voice_backend,
                  voice=voice, rate=rate, background=background, bgm=bgm, profile=profile,
                  encoder=encoder, banner=banner, task_id=task, max_seconds=max_seconds,
                  cover_at=cover_at)
    with _progress_bar() as progress:
        outcome = run_job(job, settings, db, progress, force=force)
    _print_outcome(outcome)


@app.command("batch")
def batch_cmd(
    folder: Annotated[Path, typer.Argument(help="提示词文件夹：每个 *.md / *.yaml 是一个简报，"
                                                "_defaults.yaml 是共用默认值")],
    workers: Annotated[int | None, typer.Option(help="同时渲染的任务数（默认 CPU 核数的一半）")]
    = None,
    executor: Annotated[str, typer.Option(help="local（本机进程池）| ray（Ray 集群）")] = "local",
    ray_address: Annotated[str | None, typer.Option(
        help="Ray 集群地址：auto 或 ray://主机:10001；不写则为本次运行启动本机 Ray")] = None,
    transfer: Annotated[str | None, typer.Option(
        help="文件如何回到主控：shared（共享存储路径）| bytes（随任务传输）；"
             "默认 local 用 shared，ray 用 bytes")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="只检查简报并列出计划，不生成")]
    = False,
    force: Annotated[bool, typer.Option("--force", help="已有成品也重新生成")] = False,
) -> None:
    """批量生成：检查整个文件夹的简报，展开变体，并行渲染，写出报告（CSV + HTML）。"""
    import os

    from workbench.batch import load_plan, run_batch
    from workbench.batch.display import RichDisplay
    from workbench.batch.runner import survey
    from workbench.batch.summary import done_keys, plan_summary, plan_table, result_lines

    if executor not in ("local", "ray"):
        raise typer.BadParameter(f"--executor 只能是 local 或 ray（收到 {executor}）")
    if transfer not in (None, "shared", "bytes"):
        raise typer.BadParameter(f"--transfer 只能是 shared 或 bytes（收到 {transfer}）")
    workers = workers or max(1, (os.cpu_count() or 2) // 2)
    settings = _settings()
    db = _db(settings)
    plan = load_plan(folder, settings, db, import_materials=not dry_run)
    surveyed = survey(plan, settings, db, force=force)  # planned and verified once per run
    done = done_keys(surveyed)
    out.print(plan_table(plan, done))
    for note in plan.notes:
        err.print(f"注意: {note}", style="yellow")
    out.print(plan_summary(plan, done, settings, db, workers))
    if dry_run:
        return
    result = run_batch(plan, settings, db, executor=executor, workers=workers,
                       ray_address=ray_address, transfer=transfer, display=RichDisplay(err),
                       force=force, surveyed=surveyed)
    for line in result_lines(result):
        out.print(line)
    if result.count("failed"):
        raise typer.Exit(1)


@submissions_app.command("list")
def submissions_list(
    limit: LimitOpt = 20,
    keyword: Annotated[str | None, typer.Option(help="只看这个口令")] = None,
) -> None:
    """最近的成品包。"""
    from workbench.store.submissions import STATUS_NAMES, list_submissions

    table = _table("编号", "时间", "口令", "标题", "时长", "规格", "状态", "提醒", "任务",
                   keep=("编号", "时间", "时长", "规格", "状态"))
    for s in list_submissions(_db(_settings()), limit, keyword):
        table.add_row(s["id"], _short_time(s["created_at"]), s["keyword"], s["title"] or "",
                      f"{s['duration']:.1f}s" if s["duration"] else "", s["profile"] or "",
                      STATUS_NAMES.get(s["status"], s["status"]),
                      str(s["warnings"] or ""), str(s["task_id"] or ""))
    out.print(table)


@submissions_app.command("show")
def submissions_show(
    submission_id: Annotated[str, typer.Argument(help="成品包编号（可只写开头几位）")],
) -> None:
    """一个成品包的详情：文件、合规检查结果、发布状态。"""
    from workbench.compliance import LEVEL_NAMES
    from workbench.package import verify_package
    from workbench.store.submissions import get_submission

    row = get_submission(_db(_settings()), submission_id)
    folder = Path(row["path"])
    for key in ("id", "title", "keyword", "task_id", "duration", "profile", "status",
                "publish_url", "published_at", "job_id", "created_at", "path"):
        if row.get(key) not in (None, ""):
            out.print(f"{key}: {row[key]}")
    problems = verify_package(folder) if folder.is_dir() else ["成品包文件夹不存在"]
    out.print("文件校验: " + ("全部与清单一致" if not problems else "；".join(problems)))
    report = json.loads(row["compliance"] or "{}")
    for f in report.get("findings", []):
        where = f" [{f['where']}]" if f.get("where") else ""
        out.print(f"  {LEVEL_NAMES.get(f['level'], f['level'])}{where} {f['message']}")


@submissions_app.command("publish")
def submissions_publish(
    submission_id: Annotated[str, typer.Argument(help="成品包编号")],
    url: Annotated[str, typer.Option(help="作品链接")],
    date: Annotated[str | None, typer.Option(help="发布时间（ISO，如 2026-11-22T20:00）")] = None,
) -> None:
    """回填：记录成品发布后的作品链接与时间。"""
    from workbench.store.submissions import mark_published

    row = mark_published(_db(_settings()), submission_id, url, date)
    out.print(f"已记录 {row['id']} 发布于 {row['published_at']}: {row['publish_url']}")


@app.command("demo")
def demo_cmd(
    voice_backend: Annotated[str, typer.Option(help="配音后端（默认离线 espeak；edge 需联网）")]
    = "espeak",
    profile: ProfileOpt = "final",
) -> None:
    """离线演示：导入示例小说，把一章做成可发布的成品包（视频、封面、文案、清单）。"""
    from workbench.demo import run_demo

    settings = _settings()
    db = _db(settings)
    with _progress_bar() as progress:
        result = run_demo(settings, db, progress, voice_backend=voice_backend, profile=profile)
    out.print(f"素材: #{result.material['id']} 《{result.material['title']}》"
              f" 编码 {result.material['encoding']}")
    script = json.loads((result.outcome.package / "manifest.json").read_text("utf-8"))
    out.print(f"标题: {script['title']}")
    out.print(f"用时 {result.seconds:.1f} 秒")
    _print_outcome(result.outcome)


def main(argv: list[str] | None = None) -> None:
    """Entry point: WorkbenchError becomes one clear line on stderr and exit code 1."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    command = typer.main.get_command(app)
    try:
        code = command.main(args=argv, prog_name="workbench", standalone_mode=False)
    except WorkbenchError as exc:
        err.print(f"错误: {exc}", style="bold red")
        sys.exit(1)
    except typer.Abort:
        err.print("已取消")
        sys.exit(130)
    except TyperException as exc:  # usage errors: typer ≥ 0.26 raises its own copy of click's
        exc.show()  # type: ignore[attr-defined]  # every one raised is a ClickException
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    if isinstance(code, int) and code:  # typer.Exit(n) comes back as a return value here
        if code == 130:  # typer turns Ctrl-C into Exit(130) without a word
            err.print("已取消")
        sys.exit(code)
