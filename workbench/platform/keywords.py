"""Keywords (口令): applied for per task and publishing account, approved or rejected by the
platform, expired by the task's deadline or their own date.

Rules: unique within a task; one active (pending or approved) keyword per task and account;
validated against the base rules and the task's own on apply. Every change of status is kept
in history. An approved or pending keyword past its date is marked expired whenever keywords
are read (`expire_due`), so nothing reads a stale "approved".
"""

from __future__ import annotations

import datetime
import sqlite3
from typing import Any

from sqlite_utils import Database

from workbench.compliance import BannedWord
from workbench.errors import InputError
from workbench.platform import history
from workbench.platform.accounts import get_account
from workbench.platform.dates import parse_optional_date, today
from workbench.platform.keyword_rules import KeywordRules, check_keyword_text
from workbench.platform.tasks import get_task, task_channels
from workbench.store import utcnow, write_transaction

STATUSES = ("pending", "approved", "rejected", "expired")
STATUS_NAMES = {"pending": "待审核", "approved": "已通过", "rejected": "已拒绝",
                "expired": "已过期"}
ACTIVE = ("pending", "approved")
# status → the statuses it may change to
TRANSITIONS = {"pending": ("approved", "rejected", "expired"),
               "approved": ("rejected", "expired"), "rejected": (), "expired": ()}
EXPIRED_REASON = "已过期：超过任务截止日期或口令有效期"


def check_status(status: str | None) -> str | None:
    if status is None or status in STATUSES:
        return status
    for name, label in STATUS_NAMES.items():
        if status == label:
            return name
    raise InputError(f"未知的口令状态「{status}」：可选 {'|'.join(STATUSES)}")


def expire_due(db: Database, on: datetime.date | None = None) -> int:
    """Mark pending and approved keywords past their task's deadline or their own expiry date
    as expired (with history); returns how many. A deadline day itself is still valid."""
    day = (on or today()).isoformat()
    due = [dict(r) for r in db.query(
        "SELECT k.id, k.status FROM keywords k JOIN tasks t ON t.id = k.task_id "
        "WHERE k.status IN ('pending', 'approved') AND "
        "((t.deadline IS NOT NULL AND t.deadline < ?) OR "
        "(k.expires_at IS NOT NULL AND k.expires_at < ?))", [day, day])]
    if not due:
        return 0
    with write_transaction(db):
        for row in due:
            _set_status(db, row, "expired", "expire", "system", EXPIRED_REASON)
    return len(due)


def _set_status(db: Database, row: dict[str, Any], status: str, action: str, actor: str,
                reason: str | None, **extra: Any) -> None:
    db["keywords"].update(row["id"], {"status": status, "reason": reason,
                                      "updated_at": utcnow(), **extra})
    history.record(db, "keyword", row["id"], action, actor=actor, old_status=row["status"],
                   new_status=status, reason=reason, data=extra or None)


def apply_keyword(db: Database, task_id: int | str, account_id: int | str, text: str,
                  words: list[BannedWord], actor: str, expires: str | None = None
                  ) -> dict[str, Any]:
    """A new pending keyword for a task and account, after every rule is checked."""
    task, account = get_task(db, task_id), get_account(db, account_id)
    if task["status"] != "open":
        raise InputError(f"任务 #{task['id']} 已关闭，不能再申请口令")
    if task["deadline"] and task["deadline"] < today().isoformat():
        raise InputError(f"任务 #{task['id']} 已过截止日期 {task['deadline']}，不能再申请口令")
    channels = task_channels(task)
    if channels and account["channel"] not in channels:
        raise InputError(f"任务 #{task['id']} 只允许在 {'、'.join(channels)} 发布，账号 "
                         f"#{account['id']} 是{account['channel']}账号")
    keyword = check_keyword_text(text, words, KeywordRules.of_task(task))
    expires_at = parse_optional_date(expires, "口令有效期")
    expire_due(db)
    same = _rows(db, "task_id = ? AND text = ?", [task["id"], keyword])
    if same:
        raise InputError(f"任务 #{task['id']} 已有口令「{keyword}」（#{same[0]['id']}，"
                         f"{STATUS_NAMES[same[0]['status']]}）：同一任务里口令不能重复")
    active = _rows(db, "task_id = ? AND account_id = ? AND status IN ('pending', 'approved')",
                   [task["id"], account["id"]])
    if active:
        raise InputError(f"账号 #{account['id']} 在任务 #{task['id']} 已有"
                         f"{STATUS_NAMES[active[0]['status']]}的口令「{active[0]['text']}」："
                         "每个账号每个任务同时只能有一个有效口令（先 keyword expire 或等它被拒）")
    now = utcnow()
    try:
        with write_transaction(db):
            keyword_id = db["keywords"].insert({
                "task_id": task["id"], "account_id": account["id"], "text": keyword,
                "status": "pending", "expires_at": expires_at, "created_at": now,
                "updated_at": now}).last_pk
            history.record(db, "keyword", keyword_id, "apply", actor=actor,
                           new_status="pending")
    except sqlite3.IntegrityError:  # another process applied the same keyword just now
        raise InputError(f"口令「{keyword}」刚被另一个进程登记，请用 keyword list 查看") from None
    return get_keyword(db, keyword_id)


