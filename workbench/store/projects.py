"""创作's projects: several per owner (a logged-in user, or a browser without login), each
holding every field of the form and its last render.

A field is saved the moment it changes (`save_fields`), so a reload restores the form exactly.
A render is kept with the hash of the form it was made from (`form_hash`): the page shows the
video only while the form still matches it, never a video made from other settings.
"""

from __future__ import annotations

import datetime
import json
from typing import Any

from sqlite_utils import Database
from sqlite_utils.db import NotFoundError

from workbench.errors import InputError
from workbench.platform.history import record
from workbench.store import write_transaction
from workbench.store.cache import content_hash

# What the form is made of; a render is valid for exactly these values.
FORM = ("material", "chapter", "template", "prompt", "keyword", "app", "task", "script",
        "voice", "rate", "pitch", "volume", "background", "bgm", "bgm_level", "subtitle_style",
        "profile", "drama_bgm", "highlights")
# Kept with the project, but not part of what a video is made from.
EXTRA = ("script_base", "preview")
FIELDS = FORM + EXTRA
RENDER_STATES = ("running", "done", "failed", "cancelled", "interrupted")
SHARED = "local"  # the owner of projects made without login before browsers had their own

MAX_NAME = 40
MAX_PROJECTS = 200  # per owner
MAX_FIELDS_BYTES = 2_000_000  # a project's fields as JSON (a long script plus a drama table)
DEFAULT_NAME = "项目"


def _now() -> str:
    """To the microsecond: the list is ordered by the last change, which is often this second."""
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="microseconds")


def _plain(value: Any) -> Any:
    """JSON-able and canonical: 20.0 and 20 are the same rate, tuples are lists."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def form_hash(fields: dict[str, Any]) -> str:
    """The form's identity: the values every render input has in `fields`."""
    return content_hash("form", {k: _plain(fields.get(k)) for k in FORM})


def _name(name: str | None, default: str = "") -> str:
    text = " ".join((name or "").split())
    if not text:
        return default
    if len(text) > MAX_NAME:
        raise InputError(f"项目名太长：{len(text)} 个字（最多 {MAX_NAME} 个），请改短一些")
    return text


def _row(row: dict[str, Any]) -> dict[str, Any]:
    def loads(text: Any) -> dict[str, Any]:
        try:
            value = json.loads(text) if text else {}
        except (TypeError, ValueError):
            return {}
        return value if isinstance(value, dict) else {}

    return {**row, "fields": loads(row.get("fields")), "render": loads(row.get("render"))}


def list_projects(db: Database, owner: str) -> list[dict[str, Any]]:
    """The owner's projects, the most recently changed first."""
    return [_row(dict(r)) for r in db["projects"].rows_where(
        "owner = ?", [owner], order_by="updated_at desc, id desc", limit=MAX_PROJECTS)]


def get_project(db: Database, owner: str, project_id: Any) -> dict[str, Any]:
    """The owner's project `project_id`; another owner's is as unknown as a missing one."""
    try:
        row = dict(db["projects"].get(int(project_id)))
    except (NotFoundError, TypeError, ValueError):
        row = None
    if row is None or row["owner"] != owner:
        raise InputError(f"没有项目 {project_id}：它可能已被删除。请在「项目」里选择或新建一个")
    return _row(row)


def create_project(db: Database, owner: str, name: str | None = None,
                   fields: dict[str, Any] | None = None, *, actor: str = "system") -> int:
    with write_transaction(db):
        count = db.execute("SELECT count(*) FROM projects WHERE owner = ?", [owner]).fetchone()[0]
        if count >= MAX_PROJECTS:
            raise InputError(f"项目已有 {count} 个（上限 {MAX_PROJECTS}）：先删除不用的项目再新建")
        name = _name(name, f"{DEFAULT_NAME} {count + 1}")
        now = _now()
        project_id = int(db["projects"].insert({
            "owner": owner, "name": name, "fields": _dump(_checked(fields or {})),
            "render": None, "created_at": now, "updated_at": now}).last_pk)
        record(db, "project", project_id, "create", actor=actor, data={"name": name})
    return project_id


def rename_project(db: Database, owner: str, project_id: Any, name: str, *,
                   actor: str = "system") -> None:
    new = _name(name)
    if not new:
        raise InputError("项目名是空的：在「项目名」里写上名字再点「改名」")
    with write_transaction(db):
        old = get_project(db, owner, project_id)
        db["projects"].update(old["id"], {"name": new, "updated_at": _now()})
        record(db, "project", old["id"], "rename", actor=actor,
               data={"from": old["name"], "to": new})


def delete_project(db: Database, owner: str, project_id: Any, *, actor: str = "system") -> None:
    """The project goes; its rendered packages stay in 提交记录."""
    with write_transaction(db):
        old = get_project(db, owner, project_id)
        if old["render"].get("status") == "running":
            raise InputError(f"项目「{old['name']}」正在渲染：先取消或等它完成再删除")
        db["projects"].delete(old["id"])
        record(db, "project", old["id"], "delete", actor=actor, data={"name": old["name"]})


def _checked(fields: dict[str, Any]) -> dict[str, Any]:
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise ValueError(f"unknown project fields {sorted(unknown)}")
    return {k: _plain(v) for k, v in fields.items()}


def _dump(value: dict[str, Any]) -> str:
    text = json.dumps(value, ensure_ascii=False)
    if len(text.encode("utf-8")) > MAX_FIELDS_BYTES:
        raise InputError(f"项目内容太大（超过 {MAX_FIELDS_BYTES // 1_000_000} MB）："
                         "脚本或片段表太长，请删减后再保存")
    return text


def save_fields(db: Database, owner: str, project_id: Any, **values: Any) -> dict[str, Any]:
    """Merge `values` into the project's fields (read and written in one write transaction,
    so two tabs saving at once never lose an update); returns all fields."""
    values = _checked(values)
    with write_transaction(db):
        project = get_project(db, owner, project_id)
        fields = {**project["fields"], **values}
        db["projects"].update(project["id"], {"fields": _dump(fields), "updated_at": _now()})
    return fields


def set_render(db: Database, owner: str, project_id: Any, status: str,
               **values: Any) -> dict[str, Any]:
    """Replace the project's render record: `status` plus what that state carries (a running
    render's start, a finished one's job, submission, zip, report and form hash)."""
    if status not in RENDER_STATES:
        raise ValueError(f"unknown render status {status!r}")
    render = {"status": status, "at": _now(), **_plain(values)}
    with write_transaction(db):
        project = get_project(db, owner, project_id)
        db["projects"].update(project["id"], {
            "render": json.dumps(render, ensure_ascii=False), "updated_at": _now()})
    return render


def claim_shared(db: Database, owner: str) -> int:
    """Projects saved without login before each browser had its own (the old single shared
    draft) become `owner`'s; returns how many."""
    if owner == SHARED:
        return 0
    with write_transaction(db):
        return db.execute("UPDATE projects SET owner = ? WHERE owner = ?",
                          [owner, SHARED]).rowcount
