import sqlite3

import pytest

from workbench.errors import StoreError
from workbench.store import open_db
from workbench.store.cache import StageCache, content_hash
from workbench.store.migrations import migrations

EXPECTED_COLUMNS = {
    "materials": [
        "id", "title", "kind", "format", "encoding", "filename", "source_path", "sha256",
        "chars", "chapter_count", "split", "created_at",
    ],
    "chapters": ["id", "material_id", "idx", "title", "text", "chars"],
    "jobs": [
        "id", "kind", "status", "recipe_hash", "material_id", "chapter", "template_id",
        "prompt_id", "keyword", "app", "backend", "model", "params", "result", "cache_hit",
        "error", "created_at", "finished_at", "notes", "parent_id", "pid", "host",
    ],
    "submissions": [
        "id", "job_id", "recipe_hash", "material_id", "chapter", "keyword", "task_id", "title",
        "path", "video_sha256", "duration", "profile", "compliance", "warnings", "status",
        "publish_url", "published_at", "created_at", "account_id", "keyword_id", "draft",
        "template_id", "template_version", "template_hash", "reason", "settled_at",
    ],
    "stage_cache": ["key", "stage", "backend", "value", "created_at", "last_used_at", "hits"],
    "drafts": ["owner", "step", "state", "updated_at"],
    "projects": ["id", "owner", "name", "fields", "render", "created_at", "updated_at"],
    "batches": [
        "id", "folder", "output_dir", "executor", "workers", "status", "jobs_total", "jobs_done",
        "jobs_cached", "jobs_failed", "duplicates", "report_csv", "report_html", "created_at",
        "started_at", "finished_at",
    ],
    "batch_jobs": [
        "id", "batch_id", "job_key", "brief", "variant", "label", "recipe_hash", "submission_id",
        "make_job_id", "status", "error", "duration", "package", "duplicate_of", "distance",
        "started_at", "finished_at",
    ],
    "fingerprints": [
        "submission_id", "keyword", "task_id", "algo", "frames", "duplicate_of", "distance",
        "created_at",
    ],
    "tasks": [
        "id", "platform", "external_id", "app", "title", "kind", "model", "price", "share",
        "action", "channels", "keyword_min", "keyword_max", "keyword_pattern", "wording",
        "max_seconds", "deadline", "notes", "status", "created_at", "updated_at",
        "settle_source",
    ],
    "accounts": ["id", "channel", "handle", "name", "created_at"],
    "keywords": ["id", "task_id", "account_id", "text", "status", "reason", "expires_at",
                 "created_at", "updated_at"],
    "history": ["id", "entity", "entity_id", "action", "old_status", "new_status", "actor",
                "reason", "data", "at"],
    "tracking_imports": ["id", "file", "sha256", "format", "encoding", "source", "mapping",
                         "inserted", "updated", "unchanged", "rejected", "actor", "at"],
    "tracking": [
        "id", "keyword_id", "date", "source", "views", "likes", "comments", "shares",
        "favorites", "clicks", "searches", "activations", "registrations", "orders", "revenue",
        "import_id", "created_at", "updated_at", "retentions",
    ],
    "settlement_releases": ["id", "keyword_id", "date", "actor", "reason", "at"],
    "episodes": [
        "id", "material_id", "idx", "number", "filename", "path", "sha256", "size", "duration",
        "width", "height", "fps", "video_codec", "audio_codec", "subtitle_path",
        "subtitle_format", "subtitle_encoding", "subtitles", "created_at",
    ],
    "footage": ["id", "kind", "path", "filename", "sha256", "size", "duration", "width", "height",
                "fps", "tags", "thumb", "created_at"],
    "footage_uses": ["id", "footage_id", "submission_id", "start", "end", "created_at"],
    "postback_platforms": ["name", "event_map", "event_map_source", "created_at"],
    "postback_events": ["id", "platform", "webhook_id", "event_type", "sent_type", "keyword_id",
                        "submission_id", "click_id", "event_time", "date", "amount", "extra",
                        "received_at"],
    "postback_rejections": ["platform", "reason", "count", "last_at"],
    "template_versions": ["id", "template_id", "version", "content_hash", "source", "origin",
                          "note", "actor", "created_at"],
}


def test_fresh_database_has_exact_columns(tmp_path):
    db = open_db(tmp_path / "w.db")
    for table, columns in EXPECTED_COLUMNS.items():
        assert [c.name for c in db[table].columns] == columns, table
    assert set(db.table_names()) == {*EXPECTED_COLUMNS, "_sqlite_migrations"}
    assert db.journal_mode == "wal"
    assert [m.name for m in migrations.applied(db)] == [
        "m001_initial", "m002_job_notes", "m003_submissions", "m004_drafts", "m005_batches",
        "m006_job_owner", "m007_platform", "m008_episodes", "m009_footage", "m010_postbacks",
        "m011_template_versions", "m012_projects", "m013_retentions"]


def test_migrations_apply_once(tmp_path):
    path = tmp_path / "w.db"
    open_db(path).close()
    db = open_db(path)
    assert db["_sqlite_migrations"].count == len(migrations.applied(db)) == 13
    assert migrations.pending(db) == []


def test_upgrade_from_the_first_schema_keeps_jobs(tmp_path):
    from sqlite_utils import Database

    path = tmp_path / "old.db"
    old = Database(path)
    migrations.apply(old, stop_before="m002_job_notes")
    old["jobs"].insert({"kind": "script", "status": "done", "recipe_hash": "h"})
    old.close()
    db = open_db(path)
    assert next(iter(db["jobs"].rows))["recipe_hash"] == "h"
    assert "notes" in db["jobs"].columns_dict


def test_upgrade_adds_submissions_and_keeps_jobs(tmp_path):
    from sqlite_utils import Database

    path = tmp_path / "v2.db"
    old = Database(path)
    migrations.apply(old, stop_before="m003_submissions")
    old["jobs"].insert({"kind": "voice", "status": "done", "recipe_hash": "v", "notes": "n"})
    old.close()
    db = open_db(path)
    row = next(iter(db["jobs"].rows))
    assert (row["recipe_hash"], row["notes"], row["parent_id"]) == ("v", "n", None)
    assert db["submissions"].count == 0


def test_unique_constraints(tmp_path):
    db = open_db(tmp_path / "w.db")
    db["materials"].insert({"title": "a", "kind": "novel", "sha256": "x"})
    with pytest.raises(sqlite3.IntegrityError):
        db["materials"].insert({"title": "b", "kind": "novel", "sha256": "x"})
    with pytest.raises(sqlite3.IntegrityError):  # foreign keys are enforced
        db["chapters"].insert({"material_id": 99, "idx": 1, "text": "t"})


def test_not_a_database_is_a_clear_error(tmp_path):
    bad = tmp_path / "w.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="w.db"):
        open_db(bad)
    assert bad.read_bytes() == b"this is not sqlite" * 100  # untouched


def test_stage_cache_roundtrip_and_hits(tmp_path):
    db = open_db(tmp_path / "w.db")
    cache = StageCache(db)
    key = content_hash("rewrite", {"b": 1, "a": [1, 2]})
    assert key == content_hash("rewrite", {"a": [1, 2], "b": 1})
    assert cache.get(key) is None
    cache.put(key, "rewrite", "rules", {"title": "标题"})
    assert cache.get(key) == {"title": "标题"}
    assert db["stage_cache"].get(key)["hits"] == 1
