"""`workbench submissions …`: packages, their checks, and where they were published."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from workbench.cli.common import (
    LimitOpt,
    app,
    current_settings,
    new_table,
    open_store,
    out,
    short_time,
)

submissions_app = typer.Typer(help="提交记录：成品包的列表、详情与回填。", no_args_is_help=True)
app.add_typer(submissions_app, name="submissions")


@submissions_app.command("list")
def submissions_list(
    limit: LimitOpt = 20,
    keyword: Annotated[str | None, typer.Option(help="只看这个口令")] = None,
) -> None:
    """最近的成品包。"""
    from workbench.store.submissions import STATUS_NAMES, list_submissions

    table = new_table("编号", "时间", "口令", "标题", "时长", "规格", "状态", "提醒", "任务",
                   keep=("编号", "时间", "时长", "规格", "状态"))
    for s in list_submissions(open_store(current_settings()), limit, keyword):
        table.add_row(s["id"], short_time(s["created_at"]), s["keyword"], s["title"] or "",
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

    row = get_submission(open_store(current_settings()), submission_id)
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

    row = mark_published(open_store(current_settings()), submission_id, url, date)
    out.print(f"已记录 {row['id']} 发布于 {row['published_at']}: {row['publish_url']}")
