"""Checking each row of a tracking export: its keyword (looked up once per import), its date,
its counts and revenue. A bad row becomes a Rejection with its line and every reason; a good
one a Record. An empty cell is "not reported" (None), never 0.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlite_utils import Database

from workbench.errors import InputError
from workbench.platform.dates import parse_date
from workbench.platform.money import parse_amount
from workbench.platform.tracking_mapping import COUNTS, Mapping
from workbench.platform.tracking_read import Row, cell_text

MAX_COUNT = 10**15  # a daily count beyond this is a broken cell, not traffic
_INTEGER = re.compile(r"^[+-]?\d+(\.0*)?$")

Value = int | Decimal | None
KeywordIndex = dict[str, list[tuple[int, int]]]  # keyword text → [(keyword id, task id)]


@dataclass(slots=True)
class Record:
    line: int
    keyword_id: int
    date: str  # ISO
    values: dict[str, Value]  # every mapped count / revenue field; None for an empty cell


@dataclass(slots=True)
class Rejection:
    line: int
    reason: str
    cells: list[Any]  # the row as read, for the rejected-rows file


def keyword_index(db: Database, task_id: int | None = None) -> KeywordIndex:
    """Every keyword's text (any status), within one task when given: read once per import."""
    sql, args = "SELECT id, task_id, text FROM keywords", []
    if task_id is not None:
        sql, args = sql + " WHERE task_id = ?", [task_id]
    index: KeywordIndex = {}
    for row in db.query(sql + " ORDER BY id", args):
        index.setdefault(keyword_text(row["text"]), []).append((row["id"], row["task_id"]))
    return index


def keyword_text(value: Any) -> str:
    """A keyword cell as compared with stored keywords: NFKC (full-width letters become
    half-width, as keywords are stored), outer whitespace removed."""
    return unicodedata.normalize("NFKC", cell_text(value)).strip()


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def parse_count(value: Any, column: str) -> int | None:
    """A non-negative whole number: 1234, "1,234", 12.0 (a spreadsheet's float), "12.0";
    None for an empty cell. 1.5, -3 and "abc" are refused, naming the column."""
    if _empty(value):
        return None
    shown = cell_text(value).strip()[:40]
    wrong = InputError(f"「{column}」列应为不小于 0 的整数，收到 {shown!r}")
    if isinstance(value, bool):
        raise wrong
    if isinstance(value, int):
        number = value
    elif isinstance(value, float | Decimal):
        finite = value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)
        if not finite or value != int(value):
            raise wrong
        number = int(value)
    elif isinstance(value, str):
        text = value.strip().replace(",", "").replace("，", "")
        if not _INTEGER.match(text):
            raise wrong
        number = int(Decimal(text))
    else:  # a list or an object in a JSON export
        raise wrong
    if number < 0:
        raise InputError(f"「{column}」列不能是负数（收到 {shown}）")
    if number > MAX_COUNT:
        raise InputError(f"「{column}」列的数字太大（{shown}）：请检查这一格")
    return number


def parse_revenue(value: Any, column: str) -> Decimal | None:
    """Money in yuan as Decimal (a spreadsheet float through its shortest repr), not negative;
    None for an empty cell."""
    if _empty(value):
        return None
    if isinstance(value, list | dict):
        raise InputError(f"「{column}」列不是数字")
    return parse_amount(value, f"「{column}」列")


class RowChecker:
    """Turns one row of cells into a Record, a Rejection, or None for a row with nothing in
    any mapped column (a blank line, a note beside the table)."""

    def __init__(self, mapping: Mapping, index: KeywordIndex) -> None:
        self.mapping = mapping
        self.index = index
        self.fields = [field for field in mapping.columns if field not in ("date", "keyword")]

    def _cell(self, cells: Sequence[Any], field: str) -> Any:
        position = self.mapping.columns[field]
        return cells[position] if position < len(cells) else None

    def _keyword(self, text: str) -> tuple[int | None, str | None]:
        found = self.index.get(text, [])
        if not found:
            return None, f"口令「{text}」未登记（先 workbench keyword apply）"
        if len(found) > 1:
            tasks = "、".join(f"#{task}" for _, task in found)
            return None, f"口令「{text}」在多个任务里都有（任务 {tasks}）：请加 --task 指明任务"
        return found[0][0], None

    def check(self, line: int, cells: list[Any]) -> Record | Rejection | None:
        raw = {field: self._cell(cells, field) for field in self.mapping.columns}
        if all(_empty(value) for value in raw.values()):
            return None
        names = self.mapping.names
        problems: list[str] = []
        keyword = keyword_text(raw["keyword"])
        keyword_id = None
        if not keyword:
            problems.append(f"没有口令（「{names['keyword']}」列是空的）")
        else:
            keyword_id, problem = self._keyword(keyword)
            problems += [problem] if problem else []
        others = [field for field in raw if field != "keyword"]
        if all(_empty(raw[field]) for field in others):
            problems.append(f"空行：口令「{keyword}」这一行没有日期和数据")
            return Rejection(line, "；".join(problems), cells)
        date = None
        if _empty(raw["date"]):
            problems.append(f"没有日期（「{names['date']}」列是空的）")
        else:
            try:
                date = parse_date(raw["date"], f"「{names['date']}」列").isoformat()
            except InputError as exc:
                problems.append(str(exc))
        values: dict[str, Value] = {}
        for field in self.fields:
            try:
                parse = parse_count if field in COUNTS else parse_revenue
                values[field] = parse(raw[field], names[field])
            except InputError as exc:
                problems.append(str(exc))
        if not problems and all(value is None for value in values.values()):
            problems.append(f"空行：口令「{keyword}」{date} 这一行没有任何数字")
        if problems or keyword_id is None or date is None:
            return Rejection(line, "；".join(problems), cells)
        return Record(line, keyword_id, date, values)


def collect(rows: Iterable[Row], checker: RowChecker
            ) -> tuple[list[Record], list[Rejection]]:
    """Every row checked. A line repeating an earlier (keyword, date) with the same numbers
    counts once; with different numbers it is rejected, naming the earlier line."""
    seen: dict[tuple[int, str], Record] = {}
    rejected: list[Rejection] = []
    for line, cells in rows:
        outcome = checker.check(line, cells)
        if outcome is None:
            continue
        if isinstance(outcome, Rejection):
            rejected.append(outcome)
            continue
        key = (outcome.keyword_id, outcome.date)
        first = seen.get(key)
        if first is None:
            seen[key] = outcome
        elif first.values != outcome.values:
            rejected.append(Rejection(
                line, f"与第 {first.line} 行的口令和日期（{outcome.date}）相同但数字不同：同一口令"
                      "同一天只能有一行，请删去错的那行", cells))
    return list(seen.values()), rejected
