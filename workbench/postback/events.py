"""A postback's body checked into an Event, and the event stored with its rollup.

Body (JSON object): `event_type` (a name of EVENT_TYPES, or the platform's code), `keyword`
(its text) or `submission_id`, optional `click_id`, `event_time` (milliseconds since the epoch),
optional `amount` (yuan, text or number, kept exactly as Decimal), optional `extra` (an object).
Other fields are ignored.

Storing is one write transaction: the event row (unique per platform and webhook-id, so a
retry is stored once) and the rollup into the keyword's tracking row for the event's China
date under source "postback" (activations, registrations, orders or retentions + 1; an
order's amount added to revenue). The events table is append-only (triggers refuse UPDATE and DELETE): it is
the record the rollup can always be recomputed from, so the rollup writes no history row per
event.
"""

from __future__ import annotations

import datetime
import json
import sqlite3
import time
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlite_utils import Database

from workbench.errors import InputError
from workbench.platform.daily import POSTBACK_SOURCE
from workbench.platform.dates import CHINA
from workbench.platform.money import from_text, parse_decimal, to_text
from workbench.postback.event_maps import EVENT_TYPES, event_name
from workbench.postback.stats import Rejected
from workbench.store import utcnow, write_transaction

EARLIEST_MS = 946_684_800_000  # 2000-01-01: an event_time before this is not milliseconds
FUTURE_MS = 24 * 3600 * 1000  # an event_time further ahead than this is a sender's bug
MAX_TEXT = 256  # characters of keyword, submission_id, click_id


@dataclass(frozen=True)
class Event:
    event_type: str
    sent_type: str
    keyword_id: int
    submission_id: str | None
    click_id: str | None
    event_time: int
    date: str  # ISO, China
    amount: Decimal | None
    extra: str | None  # JSON


def parse_body(body: bytes) -> dict[str, Any]:
    """The JSON object; numbers with a fraction as Decimal (exact money)."""
    try:
        data = json.loads(body, parse_float=Decimal, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        raise Rejected("malformed_json", f"请求体不是有效的 JSON：{str(exc)[:80]}") from None
    if not isinstance(data, dict):
        raise Rejected("malformed_json", "请求体应是 JSON 对象 {…}")
    return data


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} 不是 JSON 数字")


def _text(data: dict[str, Any], name: str, required: bool = False) -> str | None:
    value = data.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise Rejected("invalid_event", f"缺少 {name}")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise Rejected("invalid_event", f"{name} 应是文本")
    text = unicodedata.normalize("NFKC", str(value)).strip()
    if len(text) > MAX_TEXT:
        raise Rejected("invalid_event", f"{name} 最多 {MAX_TEXT} 个字符")
    return text


def _event_time(value: Any, now_ms: int) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise Rejected("invalid_event", "event_time 应是毫秒时间戳（整数），如 1764000000000")
    if value < EARLIEST_MS:
        raise Rejected("invalid_event", f"event_time {value} 不是毫秒时间戳（早于 2000 年；秒数请乘以 1000）")
    if value > now_ms + FUTURE_MS:
        raise Rejected("invalid_event", f"event_time {value} 比服务器时间晚一天以上")
    return value


def _amount(value: Any) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal | float):
        raise Rejected("invalid_amount", "amount 应是数字或数字文本（元）")
    try:
        number = parse_decimal(value, "amount")
    except InputError as exc:
        raise Rejected("invalid_amount", str(exc)) from None
    if number < 0:
        raise Rejected("negative_amount", f"amount 不能是负数（收到 {value}）")
    return number


def _keyword_by_text(db: Database, text: str, where: str = "") -> int:
    rows = db.execute("SELECT id, task_id FROM keywords WHERE text = ? ORDER BY id",
                      [text]).fetchall()
    if not rows:
        raise Rejected("unknown_keyword", f"口令「{text}」未登记{where}")
    if len(rows) > 1:
        tasks = "、".join(f"#{task}" for _, task in rows)
        raise Rejected("ambiguous_keyword", f"口令「{text}」在多个任务里都有（任务 {tasks}）："
                       "请改用 submission_id 指明是哪个成品")
    return int(rows[0][0])


def _keyword_of_submission(db: Database, submission_id: str) -> int:
    row = db.execute("SELECT keyword_id, keyword, task_id FROM submissions WHERE id = ?",
                     [submission_id]).fetchone()
    if row is None:
        raise Rejected("unknown_submission", f"成品「{submission_id}」不存在")
    if row[0] is not None:
        return int(row[0])
    if row[2] is not None:  # made for a task before keywords had ids: its text in that task
        found = db.execute("SELECT id FROM keywords WHERE text = ? AND task_id = ?",
                           [row[1], row[2]]).fetchone()
        if found:
            return int(found[0])
    return _keyword_by_text(db, row[1], f"（成品「{submission_id}」的口令）")


