"""`workbench keyword …`: keywords (口令) per task and account, from application to expiry."""

from __future__ import annotations

from typing import Annotated

import typer

from workbench.cli.common import app, current_settings, new_table, open_store, out
from workbench.cli.tasks import JsonOpt, print_history, print_json

keyword_app = typer.Typer(help="口令：按任务和账号申请、审核、过期。", no_args_is_help=True)
app.add_typer(keyword_app, name="keyword")

KeywordArg = Annotated[str, typer.Argument(help="口令文字，或编号（如 12 或 #12）")]
TaskOpt = Annotated[int | None, typer.Option(
    "--task", help="任务编号（同一个口令出现在多个任务里时必填）")]
ExpiresOpt = Annotated[str | None, typer.Option(help="口令有效期（截止日期，如 2026-12-31）")]


def _done(row: dict, verb: str, as_json: bool) -> None:
    from workbench.platform.keywords import STATUS_NAMES

    if as_json:
        print_json(row)
        return
    out.print(f"口令 #{row['id']}「{row['text']}」{verb}：{STATUS_NAMES[row['status']]}")


@keyword_app.command("apply")
def keyword_apply(
    keyword: Annotated[str, typer.Argument(help="申请的口令")],
    task: Annotated[int, typer.Option("--task", help="任务编号")],
    account: Annotated[int, typer.Option("--account", help="账号编号")],
    expires: ExpiresOpt = None, as_json: JsonOpt = False,
) -> None:
    """为任务和账号申请口令（待审核），最后一行输出口令编号。"""
    from workbench.compliance import load_banned_words
    from workbench.platform.history import cli_actor
    from workbench.platform.keywords import apply_keyword

    settings = current_settings()
    row = apply_keyword(open_store(settings), task, account, keyword,
                        load_banned_words(settings.banned_words_file), cli_actor(), expires)
    if as_json:
        print_json(row)
        return
    _done(row, "已申请", False)
    out.print(str(row["id"]))


@keyword_app.command("approve")
def keyword_approve(keyword: KeywordArg, task: TaskOpt = None, expires: ExpiresOpt = None,
                    as_json: JsonOpt = False) -> None:
    """口令通过审核。"""
    from workbench.platform.history import cli_actor
    from workbench.platform.keywords import change_status

    row = change_status(open_store(current_settings()), keyword, "approved", cli_actor(),
                        task_id=task, expires=expires)
    _done(row, "已更新", as_json)


@keyword_app.command("reject")
def keyword_reject(keyword: KeywordArg,
                   reason: Annotated[str, typer.Option(help="未通过的原因")],
                   task: TaskOpt = None, as_json: JsonOpt = False) -> None:
    """口令未通过审核（必须写原因）。"""
    from workbench.platform.history import cli_actor
    from workbench.platform.keywords import change_status

    row = change_status(open_store(current_settings()), keyword, "rejected", cli_actor(),
                        task_id=task, reason=reason)
    _done(row, "已更新", as_json)


@keyword_app.command("expire")
def keyword_expire(keyword: KeywordArg, task: TaskOpt = None,
                   reason: Annotated[str | None, typer.Option(help="原因")] = None,
                   as_json: JsonOpt = False) -> None:
    """让口令过期（不再用于新视频）。"""
    from workbench.platform.history import cli_actor
    from workbench.platform.keywords import change_status

    row = change_status(open_store(current_settings()), keyword, "expired", cli_actor(),
                        task_id=task, reason=reason)
    _done(row, "已更新", as_json)


@keyword_app.command("list")
def keyword_list(
    task: Annotated[int | None, typer.Option("--task", help="只看这个任务")] = None,
    status: Annotated[str | None, typer.Option(
        help="pending | approved | rejected | expired")] = None,
    as_json: JsonOpt = False,
) -> None:
    """口令列表（读取时先把过期的口令标为已过期）。"""
    from workbench.platform.keywords import STATUS_NAMES, check_status, list_keywords

    rows = list_keywords(open_store(current_settings()), task, check_status(status))
    if as_json:
        print_json(rows)
        return
    table = new_table("编号", "口令", "状态", "任务", "应用", "账号", "有效期", "原因",
                      keep=("编号", "状态", "任务"))
    for k in rows:
        table.add_row(str(k["id"]), k["text"], STATUS_NAMES[k["status"]], f"#{k['task_id']}",
                      k["app"], f"#{k['account_id']} {k['channel']} {k['handle']}",
                      k["expires_at"] or "", k["reason"] or "")
    out.print(table)


@keyword_app.command("history")
def keyword_history(keyword: KeywordArg, task: TaskOpt = None, as_json: JsonOpt = False
                    ) -> None:
    """口令的全部状态变化（时间、操作人、原因）。"""
    from workbench.platform.history import history_of
    from workbench.platform.keywords import find_keyword

    db = open_store(current_settings())
    row = find_keyword(db, keyword, task)
    events = history_of(db, "keyword", row["id"])
    if as_json:
        print_json(events)
        return
    out.print(f"口令 #{row['id']}「{row['text']}」 任务 #{row['task_id']}")
    print_history(events)
