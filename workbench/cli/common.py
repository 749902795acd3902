"""What every `workbench` command shares: the root app, the consoles, settings and store
access, table helpers, the options several commands take, and the progress bar."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlite_utils import Database

from workbench.config import Settings, load_settings
from workbench.render.profiles import PROFILES
from workbench.rewrite.registry import CHOICES as REWRITE_CHOICES
from workbench.voice.registry import CHOICES as VOICE_CHOICES

app = typer.Typer(
    help="Workbench：小说推文 / 短剧推广视频工作台。",
    no_args_is_help=True,
    pretty_exceptions_enable=False,  # rich tracebacks print locals, which may hold secrets
    add_completion=False,
)
out = Console(markup=False, highlight=False, soft_wrap=True)
err = Console(stderr=True, markup=False, highlight=False, soft_wrap=True)


def current_settings() -> Settings:
    return load_settings()


def open_store(settings: Settings) -> Database:
    from workbench.store import open_db

    settings.ensure_dirs()
    return open_db(settings.db_path)


def new_table(*columns: str, title: str | None = None, keep: tuple[str, ...] = ()) -> Table:
    """A table; columns named in `keep` are never wrapped (ids, times)."""
    table = Table(title=title)
    for column in columns:
        table.add_column(column, overflow="fold", no_wrap=column in keep)
    return table


def short_time(iso: str | None) -> str:
    """'2026-11-22T07:41:21+00:00' → '11-22 07:41' (UTC), to keep tables narrow."""
    return f"{iso[5:10]} {iso[11:16]}" if iso and len(iso) >= 16 else (iso or "")


def parse_vars(pairs: list[str]) -> dict[str, str]:
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
PitchOpt = Annotated[str | None, typer.Option(help="音高，如 +5Hz 或 -10Hz")]
VolumeOpt = Annotated[str | None, typer.Option(help="配音音量，如 +10% 或 -20%")]
BgmVolumeOpt = Annotated[float | None, typer.Option(
    help="背景音乐音量（0–1，默认取设置 render.bgm_volume）")]
ProfileOpt = Annotated[str | None, typer.Option(help=f"输出规格 {'|'.join(PROFILES)}")]
LimitOpt = Annotated[int, typer.Option(help="显示条数")]
EpisodesOpt = Annotated[str | None, typer.Option(
    help="哪几集，如 2、1-3、1,3-4（按导入顺序，默认全部）")]
# `--backend` meant the rewrite backend of `script`/`make` and the voice backend of
# `voice`/`voices`; it still works there, hidden from help, with a note to use the clear name.
OldBackendOpt = Annotated[str | None, typer.Option(
    "--backend", hidden=True, help="已弃用：改用 --rewrite-backend 或 --voice-backend")]


def backend_alias(old: str | None, new: str | None, new_flag: str) -> str | None:
    """The value of `new_flag`, or of the deprecated `--backend` standing for it."""
    if old is None:
        return new
    err.print(f"注意: --backend 已弃用，请改用 {new_flag}", style="yellow")
    if new is not None and new != old:
        raise typer.BadParameter(f"--backend {old} 与 {new_flag} {new} 矛盾：只写 {new_flag}")
    return old


@contextmanager
def progress_bar() -> Iterator[Callable[[float, str], None]]:
    """A live bar on stderr; the callback takes (fraction, message) like every stage. Not on
    a pipe or a file: there a bar cannot redraw, and rich would leave a blank line behind."""
    if not err.is_terminal:
        yield lambda fraction, message: None
        return
    columns = (TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
               TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task("准备", total=1.0)
        yield lambda fraction, message: bar.update(task, completed=fraction,
                                                   description=message)


def print_outcome(outcome) -> None:
    for note in outcome.notes:
        err.print(f"注意: {note}", style="yellow")
    report = outcome.compliance
    out.print(report.summary() + ("（复用已有成品）" if outcome.reused else ""))
    for finding in report.warnings:
        out.print(f"  提醒 [{finding.where or finding.check}] {finding.message}")
    out.print(f"成品包: {outcome.package}")
    out.print(f"视频: {outcome.package / 'video.mp4'}")


