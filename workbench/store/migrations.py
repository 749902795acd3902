"""Append-only schema migrations. Never edit one that has shipped: add a new function."""

from __future__ import annotations

import json
from typing import Any

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


@migrations()
def m007_platform(db: Database) -> None:
    # The promotion loop around a video (workbench/platform/): tasks from a task platform,
    # the studio's publishing accounts, keywords (口令) applied for per task and account, daily
    # tracking counts per keyword (回传 from exports), and the settlement releases of flagged
    # days. Money is text holding a Decimal, never a float. What is owed is derived, not stored.
    db["tasks"].create(
        {
            "id": int,
            "platform": str,  # the task platform's name
            "external_id": str,  # the platform's own id for the task (may be empty)
            "app": str,  # 番茄小说, 七猫, 红果短剧 …
            "title": str,  # the original book or drama title
            "kind": str,  # novel | drama
            "model": str,  # CPA | CPS | CPE | CPM (empty when the platform did not say)
            "price": str,  # Decimal yuan: per action (CPA), interaction (CPE), 1000 views (CPM)
            "share": str,  # Decimal in (0, 1] (CPS)
            "action": str,  # activation | registration | order (CPA)
            "channels": str,  # JSON list of allowed channels
            "keyword_min": int,
            "keyword_max": int,
            "keyword_pattern": str,  # a regular expression every keyword must match in full
            "wording": str,  # on-screen wording, e.g. {app}搜索【{keyword}】
            "max_seconds": float,
            "deadline": str,  # ISO date
            "notes": str,
            "status": str,  # open | closed
            "created_at": str,
            "updated_at": str,
        },
        pk="id",
        not_null={"platform", "app", "title", "kind", "status"},
    )
    db["tasks"].create_index(["platform", "external_id"], unique=True)
    db["accounts"].create(
        {"id": int, "channel": str, "handle": str, "name": str, "created_at": str},
        pk="id", not_null={"channel", "handle"},
    )
    db["accounts"].create_index(["channel", "handle"], unique=True)
    db["keywords"].create(
        {
            "id": int,
            "task_id": int,
            "account_id": int,
            "text": str,
            "status": str,  # pending | approved | rejected | expired
            "reason": str,  # why it was rejected or expired
            "expires_at": str,  # ISO date, its own expiry (the task's deadline also counts)
            "created_at": str,
            "updated_at": str,
        },
        pk="id",
        foreign_keys=[("task_id", "tasks", "id"), ("account_id", "accounts", "id")],
        not_null={"task_id", "account_id", "text", "status"},
    )
    db["keywords"].create_index(["task_id", "text"], unique=True)
    db["keywords"].create_index(["text"])
    # One active (pending or approved) keyword per task and account.
    db.execute("CREATE UNIQUE INDEX idx_keywords_active ON keywords (task_id, account_id) "
               "WHERE status IN ('pending', 'approved')")
    # Append-only: every status change (and every corrected tracking row) with time, actor and
    # reason. The triggers refuse updates and deletes, so history cannot be rewritten.
    db["history"].create(
        {
            "id": int,
            "entity": str,  # task | account | keyword | submission | tracking | settlement
            "entity_id": str,
            "action": str,  # add | edit | apply | approve | reject | expire | publish | …
            "old_status": str,
            "new_status": str,
            "actor": str,  # cli:<user> | app:<user> | api:<platform> | system
            "reason": str,
            "data": str,  # JSON: what changed (old values)
            "at": str,
        },
        pk="id", not_null={"entity", "entity_id", "action", "actor", "at"},
    )
    db["history"].create_index(["entity", "entity_id"])
    for verb in ("UPDATE", "DELETE"):
        db.execute(f"CREATE TRIGGER history_no_{verb.lower()} BEFORE {verb} ON history "
                   "BEGIN SELECT RAISE(ABORT, 'history is append-only'); END")
    for column, kind in (("account_id", int), ("keyword_id", int), ("draft", int),
                         ("template_id", str), ("template_version", str),
                         ("template_hash", str), ("reason", str), ("settled_at", str)):
        db["submissions"].add_column(column, kind)
    db["tracking_imports"].create(
        {
            "id": int,
            "file": str,
            "sha256": str,
            "format": str,  # csv | json | xlsx
            "encoding": str,
            "source": str,
            "mapping": str,  # JSON: file column → canonical field
            "inserted": int,
            "updated": int,
            "unchanged": int,
            "rejected": int,
            "actor": str,
            "at": str,
        },
        pk="id",
    )
    db["tracking"].create(
        {
            "id": int,
            "keyword_id": int,
            "date": str,  # ISO date
            "source": str,  # the export it came from (--source): rows upsert per source
            "views": int, "likes": int, "comments": int, "shares": int, "favorites": int,
            "clicks": int, "searches": int, "activations": int, "registrations": int,
            "orders": int,
            "revenue": str,  # Decimal yuan
            "import_id": int,  # the import that last set it
            "created_at": str,
            "updated_at": str,
        },
        pk="id",
        foreign_keys=[("keyword_id", "keywords", "id"), ("import_id", "tracking_imports", "id")],
        not_null={"keyword_id", "date", "source"},
    )
    db["tracking"].create_index(["keyword_id", "date", "source"], unique=True)
    db["settlement_releases"].create(
        {"id": int, "keyword_id": int, "date": str, "actor": str, "reason": str, "at": str},
        pk="id", foreign_keys=[("keyword_id", "keywords", "id")],
        not_null={"keyword_id", "date"},
    )
    db["settlement_releases"].create_index(["keyword_id", "date"], unique=True)


