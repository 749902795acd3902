"""Fraud signals on a CPE or CPM keyword's daily counts (its days in date order).

- Spike: the day's metric (interactions for CPE, views for CPM) exceeds k × the median of the
  metric over the keyword's earlier days that report it. Needs at least MIN_EARLIER such days;
  with fewer there is nothing to compare with, and no spike is flagged.
- Ratio: the day's interaction-to-view ratio (views > 0) is above k × or below 1/k of the
  median ratio of at least MIN_EARLIER earlier days (median > 0); and any day whose
  interactions exceed its views.

k is the `settle.spike_factor` setting. A flagged day is not dropped: settlement holds its money
until a person releases it (releases.py). Medians are exact (Decimal), never float.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from workbench.platform.daily import Day

CHECKED_MODELS = ("CPE", "CPM")
MIN_EARLIER = 3
METRIC_NAMES = {"CPE": "互动量", "CPM": "播放量"}


@dataclass(frozen=True)
class Flag:
    date: str | None  # None: about the whole line (a task's missing terms), not one day
    reason: str


def factor_of(value: float | Decimal | str) -> Decimal:
    """The setting (a float in Settings) as the exact Decimal it was written as (5.0 → 5)."""
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def _number(value: Decimal) -> str:
    """5 rather than 5.0 or 5E+1; at most two decimals (a median of two counts may end in .5)."""
    shown = value.quantize(Decimal("0.01")) if value != value.to_integral_value() else value
    return format(shown.normalize(), "f")


def _percent(value: Decimal) -> str:
    return f"{format((value * 100).quantize(Decimal('0.01')), 'f')}%"


def _metric(model: str, day: Day) -> int | None:
    return day.interactions if model == "CPE" else day.views


def _ratio(day: Day) -> Decimal | None:
    interactions, views = day.interactions, day.views
    if interactions is None or not views:
        return None
    return Decimal(interactions) / Decimal(views)


def day_flags(model: str | None, days: Sequence[Day], factor: float | Decimal | str
              ) -> dict[str, list[Flag]]:
    """date → the flags of that day, for one keyword's days in date order. Only CPE and CPM
    days are checked; other models get no flags."""
    if model not in CHECKED_MODELS:
        return {}
    k = factor_of(factor)
    flags: dict[str, list[Flag]] = {}
    metrics: list[Decimal] = []  # the earlier days' metric, where reported
    ratios: list[Decimal] = []  # the earlier days' interaction-to-view ratio, where known
    for day in days:
        found = _spike(model, day, metrics, k) + _ratio_flags(day, ratios, k)
        if found:
            flags[day.date] = found
        if (metric := _metric(model, day)) is not None:
            metrics.append(Decimal(metric))
        if (ratio := _ratio(day)) is not None:
            ratios.append(ratio)
    return flags


def _spike(model: str, day: Day, earlier: list[Decimal], k: Decimal) -> list[Flag]:
    metric = _metric(model, day)
    if metric is None or len(earlier) < MIN_EARLIER:
        return []
    median = statistics.median(earlier)
    if metric <= k * median:
        return []
    return [Flag(day.date, f"{METRIC_NAMES[model]} {metric} 超过此前 {len(earlier)} 天中位数 "
                           f"{_number(median)} 的 {_number(k)} 倍")]


def _ratio_flags(day: Day, earlier: list[Decimal], k: Decimal) -> list[Flag]:
    interactions, views = day.interactions, day.views
    found: list[Flag] = []
    if interactions is not None and views is not None and interactions > views:
        found.append(Flag(day.date, f"互动量 {interactions} 多于播放量 {views}"))
    ratio = _ratio(day)
    if ratio is None or len(earlier) < MIN_EARLIER:
        return found
    median = statistics.median(earlier)
    if median <= 0:
        return found
    shown = (f"互动率 {_percent(ratio)}（互动 {interactions} / 播放 {views}）")
    if ratio > k * median:
        found.append(Flag(day.date, f"{shown}高于此前 {len(earlier)} 天中位数 "
                                    f"{_percent(median)} 的 {_number(k)} 倍"))
    elif ratio < median / k:
        found.append(Flag(day.date, f"{shown}低于此前 {len(earlier)} 天中位数 "
                                    f"{_percent(median)} 的 1/{_number(k)}"))
    return found
