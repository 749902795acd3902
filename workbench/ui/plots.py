"""The data behind 回传与结算's plots, as pandas DataFrames (what gr.LinePlot / gr.BarPlot take).

Daily figures come from the merged keyword-days (platform/daily.py), earnings from the
settlement lines (platform/settlement.py): nothing is computed here that the reports do not
compute. Money becomes a float only here, to be drawn; the tables keep Decimal text.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pandas as pd
from sqlite_utils import Database

from workbench.errors import InputError
from workbench.platform.daily import Day, load_days
from workbench.platform.dates import parse_date
from workbench.platform.settlement import UNLINKED

METRICS = {"views": "播放量", "interactions": "互动量（赞+评+转+藏）", "activations": "激活"}
MAX_SERIES = 12  # keywords drawn at once: the ones with the largest totals
EARNING_KINDS = ("应结", "暂扣")
DAILY_COLUMNS = ["date", "keyword", "value"]
EARNING_COLUMNS = ["group", "amount", "kind"]


def _value(day: Day, metric: str) -> int | None:
    if metric == "interactions":
        return day.interactions
    return day.counts[metric]


def daily_frame(db: Database, metric: str, *, task_id: int | None = None,
                date_from: str | None = None, date_to: str | None = None
                ) -> tuple[pd.DataFrame, str]:
    """(date, keyword, value) per keyword-day that reports the metric, for the MAX_SERIES
    keywords with the largest totals in the range; and a note on what was left out."""
    if metric not in METRICS:
        raise InputError(f"未知的指标 {metric}：可选 {'、'.join(METRICS.values())}")
    start = parse_date(date_from, "起始日期").isoformat() if date_from else None
    end = parse_date(date_to, "结束日期").isoformat() if date_to else None
    days = load_days(db, task_id=task_id, until=end)
    texts = {r["id"]: (r["text"], r["task_id"]) for r in db.query(
        "SELECT id, text, task_id FROM keywords")}
    shared = defaultdict(int)
    for text, _ in texts.values():
        shared[text] += 1
    points: dict[str, list[tuple[str, int]]] = {}
    for keyword_id, keyword_days in days.items():
        text, task = texts[keyword_id]
        label = text if shared[text] == 1 else f"{text}（任务#{task}）"
        for day in keyword_days:
            value = _value(day, metric)
            if value is not None and not (start and day.date < start):
                points.setdefault(label, []).append((day.date, value))
    ranked = sorted(points, key=lambda label: -sum(v for _, v in points[label]))
    kept = ranked[:MAX_SERIES]
    note = (f"口令较多，只画了{METRICS[metric]}合计最高的 {MAX_SERIES} 个（共 {len(ranked)} 个）"
            if len(ranked) > MAX_SERIES else "")
    rows = [(date, label, value) for label in kept for date, value in points[label]]
    # ISO text, not datetimes: a few days on a time axis get a tick every hour
    frame = pd.DataFrame(rows, columns=DAILY_COLUMNS)
    return frame.sort_values(["date", "keyword"], ignore_index=True), note


def group_label(line: dict[str, Any], by: str) -> str:
    """How a settlement line is named on a plot or in a table."""
    if by == "task":
        return f"#{line['task_id']} {line['app']}《{line['title']}》"
    if by == "account":
        return f"#{line['account_id']} {line['channel']} {line['handle']}"
    if by == "template":
        if line["template_id"] is None:
            return UNLINKED
        version = f" v{line['template_version']}" if line["template_version"] else ""
        return f"{line['template_id']}{version}"
    if by == "submission":
        return line["submission_id"] or UNLINKED
    if by == "day":
        return line["date"]
    return f"{line['keyword']}（#{line['keyword_id']}）"


def earnings_frame(lines: list[dict[str, Any]], by: str) -> pd.DataFrame:
    """(group, amount in yuan, 应结|暂扣) per settlement line; a line whose money cannot be
    computed (a task without terms) is left out (its table row says why)."""
    rows = []
    for line in lines:
        for kind, key in zip(EARNING_KINDS, ("amount", "held"), strict=True):
            if line[key] is not None and (kind == "应结" or line[key] != "0.00"):
                rows.append((group_label(line, by), float(line[key]), kind))
    return pd.DataFrame(rows, columns=EARNING_COLUMNS)