def _rows(db: Database, where: str, args: list[Any]) -> list[dict[str, Any]]:
    return [dict(r) for r in db["keywords"].rows_where(where, args, order_by="id")]


def get_keyword(db: Database, keyword_id: int) -> dict[str, Any]:
    rows = _rows(db, "id = ?", [keyword_id])
    if not rows:
        raise InputError(f"没有编号为 {keyword_id} 的口令")
    return rows[0]


def find_keyword(db: Database, ref: str, task_id: int | str | None = None) -> dict[str, Any]:
    """A keyword named by its text (within `task_id` when given) or by its id (`12` or `#12`).
    Text that several tasks use is ambiguous without `task_id`. Expiry is applied first."""
    expire_due(db)
    ref = (ref or "").strip()
    task = get_task(db, task_id)["id"] if task_id is not None else None
    where, args = ("text = ?", [ref]) if task is None else ("text = ? AND task_id = ?",
                                                           [ref, task])
    rows = _rows(db, where, args)
    if len(rows) > 1:
        tasks = "、".join(f"#{r['task_id']}" for r in rows)
        raise InputError(f"口令「{ref}」在多个任务里都有（任务 {tasks}）：请加 --task 指明任务")
    if rows:
        return rows[0]
    number = ref.removeprefix("#")
    if number.isdigit():
        rows = _rows(db, "id = ?" if task is None else "id = ? AND task_id = ?",
                     [int(number)] if task is None else [int(number), task])
        if rows:
            return rows[0]
    within = f"任务 #{task} 里" if task is not None else ""
    raise InputError(f"{within}没有口令「{ref}」（workbench keyword list 查看全部）")


def change_status(db: Database, ref: str, status: str, actor: str, *,
                  task_id: int | str | None = None, reason: str | None = None,
                  expires: str | None = None) -> dict[str, Any]:
    """approve / reject / expire a keyword, by the transition rules; kept in history."""
    row = find_keyword(db, ref, task_id)
    if status == row["status"]:
        raise InputError(f"口令「{row['text']}」已经是{STATUS_NAMES[status]}状态")
    if status not in TRANSITIONS[row["status"]]:
        raise InputError(f"口令「{row['text']}」是{STATUS_NAMES[row['status']]}状态，不能改为"
                         f"{STATUS_NAMES[status]}")
    if status == "rejected" and not (reason or "").strip():
        raise InputError("请用 --reason 写明拒绝的原因")
    extra = {}
    if expires is not None:
        extra["expires_at"] = parse_optional_date(expires, "口令有效期")
    action = {"approved": "approve", "rejected": "reject", "expired": "expire"}[status]
    with write_transaction(db):
        _set_status(db, row, status, action, actor, (reason or "").strip() or None, **extra)
    expire_due(db)  # approved with a date already past: expired at once, with its history
    return get_keyword(db, row["id"])


def list_keywords(db: Database, task_id: int | str | None = None, status: str | None = None
                  ) -> list[dict[str, Any]]:
    """Keywords with their task's app and title and the account's channel and handle."""
    expire_due(db)
    where, args = [], []
    if task_id is not None:
        where.append("k.task_id = ?")
        args.append(get_task(db, task_id)["id"])
    if check_status(status):
        where.append("k.status = ?")
        args.append(status)
    sql = ("SELECT k.*, t.app, t.title AS task_title, a.channel, a.handle FROM keywords k "
           "JOIN tasks t ON t.id = k.task_id JOIN accounts a ON a.id = k.account_id"
           + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY k.id")
    return [dict(r) for r in db.query(sql, args)]