def check_event(db: Database, data: dict[str, Any], event_map: dict[str, str],
                now_ms: int | None = None) -> Event:
    """The body as an Event, or Rejected with the first problem found."""
    sent = data.get("event_type")
    if sent is None:
        raise Rejected("invalid_event", "缺少 event_type")
    name = event_name(sent, event_map)
    if name is None:
        known = "、".join(EVENT_TYPES) + ("，或平台的代码 " + "、".join(event_map)
                                          if event_map else "")
        raise Rejected("unknown_event_type", f"未知的 event_type「{str(sent)[:40]}」：可用 {known}")
    keyword, submission = _text(data, "keyword"), _text(data, "submission_id")
    if keyword is None and submission is None:
        raise Rejected("invalid_event", "缺少 keyword 或 submission_id")
    keyword_id = _keyword_by_text(db, keyword) if keyword is not None else None
    if submission is not None:
        of_submission = _keyword_of_submission(db, submission)
        if keyword_id is not None and keyword_id != of_submission:
            raise Rejected("invalid_event", f"keyword「{keyword}」不是成品「{submission}」的口令")
        keyword_id = of_submission
    if "event_time" not in data:
        raise Rejected("invalid_event", "缺少 event_time（毫秒时间戳）")
    moment = _event_time(data["event_time"], now_ms or int(time.time() * 1000))
    extra = data.get("extra")
    if extra is not None and not isinstance(extra, dict):
        raise Rejected("invalid_event", "extra 应是 JSON 对象 {…}")
    day = datetime.datetime.fromtimestamp(moment // 1000, CHINA).date().isoformat()
    return Event(event_type=name, sent_type=str(sent)[:40], keyword_id=keyword_id,  # type: ignore[arg-type]
                 submission_id=submission, click_id=_text(data, "click_id"), event_time=moment,
                 date=day, amount=_amount(data.get("amount")),
                 extra=json.dumps(extra, ensure_ascii=False, default=_number) if extra else None)


def _number(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(type(value).__name__)


def is_stored(db: Database, platform: str, webhook_id: str) -> bool:
    return db.execute("SELECT 1 FROM postback_events WHERE platform = ? AND webhook_id = ?",
                      [platform, webhook_id]).fetchone() is not None


def store_event(db: Database, platform: str, webhook_id: str, event: Event) -> bool:
    """Store the event and its rollup, committed before this returns. False: an event with
    this webhook-id was already stored (a retry): nothing changes."""
    now = utcnow()
    try:
        with write_transaction(db):
            if is_stored(db, platform, webhook_id):
                return False
            db.conn.execute(
                "INSERT INTO postback_events (platform, webhook_id, event_type, sent_type, "
                "keyword_id, submission_id, click_id, event_time, date, amount, extra, "
                "received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [platform, webhook_id, event.event_type, event.sent_type, event.keyword_id,
                 event.submission_id, event.click_id, event.event_time, event.date,
                 to_text(event.amount), event.extra, now])
            _roll_up(db, event, now)
    except sqlite3.IntegrityError:  # another process stored the same webhook-id just now
        if is_stored(db, platform, webhook_id):
            return False
        raise
    return True


def _roll_up(db: Database, event: Event, now: str) -> None:
    """Add the event to its keyword-day's postback tracking row (created when missing)."""
    column = EVENT_TYPES[event.event_type]
    revenue = event.amount if event.event_type == "order" else None
    conn = db.conn
    row = conn.execute("SELECT id, revenue FROM tracking WHERE keyword_id = ? AND date = ? "
                       "AND source = ?", [event.keyword_id, event.date, POSTBACK_SOURCE]
                       ).fetchone()
    if row is None:
        conn.execute(f"INSERT INTO tracking (keyword_id, date, source, {column}, revenue, "
                     "created_at, updated_at) VALUES (?, ?, ?, 1, ?, ?, ?)",
                     [event.keyword_id, event.date, POSTBACK_SOURCE, to_text(revenue), now, now])
        return
    total = row[1]
    if revenue is not None:
        total = to_text((from_text(row[1]) or Decimal(0)) + revenue)
    conn.execute(f"UPDATE tracking SET {column} = COALESCE({column}, 0) + 1, revenue = ?, "
                 "updated_at = ? WHERE id = ?", [total, now, row[0]])


def list_events(db: Database, platform: str | None = None, limit: int = 100
                ) -> list[dict[str, Any]]:
    """Stored events, newest first, with the keyword's text and task."""
    where, args = ("WHERE e.platform = ?", [platform]) if platform else ("", [])
    sql = ("SELECT e.id, e.platform, e.webhook_id, e.event_type, e.sent_type, k.text AS keyword, "
           "e.keyword_id, k.task_id, e.submission_id, e.click_id, e.event_time, e.date, "
           "e.amount, e.extra, e.received_at FROM postback_events e "
           f"JOIN keywords k ON k.id = e.keyword_id {where} ORDER BY e.id DESC LIMIT ?")
    rows = [dict(row) for row in db.query(sql, [*args, max(1, min(int(limit), 10_000))])]
    for row in rows:
        row["extra"] = json.loads(row["extra"]) if row["extra"] else None
    return rows
