"""Tracking import (回传 from exports): a platform's per-keyword daily counts into `tracking`.

Rows upsert by (keyword, date, source), all in one write transaction: importing the same file
again changes nothing; a re-issued row with different numbers is updated and its old values go
to history (action "correct"). An empty cell is "not reported": stored as NULL on insert, and
never erases a stored number on update. Bad rows are rejected with their line and reason while
the good rows are imported; a file that cannot be read, or whose header matches no mapping, is
refused whole and stores nothing.
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from workbench.errors import InputError
from workbench.platform import history
from workbench.platform.daily import POSTBACK_SOURCE
from workbench.platform.money import from_text, to_text
from workbench.platform.tasks import get_task
from workbench.platform.tracking_mapping import (
    FIELDS,
    Mapping,
    Preset,
    fit_any,
    fit_map,
    fit_preset,
    get_preset,
    no_header_message,
    parse_map,
)
from workbench.platform.tracking_read import Export, Sheet, cell_text, open_export
from workbench.platform.tracking_rows import (
    Record,
    Rejection,
    RowChecker,
    collect,
    keyword_index,
)
from workbench.store import utcnow, write_transaction

HEADER_SCAN = 10  # rows of each sheet looked at for the header (a title row may come first)
MAX_SOURCE = 64
DEFAULT_SOURCE = "import"
VALUE_FIELDS = FIELDS[2:]


@dataclass
class ImportResult:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    source: str = DEFAULT_SOURCE
    import_id: int | None = None  # None for a dry run
    dry_run: bool = False

    def summary(self) -> dict[str, Any]:
        """What `--json` prints."""
        return {"inserted": self.inserted, "updated": self.updated, "unchanged": self.unchanged,
                "rejected": [{"line": r.line, "reason": r.reason} for r in self.rejected]}

    def summary_line(self) -> str:
        return (f"新增 {self.inserted} 行，更新 {self.updated} 行，未变 {self.unchanged} 行，"
                f"拒绝 {len(self.rejected)} 行")


def check_source(source: str | None) -> str | None:
    if source is None:
        return None
    text = source.strip()
    if not text or len(text) > MAX_SOURCE:
        raise InputError(f"--source 应为 1–{MAX_SOURCE} 个字符的名称（如 番茄后台），收到 {source!r}")
    if text == POSTBACK_SOURCE:
        raise InputError(f"--source {POSTBACK_SOURCE} 是 HTTP 回传专用的来源名（由 workbench serve "
                         "接收的事件汇总而来）：导入的报表请换一个名字，如 番茄后台")
    return text


def find_header(export: Export, preset: Preset | None, spec: dict[str, str] | None
                 ) -> tuple[Sheet, list[str], Mapping]:
    """The first sheet, and the row among its first HEADER_SCAN, that the mapping fits."""
    first: tuple[str, int, list[str]] | None = None
    for sheet in export.sheets:
        label = str(export.path) + (f"（工作表「{sheet.name}」）" if sheet.name else "")
        for _ in range(HEADER_SCAN):
            row = next(sheet.rows, None)
            if row is None:
                break
            line, cells = row
            header = [cell_text(cell).strip() for cell in cells]
            first = first or (label, line, header)
            if spec is not None:
                mapping = fit_map(header, spec)
            else:
                mapping = fit_preset(header, preset) if preset else fit_any(header)
            if mapping:
                return sheet, header, mapping
        close = getattr(sheet.rows, "close", None)
        if close:  # an XLSX sheet's reader holds its part of the archive open
            close()
    raise InputError(no_header_message(first[0] if first else str(export.path),
                                       first[1:] if first else None, preset, spec))


def import_options(db: Database, preset: str | None, mapping: str | None, source: str | None,
                   task: int | str | None) -> tuple[Preset | None, dict[str, str] | None,
                                                    str | None, Any]:
    """The options of an import (or its preview) checked: (the preset, the `--map` columns,
    the source name, the keywords the rows may name)."""
    if preset is not None and mapping is not None:
        raise InputError("列名预设（--preset）和自定义列映射（--map）只能用一个")
    chosen = get_preset(preset) if preset is not None else None
    spec = parse_map(mapping) if mapping is not None else None
    task_id = get_task(db, task)["id"] if task is not None else None
    return chosen, spec, check_source(source), keyword_index(db, task_id)


def import_tracking(db: Database, path: Path | str, *, actor: str, preset: str | None = None,
                    mapping: str | None = None, source: str | None = None,
                    task: int | str | None = None, dry_run: bool = False) -> ImportResult:
    """Import one export. `preset` names a bundled preset, `mapping` is a `列名=字段,…` map;
    with neither, the preset whose columns the header has is used. `task` limits keywords to
    one task's. `dry_run` checks everything and stores nothing."""
    chosen, spec, named_source, index = import_options(db, preset, mapping, source, task)
    with open_export(path) as export:
        sheet, header, fit = find_header(export, chosen, spec)
        records, rejected = collect(sheet.rows, RowChecker(fit, index))
        result = ImportResult(rejected=rejected, header=header, dry_run=dry_run,
                              source=named_source or fit.preset or DEFAULT_SOURCE)
        log = {"file": str(export.path.resolve()), "sha256": export.sha256,
               "format": export.format, "encoding": export.encoding, "source": result.source,
               "mapping": json.dumps(fit.stored(), ensure_ascii=False)}
    if dry_run:
        _apply(db, records, result, actor, write=False)
        return result
    with write_transaction(db):
        result.import_id = db["tracking_imports"].insert(
            {**log, "actor": actor, "at": utcnow()}).last_pk
        _apply(db, records, result, actor, write=True)
        db["tracking_imports"].update(result.import_id, {
            "inserted": result.inserted, "updated": result.updated,
            "unchanged": result.unchanged, "rejected": len(result.rejected)})
    return result


