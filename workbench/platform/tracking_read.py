"""Reading a tracking export (回传) into rows of cells with the line each row came from.

CSV (also .tsv and .txt; the delimiter is read off the first line) in whatever encoding the
novel import can detect (UTF-8 with or without BOM, GBK/GB18030 …); JSON, an array of objects
(a row's line is where its object starts; its header is every key, in order of appearance);
XLSX through openpyxl (the row numbers of the sheet). A file that is not what its extension
says, or that is too big, is refused whole with its name.
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import io
import json
import re
import warnings
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from workbench.errors import InputError
from workbench.files import read_bounded
from workbench.materials.encoding import decode_text

MAX_BYTES = 50 * 1024 * 1024
MAX_ROWS = 200_000  # data rows
MAX_UNZIPPED = 500 * 1024 * 1024  # an XLSX's parts, uncompressed (a zip bomb stops here)
MAX_COLUMNS = 200  # cells read per XLSX row
FORMATS = {".csv": "csv", ".tsv": "csv", ".txt": "csv", ".json": "json", ".xlsx": "xlsx"}
_DELIMITERS = (",", "\t", ";", "|")
_SPACE = re.compile(r"[ \t\n\r]*")
_MAGIC = ((b"PK\x03\x04", "ZIP/XLSX 压缩包"), (b"\xd0\xcf\x11\xe0", "旧版 Excel（.xls）文件"),
          (b"%PDF", "PDF 文档"), (b"\x89PNG", "PNG 图片"), (b"\xff\xd8\xff", "JPEG 图片"),
          (b"SQLite format 3", "SQLite 数据库"))

Row = tuple[int, list[Any]]  # (line, cells)


@dataclass
class Sheet:
    name: str | None  # an XLSX sheet's title
    rows: Iterator[Row]  # blank rows are left out


@dataclass
class Export:
    path: Path
    format: str  # csv | json | xlsx
    encoding: str | None
    sha256: str
    sheets: Iterator[Sheet]


def cell_text(value: Any) -> str:
    """A cell as text: a whole float without ".0", a date as ISO, nothing as ""."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def _blank(cells: list[Any]) -> bool:
    return all(value is None or (isinstance(value, str) and not value.strip()) for value in cells)


def _too_many(source: str) -> InputError:
    return InputError(f"{source}: 超过 {MAX_ROWS} 行数据：请按日期拆成几个文件分别导入")


@contextmanager
def open_export(path: Path | str) -> Iterator[Export]:
    """The export at `path`, its sheets read lazily (an XLSX workbook is closed on exit)."""
    path = Path(path)
    source = str(path)
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise InputError(f"{source}: 不支持的文件类型「{path.suffix or '无扩展名'}」：请导入 "
                         ".csv、.tsv、.txt、.json 或 .xlsx")
    data = read_bounded(path, MAX_BYTES, "请导入 CSV、JSON 或 XLSX 文件",
                        "请按日期拆成几个文件分别导入")
    if not data.strip():
        raise InputError(f"{source}: 文件是空的")
    digest = hashlib.sha256(data).hexdigest()
    if kind == "xlsx":
        if not data.startswith(b"PK\x03\x04"):
            raise InputError(f"{source}: 不是 XLSX 文件（内容与扩展名不符）：请用 Excel 另存为 "
                             ".xlsx 或 CSV 后重试")
        del data
        sheets = _xlsx_sheets(path, source)
        try:
            yield Export(path, kind, None, digest, sheets)
        finally:
            sheets.close()
        return
    text, encoding = _text(data, source, kind)
    del data
    rows = _csv_rows(text, source) if kind == "csv" else _json_rows(text, source)
    yield Export(path, kind, encoding, digest, iter([Sheet(None, rows)]))


def _text(data: bytes, source: str, kind: str) -> tuple[str, str]:
    label = "CSV" if kind == "csv" else "JSON"
    for magic, what in _MAGIC:
        if data.startswith(magic):
            raise InputError(f"{source}: 这是{what}，不是 {label} 文本（内容与扩展名不符）："
                             "请检查文件，或把扩展名改成它真正的格式")
    if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(f"{source}: 这是二进制文件，不是 {label} 文本：请检查文件")
    text, encoding = decode_text(data, source)
    return text, encoding


