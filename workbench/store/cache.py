"""Stage cache: results keyed by a content hash of everything that determines them."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlite_utils import Database
from sqlite_utils.db import NotFoundError

from workbench.store import utcnow


def content_hash(*parts: Any) -> str:
    """sha256 over a canonical JSON encoding of `parts` (dict order does not matter)."""
    blob = json.dumps(parts, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class StageCache:
    def __init__(self, db: Database):
        self.db = db
        self.table = db["stage_cache"]

    def get(self, key: str) -> Any | None:
        try:
            row = self.table.get(key)
        except NotFoundError:
            return None
        self.db.execute(
            "UPDATE stage_cache SET hits = hits + 1, last_used_at = ? WHERE key = ?",
            [utcnow(), key],
        )
        return json.loads(row["value"])

    def put(self, key: str, stage: str, backend: str, value: Any) -> None:
        now = utcnow()
        self.table.upsert(
            {
                "key": key,
                "stage": stage,
                "backend": backend,
                "value": json.dumps(value, ensure_ascii=False),
                "created_at": now,
                "last_used_at": now,
                "hits": 0,
            },
            pk="key",
        )