def _stored(field_name: str, value: int | Decimal | None) -> int | str | None:
    return to_text(value) if field_name == "revenue" else value  # type: ignore[arg-type]


def _same(field_name: str, stored: Any, value: int | Decimal) -> bool:
    if field_name == "revenue":
        return from_text(stored) == value  # 12.30 and 12.3 are the same money
    return stored == value


def _apply(db: Database, records: list[Record], result: ImportResult, actor: str,
           write: bool) -> None:
    """Insert new rows, correct changed ones (old values to history), count the unchanged."""
    now, source, conn = utcnow(), result.source, db.conn
    for record in records:
        existing = conn.execute(
            f"SELECT id, {', '.join(VALUE_FIELDS)} FROM tracking "
            "WHERE keyword_id = ? AND date = ? AND source = ?",
            [record.keyword_id, record.date, source]).fetchone()
        if existing is None:
            result.inserted += 1
            if write:
                row = {"keyword_id": record.keyword_id, "date": record.date, "source": source,
                       **{f: _stored(f, v) for f, v in record.values.items()},
                       "import_id": result.import_id, "created_at": now, "updated_at": now}
                conn.execute(f"INSERT INTO tracking ({', '.join(row)}) "
                             f"VALUES ({', '.join('?' * len(row))})", list(row.values()))
            continue
        before = dict(zip(("id", *VALUE_FIELDS), existing, strict=True))
        old = {f: before[f] for f, v in record.values.items()
               if v is not None and not _same(f, before[f], v)}
        if not old:
            result.unchanged += 1
            continue
        result.updated += 1
        if write:
            changes = {f: _stored(f, record.values[f]) for f in old}
            changes.update(import_id=result.import_id, updated_at=now)
            conn.execute(f"UPDATE tracking SET {', '.join(f'{f} = ?' for f in changes)} "
                         "WHERE id = ?", [*changes.values(), before["id"]])
            history.record(db, "tracking", f"{record.keyword_id}/{record.date}/{source}",
                           "correct", actor=actor,
                           data={"old": old, "import_id": result.import_id})


def rejected_path(path: Path | str) -> Path:
    path = Path(path)
    return path.with_name(f"{path.stem}.rejected.csv")


def write_rejected(result: ImportResult, path: Path | str) -> Path:
    """The rejected rows beside the input as `<stem>.rejected.csv` (UTF-8 with BOM, so Excel
    shows the Chinese): 行号, 原因, then the file's own columns. Written to a temporary name
    and renamed, so a half file never shows."""
    target = rejected_path(path)
    part = target.with_name(target.name + ".part")
    try:
        with part.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["行号", "原因", *result.header])
            for rejection in result.rejected:
                writer.writerow([rejection.line, rejection.reason,
                                 *(cell_text(cell) for cell in rejection.cells)])
        os.replace(part, target)
    except OSError as exc:
        part.unlink(missing_ok=True)
        raise InputError(f"{target}: 无法写入被拒绝的行（{exc.strerror or exc}）") from None
    return target


def list_tracking(db: Database, keyword_id: int | None = None, task_id: int | None = None,
                  limit: int = 100) -> list[dict[str, Any]]:
    """Stored rows, newest date first, with the keyword's text and task; revenue as text."""
    where, args = [], []
    if keyword_id is not None:
        where.append("t.keyword_id = ?")
        args.append(keyword_id)
    if task_id is not None:
        where.append("k.task_id = ?")
        args.append(task_id)
    sql = (f"SELECT t.date, k.text AS keyword, k.task_id, t.keyword_id, t.source, "
           f"{', '.join('t.' + f for f in VALUE_FIELDS)}, t.import_id, t.updated_at "
           "FROM tracking t JOIN keywords k ON k.id = t.keyword_id"
           + (" WHERE " + " AND ".join(where) if where else "")
           + " ORDER BY t.date DESC, k.text, t.source LIMIT ?")
    return [dict(row) for row in db.query(sql, [*args, max(1, min(limit, 10_000))])]

