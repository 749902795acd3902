"""`workbench lab stats`: which template earns (workbench/lab/earnings.py), as a table, JSON or
an HTML page with a bar chart.

The command joins the `lab` group wherever it was created (workbench/cli/lab.py, imported
before this module), so two modules can add commands to one group; without it, this module
creates the group.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from workbench.cli.common import app, current_settings, err, new_table, open_store, out

LAB_HELP = "模板实验室：比较模板版本，统计哪个模板更赚钱。"


def lab_group() -> typer.Typer:
    """The root app's `lab` group, created here if no module made it yet."""
    for info in app.registered_groups:
        if info.name == "lab" and info.typer_instance is not None:
            return info.typer_instance
    group = typer.Typer(help=LAB_HELP, no_args_is_help=True)
    app.add_typer(group, name="lab")
    return group


lab_app = lab_group()


def _filters(**given: Any) -> str:
    names = {"task": "任务", "channel": "渠道", "account": "账号", "date_from": "起",
             "date_to": "止", "batch": "批次"}
    return "，".join(f"{names[k]} {v}" for k, v in given.items() if v is not None)


@lab_app.command("stats")
def lab_stats(
    task: Annotated[str | None, typer.Option("--task", help="任务编号")] = None,
    channel: Annotated[str | None, typer.Option("--channel", help="发布渠道，如 抖音")] = None,
    account: Annotated[str | None, typer.Option("--account", help="账号编号")] = None,
    date_from: Annotated[str | None, typer.Option("--from", help="起始日期（含），如 2026-11-01")
                         ] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="结束日期（含）")] = None,
    batch: Annotated[str | None, typer.Option("--batch", help="只看某个批次生成的视频（批次编号）")
                     ] = None,
    by: Annotated[str, typer.Option("--by", help="分组 version（模板+版本）| template")
                  ] = "version",
    min_videos: Annotated[int | None, typer.Option(
        "--min-videos", help="视频少于这个数的模板标为样本太少，排在后面（默认 10）")] = None,
    html: Annotated[Path | None, typer.Option("--html", help="另存为 HTML（柱状图 + 表格）")
                    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON")] = False,
) -> None:
    """哪个模板更赚钱：按模板（及版本）统计视频数、播放、互动、转化、收益和每条视频收益，附 95% 区间。"""
    from workbench.lab.earnings import MIN_VIDEOS, template_stats

    settings = current_settings()
    rows = template_stats(open_store(settings), spike_factor=settings.spike_factor, task=task,
                          channel=channel, account=account, date_from=date_from,
                          date_to=date_to, batch=batch, by=by,
                          min_videos=MIN_VIDEOS if min_videos is None else min_videos)
    if html is not None:
        from workbench.lab.earnings_chart import write_html

        write_html(rows, html, title="哪个模板更赚钱", filters=_filters(
            task=task, channel=channel, account=account, date_from=date_from,
            date_to=date_to, batch=batch))
        (err if as_json else out).print(f"已写入 {html}")
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    elif not rows:
        out.print("没有符合条件的已发布成品（发布后用 workbench submissions publish 回填链接，"
                  "再用 workbench tracking import 导入回传数据）")
    else:
        _print_table(rows)


def _rate_cell(rate: dict[str, Any]) -> str:
    if rate["rate"] is None:
        return "—"
    return f"{rate['rate'] * 100:.2f}%\n{rate['low'] * 100:.2f}–{rate['high'] * 100:.2f}"


def _print_table(rows: list[dict[str, Any]]) -> None:
    """A narrow table (each range on a second line under its figure), then the notes."""
    from workbench.lab.earnings import template_name

    table = new_table("排名", "模板", "视频", "播放", "互动率", "转化率", "收益",
                      "每条视频", title="哪个模板更赚钱（区间为 95%）",
                      keep=("排名", "视频", "播放", "收益"))
    for row in rows:
        per_video = ("无法计算" if row["earnings_per_video"] is None else
                     f"{row['earnings_per_video']}\n{row['earnings_per_video_low']}–"
                     f"{row['earnings_per_video_high']}")
        table.add_row(str(row["rank"]),
                      template_name(row) + ("\n样本太少" if row["small_sample"] else ""),
                      f"{row['videos']}" + (f"\n回传 {row['tracked']}"
                                             if row["tracked"] < row["videos"] else ""),
                      str(row["views"]), _rate_cell(row["interaction_rate"]),
                      _rate_cell(row["conversion_rate"]),
                      row["earnings"] if row["earnings"] is not None else "无法计算", per_video)
    out.print(table)
    for row in rows:
        if row["held"] not in (None, "0.00"):
            out.print(f"暂扣: {template_name(row)} {row['held']} 元（异常日期，核对后用 "
                      "workbench settle release 放行，之后计入收益）")
        if row["money_unknown"]:
            out.print(f"注意: {template_name(row)} 有 {row['money_unknown']} 条视频的收益无法计算"
                      "（任务缺少结算条款，workbench task show 查看），未计入收益")
    if any(row["small_sample"] for row in rows):
        out.print("样本太少：视频数低于门槛（--min-videos，默认 10），区间不可靠，排在其余模板之后")
    out.print("互动率 = 互动 / 播放，转化率 = 转化 / 播放（Wilson 区间）；每条视频收益的区间为"
              "自助法（重抽 2000 次）；--json 给出全部数字")
