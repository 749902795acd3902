"""Which column of an export holds which canonical field: the bundled presets
(tracking_presets/*.toml, one per export whose column names we know) and `--map 列名=字段,…`.

A header fits a mapping when it has the date and keyword columns (a preset) or every column the
`--map` names. Column names are compared after Unicode NFKC, without spaces and letter case, so
"收益（元）" is "收益(元)" and "Date" is "date".
"""

from __future__ import annotations

import tomllib
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from workbench.errors import InputError

FIELDS = ("date", "keyword", "views", "likes", "comments", "shares", "favorites", "clicks",
          "searches", "activations", "registrations", "orders", "retentions", "revenue")
COUNTS = FIELDS[2:13]  # non-negative integers; revenue is money
REQUIRED = ("date", "keyword")
FIELD_NAMES = {
    "date": "日期", "keyword": "口令", "views": "播放量", "likes": "点赞", "comments": "评论",
    "shares": "分享", "favorites": "收藏", "clicks": "点击", "searches": "搜索",
    "activations": "激活", "registrations": "注册", "orders": "订单",
    "retentions": "次日留存", "revenue": "收入",
}
PRESET_DIR = Path(__file__).parent / "tracking_presets"
# Tried first when no preset is named (then the rest by name); the best fit wins.
PREFERRED = ("canonical", "generic-cn")
MAX_MAP = 2000  # characters of a --map value


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    columns: dict[str, tuple[str, ...]]  # field → the column names it may have, preferred first


@dataclass(frozen=True)
class Mapping:
    """How one header maps: field → column index, and the file's column name for each field."""

    columns: dict[str, int]
    names: dict[str, str]
    preset: str | None  # the preset used, None for --map

    def stored(self) -> dict[str, str]:
        """file column → field, as tracking_imports.mapping keeps it."""
        return {self.names[field]: field for field in self.columns}


def column_key(name: object) -> str:
    """A column name as compared: NFKC, no whitespace, lower case."""
    text = unicodedata.normalize("NFKC", "" if name is None else str(name))
    return "".join(text.split()).lower()


def _load(path: Path) -> Preset:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        columns = {field: tuple(str(n) for n in names)
                   for field, names in data["columns"].items()}
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, KeyError, TypeError,
            AttributeError) as exc:
        raise InputError(f"{path}: 回传预设无法读取（{exc}）：请重新安装 Workbench") from None
    unknown = set(columns) - set(FIELDS)
    if unknown or not set(REQUIRED) <= set(columns):
        raise InputError(f"{path}: 回传预设的字段不对（未知 {sorted(unknown)}，必须有 date 和 "
                         "keyword）")
    return Preset(path.stem, str(data.get("description", "")), columns)


@cache
def presets() -> dict[str, Preset]:
    """Bundled presets by name, PREFERRED first."""
    found = {path.stem: path for path in sorted(PRESET_DIR.glob("*.toml"))}
    order = [name for name in PREFERRED if name in found]
    order += [name for name in found if name not in PREFERRED]
    return {name: _load(found[name]) for name in order}


def get_preset(name: str) -> Preset:
    known = presets()
    if name not in known:
        raise InputError(f"没有名为「{name}」的回传预设：可选 {', '.join(known)}"
                         "（或用 --map 列名=字段,… 自己指定）")
    return known[name]


def parse_map(spec: str) -> dict[str, str]:
    """`列名=字段,…` as {column name as written: field}. Unknown fields, a field or column
    given twice and a map without date and keyword are refused."""
    if len(spec) > MAX_MAP:
        raise InputError(f"--map 太长（{len(spec)} 个字符，最多 {MAX_MAP}）")
    result: dict[str, str] = {}
    names: dict[str, str] = {}
    for pair in spec.replace("，", ",").split(","):
        if not pair.strip():
            continue
        column, sep, field = pair.rpartition("=")
        column, field = column.strip(), field.strip().lower()
        if not sep or not column or not field:
            raise InputError(f"--map 的「{pair.strip()}」应写成 列名=字段（如 日期=date）")
        if field not in FIELDS:
            hint = (f"（写反了？应为 {field}={column.lower()}）"
                    if column.lower() in FIELDS else "")
            raise InputError(f"--map 里的字段「{field}」不存在{hint}：可用 {', '.join(FIELDS)}")
        if field in names:
            raise InputError(f"--map 里字段 {field} 出现了两次（「{names[field]}」和「{column}」）")
        if column_key(column) in map(column_key, result):
            raise InputError(f"--map 里列「{column}」出现了两次")
        names[field] = column
        result[column] = field
    missing = [f"{field}（{FIELD_NAMES[field]}）" for field in REQUIRED if field not in names]
    if missing:
        raise InputError(f"--map 缺少 {'、'.join(missing)} 列：口令和日期是必需的，"
                         "例如 --map 日期=date,口令=keyword,播放量=views")
    return result


