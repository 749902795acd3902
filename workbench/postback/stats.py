"""Why requests were turned away, and how often: counted per platform and reason in SQLite
(so `workbench postback stats` sees what any server process refused) and logged without the
body or any secret. A rejected request never becomes an event."""

from __future__ import annotations

import logging
from typing import Any

from sqlite_utils import Database

from workbench.store import utcnow, write_transaction

log = logging.getLogger(__name__)

# reason → (HTTP status, what it means)
REASONS: dict[str, tuple[int, str]] = {
    "too_large": (413, "请求体超过 64 KB"),
    "unknown_platform": (404, "平台未登记（workbench platform add）"),
    "missing_signature": (401, "缺少 webhook-id / webhook-timestamp / webhook-signature 请求头"),
    "bad_signature": (401, "签名不对：密钥不对（未知或已停用）、请求体被改动或签名格式错误"),
    "no_secret": (401, "平台没有可用的密钥（workbench platform rotate 生成）"),
    "bad_timestamp": (401, "webhook-timestamp 不是 Unix 秒数"),
    "stale_timestamp": (401, "webhook-timestamp 与服务器时间相差超过 5 分钟"),
    "malformed_json": (400, "请求体不是 JSON 对象"),
    "invalid_event": (400, "事件缺少字段或字段格式不对"),
    "unknown_event_type": (400, "未知的事件类型"),
    "unknown_keyword": (400, "口令未登记"),
    "ambiguous_keyword": (400, "口令在多个任务里都有：请改用 submission_id"),
    "unknown_submission": (400, "成品编号不存在"),
    "negative_amount": (400, "金额是负数"),
    "invalid_amount": (400, "金额不是数字"),
}
UNKNOWN_PLATFORM = ""  # how rejections for a name no platform has are counted (names unbounded)


class Rejected(Exception):
    """A request turned away: its HTTP status, reason (a key of REASONS) and a message for
    the sender (in Chinese; never the body or a secret)."""

    def __init__(self, reason: str, message: str | None = None) -> None:
        self.reason = reason
        self.status = REASONS[reason][0]
        self.message = message or REASONS[reason][1]
        super().__init__(self.message)

    def answer(self) -> dict[str, str]:
        return {"status": "rejected", "reason": self.reason, "message": self.message}


def count_rejection(db: Database, platform: str, reason: str) -> None:
    """One more `reason` for `platform` (UNKNOWN_PLATFORM for an unregistered name)."""
    with write_transaction(db):
        db.conn.execute(
            "INSERT INTO postback_rejections (platform, reason, count, last_at) "
            "VALUES (?, ?, 1, ?) ON CONFLICT (platform, reason) DO UPDATE SET "
            "count = count + 1, last_at = excluded.last_at", [platform, reason, utcnow()])


def log_rejection(platform: str, rejected: Rejected, webhook_id: str | None) -> None:
    shown = (webhook_id or "")[:64]
    log.warning("postback rejected: platform=%r reason=%s status=%d webhook-id=%r",
                platform[:64], rejected.reason, rejected.status, shown)


def rejection_stats(db: Database) -> list[dict[str, Any]]:
    """[{platform, reason, status, meaning, count, last_at}], by platform then most counted;
    platform is "" for names that no platform has."""
    rows = db.query("SELECT platform, reason, count, last_at FROM postback_rejections "
                    "ORDER BY platform, count DESC, reason")
    return [{**row, "status": REASONS.get(row["reason"], (0, ""))[0],
             "meaning": REASONS.get(row["reason"], (0, row["reason"]))[1]} for row in rows]
