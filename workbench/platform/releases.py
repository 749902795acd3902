"""Releasing a held day (`workbench settle release KEYWORD DATE`).

A CPE or CPM day with a fraud flag is held: its money is reported as `held`, not in `amount`.
A person who checked it releases it; from then on `settle` counts the day's money in `amount`
and still lists its flags, marked as released. Each (keyword, day) is released once; the
release is kept in `settlement_releases` and in history.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

from sqlite_utils import Database

from workbench.errors import InputError
from workbench.platform import history
from workbench.platform.daily import load_days
from workbench.platform.dates import parse_date
from workbench.platform.fraud import day_flags
from workbench.platform.keywords import find_keyword
from workbench.platform.money import yuan_text
from workbench.platform.tasks import get_task
from workbench.platform.terms import day_money, task_terms
from workbench.store import utcnow, write_transaction

RELEASED = "（已放行）"
MAX_REASON = 500  # characters of a release's reason


def releases_for(db: Database, keyword_ids: Iterable[int] | None = None
                 ) -> dict[tuple[int, str], dict[str, Any]]:
    """(keyword_id, date) → its release, for these keywords (or all)."""
    wanted = None if keyword_ids is None else set(keyword_ids)
    return {(r["keyword_id"], r["date"]): dict(r)
            for r in db["settlement_releases"].rows_where(order_by="id")
            if wanted is None or r["keyword_id"] in wanted}


def _already(keyword: dict[str, Any], day: str, row: dict[str, Any]) -> InputError:
    return InputError(f"口令「{keyword['text']}」{day} 已经放行过（{row['actor'] or '未知'} 于 "
                      f"{row['at'] or '未知时间'}）：不需要再放行")


def release_day(db: Database, ref: str, day: object, *, actor: str,
                spike_factor: float, task_id: int | str | None = None,
                reason: str | None = None) -> dict[str, Any]:
    """Release the held money of one flagged day of a keyword (by text, `12` or `#12`).
    Returns the release with the keyword, the day's flags and the released amount."""
    note = (reason or "").strip() or None
    if note and len(note) > MAX_REASON:
        raise InputError(f"放行原因太长（{len(note)} 个字符，最多 {MAX_REASON}）")
    keyword = find_keyword(db, ref, task_id)
    date = parse_date(day, "放行日期").isoformat()
    found = list(db["settlement_releases"].rows_where(
        "keyword_id = ? AND date = ?", [keyword["id"], date], limit=1))
    if found:
        raise _already(keyword, date, dict(found[0]))
    task = get_task(db, keyword["task_id"])
    days = load_days(db, keyword_id=keyword["id"], until=date).get(keyword["id"], [])
    flags = day_flags(task["model"], days, spike_factor).get(date)
    if not flags:
        raise InputError(f"口令「{keyword['text']}」{date} 没有被暂扣的金额（那天没有异常标记"
                         f"{'' if days and days[-1].date == date else '，也没有回传数据'}）："
                         "只有被标记暂扣的日期需要放行")
    reasons = [flag.reason for flag in flags]
    money = day_money(task_terms(task), days[-1])
    try:
        with write_transaction(db):
            release_id = db["settlement_releases"].insert({
                "keyword_id": keyword["id"], "date": date, "actor": actor, "reason": note,
                "at": utcnow()}).last_pk
            history.record(db, "settlement", f"{keyword['id']}/{date}", "release",
                           actor=actor, reason=note, data={"flags": reasons})
    except sqlite3.IntegrityError:  # another process released it a moment ago
        row = next(iter(db["settlement_releases"].rows_where(
            "keyword_id = ? AND date = ?", [keyword["id"], date], limit=1)))
        raise _already(keyword, date, dict(row)) from None
    return {"id": release_id, "keyword_id": keyword["id"], "keyword": keyword["text"],
            "task_id": keyword["task_id"], "date": date, "reason": note, "flags": reasons,
            "amount": None if money is None else yuan_text(money)}


def held_days(db: Database, *, spike_factor: float, task_id: int | str | None = None,
              date_from: str | None = None, date_to: str | None = None
              ) -> list[dict[str, Any]]:
    """Every flagged keyword-day in the range whose money is still held (not released), oldest
    first: keyword, task, date, the held amount ("12.00", None when the task's terms cannot
    price it) and the flags' reasons. What `release_day` can release, as `settle` holds it."""
    start = parse_date(date_from, "起始日期").isoformat() if date_from else None
    end = parse_date(date_to, "结束日期").isoformat() if date_to else None
    task = get_task(db, task_id)["id"] if task_id is not None else None
    days = load_days(db, task_id=task, until=end)
    released = releases_for(db, days.keys())
    texts = {r["id"]: r for r in db.query(
        "SELECT id, text, task_id FROM keywords"
        + (" WHERE task_id = ?" if task is not None else ""), [task] if task is not None else [])}
    tasks: dict[int, dict[str, Any]] = {}
    found = []
    for keyword_id, keyword_days in days.items():
        keyword = texts[keyword_id]
        owner = tasks.get(keyword["task_id"]) or tasks.setdefault(
            keyword["task_id"], get_task(db, keyword["task_id"]))
        flags = day_flags(owner["model"], keyword_days, spike_factor)
        for day in keyword_days:
            if (day.date not in flags or (keyword_id, day.date) in released
                    or (start and day.date < start)):
                continue
            money = day_money(task_terms(owner), day)
            found.append({"keyword_id": keyword_id, "keyword": keyword["text"],
                          "task_id": keyword["task_id"], "date": day.date,
                          "amount": None if money is None else yuan_text(money),
                          "reasons": [flag.reason for flag in flags[day.date]]})
    return sorted(found, key=lambda row: (row["date"], row["keyword_id"]))
