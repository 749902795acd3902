"""The studio's publishing accounts: a handle on a channel (抖音, 快手 …)."""

from __future__ import annotations

from typing import Any

from sqlite_utils import Database

from workbench.errors import InputError
from workbench.platform import history
from workbench.platform.channels import check_channel
from workbench.platform.records import get_record
from workbench.store import utcnow, write_transaction

MAX_HANDLE = 100


def add_account(db: Database, channel: str, handle: str, name: str | None, actor: str
                ) -> dict[str, Any]:
    channel = check_channel(channel)
    handle = (handle or "").strip()
    if not handle or len(handle) > MAX_HANDLE:
        raise InputError(f"账号（--handle）应为 1–{MAX_HANDLE} 个字符")
    existing = list(db["accounts"].rows_where("channel = ? AND handle = ?", [channel, handle]))
    if existing:
        raise InputError(f"{channel} 账号 {handle} 已经登记过（账号 #{existing[0]['id']}）")
    with write_transaction(db):
        account_id = db["accounts"].insert({
            "channel": channel, "handle": handle, "name": (name or "").strip() or None,
            "created_at": utcnow()}).last_pk
        history.record(db, "account", account_id, "add", actor=actor)
    return get_account(db, account_id)


def get_account(db: Database, account_id: int | str) -> dict[str, Any]:
    return get_record(db, "accounts", account_id, "账号", "workbench account list")


def list_accounts(db: Database) -> list[dict[str, Any]]:
    return [dict(r) for r in db["accounts"].rows_where(order_by="id")]
