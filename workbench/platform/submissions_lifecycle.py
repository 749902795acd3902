"""The submission lifecycle: ready → published → settled, or rejected with a reason.

- ready → published: the video went live (回填: its link and date). The link's host must
  belong to the channel of the account the keyword was applied for (without an account, to
  any known channel).
- published → published: the link or date corrected; the old values stay in history.
- published → settled: the platform paid for it.
- ready | published → rejected: the platform (or the studio) turned it down; a reason is
  required.

Every change appends to the append-only history (entity "submission", the package id), and
making the package appends "create" (lifecycle.record_package). A draft package (made while
its keyword was pending) is never published. Published, settled and rejected packages are
kept as they are: remaking their job makes a new take (lifecycle.claim).
"""

from __future__ import annotations

import json
from typing import Any

from sqlite_utils import Database

from workbench.errors import InputError
from workbench.platform import history
from workbench.platform.accounts import get_account
from workbench.platform.channels import check_publish_url
from workbench.store import utcnow, write_transaction
from workbench.store.submissions import (
    STATUS_NAMES,
    find_submission,
    get_submission,
    publish_time,
)

ENTITY = "submission"
STATUSES = tuple(STATUS_NAMES)  # ready, published, settled, rejected
# status → the statuses it may change to
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "ready": ("published", "rejected"),
    "published": ("published", "settled", "rejected"),
    "settled": (),
    "rejected": (),
}
KEPT = ("published", "settled", "rejected")  # never overwritten by a remake
ACTION_NAMES = {"create": "生成", "publish": "发布", "relink": "更正链接", "settle": "结算",
                "reject": "退回"}
MAX_REASON = 500  # characters of a rejection reason
_WHY_NOT = {
    "settled": "已结算的成品包不能再改动",
    "rejected": "已退回的成品包不能再改动：需要的话重新生成一个",
    "ready": "先回填发布链接（workbench submissions publish）",
}


def _check_move(row: dict[str, Any], status: str) -> None:
    if status in TRANSITIONS.get(row["status"], ()):
        return
    now, wanted = STATUS_NAMES.get(row["status"], row["status"]), STATUS_NAMES[status]
    if row["status"] == status:
        raise InputError(f"成品包 {row['id']} 已经是{now}状态")
    raise InputError(f"成品包 {row['id']} 是{now}状态，不能改为{wanted}："
                     f"{_WHY_NOT.get(row['status'], '')}")


def _change(db: Database, submission_id: str, status: str, action: str, actor: str,
            fields: dict[str, Any], *, reason: str | None = None,
            data: dict[str, Any] | None = None) -> dict[str, Any]:
    """Re-read the row under the write lock (another process may have moved it), check the
    move again, update it and append its history, as one write."""
    with write_transaction(db):
        current = find_submission(db, submission_id)
        if current is None:
            raise InputError(f"提交记录 {submission_id} 已不存在")
        _check_move(current, status)
        if action == "publish" and current["status"] == "published":
            action = "relink"
            data = {**(data or {}), "old_url": current["publish_url"],
                    "old_published_at": current["published_at"]}
        db["submissions"].update(submission_id, {"status": status, **fields})
        history.record(db, ENTITY, submission_id, action, actor=actor,
                       old_status=current["status"], new_status=status, reason=reason,
                       data=data)
    return get_submission(db, submission_id)


def record_created(db: Database, row: dict[str, Any], actor: str,
                   replaced: dict[str, Any] | None = None) -> None:
    """The history entry of a package just made (inside the caller's write transaction);
    `replaced` is the row a remade package replaces (a ready one)."""
    history.record(db, ENTITY, row["id"], "create", actor=actor,
                   old_status=replaced["status"] if replaced else None,
                   new_status=row["status"],
                   data={"job_id": row.get("job_id"), "recipe_hash": row.get("recipe_hash"),
                         "task_id": row.get("task_id"), "keyword": row.get("keyword"),
                         **({"draft": True} if row.get("draft") else {})})


def account_channel(db: Database, row: dict[str, Any]) -> str | None:
    """The channel of the account the package was made for, or None (no account)."""
    return get_account(db, row["account_id"])["channel"] if row.get("account_id") else None


def publish(db: Database, ref: str, url: str, published_at: str | None = None, *,
            actor: str) -> dict[str, Any]:
    """Record where the video went live (回填): ready → published, or correct the link of a
    published one. The link must belong to the account's channel."""
    row = get_submission(db, ref)
    if row.get("draft"):
        raise InputError(f"成品包 {row['id']} 是草稿（生成时口令「{row['keyword']}」还没通过审核），"
                         "不能发布：口令审核通过后去掉 --draft 重新生成，再发布新的成品包")
    _check_move(row, "published")
    link = check_publish_url(url or "", account_channel(db, row))
    when = publish_time(published_at)
    return _change(db, row["id"], "published", "publish", actor,
                   {"publish_url": link, "published_at": when},
                   data={"url": link, "published_at": when})


def settle(db: Database, ref: str, *, actor: str) -> dict[str, Any]:
    """published → settled: the platform paid for this video."""
    row = get_submission(db, ref)
    _check_move(row, "settled")
    return _change(db, row["id"], "settled", "settle", actor, {"settled_at": utcnow()})


def reject(db: Database, ref: str, reason: str, *, actor: str) -> dict[str, Any]:
    """ready | published → rejected, with the reason (required)."""
    row = get_submission(db, ref)
    text = (reason or "").strip()
    if not text:
        raise InputError("请用 --reason 写明退回的原因（例如 平台审核未通过：画面含外部水印）")
    if len(text) > MAX_REASON:
        raise InputError(f"退回原因太长（{len(text)} 个字符，最多 {MAX_REASON}）")
    _check_move(row, "rejected")
    return _change(db, row["id"], "rejected", "reject", actor, {"reason": text}, reason=text)


def submission_history(db: Database, ref: str) -> list[dict[str, Any]]:
    """The package's history, oldest first (the id may be a prefix)."""
    return history.history_of(db, ENTITY, get_submission(db, ref)["id"])


HISTORY_COLUMNS = ("时间", "操作人", "操作", "状态", "原因", "详情")


def history_lines(entries: list[dict[str, Any]]) -> list[tuple[str, str, str, str, str, str]]:
    """`submission_history` in words, one line an entry (HISTORY_COLUMNS): the time to the
    second, who, what, the status change, the reason, and a link change."""
    lines = []
    for entry in entries:
        old, new = (STATUS_NAMES.get(s, s) if s else "" for s in (entry["old_status"],
                                                                 entry["new_status"]))
        data = json.loads(entry["data"]) if entry["data"] else {}
        detail = data.get("url") or ""
        if data.get("old_url"):
            detail = f"{data['old_url']} → {detail}"
        lines.append(((entry["at"] or "")[:19].replace("T", " "), entry["actor"],
                      ACTION_NAMES.get(entry["action"], entry["action"]),
                      f"{old}→{new}" if old else new, entry["reason"] or "", detail))
    return lines
