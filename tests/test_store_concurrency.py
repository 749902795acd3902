"""Several threads at once on one SQLite file: a fresh home's first migration. (A project's
fields saved from several tabs at the same moment: tests/test_projects.py.)"""

from __future__ import annotations

import threading

from workbench.store import open_db
from workbench.store.migrations import migrations


def _together(target, n: int) -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(n)

    def run(i: int) -> None:
        barrier.wait()
        try:
            target(i)
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_a_new_database_opened_by_many_at_once_migrates_once(tmp_path):
    path = tmp_path / "fresh.db"
    assert _together(lambda i: open_db(path).close(), 8) == []
    db = open_db(path)
    assert migrations.pending(db) == []
    assert db["_sqlite_migrations"].count == len(migrations.applied(db))


# Another process holding the database, and processes that died --------------------------------


def test_a_busy_database_is_a_clear_error_after_waiting(settings, monkeypatch):
    import time

    from cli_runner import run_cli
    from conftest import SAMPLES
    from db_lock import hold_write_lock

    import workbench.store

    open_db(settings.db_path).close()
    holder = hold_write_lock(settings.db_path)
    try:
        monkeypatch.setattr(workbench.store, "BUSY_TIMEOUT_MS", 500)
        started = time.monotonic()
        result = run_cli("material", "add", str(SAMPLES / "night-ferry.txt"))
        assert result.returncode == 1 and "数据库正忙" in result.stderr, result.stderr
        assert "Traceback" not in result.stderr and "OperationalError" not in result.stderr
        assert 0.45 <= time.monotonic() - started < 10  # waited the set time, then said so
    finally:
        holder.kill()
        holder.wait()
    db = open_db(settings.db_path)
    assert db["materials"].count == 0  # nothing half-written
    assert run_cli("material", "add", str(SAMPLES / "night-ferry.txt")).returncode == 0


def test_jobs_left_running_by_a_dead_process_are_marked_interrupted(tmp_path):
    import subprocess
    import sys

    from workbench.store import INTERRUPTED
    from workbench.store.jobs import start_job

    path = tmp_path / "wb.db"
    db = open_db(path)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    orphan = start_job(db, "make", "r1")
    db["jobs"].update(orphan, {"pid": int(dead.stdout)})  # its process is gone (kill -9)
    mine = start_job(db, "make", "r2")  # this process is alive: its job stays running
    db.close()
    db = open_db(path)
    assert (db["jobs"].get(orphan)["status"], db["jobs"].get(orphan)["error"]) == (
        "failed", INTERRUPTED)
    assert db["jobs"].get(mine)["status"] == "running"
