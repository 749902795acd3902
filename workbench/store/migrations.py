"""Append-only schema migrations. Never edit one that has shipped: add a new function."""

from __future__ import annotations

from sqlite_utils import Database, Migrations

migrations = Migrations("workbench")


@migrations()
def m001_initial(db: Database) -> None:
    db["materials"].create(
        {
            "id": int,
            "title": str,
            "kind": str,  # novel | drama
            "format": str,  # txt | epub
            "encoding": str,
            "filename": str,
            "source_path": str,
            "sha256": str,
            "chars": int,
            "chapter_count": int,
            "split": str,  # headings | size
            "created_at": str,
        },
        pk="id",
        not_null={"title", "kind", "sha256"},
    )
    db["materials"].create_index(["sha256"], unique=True)
    db["chapters"].create(
        {"id": int, "material_id": int, "idx": int, "title": str, "text": str, "chars": int},
        pk="id",
        foreign_keys=[("material_id", "materials", "id")],
        not_null={"material_id", "idx", "text"},
    )
    db["chapters"].create_index(["material_id", "idx"], unique=True)
    db["jobs"].create(
        {
            "id": int,
            "kind": str,  # script | ...
            "status": str,  # running | done | failed
            "recipe_hash": str,
            "material_id": int,
            "chapter": int,
            "template_id": str,
            "prompt_id": str,
            "keyword": str,
            "app": str,
            "backend": str,
            "model": str,
            "params": str,  # JSON
            "result": str,  # JSON
            "cache_hit": int,
            "error": str,
            "created_at": str,
            "finished_at": str,
        },
        pk="id",
        foreign_keys=[("material_id", "materials", "id")],
    )
    db["jobs"].create_index(["recipe_hash"])
    db["stage_cache"].create(
        {
            "key": str,
            "stage": str,
            "backend": str,
            "value": str,  # JSON
            "created_at": str,
            "last_used_at": str,
            "hits": int,
        },
        pk="key",
        not_null={"stage", "value"},
    )


@migrations()
def m002_job_notes(db: Database) -> None:
    # What the user should know about a finished job, e.g. "edge 不可用，已回退到 espeak".
    db["jobs"].add_column("notes", str)


@migrations()
def m003_submissions(db: Database) -> None:
    # One row per submission package (WORKBENCH_HOME/submissions/<id>/).
    db["submissions"].create(
        {
            "id": str,  # the make recipe's hash prefix: the same job gives the same package
            "job_id": int,  # the `make` job that produced it
            "recipe_hash": str,
            "material_id": int,
            "chapter": int,
            "keyword": str,
            "task_id": int,  # when the job was made for a platform task
            "title": str,
            "path": str,
            "video_sha256": str,
            "duration": float,
            "profile": str,
            "compliance": str,  # JSON report
            "warnings": int,
            "status": str,  # ready | published
            "publish_url": str,
            "published_at": str,
            "created_at": str,
        },
        pk="id",
        foreign_keys=[("job_id", "jobs", "id"), ("material_id", "materials", "id")],
        not_null={"recipe_hash", "path", "keyword"},
    )
    db["submissions"].create_index(["recipe_hash"])
    db["submissions"].create_index(["keyword"])
    db["jobs"].add_column("parent_id", int)  # a stage job's `make` job


@migrations()
def m004_drafts(db: Database) -> None:
    # The web app's work in progress, one row per user (or "local" without login): the last
    # finished step of 创作 and what it produced, so a reload or a second tab resumes there.
    db["drafts"].create(
        {"owner": str, "step": str, "state": str, "updated_at": str}, pk="owner",
        not_null={"state"},
    )


@migrations()
def m005_batches(db: Database) -> None:
    # `workbench batch`: one row per run of a prompt folder (the same folder with the same jobs
    # is the same batch, so a rerun after a crash resumes it), one row per job in it.
    db["batches"].create(
        {
            "id": str,  # hash of the folder path and its jobs
            "folder": str,
            "output_dir": str,
            "executor": str,  # local | ray
            "workers": int,
            "status": str,  # running | done | failed (some job failed) | interrupted
            "jobs_total": int,
            "jobs_done": int,  # rendered in this run
            "jobs_cached": int,  # a verified package already existed
            "jobs_failed": int,
            "duplicates": int,  # outputs flagged as near-identical to an earlier submission
            "report_csv": str,
            "report_html": str,
            "created_at": str,
            "started_at": str,
            "finished_at": str,
        },
        pk="id",
    )
    db["batch_jobs"].create(
        {
            "id": int,
            "batch_id": str,
            "job_key": str,  # hash of the MakeJob: the same variant is the same row
            "brief": str,  # the brief's file name
            "variant": int,
            "label": str,  # JSON: chapter, template, hook, voice, background, bgm, seed
            "recipe_hash": str,
            "submission_id": str,
            "make_job_id": int,
            "status": str,  # pending | running | done | cached | failed
            "error": str,
            "duration": float,  # seconds this run spent on the job
            "package": str,
            "duplicate_of": str,  # an earlier submission this output is near-identical to
            "distance": float,  # mean perceptual-hash distance to the nearest (bits of 256)
            "started_at": str,
            "finished_at": str,
        },
        pk="id",
        foreign_keys=[("batch_id", "batches", "id"), ("make_job_id", "jobs", "id")],
        not_null={"batch_id", "job_key", "status"},
    )
    db["batch_jobs"].create_index(["batch_id", "job_key"], unique=True)
    # Perceptual fingerprints of sampled frames, to flag near-identical outputs for a task.
    db["fingerprints"].create(
        {
            "submission_id": str,
            "keyword": str,
            "task_id": int,
            "algo": str,  # e.g. "phash16-frames8"
            "frames": str,  # JSON list of hex hashes, in time order
            "duplicate_of": str,
            "distance": float,
            "created_at": str,
        },
        pk="submission_id",
        foreign_keys=[("submission_id", "submissions", "id")],
    )
    db["fingerprints"].create_index(["keyword"])


@migrations()
def m006_job_owner(db: Database) -> None:
    # Which process runs a job: a row left `running` by a process that no longer exists is
    # marked interrupted when the store is next opened.
    db["jobs"].add_column("pid", int)
    db["jobs"].add_column("host", str)
