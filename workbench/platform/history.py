"""The append-only history of every status change: time, actor, reason and what changed.

The table's triggers refuse UPDATE and DELETE (migration m007), so nothing here can rewrite
the past; `record` only appends.
"""

from __future__ import annotations

import getpass
import json
from typing import Any

from sqlite_utils import Database

from workbench.store import utcnow


def cli_actor() -> str:
    """The actor for a command run in a terminal: `cli:<login name>`."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no login name (a container without a passwd entry)
        return "cli"


def record(db: Database, entity: str, entity_id: object, action: str, *, actor: str,
           old_status: str | None = None, new_status: str | None = None,
           reason: str | None = None, data: dict[str, Any] | None = None) -> None:
    db["history"].insert({
        "entity": entity, "entity_id": str(entity_id), "action": action,
        "old_status": old_status, "new_status": new_status, "actor": actor,
        "reason": reason or None,
        "data": json.dumps(data, ensure_ascii=False, default=str) if data else None,
        "at": utcnow(),
    })


def history_of(db: Database, entity: str, entity_id: object) -> list[dict[str, Any]]:
    """Oldest first."""
    return [dict(r) for r in db["history"].rows_where(
        "entity = ? AND entity_id = ?", [entity, str(entity_id)], order_by="id")]
