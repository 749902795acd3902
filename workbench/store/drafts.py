"""The web app's work in progress: one draft per user, saved after every finished step."""

from __future__ import annotations

import json
from typing import Any

from sqlite_utils import Database
from sqlite_utils.db import NotFoundError

from workbench.store import utcnow, write_transaction

STEPS = ("material", "script", "voice", "background", "render")


def load_draft(db: Database, owner: str) -> dict[str, Any]:
    """The owner's draft ({} when there is none, or when the stored one is unreadable)."""
    try:
        row = db["drafts"].get(owner)
    except NotFoundError:
        return {}
    try:
        state = json.loads(row["state"])
    except (TypeError, ValueError):
        return {}
    return {**state, "step": row["step"]} if isinstance(state, dict) else {}


def save_draft(db: Database, owner: str, step: str, **values: Any) -> dict[str, Any]:
    """Merge `values` into the owner's draft and record `step` as the last finished one.

    Starting over from an earlier step drops what later steps produced, so a resumed page
    never shows a video made from a script that has since changed.
    """
    if step not in STEPS:
        raise ValueError(f"unknown step {step!r}")
    # Read and write in one write transaction: two tabs saving at once never lose an update.
    with write_transaction(db):
        state = {k: v for k, v in load_draft(db, owner).items() if k != "step"}
        for name in STEPS[STEPS.index(step) + 1:]:
            state.pop(name, None)
        state[step] = {**state.get(step, {}), **values}
        db.conn.execute(
            "INSERT INTO drafts (owner, step, state, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(owner) DO UPDATE SET step = excluded.step, state = excluded.state, "
            "updated_at = excluded.updated_at",
            [owner, step, json.dumps(state, ensure_ascii=False), utcnow()])
    return {**state, "step": step}


def clear_draft(db: Database, owner: str) -> None:
    db["drafts"].delete_where("owner = ?", [owner])
