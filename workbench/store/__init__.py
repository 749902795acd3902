"""The SQLite store: one file under WORKBENCH_HOME, WAL mode, migrated on open."""

from __future__ import annotations

import datetime
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlite_utils import Database

from workbench.errors import StoreError
from workbench.store.migrations import migrations


def utcnow() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


@contextmanager
def _migration_lock(path: Path) -> Iterator[None]:
    """One migrator at a time (an advisory lock next to the database file); the others wait,
    then find nothing pending."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: SQLite's own locking has to do
        yield
        return
    with open(path.with_name(path.name + ".migrate-lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def open_db(path: Path | str) -> Database:
    """Open (creating if needed) the database at `path` and apply pending migrations."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = Database(path)
        db.execute("PRAGMA busy_timeout = 10000")
        db.execute("PRAGMA foreign_keys = ON")
        db.enable_wal()
        if migrations.pending(db):
            with _migration_lock(path):  # several processes or threads opening a new home
                migrations.apply(db)
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"无法打开数据库 {path}: {exc}（文件损坏或不是 SQLite 数据库）") from None
    except OSError as exc:
        raise StoreError(f"无法创建数据库 {path}: {exc.strerror}") from None
    return db
