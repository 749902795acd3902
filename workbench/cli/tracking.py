"""`workbench tracking …`: import platform exports of per-keyword daily counts (回传), list
what is stored."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from workbench.cli.common import LimitOpt, app, current_settings, err, new_table, open_store, out

tracking_app = typer.Typer(help="回传数据：导入平台导出的每日口令数据，查看已导入的数据。",
                           no_args_is_help=True)
app.add_typer(tracking_app, name="tracking")

JsonOpt = Annotated[bool, typer.Option("--json", help="以 JSON 输出（stdout 上只有 JSON）")]
TaskRefOpt = Annotated[str | None, typer.Option("--task", help="任务编号：只认这个任务的口令")]
SHOWN_REJECTIONS = 5


@tracking_app.command("import")
def tracking_import(
    file: Annotated[Path, typer.Argument(help="导出文件：.csv / .tsv / .txt / .json / .xlsx")],
    preset: Annotated[str | None, typer.Option(
        help="列名预设：canonical | generic-cn | oceanengine-report（默认按表头自动选）")] = None,
    map_spec: Annotated[str | None, typer.Option(
        "--map", help="自己指定列：列名=字段,…，字段为 date, keyword, views, likes, comments, "
                      "shares, favorites, clicks, searches, activations, registrations, "
                      "orders, retentions, revenue")] = None,
    source: Annotated[str | None, typer.Option(
        help="数据来源名：同一口令同一天按来源分别保存（默认预设名，用 --map 时为 import）")] = None,
    task: TaskRefOpt = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="只检查，不保存")] = False,
    as_json: JsonOpt = False,
) -> None:
    """导入回传数据：按（口令, 日期, 来源）新增或更正，重复导入同一文件不会改变任何数据。"""
    from workbench.platform.history import cli_actor
    from workbench.platform.tracking import import_tracking, write_rejected

    result = import_tracking(open_store(current_settings()), file, actor=cli_actor(),
                             preset=preset, mapping=map_spec, source=source, task=task,
                             dry_run=dry_run)
    if as_json:
        print(json.dumps(result.summary(), ensure_ascii=False))
        return
    if dry_run:
        out.print("试运行：以下是导入的结果，但没有保存任何数据")
    out.print(f"{result.summary_line()}（来源 {result.source}）")
    if result.rejected:
        out.print(f"被拒绝的行已写入: {write_rejected(result, file)}")
        for rejection in result.rejected[:SHOWN_REJECTIONS]:
            out.print(f"  第 {rejection.line} 行: {rejection.reason}")
        if len(result.rejected) > SHOWN_REJECTIONS:
            out.print(f"  …另有 {len(result.rejected) - SHOWN_REJECTIONS} 行，见上面的文件")
    if result.import_id is not None:
        out.print(str(result.import_id))


@tracking_app.command("list")
def tracking_list(
    keyword: Annotated[str | None, typer.Option(help="只看这个口令（文字或编号）")] = None,
    task: Annotated[str | None, typer.Option(help="只看这个任务的口令")] = None,
    limit: LimitOpt = 100,
    as_json: JsonOpt = False,
) -> None:
    """已导入的回传数据，日期新的在前。"""
    from workbench.platform.keywords import find_keyword
    from workbench.platform.tasks import get_task
    from workbench.platform.tracking import VALUE_FIELDS, list_tracking
    from workbench.platform.tracking_mapping import FIELD_NAMES

    db = open_store(current_settings())
    keyword_id = find_keyword(db, keyword, task)["id"] if keyword else None
    task_id = get_task(db, task)["id"] if task is not None else None
    rows = list_tracking(db, keyword_id, task_id, limit)
    if as_json:
        print(json.dumps(rows, ensure_ascii=False))
        return
    if not rows:
        err.print("还没有回传数据（workbench tracking import FILE 导入）")
        return
    # only the columns some row reports: fifteen would not fit a terminal
    shown = [f for f in VALUE_FIELDS if any(row[f] is not None for row in rows)]
    names = [FIELD_NAMES[f] + ("(元)" if f == "revenue" else "") for f in shown]
    table = new_table("日期", "口令", "任务", "来源", *names, keep=("日期", "任务"))
    for row in rows:
        table.add_row(row["date"], row["keyword"], f"#{row['task_id']}", row["source"],
                      *("" if row[f] is None else str(row[f]) for f in shown))
    out.print(table)
