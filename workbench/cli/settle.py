"""`workbench settle …`: the settlement report, and releasing a held day."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from workbench.cli.common import app, current_settings, err, new_table, open_store, out

settle_app = typer.Typer(help="结算：按回传数据和任务条款计算应得金额；异常的日期暂扣，待人工放行。")
app.add_typer(settle_app, name="settle")

TaskOpt = Annotated[str | None, typer.Option("--task", help="任务编号")]
KEY_TITLES = {"keyword": "口令", "keyword_id": "口令编号", "task_id": "任务", "app": "应用",
              "title": "原名", "account_id": "账号", "channel": "渠道", "handle": "账号名",
              "date": "日期", "submission_id": "成品", "template_id": "模板",
              "template_version": "模板版本"}


@settle_app.callback(invoke_without_command=True)
def settle_report(
    ctx: typer.Context,
    task: TaskOpt = None,
    date_from: Annotated[str | None, typer.Option("--from", help="起始日期（含），如 2026-11-01")
                         ] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="结束日期（含）")] = None,
    by: Annotated[str, typer.Option(
        "--by", help="分组 keyword|task|account|submission|template|day")] = "keyword",
    csv_file: Annotated[Path | None, typer.Option("--csv", help="另存为 CSV 文件（UTF-8 带 BOM）")
                        ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON")] = False,
) -> None:
    """结算报表：金额（amount）、暂扣（held）与异常标记；子命令 release 放行暂扣的日期。"""
    if ctx.invoked_subcommand is not None:
        return
    from workbench.platform.settlement import settle, write_csv

    settings = current_settings()
    lines = settle(open_store(settings), spike_factor=settings.spike_factor, task_id=task,
                   date_from=date_from, date_to=date_to, by=by)
    if csv_file is not None:
        write_csv(lines, by, csv_file)
        (err if as_json else out).print(f"已写入 {len(lines)} 行：{csv_file}")
    if as_json:
        print(json.dumps(lines, ensure_ascii=False, indent=2))
    elif not lines:
        out.print("没有符合条件的回传数据（用 workbench tracking import 导入平台的回传报表）")
    else:
        _print_report(lines, by)


def _label(line: dict[str, Any], keys: tuple[str, ...]) -> list[str]:
    from workbench.platform.settlement import UNLINKED

    if all(line[key] is None for key in keys):  # a submission line without a submission
        return [UNLINKED, *[""] * (len(keys) - 1)]
    return ["" if line[key] is None else str(line[key]) for key in keys]


def _name(line: dict[str, Any], by: str) -> str:
    """How a flag under the table names its line."""
    from workbench.platform.settlement import UNLINKED

    if by == "keyword":
        return f"口令「{line['keyword']}」"
    if by == "task":
        return f"任务 #{line['task_id']}"
    if by == "account":
        return f"账号 #{line['account_id']}"
    if by == "day":
        return line["date"]
    if by == "submission":
        return line["submission_id"] or UNLINKED
    if line["template_id"] is None:
        return UNLINKED
    return f"模板 {line['template_id']}" + (f" v{line['template_version']}"
                                           if line["template_version"] else "")


def _print_report(lines: list[dict[str, Any]], by: str) -> None:
    """The table (with a total line), then every flag under it, named by its line."""
    from workbench.platform.settlement import GROUP_KEYS, flag_text, total_text

    keys = GROUP_KEYS[by]
    titles = [KEY_TITLES[key] for key in keys]
    table = new_table(*titles, "结算方式", "天数", "金额", "暂扣", "标记",
                      keep=(*titles, "结算方式", "天数", "金额", "暂扣", "标记"))
    for line in lines:
        table.add_row(*_label(line, keys), line["model"] or "", str(line["days"]),
                      line["amount"] if line["amount"] is not None else "无法计算",
                      line["held"] if line["held"] is not None else "无法计算",
                      str(len(line["flags"])) if line["flags"] else "")
    table.add_section()
    table.add_row("合计", *[""] * len(keys), str(sum(line["days"] for line in lines)),
                  total_text(lines, "amount"), total_text(lines, "held"),
                  str(sum(len(line["flags"]) for line in lines)) or "")
    out.print(table)
    flagged = [line for line in lines if line["flags"]]
    if flagged:
        out.print("标记（暂扣的金额核对后可用 workbench settle release 口令 日期 放行）：")
    for line in flagged:
        name = _name(line, by)
        for flag in line["flags"]:
            text = flag_text(flag, by)
            out.print(f"  {text}" if text.startswith(name) else f"  {name} {text}")


@settle_app.command("release")
def settle_release(
    keyword: Annotated[str, typer.Argument(help="口令（文字，或编号如 #12）")],
    date: Annotated[str, typer.Argument(help="被暂扣的日期，如 2026-11-03")],
    task: TaskOpt = None,
    reason: Annotated[str | None, typer.Option("--reason", help="放行原因（记入历史）")] = None,
) -> None:
    """放行某个口令某一天被暂扣的金额：之后结算把它计入 amount（记入历史）。"""
    from workbench.platform.history import cli_actor
    from workbench.platform.releases import release_day

    settings = current_settings()
    done = release_day(open_store(settings), keyword, date, actor=cli_actor(),
                       spike_factor=settings.spike_factor, task_id=task, reason=reason)
    amount = done["amount"] if done["amount"] is not None else "无法计算（任务缺少结算条款）"
    out.print(f"已放行 口令「{done['keyword']}」（#{done['keyword_id']}）{done['date']}，"
              f"金额 {amount}；标记：{'；'.join(done['flags'])}")
    out.print(str(done["id"]))
