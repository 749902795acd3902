"""Batch rows: `batches` (one per prompt folder + job set) and `batch_jobs` (one per job).

Rows are keyed so that a rerun after a crash updates them instead of adding new ones: the
batch by its id (folder + jobs), a job by (batch id, job key).
"""

from __future__ import annotations

import json
import statistics
from typing import Any

from sqlite_utils import Database

from workbench.batch.expand import PlannedJob
from workbench.batch.plan import DEFAULT_SECONDS, BatchPlan
from workbench.store import INTERRUPTED, utcnow
from workbench.store.jobs import fail_job


def start_batch(db: Database, plan: BatchPlan, executor: str, workers: int) -> None:
    now = utcnow()
    existing = db["batches"].count_where("id = ?", [plan.batch_id])
    row = {"id": plan.batch_id, "folder": str(plan.folder), "output_dir": str(plan.output_dir),
           "executor": executor, "workers": workers, "status": "running",
           "jobs_total": len(plan.jobs), "jobs_done": 0, "jobs_cached": 0, "jobs_failed": 0,
           "duplicates": 0, "started_at": now, "finished_at": None}
    if existing:
        db["batches"].update(plan.batch_id, row)
    else:
        db["batches"].insert({**row, "created_at": now})


def job_row(db: Database, batch_id: str, planned: PlannedJob, recipe_hash: str) -> dict:
    """The job's row in this batch (created on first sight, kept across reruns)."""
    found = list(db["batch_jobs"].rows_where("batch_id = ? AND job_key = ?",
                                             [batch_id, planned.key], limit=1))
    if found:
        return dict(found[0])
    db["batch_jobs"].insert({
        "batch_id": batch_id, "job_key": planned.key, "brief": planned.brief,
        "variant": planned.variant, "label": json.dumps(planned.label, ensure_ascii=False),
        "recipe_hash": recipe_hash, "submission_id": recipe_hash[:12], "status": "pending",
    })
    return job_row(db, batch_id, planned, recipe_hash)


def close_stale(db: Database, row: dict) -> None:
    """A job left `running` by a killed run: its `make` row is marked failed (interrupted)."""
    if row["status"] == "running" and row.get("make_job_id"):
        make = db["jobs"].get(row["make_job_id"])
        if make["status"] == "running":
            fail_job(db, make["id"], INTERRUPTED)


def update_job(db: Database, row_id: int, **fields: Any) -> None:
    db["batch_jobs"].update(row_id, fields)


def finish_batch(db: Database, batch_id: str, status: str, **fields: Any) -> dict:
    rows = list(db["batch_jobs"].rows_where("batch_id = ?", [batch_id]))
    counts = {s: sum(r["status"] == s for r in rows) for s in ("done", "cached", "failed")}
    db["batches"].update(batch_id, {
        "status": status, "finished_at": utcnow(), "jobs_done": counts["done"],
        "jobs_cached": counts["cached"], "jobs_failed": counts["failed"],
        "duplicates": sum(bool(r["duplicate_of"]) for r in rows), **fields})
    return dict(db["batches"].get(batch_id))


def batch_job_rows(db: Database, batch_id: str, keys: list[str]) -> list[dict]:
    """This batch's rows for `keys`, in plan order."""
    rows = {r["job_key"]: dict(r) for r in db["batch_jobs"].rows_where("batch_id = ?",
                                                                       [batch_id])}
    return [rows[k] for k in keys if k in rows]


def estimate_seconds(db: Database, profile: str) -> tuple[float, int]:
    """Typical seconds per rendered job with this profile, and how many runs that is from."""
    durations = [r["duration"] for r in db.query(
        "SELECT b.duration FROM batch_jobs b JOIN submissions s ON s.id = b.submission_id "
        "WHERE b.status = 'done' AND b.duration IS NOT NULL AND s.profile = ? "
        "ORDER BY b.finished_at DESC LIMIT 50", [profile])]
    if not durations:
        return DEFAULT_SECONDS.get(profile, 60.0), 0
    return statistics.median(durations), len(durations)
