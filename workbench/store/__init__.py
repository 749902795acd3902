"""The SQLite store: one file under WORKBENCH_HOME, WAL mode, migrated on open."""

from __future__ import annotations

import datetime
import math
import os
import socket
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlite_utils import Database

from workbench.errors import StoreError
from workbench.locks import FileLock
from workbench.store.migrations import migrations

BUSY_TIMEOUT_MS = 10_000  # how long a write waits for another process's write to finish
INTERRUPTED = "已中断：运行它的进程被终止（被杀死、崩溃或断电），没有留下结果；重新运行即可"


def utcnow() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def open_db(path: Path | str) -> Database:
    """Open (creating if needed) the database at `path`, apply pending migrations, and mark
    jobs whose process has died as interrupted."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = Database(path)
        db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_MS)}")
        db.execute("PRAGMA foreign_keys = ON")
        if db.journal_mode != "wal" or migrations.pending(db):
            # Several processes or threads opening a new home: one at a time switches it to
            # WAL (SQLite does not wait for that switch) and migrates; the others then find
            # nothing to do.
            migrator = FileLock(path.with_name(path.name + ".migrate-lock"))
            migrator.acquire(wait=math.inf)
            try:
                db.enable_wal()
                migrations.apply(db)
            finally:
                migrator.release()
        close_orphaned_jobs(db)
    except sqlite3.OperationalError as exc:
        if (known := database_error(exc, path)) is not None:
            raise known from None
        raise StoreError(f"无法打开数据库 {path}: {exc}（文件损坏或不是 SQLite 数据库）") from None
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"无法打开数据库 {path}: {exc}（文件损坏或不是 SQLite 数据库）") from None
    except OSError as exc:
        raise StoreError(f"无法创建数据库 {path}: {exc.strerror}") from None
    return db


@contextmanager
def write_transaction(db: Database) -> Iterator[Database]:
    """Several statements as one write. BEGIN IMMEDIATE takes the write lock first, waiting for
    another writer up to BUSY_TIMEOUT_MS; a deferred BEGIN that reads first fails at once
    with "database is locked" when another process is writing."""
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
        db.conn.commit()
    except BaseException:
        db.conn.rollback()
        raise


def is_busy(exc: BaseException) -> bool:
    """SQLite's "database is locked": another process kept writing past BUSY_TIMEOUT_MS."""
    return isinstance(exc, sqlite3.OperationalError) and any(
        word in str(exc).lower() for word in ("locked", "busy"))


def database_error(exc: BaseException, path: Path | None = None) -> StoreError | None:
    """The user's error for an SQLite failure that is not a bug: a database kept busy by
    another process, or one that cannot be written (read-only folder or disk). None for
    anything else."""
    if is_busy(exc):
        return StoreError(f"数据库正忙：另一个 Workbench 进程正在写入，等了 "
                          f"{BUSY_TIMEOUT_MS / 1000:g} 秒仍未结束。请稍后重试")
    text = str(exc).lower()
    if isinstance(exc, sqlite3.OperationalError) and ("readonly" in text
                                                      or "unable to open" in text):
        where = f" {path}" if path else ""
        return StoreError(f"数据库{where}不可写：{exc}。数据库本身没有损坏，不要删除它；"
                          "检查 WORKBENCH_HOME 的权限或磁盘是否只读")
    return None


def job_owner() -> dict[str, object]:
    """Who runs a job: recorded on its row so a dead owner's row can be told apart."""
    return {"pid": os.getpid(), "host": socket.gethostname()}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def close_orphaned_jobs(db: Database) -> int:
    """Rows left `running` by a process of this machine that no longer exists (kill -9, a
    crash) are marked failed as interrupted; returns how many."""
    rows = list(db.query("SELECT id, pid FROM jobs WHERE status = 'running' AND host = ? "
                         "AND pid IS NOT NULL", [socket.gethostname()]))
    dead = [r["id"] for r in rows if not _alive(int(r["pid"]))]
    for job_id in dead:
        db["jobs"].update(job_id, {"status": "failed", "error": INTERRUPTED,
                                   "finished_at": utcnow()})
    return len(dead)