@migrations()
def m008_episodes(db: Database) -> None:
    # A drama material's episodes, in order. The files stay where they are (episodes are large)
    # and are referenced by path + sha256, which the rights record repeats.
    db["episodes"].create(
        {
            "id": int,
            "material_id": int,
            "idx": int,  # 1-based position in the drama
            "number": int,  # the episode number read from the name (None with --order)
            "filename": str,
            "path": str,
            "sha256": str,
            "size": int,
            "duration": float,
            "width": int,
            "height": int,
            "fps": float,
            "video_codec": str,
            "audio_codec": str,  # None: the episode has no sound
            "subtitle_path": str,
            "subtitle_format": str,  # srt | ass | vtt
            "subtitle_encoding": str,
            "subtitles": str,  # JSON [[start, end, text], …] in seconds
            "created_at": str,
        },
        pk="id",
        foreign_keys=[("material_id", "materials", "id")],
        not_null={"material_id", "idx", "path", "sha256"},
    )
    db["episodes"].create_index(["material_id", "idx"], unique=True)


@migrations()
def m009_footage(db: Database) -> None:
    # The studio's footage and music library: clips by content (sha256), tagged (解压, 跑酷 …),
    # picked by `--background tag:解压` / `--bgm tag:轻快`; and which seconds of each clip went
    # into which package, so a studio can see what it has already published.
    db["footage"].create(
        {
            "id": int,
            "kind": str,  # video | music
            "path": str,
            "filename": str,
            "sha256": str,
            "size": int,
            "duration": float,
            "width": int,
            "height": int,
            "fps": float,
            "tags": str,  # JSON list
            "thumb": str,  # a small JPEG under WORKBENCH_HOME/footage/thumbs (videos)
            "created_at": str,
        },
        pk="id", not_null={"kind", "path", "sha256"},
    )
    db["footage"].create_index(["sha256"], unique=True)
    db["footage_uses"].create(
        {"id": int, "footage_id": int, "submission_id": str, "start": float, "end": float,
         "created_at": str},
        pk="id", foreign_keys=[("footage_id", "footage", "id")],
        not_null={"footage_id", "submission_id"},
    )
    db["footage_uses"].create_index(["footage_id"])
    db["footage_uses"].create_index(["submission_id"])


@migrations()
def m010_postbacks(db: Database) -> None:
    # Conversion postbacks over HTTP (workbench/postback/): the platforms that may send them
    # (their signing secrets live only in WORKBENCH_HOME/secrets, never here), the events as
    # received (append-only: one row per platform and webhook-id, so a sender's retry is
    # stored once), and rejected requests counted by platform and reason (never their bodies).
    # A task settles from one source of counts: its tracking imports or its postbacks.
    db["postback_platforms"].create(
        {
            "name": str,
            "event_map": str,  # JSON: the platform's event code → event name
            "event_map_source": str,  # a preset's name or the file it was read from
            "created_at": str,
        },
        pk="name", not_null={"event_map"},
    )
    db["postback_events"].create(
        {
            "id": int,
            "platform": str,
            "webhook_id": str,
            "event_type": str,  # activation | registration | order | retention_1d
            "sent_type": str,  # event_type as the sender wrote it (e.g. "2")
            "keyword_id": int,
            "submission_id": str,
            "click_id": str,
            "event_time": int,  # milliseconds since the epoch, as sent
            "date": str,  # the China date of event_time: the tracking day it counts on
            "amount": str,  # Decimal yuan
            "extra": str,  # JSON object
            "received_at": str,
        },
        pk="id",
        foreign_keys=[("platform", "postback_platforms", "name"),
                      ("keyword_id", "keywords", "id")],
        not_null={"platform", "webhook_id", "event_type", "keyword_id", "event_time", "date"},
    )
    db["postback_events"].create_index(["platform", "webhook_id"], unique=True)
    db["postback_events"].create_index(["keyword_id", "date"])
    for verb in ("UPDATE", "DELETE"):
        db.execute(f"CREATE TRIGGER postback_events_no_{verb.lower()} BEFORE {verb} ON "
                   "postback_events BEGIN SELECT RAISE(ABORT, 'postback events are "
                   "append-only'); END")
    db["postback_rejections"].create(
        {"platform": str, "reason": str, "count": int, "last_at": str},
        pk=("platform", "reason"), not_null={"count"},
    )
    db["tasks"].add_column("settle_source", str, not_null_default="import")


