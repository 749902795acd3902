"""Job rows: every run is recorded, with its recipe, backend, outcome and result."""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import tenacity
from sqlite_utils import Database

from workbench.errors import WorkbenchError
from workbench.store import database_error, is_busy, job_owner, utcnow

log = logging.getLogger(__name__)


def start_job(db: Database, kind: str, recipe_hash: str, **fields: Any) -> int:
    row = {
        **job_owner(),
        "kind": kind,
        "status": "running",
        "recipe_hash": recipe_hash,
        "created_at": utcnow(),
        **{k: (json.dumps(v, ensure_ascii=False) if k == "params" else v)
           for k, v in fields.items()},
    }
    return int(db["jobs"].insert(row).last_pk)


def finish_job(db: Database, job_id: int, result: Any, **fields: Any) -> None:
    db["jobs"].update(
        job_id,
        {
            "status": "done",
            "result": json.dumps(result, ensure_ascii=False),
            "finished_at": utcnow(),
            **fields,
        },
    )


def fail_job(db: Database, job_id: int, error: str) -> None:
    db["jobs"].update(job_id, {"status": "failed", "error": error, "finished_at": utcnow()})


@contextmanager
def failure_recorded(db: Database, job_id: int) -> Iterator[None]:
    """Any exception inside marks the job failed (with a message a user can read), then
    propagates; Ctrl-C is recorded as cancelled; a database kept busy by another process
    becomes StoreError("数据库正忙…"). When even the failure cannot be written (the database
    is still busy), the row stays `running` and is marked interrupted by the next open."""
    try:
        yield
    except WorkbenchError as exc:
        _record_failure(db, job_id, str(exc))
        raise
    except KeyboardInterrupt:
        _record_failure(db, job_id, "已取消")
        raise
    except Exception as exc:
        known = database_error(exc)
        _record_failure(db, job_id, str(known) if known else f"{type(exc).__name__}: {exc}")
        if known is not None:
            raise known from None
        raise


FAILURE_WAIT_SECONDS = 30.0  # how long a failure waits for a busy database to be written


def _record_failure(db: Database, job_id: int, error: str) -> None:
    """Mark the job failed, waiting out a busy database; if it stays busy the row keeps
    `running` and the next open of the store, after this process ends, marks it interrupted."""
    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_delay(FAILURE_WAIT_SECONDS), wait=tenacity.wait_fixed(0.2),
        retry=tenacity.retry_if_exception(is_busy), reraise=True)
    try:
        retrying(fail_job, db, job_id, error)
    except sqlite3.OperationalError as exc:
        if not is_busy(exc):
            raise
        log.warning("job %s: the database stayed busy; its failure is not recorded", job_id)


def list_jobs(db: Database, limit: int = 50) -> list[dict[str, Any]]:
    return list(
        db["jobs"].rows_where(
            select="id, kind, status, material_id, chapter, template_id, keyword, backend, "
            "cache_hit, created_at, error, notes",
            order_by="id desc",
            limit=limit,
        )
    )