def _delimiter(text: str) -> str:
    """The delimiter the first lines use most (a title line above the header may have none);
    a comma when they have none."""
    lines = [line for line in text[:65536].splitlines() if line.strip()][:10]
    counts = {d: max((line.count(d) for line in lines), default=0) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def _csv_rows(text: str, source: str) -> Iterator[Row]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    start, count = 1, 0
    try:
        for cells in reader:
            line, start = start, reader.line_num + 1
            if _blank(cells):
                continue
            count += 1
            if count > MAX_ROWS + 1:  # the header and MAX_ROWS data rows
                raise _too_many(source)
            yield line, cells
    except csv.Error as exc:
        raise InputError(f"{source}: 第 {reader.line_num} 行无法按 CSV 读取（{exc}）：请检查"
                         "这一行的引号，或用 Excel 重新导出") from None


def _json_rows(text: str, source: str) -> Iterator[Row]:
    """The header (every key, in order of appearance) on the array's line, then one row per
    object on the line where it starts. Numbers with a fraction are read as Decimal."""
    decoder = json.JSONDecoder(parse_float=Decimal)
    line, counted = 1, 0

    def line_at(pos: int) -> int:
        nonlocal line, counted
        line += text.count("\n", counted, pos)
        counted = pos
        return line

    def fail(pos: int, what: str) -> InputError:
        return InputError(f"{source}: 第 {line_at(pos)} 行{what}：应为对象数组 "
                          '[{"date": …, "keyword": …}, …]')

    pos = _SPACE.match(text, 0).end()
    if not text.startswith("[", pos):
        raise fail(pos, "不是 JSON 数组")
    header_line = line_at(pos)
    objects: list[tuple[int, dict[str, Any]]] = []
    keys: dict[str, None] = {}
    pos = _SPACE.match(text, pos + 1).end()
    if text.startswith("]", pos):
        pos += 1
    else:
        while True:
            try:
                value, end = decoder.raw_decode(text, pos)
            except json.JSONDecodeError as exc:
                raise InputError(f"{source}: 第 {exc.lineno} 行第 {exc.colno} 列不是有效的 "
                                 f"JSON（{exc.msg}）") from None
            except (ValueError, RecursionError):  # a number of thousands of digits, deep nesting
                raise fail(pos, "的对象无法读取（数字太长或嵌套太深）") from None
            if not isinstance(value, dict):
                raise fail(pos, f"的元素不是对象（{json.dumps(value, default=str)[:40]}）")
            if len(objects) >= MAX_ROWS:
                raise _too_many(source)
            objects.append((line_at(pos), value))
            keys.update(dict.fromkeys(str(key) for key in value))
            pos = _SPACE.match(text, end).end()
            if text.startswith(",", pos):
                pos = _SPACE.match(text, pos + 1).end()
                continue
            if text.startswith("]", pos):
                pos += 1
                break
            raise fail(pos, "缺少逗号或 ]")
    if _SPACE.match(text, pos).end() != len(text):
        raise fail(pos, "在数组之后还有内容")
    names = list(keys)
    if not names:
        return  # an empty array, or only empty objects: no rows at all
    yield header_line, names
    for start, value in objects:
        cells = [value.get(name) for name in names]
        if not _blank(cells):
            yield start, cells


def _xlsx_sheets(path: Path, source: str) -> Iterator[Sheet]:
    """Every worksheet, lazily; the workbook is closed when this generator is."""
    import openpyxl

    broken = (f"{source}: 不是有效的 XLSX 文件（可能已损坏或不是 Excel 保存的）：请用 Excel "
              "打开后另存为 .xlsx 或 CSV 再导入")
    try:
        with zipfile.ZipFile(path) as archive:
            unzipped = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError):
        raise InputError(broken) from None
    if unzipped > MAX_UNZIPPED:
        raise InputError(f"{source}: 解压后有 {unzipped / 1048576:.0f} MB，超过 "
                         f"{MAX_UNZIPPED // 1048576} MB：请按日期拆成几个文件分别导入")
    try:
        with warnings.catch_warnings():  # "no default style" and the like: not the user's concern
            warnings.simplefilter("ignore")
            workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - openpyxl raises many kinds for a damaged file
        raise InputError(broken) from None
    try:
        for worksheet in workbook.worksheets:
            worksheet.reset_dimensions()  # the stored size may be wrong: read every row
            yield Sheet(worksheet.title, _xlsx_rows(worksheet, source, broken))
    finally:
        workbook.close()


def _xlsx_rows(worksheet: Any, source: str, broken: str) -> Iterator[Row]:
    count = 0
    try:
        for number, values in enumerate(
                worksheet.iter_rows(max_col=MAX_COLUMNS, values_only=True), start=1):
            cells = list(values)
            if _blank(cells):
                continue
            while cells and cells[-1] is None:
                cells.pop()
            count += 1
            if count > MAX_ROWS + 1:
                raise _too_many(f"{source}（工作表「{worksheet.title}」）")
            yield number, cells
    except InputError:
        raise
    except Exception:  # noqa: BLE001 - a damaged sheet part
        raise InputError(broken) from None
