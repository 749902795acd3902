"""One keyword's figures for one day, merged from every source that reported them.

Several exports (sources) may report the same keyword and day. Per field, the value comes from
the row with the latest `updated_at` among those where the field is not NULL (the row inserted
last wins a tie). A field no source reported stays None: it counts as 0 in money, but nothing
is invented for it in a report.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlite_utils import Database

from workbench.errors import InputError
from workbench.platform import tracking_mapping
from workbench.platform.money import from_text

COUNTS = tracking_mapping.COUNTS
INTERACTIONS = ("likes", "comments", "shares", "favorites")  # what CPE pays for
MAX_ROWS = 500_000  # tracking rows one report reads; more must be narrowed with --task or --to
POSTBACK_SOURCE = "postback"  # the tracking source HTTP postbacks roll up into (postback/)
# A keyword's rows count toward settlement only from its task's source (tasks.settle_source):
# the postback rows for a task that settles from postbacks, every other source's otherwise.
_SETTLED_SOURCE = (f"(source = '{POSTBACK_SOURCE}') = (keyword_id IN (SELECT k.id FROM keywords "
                   f"k JOIN tasks t ON t.id = k.task_id WHERE t.settle_source = 'postback'))")


@dataclass(frozen=True)
class Day:
    keyword_id: int
    date: str  # ISO
    counts: dict[str, int | None]  # every name in COUNTS; None = no source reported it
    revenue: Decimal | None

    @property
    def interactions(self) -> int | None:
        """likes + comments + shares + favorites, or None when none of them was reported."""
        reported = [self.counts[name] for name in INTERACTIONS if self.counts[name] is not None]
        return sum(reported) if reported else None  # type: ignore[arg-type]

    @property
    def views(self) -> int | None:
        return self.counts["views"]


def merge_rows(rows: Iterable[dict[str, Any]]) -> Day:
    """One keyword-day from its rows (every source's), field by field."""
    ordered = sorted(rows, key=lambda r: (r.get("updated_at") or "", r.get("id") or 0))
    if not ordered:
        raise ValueError("merge_rows needs at least one row")
    latest: dict[str, Any] = {}
    for row in ordered:  # later rows overwrite earlier ones, where they reported the field
        for name in (*COUNTS, "revenue"):
            if row.get(name) is not None:
                latest[name] = row[name]
    first = ordered[0]
    return Day(keyword_id=first["keyword_id"], date=first["date"],
               counts={name: _count(latest.get(name)) for name in COUNTS},
               revenue=from_text(_text(latest.get("revenue"))))


def _count(value: Any) -> int | None:
    return None if value is None else int(value)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def load_days(db: Database, *, task_id: int | None = None, keyword_id: int | None = None,
              until: str | None = None) -> dict[int, list[Day]]:
    """Each keyword's merged days in date order, from the rows of its task's settle source:
    every keyword's, or one task's, or one keyword's; up to and including `until` (ISO) when
    given. Earlier days are always read
    whole: the fraud checks compare a day with every day before it."""
    where, args = [_SETTLED_SOURCE], []
    if task_id is not None:
        where.append("keyword_id IN (SELECT id FROM keywords WHERE task_id = ?)")
        args.append(task_id)
    if keyword_id is not None:
        where.append("keyword_id = ?")
        args.append(keyword_id)
    if until is not None:
        where.append("date <= ?")
        args.append(until)
    condition = " AND ".join(where)
    total = db.execute(f"SELECT count(*) FROM tracking WHERE {condition}", args).fetchone()[0]
    if total > MAX_ROWS:
        raise InputError(f"要结算的回传数据有 {total} 行，超过一次最多 {MAX_ROWS} 行："
                         "请用 --task 或 --to 缩小范围")
    grouped: dict[tuple[int, str], list[dict[str, Any]]] = defaultdict(list)
    for row in db["tracking"].rows_where(condition, args):
        grouped[(row["keyword_id"], row["date"])].append(dict(row))
    days: dict[int, list[Day]] = defaultdict(list)
    for key in sorted(grouped):
        days[key[0]].append(merge_rows(grouped[key]))
    return dict(days)
