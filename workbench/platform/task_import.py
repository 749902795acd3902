"""`workbench task import FILE`: tasks from a CSV or JSON file, with the same fields and the same
validation as `task add`.

The file is all or nothing: every problem is reported as `file:line: …` and nothing is stored
unless every row is good (a half-imported task list is harder to fix than a refused one). A
row whose platform and external id are already stored updates that task (old values kept in
history); a row identical to a stored task is unchanged, so importing the same file twice
changes nothing.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from workbench.errors import InputError
from workbench.files import read_bounded
from workbench.materials.encoding import decode_text
from workbench.platform import history
from workbench.platform.tasks import FIELD_NAMES, FIELDS, task_row, task_values
from workbench.store import utcnow, write_transaction

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 5000
# Column names an import may use for a field: the field itself or its Chinese name.
COLUMNS = {**{name: name for name in FIELDS}, **{label: name for name, label in FIELD_NAMES.items()}}


@dataclass
class TaskImport:
    inserted: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"inserted": self.inserted, "updated": self.updated, "unchanged": self.unchanged}


def read_rows(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """(line, values) for each task in the file; values keyed by field name."""
    data = read_bounded(path, MAX_BYTES, "请给出 CSV 或 JSON 文件", "请拆成几个文件分别导入")
    text, _ = decode_text(data, str(path))
    suffix = path.suffix.lower()
    if suffix == ".json" or (suffix != ".csv" and text.lstrip().startswith("[")):
        rows = _json_rows(text, path)
    elif suffix in (".csv", ".txt", ".tsv"):
        rows = _csv_rows(text, path)
    else:
        raise InputError(f"{path}: 只能导入 .csv 或 .json 文件")
    if len(rows) > MAX_ROWS:
        raise InputError(f"{path}: 有 {len(rows)} 个任务，一次最多导入 {MAX_ROWS} 个")
    if not rows:
        raise InputError(f"{path}: 文件里没有任务")
    return rows


def _columns(header: list[str], path: Path) -> list[str | None]:
    names = [COLUMNS.get(column.strip()) for column in header]
    unknown = [column for column, name in zip(header, names, strict=True)
               if name is None and column.strip()]
    if unknown:
        raise InputError(f"{path}:1: 不认识的列 {'、'.join(unknown)}（可用的列：{', '.join(FIELDS)}，"
                         "或对应的中文名）")
    if len({n for n in names if n}) < len([n for n in names if n]):
        raise InputError(f"{path}:1: 有重复的列")
    return names


def _csv_rows(text: str, path: Path) -> list[tuple[int, dict[str, Any]]]:
    delimiter = "\t" if path.suffix.lower() == ".tsv" or ("\t" in text.split("\n", 1)[0]
                                                          and "," not in text.split("\n", 1)[0]) else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise InputError(f"{path}: 文件是空的") from None
    except csv.Error as exc:
        raise InputError(f"{path}:1: 不是有效的 CSV：{exc}") from None
    names = _columns(header, path)
    rows = []
    line = reader.line_num
    try:
        for cells in reader:
            start, line = line + 1, reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) > len(names):
                raise InputError(f"{path}:{start}: 这一行有 {len(cells)} 列，表头只有 {len(names)} 列")
            rows.append((start, {n: c for n, c in zip(names, cells, strict=False) if n}))
    except csv.Error as exc:
        raise InputError(f"{path}:{line + 1}: 不是有效的 CSV：{exc}") from None
    return rows


def _json_rows(text: str, path: Path) -> list[tuple[int, dict[str, Any]]]:
    """Each object with the line it starts on; floats read as Decimal (exact money)."""
    decoder = json.JSONDecoder(parse_float=Decimal)
    start = len(text) - len(text.lstrip())
    if not text.startswith("[", start):
        raise InputError(f"{path}: JSON 应该是任务对象的数组 [ {{…}}, … ]")
    rows, index = [], start + 1
    while True:
        index = _skip_space(text, index)
        if text.startswith("]", index):
            break
        line = text.count("\n", 0, index) + 1
        try:
            value, index = decoder.raw_decode(text, index)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}:{exc.lineno}: JSON 格式错误：{exc.msg}") from None
        if not isinstance(value, dict):
            raise InputError(f"{path}:{line}: 数组里应是任务对象 {{…}}，收到 {type(value).__name__}")
        unknown = [key for key in value if key not in COLUMNS]
        if unknown:
            raise InputError(f"{path}:{line}: 不认识的字段 {'、'.join(unknown)}（可用：{', '.join(FIELDS)}）")
        rows.append((line, {COLUMNS[key]: v for key, v in value.items()}))
        index = _skip_space(text, index)
        if text.startswith(",", index):
            index += 1
        elif not text.startswith("]", index):
            line = text.count("\n", 0, index) + 1
            raise InputError(f"{path}:{line}: JSON 格式错误：对象之间应有逗号")
    if text[index + 1:].strip():
        line = text.count("\n", 0, index) + 1
        raise InputError(f"{path}:{line}: JSON 数组结束后还有内容")
    return rows


def _skip_space(text: str, index: int) -> int:
    while index < len(text) and text[index] in " \t\r\n":
        index += 1
    return index


def import_tasks(db: Database, path: Path, actor: str, *, dry_run: bool = False) -> TaskImport:
    """Validate every row, then store them all in one transaction (or nothing)."""
    rows = read_rows(path)
    problems, valid = [], []
    for line, values in rows:
        try:
            valid.append((line, task_row(values)))
        except InputError as exc:
            problems.append(f"{path}:{line}: {exc}")
    seen: dict[tuple[str, str], int] = {}
    for line, row in valid:
        if row["external_id"]:
            key = (row["platform"], row["external_id"])
            if key in seen:
                problems.append(f"{path}:{line}: 与第 {seen[key]} 行是同一个任务（{key[0]} "
                                f"{key[1]}）")
            seen[key] = line
    if problems:
        shown = problems[:50] + ([f"……另有 {len(problems) - 50} 个问题"] if len(problems) > 50 else [])
        raise InputError(f"{len(problems)} 个问题，没有导入任何任务：\n" + "\n".join(shown))
    result = TaskImport()
    with write_transaction(db):
        for _, row in valid:
            _store(db, row, actor, result, dry_run)
    return result


def _store(db: Database, row: dict[str, Any], actor: str, result: TaskImport,
           dry_run: bool) -> None:
    """Insert, update or leave one task; a dry run only counts what it would do."""
    now, existing = utcnow(), _match(db, row)
    if existing is None:
        task_id = 0 if dry_run else db["tasks"].insert({
            **row, "status": "open", "created_at": now, "updated_at": now}).last_pk
        if not dry_run:
            history.record(db, "task", task_id, "add", actor=actor, new_status="open",
                           reason="导入")
        result.inserted.append(task_id)
        return
    changed = {k: existing[k] for k in row if row[k] != existing[k]}
    if not changed:
        result.unchanged.append(existing["id"])
        return
    if not dry_run:
        db["tasks"].update(existing["id"], {**row, "updated_at": now})
        history.record(db, "task", existing["id"], "edit", actor=actor, reason="导入",
                       data={"old": changed})
    result.updated.append(existing["id"])


def _match(db: Database, row: dict[str, Any]) -> dict[str, Any] | None:
    """The stored task this row is: same platform and external id; without an external id,
    a stored task with exactly the same fields."""
    if row["external_id"]:
        where, args = "platform = ? AND external_id = ?", [row["platform"], row["external_id"]]
    else:
        where, args = "platform = ? AND external_id IS NULL AND title = ?", [row["platform"],
                                                                              row["title"]]
    for candidate in db["tasks"].rows_where(where, args):
        candidate = dict(candidate)
        if row["external_id"] or task_row(task_values(candidate)) == row:
            return candidate
    return None
