"""Several threads at once on one SQLite file: a fresh home's first migration, and drafts
saved from two tabs at the same moment (both updates must survive)."""

from __future__ import annotations

import threading

from workbench.store import open_db
from workbench.store.drafts import load_draft, save_draft
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


def test_drafts_saved_at_the_same_moment_keep_every_update(tmp_path):
    path = tmp_path / "w.db"
    open_db(path).close()

    def save(i: int) -> None:
        db = open_db(path)
        for j in range(5):
            save_draft(db, "alice", "material", **{f"tab{i}_{j}": j})
        db.close()

    assert _together(save, 6) == []
    saved = load_draft(open_db(path), "alice")["material"]
    assert sorted(saved) == sorted(f"tab{i}_{j}" for i in range(6) for j in range(5))
