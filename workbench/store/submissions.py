"""Submission rows: one per package, linking it to its job, keyword and (when known) task.

How a row's status changes (publish, settle, reject, with history) is
`workbench.platform.submissions_lifecycle`."""

from __future__ import annotations

import datetime
import json
from typing import Any

from sqlite_utils import Database

from workbench.errors import InputError
from workbench.store import utcnow

STATUS_NAMES = {"ready": "待发布", "published": "已发布", "settled": "已结算",
                "rejected": "已退回"}  # for users
DRAFT_NAME = "草稿"


def status_label(row: dict[str, Any]) -> str:
    """The status as users read it, e.g. 待发布 or 待发布·草稿 (a package that may not be
    published: its keyword was still pending)."""
    name = STATUS_NAMES.get(row["status"], row["status"])
    return f"{name}·{DRAFT_NAME}" if row.get("draft") else name


def record_submission(db: Database, row: dict[str, Any]) -> None:
    """Insert or replace the row for `row["id"]` (a re-made package replaces its old row)."""
    row = {**row, "created_at": row.get("created_at") or utcnow()}
    if isinstance(row.get("compliance"), dict):
        row["compliance"] = json.dumps(row["compliance"], ensure_ascii=False)
    db["submissions"].upsert(row, pk="id")


def get_submission(db: Database, submission_id: str) -> dict[str, Any]:
    """The row with this id, or with the only id starting with it."""
    row = find_submission(db, submission_id)
    if row is not None:
        return row
    matches = list(db["submissions"].rows_where("id like ?", [f"{submission_id}%"], limit=2))
    if len(matches) == 1:
        return dict(matches[0])
    raise InputError(
        f"没有编号为 {submission_id} 的提交记录（workbench submissions list 查看全部）"
    )


def find_by_recipe(db: Database, recipe_hash: str) -> list[dict[str, Any]]:
    """Every package made from this recipe (a published one and later takes), newest first."""
    return [dict(r) for r in db["submissions"].rows_where(
        "recipe_hash = ?", [recipe_hash], order_by="created_at desc, id")]


def find_submission(db: Database, submission_id: str) -> dict[str, Any] | None:
    """The row with exactly this id, or None."""
    rows = list(db["submissions"].rows_where("id = ?", [submission_id], limit=1))
    return dict(rows[0]) if rows else None


def list_submissions(db: Database, limit: int = 50, keyword: str | None = None
                     ) -> list[dict[str, Any]]:
    where, args = ("keyword = ?", [keyword]) if keyword else (None, [])
    return [dict(r) for r in db["submissions"].rows_where(
        where, args, select="id, created_at, keyword, title, duration, profile, status, warnings, "
        "task_id, job_id, path, publish_url, draft, keyword_id, account_id",
        order_by="created_at desc, id", limit=limit)]


def publish_time(value: str | None) -> str:
    """A date or date-time (ISO: 2026-11-22 or 2026-11-22T20:00), as stored; now when None."""
    if value is None or not value.strip():
        return utcnow()
    try:
        parsed = datetime.datetime.fromisoformat(value.strip())
    except ValueError:
        raise InputError(f"发布时间格式不对：{value[:40]!r}（写成 2026-11-22 或 2026-11-22T20:00）"
                         ) from None
    if len(value.strip()) == 10:  # a date alone stays a date
        return parsed.date().isoformat()
    return parsed.isoformat(timespec="minutes" if parsed.second == 0 else "seconds")