def _positions(header: Sequence[str]) -> dict[str, list[int]]:
    positions: dict[str, list[int]] = {}
    for index, name in enumerate(header):
        if key := column_key(name):
            positions.setdefault(key, []).append(index)
    return positions


def _build(header: Sequence[str], chosen: dict[str, int], preset: str | None) -> Mapping:
    return Mapping(chosen, {field: str(header[i]).strip() for field, i in chosen.items()}, preset)


def fit_preset(header: Sequence[str], preset: Preset) -> Mapping | None:
    """The preset's mapping of this header, or None when it lacks the date or keyword column."""
    positions = _positions(header)
    chosen: dict[str, int] = {}
    for field, names in preset.columns.items():
        for name in names:
            if found := positions.get(column_key(name)):
                chosen[field] = found[0]
                break
    if not all(field in chosen for field in REQUIRED):
        return None
    _check_unique(header, positions, chosen)
    return _build(header, chosen, preset.name)


def fit_map(header: Sequence[str], spec: dict[str, str]) -> Mapping | None:
    """The --map's mapping of this header, or None when a column it names is missing."""
    positions = _positions(header)
    if not all(column_key(name) in positions for name in spec):
        return None
    chosen = {field: positions[column_key(name)][0] for name, field in spec.items()}
    _check_unique(header, positions, chosen)
    return _build(header, chosen, None)


def fit_any(header: Sequence[str]) -> Mapping | None:
    """The preset that maps the most columns of this header (the first listed on a tie)."""
    best: Mapping | None = None
    for preset in presets().values():
        mapping = fit_preset(header, preset)
        if mapping and (best is None or len(mapping.columns) > len(best.columns)):
            best = mapping
    return best


def _check_unique(header: Sequence[str], positions: dict[str, list[int]],
                  chosen: dict[str, int]) -> None:
    for field, index in chosen.items():
        if len(positions[column_key(header[index])]) > 1:
            raise InputError(f"表头里有不止一列叫「{str(header[index]).strip()}」"
                             f"（{FIELD_NAMES[field]}）：请删去或改名多余的列后再导入")


def no_header_message(source: str, found: tuple[int, Sequence[str]] | None,
                      preset: Preset | None, spec: dict[str, str] | None) -> str:
    """Why no row of the file could be its header, and what to use instead."""
    if found is None:
        return f"{source}: 文件里没有任何数据行"
    line, header = found
    shown = "、".join(f"「{str(h).strip()}」" for h in header if str(h).strip())[:300]
    where = f"{source}: 第 {line} 行的表头是 {shown or '（空）'}"
    if spec is not None:
        have = set(_positions(header))
        missing = [name for name in spec if column_key(name) not in have]
        return (f"{where}，没有 --map 里的列{'、'.join(f'「{m}」' for m in missing)}："
                "请按文件里的列名写 --map")
    if preset is not None:
        wanted = "、".join(f"{FIELD_NAMES[f]}（{' / '.join(preset.columns[f])}）"
                          for f in REQUIRED)
        return (f"{where}，不符合预设 {preset.name}（需要 {wanted} 列）：换一个 --preset"
                f"（{', '.join(presets())}）或用 --map 列名=字段,… 指明各列")
    return (f"{where}，没有哪个预设认得（{', '.join(presets())}）：用 --preset 指定，或用 "
            "--map 列名=字段,… 指明各列，例如 --map 日期=date,口令=keyword,播放量=views")
