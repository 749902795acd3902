"""模板实验室 · 收益: which template earns — per template (or version) the videos, views,
interactions, conversions and earnings per video with their 95 % ranges, as the library's
bar chart with error bars and a table, filtered by task, channel, account and dates.

A thin shell over workbench/lab/earnings.py and earnings_chart.py: what `workbench lab
stats` calls. The chart is the library's SVG (every label escaped by its template).
"""

from __future__ import annotations

from typing import Any

import gradio as gr
import pandas as pd

from workbench.errors import InputError
from workbench.lab.earnings import BY_CHOICES, MIN_VIDEOS, template_name, template_stats
from workbench.lab.earnings_chart import money_range, percent_range, svg_chart
from workbench.platform.channels import CHANNELS
from workbench.ui.common import handler, session
from workbench.ui.platform_choices import account_choices, record_id, task_choices

HEADERS = ["排名", "模板", "视频", "有回传", "播放", "互动", "转化", "互动率（95% 区间）",
           "转化率（95% 区间）", "收益（元）", "每条视频（元，95% 区间）", "样本"]
BY_NAMES = {"version": "模板 + 版本", "template": "模板（版本合并）"}
ALL = ""


def channel_choices() -> list[tuple[str, str]]:
    return [("全部渠道", ALL)] + [(c, c) for c in CHANNELS]


def stats_rows(rows: list[dict[str, Any]]) -> pd.DataFrame:
    table = []
    for row in rows:
        table.append([row["rank"], template_name(row), row["videos"], row["tracked"],
                      row["views"], row["interactions"], row["conversions"],
                      percent_range(row["interaction_rate"]),
                      percent_range(row["conversion_rate"]),
                      row["earnings"] if row["earnings"] is not None else "无法计算",
                      money_range(row), "样本太少" if row["small_sample"] else ""])
    return pd.DataFrame(table, columns=HEADERS)


def stats_notes(rows: list[dict[str, Any]], min_videos: int) -> str:
    if not rows:
        return ("没有符合条件的已发布成品：成品发布后在「成品」里回填链接，再在「回传与结算」导入回传数据")
    notes = []
    for row in rows:
        if row["held"] not in (None, "0.00"):
            notes.append(f"- 暂扣：{template_name(row)} {row['held']} 元（异常日期，核对后在"
                         "「回传与结算」放行，之后计入收益）")
        if row["money_unknown"]:
            notes.append(f"- {template_name(row)} 有 {row['money_unknown']} 条视频的收益无法计算"
                         "（任务缺少结算条款），未计入收益")
    if any(row["small_sample"] for row in rows):
        notes.append(f"- **样本太少**：视频少于 {min_videos} 条，区间不可靠，排在其余模板之后")
    notes.append("- 互动率 = 互动 / 播放，转化率 = 转化 / 播放（Wilson 95% 区间）；每条视频收益的区间"
                 "为自助法（视频有放回重抽 2000 次）的 95% 区间")
    return "\n".join(notes)


def _count(value: float | None) -> int:
    if value is None:
        return MIN_VIDEOS
    if value < 1 or value != int(value):
        raise InputError(f"「样本门槛」应为不小于 1 的整数（收到 {value:g}）")
    return int(value)


@handler
def run_stats(task: str | None, channel: str | None, account: str | None,
              date_from: str | None, date_to: str | None, by: str | None,
              min_videos: float | None) -> tuple[str, pd.DataFrame, str]:
    by = by or "version"
    if by not in BY_CHOICES:
        raise InputError(f"请选择分组方式（{'、'.join(BY_NAMES.values())}）")
    threshold = _count(min_videos)
    with session() as (settings, db):
        rows = template_stats(
            db, spike_factor=settings.spike_factor, task=record_id(task, "任务"),
            channel=channel or None, account=record_id(account, "账号"),
            date_from=(date_from or "").strip() or None,
            date_to=(date_to or "").strip() or None, by=by, min_videos=threshold)
    # a white card (the chart's text is dark); the last label may run past the SVG's width
    chart = ('<div class="lab-chart" style="background:#fff;color:#222;padding:8px 8px 8px 0;'
             'overflow-x:auto"><style>.lab-chart svg{overflow:visible}</style>'
             f"{svg_chart(rows)}</div>") if rows else ""
    return chart, stats_rows(rows), stats_notes(rows, threshold)


@handler
def refresh_filters() -> tuple[Any, Any]:
    with session() as (_, db):
        tasks = task_choices(db, none="全部任务")
        accounts = [("全部账号", ALL), *account_choices(db)]
    return gr.Dropdown(choices=tasks), gr.Dropdown(choices=accounts)
