"""A task's settlement terms and what one keyword-day earns under them, exactly.

CPA = the task's action count × price; CPS = revenue × share; CPE = (likes + comments + shares
+ favorites) × price; CPM = views / 1000 × price. Exact Decimal: nothing is rounded here (a
report rounds once per line). A count no source reported counts as 0. A term the platform did
not give is never invented: the money is unknown (None) and `Terms.missing` says what is lacking.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from workbench.platform.daily import Day
from workbench.platform.money import from_text
from workbench.platform.tasks import ACTIONS

# a CPA task's action → the tracking count it pays for
ACTION_COUNTS = {"activation": "activations", "registration": "registrations",
                 "order": "orders", "retention_1d": "retentions"}
THOUSAND = Decimal(1000)


@dataclass(frozen=True)
class Terms:
    task_id: int
    model: str | None
    price: Decimal | None
    share: Decimal | None
    action: str | None
    missing: str | None  # e.g. "没有单价"; None when the money can be computed

    @property
    def problem(self) -> str | None:
        """The line's flag when the money cannot be computed."""
        if self.missing is None:
            return None
        return f"任务 #{self.task_id} {self.missing}（任务平台未给出），无法计算金额"


def task_terms(task: Mapping[str, Any]) -> Terms:
    model, action = task.get("model") or None, task.get("action") or None
    price, share = from_text(task.get("price")), from_text(task.get("share"))
    if model is None:
        missing = "没有结算方式"
    elif model not in ("CPA", "CPS", "CPE", "CPM"):
        missing = f"的结算方式 {model} 无法识别"
    elif model == "CPA" and price is None and action is None:
        missing = "是 CPA 但没有单价和转化行为"
    elif model == "CPA" and action not in ACTION_COUNTS:
        missing = "是 CPA 但没有转化行为" if action is None else f"的转化行为 {action} 无法识别"
    elif model == "CPS" and share is None:
        missing = "是 CPS 但没有分成比例"
    elif model != "CPS" and price is None:
        missing = f"是 {model} 但没有单价"
    else:
        missing = None
    return Terms(task["id"], model, price, share, action, missing)


def day_money(terms: Terms, day: Day) -> Decimal | None:
    """What the day earns, exact; None when the terms are incomplete."""
    if terms.missing is not None:
        return None
    if terms.model == "CPS":
        return (day.revenue or Decimal(0)) * terms.share  # type: ignore[operator]
    price: Decimal = terms.price  # type: ignore[assignment]
    if terms.model == "CPA":
        return Decimal(day.counts[ACTION_COUNTS[terms.action]] or 0) * price  # type: ignore[index]
    if terms.model == "CPE":
        return Decimal(day.interactions or 0) * price
    if terms.model == "CPM":
        return Decimal(day.views or 0) / THOUSAND * price
    raise ValueError(f"unknown settlement model {terms.model!r}")


def terms_text(task: Mapping[str, Any]) -> str:
    """The terms in a few words: CPA 3.50 元/激活 · CPS 分成 30% · CPE 0.02 元/互动 ·
    CPM 8.00 元/千次播放 ("" without a model)."""
    model, price, share = task.get("model"), task.get("price"), task.get("share")
    if not model:
        return ""
    if model == "CPS":
        return f"CPS 分成 {Decimal(share) * 100:g}%" if share else "CPS"
    unit = {"CPA": ACTIONS.get(task.get("action") or "", "转化"), "CPE": "互动",
            "CPM": "千次播放"}.get(model, "")
    return f"{model} {price} 元/{unit}" if price else model
