"""Prompt folders: every `*.md` (YAML front matter + optional instruction body) or `*.yaml` file
is one brief; `_defaults.yaml` holds folder-wide defaults. Files whose names start with `_` or
`.` are not briefs.

This module reads and shape-checks the files (YAML syntax, known keys, value types, all with
file and line); `validate.py` checks what the values refer to (material, templates, paths …).
Every problem of every file is collected, so the user fixes them all in one go.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from workbench.batch.ab import MAX_WEIGHT
from workbench.errors import InputError, TemplateError
from workbench.frontmatter import FileTooLarge, read_limited, split_front_matter
from workbench.render.profiles import PROFILES
from workbench.rewrite.registry import CHOICES as REWRITE_CHOICES
from workbench.subtitle_styles import KEYS as SUBTITLE_KEYS
from workbench.subtitle_styles import OVERRIDES_SCHEMA, PRESET_IDS
from workbench.voice.registry import CHOICES as VOICE_CHOICES
from workbench.yamlnodes import LocatedYaml, YamlSyntaxError, YamlTooLarge, load_located

DEFAULTS_FILE = "_defaults.yaml"
BRIEF_SUFFIXES = (".md", ".yaml", ".yml")
MAX_VARIANTS = 50
AXES = ("hooks", "templates", "voices", "backgrounds", "bgms")  # what a matrix can vary
# singular spelling → the list key it stands for
SINGULAR = {"template": "templates", "voice": "voices", "background": "backgrounds",
            "bgm": "bgms", "hook": "hooks", "chapter": "chapters"}

_STR = {"type": "string", "minLength": 1}
_STRS = {"type": "array", "items": _STR, "minItems": 1,
         "x-zh": "应为一项文字或文字列表，例如 [a, b]"}
# `templates: {suspense: 2, emotional: 1}`: A/B templates sharing the variants by weight (ab.py)
_WEIGHTS = {"type": "object", "minProperties": 1,
            "additionalProperties": {
                "type": "integer", "minimum": 1, "maximum": MAX_WEIGHT,
                "x-zh": f"A/B 模板写成 模板: 权重（1 到 {MAX_WEIGHT} 的整数），"
                        "如 {suspense: 2, emotional: 1}"}}
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "notes": {"type": "string"},
        "material": {"anyOf": [{"type": "integer", "minimum": 1}, _STR],
                     "x-zh": "写小说文件或短剧剧集文件夹的路径（相对本文件夹）或素材编号"
                             "（workbench material list）"},
        "chapters": {"anyOf": [
            {"type": "integer", "minimum": 1},
            {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 1},
            {"type": "string", "pattern": r"^\s*\d+\s*-\s*\d+\s*$"}],
            "x-zh": "写成章节号（2）、列表（[1, 2]）或范围（\"1-3\"）"},
        "templates": {"if": {"type": "object"}, "then": _WEIGHTS, "else": _STRS},
        "segments": {"anyOf": [_STR, {"type": "array", "items": _STR, "minItems": 1}],
                     "x-zh": "短剧片段写成 \"1:12.5-25.0,2:3-18\" 或列表 [\"1:12.5-25.0\", …]"},
        "prompt": _STR,
        "instruction": {"type": "string"},
        "keyword": _STR,
        "app": _STR,
        "task": {"type": "integer", "minimum": 1},
        "draft": {"type": "boolean"},
        "max_seconds": {"type": "number", "exclusiveMinimum": 0},
        "banner": _STR,
        "variables": {"type": "object",
                      "additionalProperties": {"type": ["string", "number", "boolean"]},
                      "x-zh": "写成 名称: 值 的映射，值为文字或数字"},
        "rewrite_backend": {"enum": list(REWRITE_CHOICES)},
        "voice_backend": {"enum": list(VOICE_CHOICES)},
        "voices": _STRS,
        "rate": {"type": "string", "pattern": r"^[+-]\d+%$", "x-zh": "语速写成 +20% 或 -10%"},
        "pitch": {"type": "string", "pattern": r"^[+-]\d+Hz$", "x-zh": "音调写成 +5Hz 或 -5Hz"},
        "volume": {"type": "string", "pattern": r"^[+-]\d+%$", "x-zh": "音量写成 +10% 或 -10%"},
        "backgrounds": _STRS,
        "bgms": _STRS,
        "bgm_volume": {"type": "number", "minimum": 0, "maximum": 1,
                       "x-zh": "背景音乐音量写成 0 到 1 之间的数，如 0.2"},
        "hooks": _STRS,
        "profile": {"enum": list(PROFILES)},
        "encoder": _STR,
        "variants": {"type": "integer", "minimum": 1, "maximum": MAX_VARIANTS},
        "matrix": {"type": "object", "minProperties": 1,
                   "properties": {axis: _STRS for axis in AXES},
                   "x-zh": f"matrix 写成 轴: [选项…] 的映射，可用的轴：{'、'.join(AXES)}"},
        "seed": {"type": "integer", "minimum": 0},
        "min_differences": {"type": "integer", "minimum": 0, "maximum": 4},
        "output": _STR,
        "subtitle_style": {"enum": list(PRESET_IDS)},
        "subtitles": {**OVERRIDES_SCHEMA,
                      "x-zh": "写成 字段: 值 的映射，可用：" + "、".join(SUBTITLE_KEYS)},
    },
}
KNOWN_KEYS = tuple(SCHEMA["properties"]) + tuple(SINGULAR)
_VALIDATOR = Draft202012Validator(SCHEMA)
_TYPE_NAMES = {"integer": "整数", "string": "文字", "number": "数字", "array": "列表",
               "object": "键值映射（key: value）", "boolean": "true/false"}


@dataclass(frozen=True)
class Problem:
    file: str  # relative to the folder's parent, as the user typed the folder
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class BriefErrors(InputError):
    """Every problem found in a prompt folder; the message lists them all, one a line."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems, key=lambda p: (p.file, p.line))
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"提示词文件夹有 {len(self.problems)} 个问题，请逐条修改后再运行：\n{lines}")


