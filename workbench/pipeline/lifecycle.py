"""The one job lifecycle: bind → plan → reuse check → claim → start → prepare → render →
complete.

`workbench make`, the app and `workbench batch` all go through these functions; they differ
only in where `render_package` runs (in process, or on a worker) and how progress is shown.
A step every job needs (drama segments, say) goes into `prepare_job` (prepare.py) and is seen
by every front end, because they all reach it through `prepare`. The keyword and task check is
such a step, run twice: `bind_task` before planning (a refused job records nothing), and again
at the start of `prepare_job` (a keyword may expire while a batch runs).

- `bind_task` (platform/gate.py) checks the keyword against the base rules and, for a task,
  that it is approved and unexpired; the task's wording, app and length limit go into the job.
  Nothing has been recorded when it refuses a job.
- `bind_material` (drama_bind.py) checks the job against its material: a novel's chapter; a
  drama's segments resolved (checked, moved out of spoken lines, or the top highlights) with
  its episodes read once. `plan_bound` runs both binds and plans.
- `plan_job` is pure (no database): the job's recipe, with template and prompt hashes (and a
  drama's episode sha256s).
- `find_reusable` is the one reuse path: an identical job's package, when it is recorded and
  every file verifies (sha256). It hashes the whole package, so callers run it once per job.
- `claim` picks the package id this run writes: the recipe's own, or a new take when a
  published, settled or rejected package holds it (those are never overwritten).
- `job_lock` keeps two processes from making the same job at once.
- `start` writes the `make` job row; `prepare` runs the cheap, cache-backed half on the driver.
- `render_package` (render_phase.py) is the CPU-heavy half and never opens the database.
- `complete` moves the package into place, writes its submission row and finishes the job; a
  failure leaves no package and no staging folder.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from workbench.compliance import ComplianceReport, Finding
from workbench.config import Settings
from workbench.errors import InputError
from workbench.footage import record_uses
from workbench.locks import FileLock, lock_path
from workbench.models import MakeJob
from workbench.package import (
    MANIFEST,
    discard_staging,
    install_package,
    staging_dir,
    verify_package,
)
from workbench.pipeline.drama_bind import bind_material
from workbench.pipeline.job_plan import JobPlan, plan_job
from workbench.pipeline.prepare import prepare_job
from workbench.pipeline.render_phase import PreparedJob, RenderedPackage, render_package
from workbench.pipeline.stages import Progress, no_progress, within
from workbench.platform.gate import bind_task
from workbench.platform.submissions_lifecycle import KEPT, record_created
from workbench.render.backgrounds import footage_start
from workbench.store import write_transaction
from workbench.store.cache import content_hash
from workbench.store.jobs import failure_recorded, finish_job, start_job
from workbench.store.submissions import (
    STATUS_NAMES,
    find_by_recipe,
    find_submission,
    record_submission,
)

LOCK_WAIT_SECONDS = 3600  # how long a second maker of the same job waits for the first


@dataclass
class MakeOutcome:
    package: Path
    submission_id: str
    job_id: int | None  # the `make` row; None for a reused package found by a batch
    manifest: dict[str, Any]
    compliance: ComplianceReport
    reused: bool  # an identical package already existed and verified
    notes: list[str]


# bind → plan ---------------------------------------------------------------------------------
def plan_bound(job: MakeJob, settings: Settings, db: Database) -> JobPlan:
    """The job bound to its task (`bind_task`) and to its material (`bind_material`: a novel's
    chapter, a drama's segments resolved), then planned. Every front end plans through here."""
    bound, drama = bind_material(bind_task(job, settings, db), settings, db)
    return plan_job(bound, settings, drama)


# reuse check → start ----------------------------------------------------------------------
def find_reusable(plan: JobPlan, settings: Settings, db: Database) -> MakeOutcome | None:
    """The package of an identical job (its own id or a later take) when it is recorded and
    every file verifies; the newest such package. A rejected package is not handed out again."""
    for row in find_by_recipe(db, plan.recipe_hash):
        if row["status"] == "rejected":
            continue
        final = settings.submissions_dir / row["id"]
        if final.is_dir() and not verify_package(final):
            manifest = json.loads((final / MANIFEST).read_text(encoding="utf-8"))
            report = ComplianceReport([Finding(**f) for f in manifest["compliance"]["findings"]])
            return MakeOutcome(final, row["id"], None, manifest, report, True, [])
    return None


def claim(plan: JobPlan, settings: Settings, db: Database) -> JobPlan:
    """The plan with the submission id this run writes. A published, settled or rejected
    package is never overwritten (its row is the record of what went out, or was turned
    down): remaking its job (`--force`, a package found damaged, a rejected one) makes a new
    take with its own id, and the notes say so."""
    notes, take, submission_id = [], 1, plan.recipe_hash[:12]
    first = None
    while (row := find_submission(db, submission_id)) and row["status"] in KEPT:
        first = first or row
        folder = settings.submissions_dir / submission_id
        problems = verify_package(folder) if folder.is_dir() else ["成品包文件夹不存在"]
        if problems and row["status"] != "rejected":
            notes.append(f"{STATUS_NAMES[row['status']]}的成品包 {submission_id} 有问题"
                         f"（{'；'.join(problems)}），保留原样没有覆盖，请核对已发布的作品")
        take += 1
        submission_id = content_hash(plan.recipe_hash, take)[:12]
    if first is not None:
        notes.append(f"成品包 {plan.recipe_hash[:12]} {STATUS_NAMES[first['status']]}，不会被覆盖；"
                     f"这次生成新的成品包 {submission_id}")
    return replace(plan, submission_id=submission_id, notes=(*plan.notes, *notes))


def job_lock(plan: JobPlan, settings: Settings) -> FileLock:
    """One maker per job across processes (`make`, the app, batches): they would share a
    staging folder. Held from the reuse check to `complete`."""
    return FileLock(lock_path(settings.home, f"job-{plan.recipe_hash[:16]}"))


def start(plan: JobPlan, db: Database) -> int:
    """The job's `make` row (status running); every later step is recorded against it."""
    job = plan.job
    return start_job(db, "make", plan.recipe_hash, material_id=job.material_id,
                     chapter=job.chapter, template_id=job.template, prompt_id=job.prompt,
                     keyword=job.keyword, app=plan.recipe["app"], params=plan.recipe)


def record_reuse(plan: JobPlan, reused: MakeOutcome, db: Database) -> MakeOutcome:
    """A run that found its package already made: recorded as a job that hit the cache."""
    make_id = start(plan, db)
    finish_job(db, make_id, {"package": str(reused.package), "reused": True}, cache_hit=1)
    reused.job_id = make_id
    return reused


# prepare → (render) → complete -------------------------------------------------------------
def prepare(plan: JobPlan, make_id: int, settings: Settings, db: Database,
            progress: Progress = no_progress) -> PreparedJob:
    """The driver's half (script, voice, render inputs, text checks); a failure is recorded on
    the job row and raised."""
    with failure_recorded(db, make_id):
        return prepare_job(plan, make_id, settings, db, progress)


def complete(prepared: PreparedJob, rendered: RenderedPackage, staging: Path,
             settings: Settings, db: Database, *, worker: str | None = None,
             actor: str = "system") -> MakeOutcome:
    """Move the assembled package into place, write its submission row (and its history
    entry, by `actor`), finish the job. On any failure the staging folder is removed and the
    job is marked failed."""
    submission_id = prepared.submission_id
    try:
        with failure_recorded(db, prepared.make_id):
            outcome = record_package(prepared, rendered, staging, settings, db, actor)
    except BaseException:
        discard_staging(settings.submissions_dir, submission_id)
        raise
    result = {"package": str(outcome.package), "submission": submission_id}
    if worker:
        result["worker"] = worker
    finish_job(db, prepared.make_id, result, notes="；".join(outcome.notes) or None)
    return outcome


def record_package(prepared: PreparedJob, rendered: RenderedPackage, staging: Path,
                   settings: Settings, db: Database, actor: str = "system") -> MakeOutcome:
    """Move the assembled package into place and write its submission row (driver only)."""
    submission_id, manifest = prepared.submission_id, rendered.manifest
    final = settings.submissions_dir / submission_id
    # The write lock first (waiting for another writer), then the row, then the rename, then
    # the commit: a busy database fails before anything moves, and a failed rename leaves no
    # row, so a package folder never exists without its row.
    with write_transaction(db):
        _record_row(prepared, rendered, final, db, actor)
        install_package(staging, final)
    return MakeOutcome(final, submission_id, prepared.make_id, manifest, rendered.report,
                       False, list(prepared.notes))


def _record_row(prepared: PreparedJob, rendered: RenderedPackage, final: Path,
                db: Database, actor: str) -> None:
    job, script, manifest = prepared.job, prepared.script, rendered.manifest
    replaced = find_submission(db, prepared.submission_id)  # a ready package remade
    if replaced is not None and replaced["status"] in KEPT:  # moved on while this one rendered
        raise InputError(f"成品包 {replaced['id']} 在这次生成期间已被标记为"
                         f"{STATUS_NAMES[replaced['status']]}，保留原样没有覆盖；"
                         "重新运行会生成新的成品包")
    row = {
        "id": prepared.submission_id, "job_id": prepared.make_id,
        "recipe_hash": prepared.recipe_hash,
        "material_id": job.material_id, "chapter": job.chapter, "keyword": script.keyword,
        "task_id": job.task_id, "keyword_id": prepared.keyword_id,
        "account_id": prepared.account_id, "draft": int(job.draft),
        "template_id": script.template_id or None,
        "template_version": script.template_version or None,
        "template_hash": script.template_hash or None,
        "title": script.title, "path": str(final),
        "video_sha256": manifest["files"]["video.mp4"]["sha256"],
        "duration": rendered.duration, "profile": manifest["render"]["profile"],
        "compliance": rendered.report.to_dict(), "warnings": len(rendered.report.warnings),
        "status": "ready", "publish_url": None, "published_at": None, "reason": None,
        "settled_at": None, "created_at": manifest["created_at"],
    }
    record_submission(db, row)
    record_created(db, row, actor, replaced)
    background = getattr(prepared.render_job, "background", None)  # a drama has episodes
    if background is not None and background.kind == "footage":  # which library seconds
        db["footage_uses"].delete_where("submission_id = ?", [prepared.submission_id])
        record_uses(db, prepared.submission_id, background, rendered.duration,
                    footage_start(background))


# The whole job in this process ---------------------------------------------------------
def run_job(job: MakeJob, settings: Settings, db: Database, progress: Progress = no_progress,
            *, cancel: threading.Event | None = None, force: bool = False,
            actor: str = "system") -> MakeOutcome:
    """Material → script → voice + subtitles → video → checked submission package, in this
    process. The keyword (and the task's, for a job for a task) is checked before anything
    is recorded. An identical job's verified package is reused unless `force`. When another
    process is making the same job, this one waits for it (and then reuses its package).
    `actor` (cli:<user>, app:<user>) is recorded in the package's history."""
    settings.ensure_dirs()
    plan = plan_bound(job, settings, db)
    lock = job_lock(plan, settings)
    if not lock.acquire(wait=LOCK_WAIT_SECONDS, on_wait=lambda: progress(
            0.0, "同一个视频正在另一个进程里生成，等它完成后复用")):
        raise InputError(f"同一个视频在另一个进程里已经生成了 {LOCK_WAIT_SECONDS // 60:.0f} 分钟"
                         "还没有结束；等它结束，或停止它后重试")
    try:
        return _run_locked(plan, settings, db, progress, cancel, force, actor)
    finally:
        lock.release()


def _run_locked(plan: JobPlan, settings: Settings, db: Database, progress: Progress,
                cancel: threading.Event | None, force: bool, actor: str) -> MakeOutcome:
    reused = None if force else find_reusable(plan, settings, db)
    if reused is not None:
        progress(1.0, "已有相同的成品，直接复用")
        return record_reuse(plan, reused, db)
    plan = claim(plan, settings, db)
    make_id = start(plan, db)
    prepared = prepare(plan, make_id, settings, db, within(progress, 0.0, 0.3))
    staging = staging_dir(settings.submissions_dir, plan.submission_id)
    try:
        with failure_recorded(db, make_id):
            rendered = render_package(prepared, staging, within(progress, 0.3, 0.98), cancel)
    except BaseException:  # failed, blocked, cancelled, Ctrl-C: no half package is kept
        discard_staging(settings.submissions_dir, plan.submission_id)
        raise
    outcome = complete(prepared, rendered, staging, settings, db, actor=actor)
    progress(1.0, f"完成：{outcome.package}")
    return outcome