@migrations()
def m011_template_versions(db: Database) -> None:
    # The template lab's version history (workbench/lab/versions.py): every saved or imported
    # script template, by id and version, with its full source. The source's front matter
    # `version` equals the row's version and `content_hash` is ScriptTemplate.content_hash of
    # `source`, so submissions (template_id, template_version, template_hash) join to it.
    db["template_versions"].create(
        {
            "id": int,
            "template_id": str,
            "version": int,  # 1, 2, 3 … per template_id
            "content_hash": str,
            "source": str,  # the whole .j2 text
            "origin": str,  # lab | import | file:<path> (a template first seen in the lab)
            "note": str,
            "actor": str,  # cli:<user> | app:<user> | system
            "created_at": str,
        },
        pk="id", not_null={"template_id", "version", "content_hash", "source", "created_at"},
    )
    db["template_versions"].create_index(["template_id", "version"], unique=True)
    db["template_versions"].create_index(["template_id", "content_hash"])


@migrations()
def m012_projects(db: Database) -> None:
    # 创作's work kept as projects: several per user (or per browser without login), each with
    # every field of the form (JSON) and its last render (JSON: status, progress, the job and
    # the form hash it was made from). Each existing single draft becomes its owner's first
    # project, so nothing is lost; "local" ones (no login) go to the first browser to open.
    db["projects"].create(
        {"id": int, "owner": str, "name": str, "fields": str, "render": str,
         "created_at": str, "updated_at": str},
        pk="id", not_null={"owner", "name", "fields"},
    )
    db["projects"].create_index(["owner", "updated_at"])
    if "drafts" not in db.table_names():
        return
    for row in db.query("SELECT owner, state, updated_at FROM drafts ORDER BY owner"):
        try:
            state = json.loads(row["state"])
        except (TypeError, ValueError):
            continue
        if not isinstance(state, dict):
            continue
        fields, render = _draft_fields(state)
        db["projects"].insert({
            "owner": row["owner"], "name": "草稿（升级前）",
            "fields": json.dumps(fields, ensure_ascii=False),
            "render": json.dumps(render, ensure_ascii=False) if render else None,
            "created_at": row["updated_at"], "updated_at": row["updated_at"]})


def _draft_fields(state: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """A m004 draft's steps → (project fields, last render). Frozen with m012."""
    def step(name: str) -> dict[str, Any]:
        value = state.get(name)
        return value if isinstance(value, dict) else {}

    material, script, voice = step("material"), step("script"), step("voice")
    background, done = step("background"), step("render")
    fields: dict[str, Any] = {}
    for source, keys in ((material, ("material", "chapter")),
                         (script, ("material", "chapter", "template", "prompt", "keyword",
                                   "app", "task", "script")),
                         (voice, ("voice", "rate", "preview")),
                         (background, ("background", "bgm", "subtitle_style")),
                         (done, ("background", "bgm", "profile"))):
        fields.update({k: source[k] for k in keys if k in source})
    if "script" in fields:
        fields["script_base"] = fields["script"]
    render = None
    if done.get("submission"):  # the draft dropped it whenever an earlier step changed
        render = {"status": "done", "submission": done["submission"], "zip": done.get("zip"),
                  "report": done.get("report", ""), "form_hash": None}
    return fields, render


@migrations()
def m013_retentions(db: Database) -> None:
    """Next-day retention (次日留存) as a tracking count: postbacks roll it up, imports may map
    a column to it, and a CPA task may pay for it."""
    db["tracking"].add_column("retentions", int)
