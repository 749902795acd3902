"""`workbench submissions …`: packages, their checks, and their lifecycle: published (回填),
settled or rejected, with the history of every change."""

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

submissions_app = typer.Typer(help="提交记录：成品包的列表、详情、回填、结算与退回。",
                              no_args_is_help=True)
app.add_typer(submissions_app, name="submissions")


@submissions_app.command("list")
def submissions_list(
    limit: LimitOpt = 20,
    keyword: Annotated[str | None, typer.Option(help="只看这个口令")] = None,
) -> None:
    """最近的成品包。"""
    from workbench.store.submissions import list_submissions, status_label

    table = new_table("编号", "时间", "口令", "标题", "时长", "规格", "状态", "提醒", "任务",
                   keep=("编号", "时间", "时长", "规格", "状态"))
    for s in list_submissions(open_store(current_settings()), limit, keyword):
        table.add_row(s["id"], short_time(s["created_at"]), s["keyword"], s["title"] or "",
                      f"{s['duration']:.1f}s" if s["duration"] else "", s["profile"] or "",
                      status_label(s),
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
    for key in ("id", "title", "keyword", "task_id", "keyword_id", "account_id", "duration",
                "profile", "status", "draft", "reason", "publish_url", "published_at",
                "settled_at", "job_id", "created_at", "path"):
        if row.get(key) not in (None, "", 0):
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
    url: Annotated[str, typer.Option(help="作品链接（须是账号所在渠道的链接）")],
    date: Annotated[str | None, typer.Option(help="发布时间（ISO，如 2026-11-22T20:00）")] = None,
) -> None:
    """回填：记录成品发布后的作品链接与时间（已发布的可再次回填以更正链接）。"""
    from workbench.platform.history import cli_actor
    from workbench.platform.submissions_lifecycle import publish

    row = publish(open_store(current_settings()), submission_id, url, date, actor=cli_actor())
    out.print(f"已记录 {row['id']} 发布于 {row['published_at']}: {row['publish_url']}")


@submissions_app.command("settle")
def submissions_settle(
    submission_id: Annotated[str, typer.Argument(help="成品包编号")],
) -> None:
    """结算：已发布的成品包已由平台结算。"""
    from workbench.platform.history import cli_actor
    from workbench.platform.submissions_lifecycle import settle

    row = settle(open_store(current_settings()), submission_id, actor=cli_actor())
    out.print(f"已结算 {row['id']}（{row['settled_at']}）")


@submissions_app.command("reject")
def submissions_reject(
    submission_id: Annotated[str, typer.Argument(help="成品包编号")],
    reason: Annotated[str, typer.Option(help="退回原因（必填）")],
) -> None:
    """退回：成品包未被平台接受（待发布或已发布的都可以退回），须写明原因。"""
    from workbench.platform.history import cli_actor
    from workbench.platform.submissions_lifecycle import reject

    row = reject(open_store(current_settings()), submission_id, reason, actor=cli_actor())
    out.print(f"已退回 {row['id']}：{row['reason']}")


@submissions_app.command("history")
def submissions_history(
    submission_id: Annotated[str, typer.Argument(help="成品包编号（可只写开头几位）")],
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON")] = False,
) -> None:
    """一个成品包的全部变更记录（只增不改）：时间、操作人、操作、状态变化、原因。"""
    from workbench.platform.submissions_lifecycle import (
        HISTORY_COLUMNS,
        history_lines,
        submission_history,
    )

    entries = submission_history(open_store(current_settings()), submission_id)
    if as_json:
        for entry in entries:
            entry["data"] = json.loads(entry["data"]) if entry["data"] else None
        print(json.dumps(entries, ensure_ascii=False, indent=2))
        return
    table = new_table(*HISTORY_COLUMNS, keep=("时间", "操作", "状态"))
    for entry, (_, *line) in zip(entries, history_lines(entries), strict=True):
        table.add_row(short_time(entry["at"]), *line)
    out.print(table)
