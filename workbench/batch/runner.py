"""Run a batch plan: the driver prepares, workers render, the driver records.

The driver runs the cheap, cache-backed half of every job (script + voice through the stage
cache in SQLite, so variants sharing a script or a voice compute it once) and hands the
CPU-heavy half (render, cover, checks, package files, frame fingerprint) to the executor as
plain data. It alone moves packages into place and writes rows, so SQLite has one writer
whatever the executor.

Resuming: a job whose package is recorded and verifies (sha256 of every file) is skipped; a
job a killed run left half-done has only a hidden staging folder (never taken for a package)
and a `running` row, which is marked interrupted and redone. Rows are keyed by batch and job,
so a rerun adds none.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from sqlite_utils import Database

from workbench.batch import records
from workbench.batch.executors import Executor, RenderOutcome, make_executor, make_task
from workbench.batch.expand import PlannedJob
from workbench.batch.fingerprint import backfill, record_fingerprint
from workbench.batch.plan import BatchPlan
from workbench.batch.report import write_reports
from workbench.config import Settings
from workbench.errors import InputError
from workbench.files import write_bytes_atomic
from workbench.lab.earnings import batch_stats
from workbench.locks import FileLock, lock_path
from workbench.package import discard_staging, staging_dir
from workbench.pipeline import lifecycle
from workbench.pipeline.job_plan import JobPlan
from workbench.pipeline.lifecycle import MakeOutcome
from workbench.pipeline.render_phase import PreparedJob
from workbench.store import utcnow
from workbench.store.jobs import fail_job

PREPARE_SHARE = 0.25  # of a job's progress bar: script + voice on the driver


class Display(Protocol):
    def start(self, total: int, skipped: int) -> None: ...
    def job_started(self, key: str, title: str) -> None: ...
    def job_progress(self, key: str, fraction: float, message: str) -> None: ...
    def job_finished(self, key: str, status: str, message: str) -> None: ...
    def close(self) -> None: ...


class NoDisplay:
    def start(self, total: int, skipped: int) -> None: ...
    def job_started(self, key: str, title: str) -> None: ...
    def job_progress(self, key: str, fraction: float, message: str) -> None: ...
    def job_finished(self, key: str, status: str, message: str) -> None: ...
    def close(self) -> None: ...


@dataclass
class BatchResult:
    batch_id: str
    status: str  # done | failed | interrupted
    rows: list[dict]  # batch_jobs rows in plan order
    report_csv: Path
    report_html: Path
    notes: list[str] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(r["status"] == status for r in self.rows)

    @property
    def duplicates(self) -> list[dict]:
        return [r for r in self.rows if r["duplicate_of"]]


@dataclass(frozen=True)
class Surveyed:
    """A batch job planned (once per run) and checked for a reusable package (once per run)."""

    planned: PlannedJob
    plan: JobPlan  # None only in a dry run, for a drama folder not imported yet
    reusable: MakeOutcome | None


def survey(plan: BatchPlan, settings: Settings, db: Database, *, force: bool = False
           ) -> list[Surveyed]:
    """Every job's plan (bound to its task first: the keyword checked, the task's wording in
    the recipe) and its verified package, if an identical one exists (`force`: none).
    Verifying hashes whole packages, so the CLI surveys once and hands the result to
    `run_batch`."""
    found = []
    for p in plan.jobs:
        if p.job.chapter is None and not p.job.material_id:
            # a drama folder a dry run has not imported: its segments bind once it is stored
            found.append(Surveyed(p, None, None))  # type: ignore[arg-type]
            continue
        job_plan = lifecycle.plan_bound(p.job, settings, db)
        found.append(Surveyed(p, job_plan, None if force else
                              lifecycle.find_reusable(job_plan, settings, db)))
    return found


@dataclass
class _Running:
    planned: PlannedJob
    row_id: int
    prepared: PreparedJob
    started: float
    staging: Path | None
    lock: FileLock  # this job's lock (lifecycle.job_lock), held until it is recorded


def title_of(planned: PlannedJob) -> str:
    label = planned.label
    part = f"第{label['chapter']}章" if isinstance(label["chapter"], int) else label["chapter"]
    return f"{Path(planned.brief).name} #{planned.variant} {part} {label['voice']}"


def run_batch(plan: BatchPlan, settings: Settings, db: Database, *, executor: str = "local",
              workers: int = 1, ray_address: str | None = None, transfer: str | None = None,
              display: Display | None = None, force: bool = False,
              surveyed: list[Surveyed] | None = None, actor: str = "system",
              cancel: threading.Event | None = None) -> BatchResult:
    """Run every job of `plan` (skipping finished ones) and write the report. `surveyed` is
    `survey(plan, …)` when the caller already has it (the jobs are not planned again);
    `actor` is recorded in the history of every package made. Setting `cancel` stops the
    batch like Ctrl-C (the jobs in flight fail as 已取消, the rest stay pending, finished
    packages stay) but returns its result, status `interrupted`, report written."""
    if workers < 1:
        raise InputError(f"--workers 至少为 1（收到 {workers}）")
    transfer = transfer or ("bytes" if executor == "ray" else "shared")
    display = display or NoDisplay()
    settings.ensure_dirs()
    with _only_runner(lock_path(settings.home, f"batch-{plan.batch_id}")):
        if surveyed is None:
            surveyed = survey(plan, settings, db, force=force)
        return _run(plan, surveyed, settings, db, executor, workers, ray_address, transfer,
                    display, actor, cancel or threading.Event())


@contextmanager
def _only_runner(path: Path) -> Iterator[None]:
    """One process per batch at a time (two would render the same jobs into the same staging
    folders). The lock dies with its process, so a killed batch never blocks its rerun."""
    lock = FileLock(path)
    if not lock.acquire():
        raise InputError("这个批次已经在另一个 workbench batch 进程里运行（或在网页的「批量」里）；"
                         "等它结束，或先停止它再重新运行")
    try:
        yield
    finally:
        lock.release()


def _run(plan: BatchPlan, surveyed: list[Surveyed], settings: Settings, db: Database,
         executor: str, workers: int, ray_address: str | None, transfer: str,
         display: Display, actor: str, cancel: threading.Event) -> BatchResult:
    records.start_batch(db, plan, executor, workers)
    batch_id = plan.batch_id
    todo: deque[tuple[PlannedJob, JobPlan, int]] = deque()
    for planned, job_plan, reusable in ((s.planned, s.plan, s.reusable) for s in surveyed):
        row = records.job_row(db, batch_id, planned, job_plan.recipe_hash)
        records.close_stale(db, row)
        if reusable is not None:
            status = "done" if row["status"] == "done" else "cached"
            records.update_job(db, row["id"], status=status, error=None,
                               package=str(reusable.package),
                               recipe_hash=job_plan.recipe_hash,
                               submission_id=job_plan.submission_id)
        else:
            records.update_job(db, row["id"], status="pending", error=None,
                               recipe_hash=job_plan.recipe_hash,
                               submission_id=job_plan.submission_id)
            todo.append((planned, job_plan, row["id"]))
    for keyword, task_id in {(p.job.keyword, p.job.task_id) for p in plan.jobs}:
        backfill(db, keyword, task_id)  # earlier packages made outside a batch count too

    display.start(len(plan.jobs), len(plan.jobs) - len(todo))
    status = "done"
    running: dict[str, _Running] = {}
    pool = make_executor(executor, workers, ray_address) if todo else None
    try:
        while (todo or running) and not cancel.is_set():
            while todo and len(running) < workers + 1 and not cancel.is_set():
                # one prepared job waits in the queue
                planned, job_plan, row_id = todo.popleft()
                entry = _prepare(planned, job_plan, row_id, settings, db, display, transfer)
                if entry is not None:
                    running[planned.key] = entry
                    pool.submit(make_task(planned.key, entry.prepared, entry.staging, transfer))
            for outcome in pool.finished(timeout=0.2):
                _record(running.pop(outcome.key), outcome, settings, db, display, actor)
            for key, fraction, message in pool.progress_events():
                if key in running:
                    display.job_progress(key, PREPARE_SHARE + (1 - PREPARE_SHARE) * fraction,
                                         message)
        if cancel.is_set() and (todo or running):
            status = "interrupted"
            _abandon(pool, running, "已取消", settings, db, display)
            pool = None
    except BaseException as exc:  # Ctrl-C, or a failure of the driver itself (disk full …)
        status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
        reason = "已取消" if isinstance(exc, KeyboardInterrupt) else f"批量运行中止：{exc}"
        _abandon(pool, running, reason, settings, db, None)
        pool = None
        raise
    finally:
        if pool is not None:
            pool.shutdown()
        display.close()
        keys = [p.key for p in plan.jobs]
        rows = records.batch_job_rows(db, batch_id, keys)
        if status != "interrupted" and any(r["status"] == "failed" for r in rows):
            status = "failed"
        csv_path, html_path = write_reports(
            plan, rows, batch_id, batch_stats(db, batch_id, settings.spike_factor))
        records.finish_batch(db, batch_id, status, report_csv=str(csv_path),
                             report_html=str(html_path))
    return BatchResult(batch_id, status, rows, csv_path, html_path, list(plan.notes))


def _abandon(pool: Executor | None, running: dict[str, _Running], reason: str, settings: Settings,
             db: Database, display: Display | None) -> None:
    """Stop the workers first, then fail the jobs in flight and clean up after them (their
    staging folders go; finished packages are not touched)."""
    if pool is not None:
        pool.cancel_all()
        pool.shutdown()
    for key, entry in running.items():
        fail_job(db, entry.prepared.make_id, reason)
        discard_staging(settings.submissions_dir, entry.prepared.submission_id)
        records.update_job(db, entry.row_id, status="failed", error=reason)
        entry.lock.release()
        if display is not None:
            display.job_finished(key, "failed", reason)
    running.clear()


def _prepare(planned: PlannedJob, job_plan: JobPlan, row_id: int, settings: Settings,
             db: Database, display: Display, transfer: str) -> _Running | None:
    key, started = planned.key, time.monotonic()
    display.job_started(key, title_of(planned))

    def failed(message: str) -> None:
        records.update_job(db, row_id, status="failed", error=message,
                           duration=round(time.monotonic() - started, 2),
                           finished_at=utcnow())
        display.job_finished(key, "failed", message)

    lock = lifecycle.job_lock(job_plan, settings)
    if not lock.acquire():  # a `workbench make` or another batch is making this very job
        failed("同一个视频正在另一个进程里生成；它完成后重新运行本批次即可复用")
        return None
    job_plan = lifecycle.claim(job_plan, settings, db)
    make_id = lifecycle.start(job_plan, db)
    records.update_job(db, row_id, status="running", make_job_id=make_id, error=None,
                       submission_id=job_plan.submission_id, started_at=utcnow(),
                       finished_at=None, duplicate_of=None, distance=None)
    try:
        prepared = lifecycle.prepare(job_plan, make_id, settings, db,
                                     lambda f, m: display.job_progress(key, PREPARE_SHARE * f, m))
        staging = (staging_dir(settings.submissions_dir, job_plan.submission_id)
                   if transfer == "shared" else None)
    except Exception as exc:  # noqa: BLE001 - this job failed (blocked, bad footage …): others go on
        lock.release()
        failed(str(exc) or type(exc).__name__)
        return None
    return _Running(planned, row_id, prepared, started, staging, lock)


def _record(entry: _Running, outcome: RenderOutcome, settings: Settings, db: Database,
            display: Display, actor: str) -> None:
    try:
        _record_locked(entry, outcome, settings, db, display, actor)
    finally:
        entry.lock.release()


def _record_locked(entry: _Running, outcome: RenderOutcome, settings: Settings, db: Database,
                   display: Display, actor: str) -> None:
    prepared, key = entry.prepared, entry.planned.key
    submission_id = prepared.submission_id
    if outcome.error is None:
        try:
            staging = entry.staging or _unpack(outcome, settings, submission_id)
            lifecycle.complete(prepared, outcome.rendered, staging, settings, db,
                               worker=outcome.host, actor=actor)
        except Exception as exc:  # noqa: BLE001 - recorded as this job's failure
            outcome = RenderOutcome(key, error=str(exc) or type(exc).__name__)
    if outcome.error is not None:
        if db["jobs"].get(prepared.make_id)["status"] == "running":
            fail_job(db, prepared.make_id, outcome.error)
        discard_staging(settings.submissions_dir, submission_id)
        records.update_job(db, entry.row_id, status="failed", error=outcome.error,
                           duration=round(time.monotonic() - entry.started, 2),
                           finished_at=utcnow())
        display.job_finished(key, "failed", outcome.error)
        return
    duplicate, distance = (None, None)
    if outcome.frames:
        duplicate, distance = record_fingerprint(db, submission_id, prepared.script.keyword,
                                                 prepared.job.task_id, outcome.frames)
    records.update_job(db, entry.row_id, status="done", error=None,
                       package=str(settings.submissions_dir / submission_id),
                       duration=round(time.monotonic() - entry.started, 2),
                       duplicate_of=duplicate,
                       distance=None if distance is None else round(distance, 2),
                       finished_at=utcnow())
    note = f"（与 {duplicate} 几乎相同）" if duplicate else ""
    display.job_finished(key, "done", f"{submission_id}{note}")


def _unpack(outcome: RenderOutcome, settings: Settings, submission_id: str) -> Path:
    """Bytes transfer: write the returned package files into a fresh staging folder."""
    staging = staging_dir(settings.submissions_dir, submission_id)
    for name, data in (outcome.files or {}).items():
        write_bytes_atomic(staging / name, data)
    manifest = json.loads((staging / "manifest.json").read_text(encoding="utf-8"))
    if set(manifest.get("files", {})) - set(outcome.files or {}):
        raise InputError(f"工作节点返回的成品包缺少文件（{submission_id}）")
    return staging
