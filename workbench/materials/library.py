"""The material library: novels stored in the `materials` and `chapters` tables.

A file is parsed completely before the first write, and its rows are written in one
transaction, so a refused or failing import never leaves a material without its chapters.
Files are identified by the sha256 of their bytes: importing the same file again is a no-op.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

from sqlite_utils import Database

from workbench.errors import InputError
from workbench.materials.novel import parse_novel, read_file_bytes
from workbench.models import Chapter
from workbench.store import utcnow, write_transaction

_LISTED_IN_ERRORS = 10


def add_material(db: Database, path: Path, title: str | None = None,
                 notes: list[str] | None = None) -> tuple[dict, bool]:
    """Import the novel at `path`; returns (materials row, created?).

    An identical file (same sha256) already in the library is returned as it is, created=False.
    What reading changed (e.g. a cut-off last character dropped) is added to `notes`, for the
    caller to show.
    """
    path = Path(path).expanduser().resolve()
    data = read_file_bytes(path)
    sha256 = hashlib.sha256(data).hexdigest()
    existing = _find_by_sha(db, sha256)
    if existing:
        return existing, False
    novel = parse_novel(data, path, title)
    row = {
        "title": novel.title,
        "kind": "novel",
        "format": novel.format,
        "encoding": novel.encoding,
        "filename": path.name,
        "source_path": str(path),
        "sha256": sha256,
        "chars": sum(chapter.chars for chapter in novel.chapters),
        "chapter_count": len(novel.chapters),
        "split": novel.split,
        "created_at": utcnow(),
    }
    try:
        with write_transaction(db):
            material_id = db["materials"].insert(row).last_pk
            db["chapters"].insert_all(
                {
                    "material_id": material_id,
                    "idx": chapter.index,
                    "title": chapter.title,
                    "text": chapter.text,
                    "chars": chapter.chars,
                }
                for chapter in novel.chapters
            )
    except sqlite3.IntegrityError:
        existing = _find_by_sha(db, sha256)  # imported concurrently by someone else
        if existing:
            return existing, False
        raise
    if notes is not None:
        notes += novel.notes
    return get_material(db, int(material_id)), True


def list_materials(db: Database) -> list[dict]:
    return list(db["materials"].rows_where(order_by="id"))


SQLITE_MAX_INT = 2**63 - 1


def get_material(db: Database, material_id: int) -> dict:
    if not isinstance(material_id, int) or not 0 < material_id <= SQLITE_MAX_INT:
        raise InputError(f"素材编号无效：{str(material_id)[:30]}（应为 workbench material list 里的编号）")
    rows = list(db["materials"].rows_where("id = ?", [material_id]))
    if rows:
        return rows[0]
    known = list(db["materials"].rows_where(order_by="id", limit=_LISTED_IN_ERRORS + 1,
                                            select="id, title"))
    if not known:
        raise InputError(f"找不到素材 #{material_id}：素材库是空的，请先导入小说")
    shown = "、".join(f"#{row['id']} {row['title']}" for row in known[:_LISTED_IN_ERRORS])
    more = " 等" if len(known) > _LISTED_IN_ERRORS else ""
    raise InputError(f"找不到素材 #{material_id}，现有素材：{shown}{more}；请使用其中的编号")


def list_chapters(db: Database, material_id: int) -> list[dict]:
    """Chapter index, title and length, without the text (cheap for long novels)."""
    get_material(db, material_id)
    return list(
        db["chapters"].rows_where(
            "material_id = ?", [material_id], select="idx, title, chars", order_by="idx"
        )
    )


def get_chapter(db: Database, material_id: int, index: int) -> Chapter:
    """Chapter `index` (1-based) of a material; InputError names the valid range."""
    material = get_material(db, material_id)
    rows = list(
        db["chapters"].rows_where("material_id = ? AND idx = ?", [material_id, index],
                                  select="idx, title, text")
    ) if isinstance(index, int) and 0 < index <= SQLITE_MAX_INT else []
    if not rows:
        count = material["chapter_count"] or 0
        raise InputError(
            f"素材 #{material_id}《{material['title']}》没有第 {str(index)[:30]} 章："
            f"共 {count} 章，请选择 1–{count}"
        )
    row = rows[0]
    return Chapter(index=row["idx"], title=row["title"] or f"第{row['idx']}章", text=row["text"])


def _find_by_sha(db: Database, sha256: str) -> dict | None:
    rows = list(db["materials"].rows_where("sha256 = ?", [sha256]))
    return rows[0] if rows else None