@dataclass
class Source:
    """One parsed file: its values (singular keys folded into lists) and their lines."""

    name: str
    yaml: LocatedYaml
    values: dict[str, Any]
    renamed: dict[str, str] = field(default_factory=dict)  # list key → key as written

    def line(self, *path: Any) -> int:
        key, *rest = path
        original = self.renamed.get(key, key)
        return self.yaml.line((original, *rest))


@dataclass
class Brief:
    """A brief merged over the folder defaults; every value knows the file and line it is from."""

    name: str  # file name shown in messages and the report
    path: Path
    values: dict[str, Any]
    origin: dict[str, Source]  # key → the file that set it
    body: str = ""

    def where(self, *path: Any) -> tuple[str, int]:
        source = self.origin.get(path[0]) if path else None
        if source is None:
            return self.name, 1
        return source.name, source.line(*path)

    def problem(self, message: str, *path: Any) -> Problem:
        file, line = self.where(*path) if path else (self.name, 1)
        return Problem(file, line, message)


def shown_name(folder: Path, path: Path) -> str:
    return str(folder / path.name) if str(folder) not in ("", ".") else path.name


def brief_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and p.suffix.lower() in BRIEF_SUFFIXES
                  and not p.name.startswith(("_", ".")))


def read_folder(folder: Path) -> tuple[Source | None, list[Brief], list[Problem]]:
    """Parse `_defaults.yaml` and every brief; returns what parsed plus every problem."""
    problems: list[Problem] = []
    if not folder.is_dir():
        raise InputError(f"提示词文件夹不存在: {folder}（给一个包含 *.md / *.yaml 简报的文件夹）")
    defaults = None
    defaults_path = folder / DEFAULTS_FILE
    if defaults_path.is_file():
        defaults = _read_source(defaults_path, shown_name(folder, defaults_path), problems)
    files = brief_files(folder)
    if not files:
        problems.append(Problem(str(folder), 1, "文件夹里没有简报：每个 *.md 或 *.yaml 文件是一个简报"
                                                 f"（{DEFAULTS_FILE} 和以 _ 开头的文件除外）"))
    briefs = []
    for path in files:
        name = shown_name(folder, path)
        if path.suffix.lower() == ".md":
            source, body = _read_markdown(path, name, problems)
        else:
            source, body = _read_source(path, name, problems), ""
        if source is None:
            continue
        if "output" in source.values:
            problems.append(Problem(name, source.line("output"),
                                    f"output 只能写在 {DEFAULTS_FILE} 里（整个文件夹共用一个输出目录）"))
        briefs.append(_merge(defaults, source, path, body))
    return defaults, briefs, problems


def _read_text(path: Path, name: str, problems: list[Problem]) -> str | None:
    try:
        return read_limited(path).lstrip("\ufeff")
    except FileTooLarge as exc:
        problems.append(Problem(name, 1, str(exc)))
    except UnicodeDecodeError:
        problems.append(Problem(name, 1, "不是 UTF-8 文本，请用 UTF-8 保存"))
    except OSError as exc:
        problems.append(Problem(name, 1, f"无法读取：{exc.strerror}"))
    return None


def _read_markdown(path: Path, name: str, problems: list[Problem]
                   ) -> tuple[Source | None, str]:
    text = _read_text(path, name, problems)
    if text is None:
        return None, ""
    try:
        header, body, _ = split_front_matter(text, path)
    except TemplateError:
        problems.append(Problem(name, 1, "缺少 YAML front matter：文件须以 --- 开头，"
                                         "参数写完后再用一行 --- 结束，正文是给改写的补充要求"))
        return None, ""
    return _parse(header, name, 2, problems), body.strip()


def _read_source(path: Path, name: str, problems: list[Problem]) -> Source | None:
    text = _read_text(path, name, problems)
    return None if text is None else _parse(text, name, 1, problems)


def _parse(text: str, name: str, first_line: int, problems: list[Problem]) -> Source | None:
    try:
        located = load_located(text, first_line)
    except YamlTooLarge as exc:
        problems.append(Problem(name, exc.line, exc.problem))
        return None
    except YamlSyntaxError as exc:
        problems.append(Problem(name, exc.line, f"YAML 格式错误：{exc.problem}"
                                                "（检查缩进、冒号后的空格和引号是否成对）"))
        return None
    if located.data is None:
        located.data = {}
    if not isinstance(located.data, dict):
        problems.append(Problem(name, located.line(()), "内容应为 key: value 的映射"))
        return None
    for key, line in located.duplicates:
        problems.append(Problem(name, line, f"{key} 写了两次，只保留一个"))
    source = Source(name, located, {})
    ok = True
    for key, value in located.data.items():
        key = str(key)
        target = SINGULAR.get(key, key)
        if key not in KNOWN_KEYS:  # reported; the rest of the file is still checked
            close = difflib.get_close_matches(key, KNOWN_KEYS, n=1)
            hint = f"，是不是 {close[0]}？" if close else f"；可用字段：{'、'.join(KNOWN_KEYS)}"
            problems.append(Problem(name, located.line((key,)), f"未知字段 {key}{hint}"))
            continue
        if target in source.values:
            problems.append(Problem(name, located.line((key,)),
                                    f"{key} 和 {source.renamed.get(target, target)} 重复，只写一个"))
            ok = False
            continue
        if target in SINGULAR.values() and target != "chapters" and isinstance(value, str):
            value = [value]  # `voice: cmn` and `voices: cmn` both mean ["cmn"]
        if key != target:
            source.renamed[target] = key
        if target == "templates" and isinstance(value, dict):  # weights: ids as text
            value = {str(k): v for k, v in value.items()}
        if target == "matrix" and isinstance(value, dict):
            value = {SINGULAR.get(str(k), str(k)): ([v] if isinstance(v, str) else v)
                     for k, v in value.items()}
        source.values[target] = value
    for error in _VALIDATOR.iter_errors(source.values):
        path = list(error.absolute_path)
        if path and path[0] == "matrix" and len(path) > 1:
            path[1] = next((k for k, v in located.data.get("matrix", {}).items()
                            if SINGULAR.get(str(k), str(k)) == path[1]), path[1])
        problems.append(Problem(name, source.line(*path) if path else located.line(()),
                                _schema_message(error, path)))
        ok = False
    for axis in source.values.get("matrix", {}) if isinstance(source.values.get("matrix"),
                                                              dict) else ():
        if axis not in AXES:
            problems.append(Problem(name, source.line("matrix"),
                                    f"matrix 里没有 {axis} 这个轴；可用：{'、'.join(AXES)}"))
            ok = False
    return source if ok else None


def _schema_message(error, path: list[Any]) -> str:
    field_name = ".".join(str(p) for p in path) or "内容"
    hint = error.schema.get("x-zh")
    parent = error.parent
    while hint is None and parent is not None:
        hint = parent.schema.get("x-zh")
        parent = parent.parent
    kind = error.validator
    value = error.instance
    if kind == "type":
        expected = error.validator_value
        names = "或".join(_TYPE_NAMES.get(t, t) for t in
                         (expected if isinstance(expected, list) else [expected]))
        message = f"{field_name} 应为{names}，现在是 {value!r}"
    elif kind == "enum":
        message = f"{field_name} 只能是 {'、'.join(map(str, error.validator_value))}，现在是 {value!r}"
    elif kind in ("minimum", "exclusiveMinimum"):
        message = f"{field_name} 太小（{value!r}），至少 {error.validator_value}"
    elif kind == "maximum":
        message = f"{field_name} 太大（{value!r}），最多 {error.validator_value}"
    elif kind in ("minItems", "minLength", "minProperties"):
        message = f"{field_name} 不能为空"
    else:
        message = f"{field_name} 的值 {value!r} 不对"
    return f"{message}（{hint}）" if hint else message


def _merge(defaults: Source | None, source: Source, path: Path, body: str) -> Brief:
    values: dict[str, Any] = {}
    origin: dict[str, Source] = {}
    for layer in (defaults, source):
        if layer is None:
            continue
        for key, value in layer.values.items():
            if key == "output":
                continue
            values[key] = value
            origin[key] = layer
    # A brief's own matrix or variants replaces the folder's, never both at once.
    if "matrix" in source.values and "variants" not in source.values:
        values.pop("variants", None)
    if "variants" in source.values and "matrix" not in source.values:
        values.pop("matrix", None)
    return Brief(name=source.name, path=path, values=values, origin=origin, body=body)
