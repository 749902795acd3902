"""Script templates: YAML front matter plus a sandboxed Jinja2 body of named segment blocks.

A template is parsed into a validated `ScriptTemplate` value; rendering gives ordered
`Segment`s (hook, body, ..., cta). Every problem is reported as a `LintIssue` with a line number
in the *file*, so loading, rendering and `lint` all point the author at the same place.

Segments are the top-level `{% block %}`s in source order; see `sandbox.render_blocks`.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Template, TemplateSyntaxError, nodes
from jsonschema import Draft202012Validator

from workbench.errors import InputError, TemplateError
from workbench.frontmatter import parse_front_matter, read_utf8, split_front_matter
from workbench.models import Segment
from workbench.script.sandbox import (
    BlockRenderError,
    find_unsafe,
    make_environment,
    normalise_segment,
    render_blocks,
)
from workbench.script.variables import (
    COMPUTED_VARIABLES,
    KINDS,
    builtin_variables,
    required_segments,
)
from workbench.subtitle_styles import OVERRIDES_SCHEMA
from workbench.voice.base import GENDERS, VoiceHint
from workbench.yamlnodes import LocatedYaml, YamlSyntaxError, load_located

logger = logging.getLogger(__name__)

DEFAULT_CHARS_PER_SECOND = 4.5

_STRING = {"type": "string"}
FRONT_MATTER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id", "name", "kind", "target_seconds"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string", "pattern": r"^[a-z0-9_-]+$"},
        "name": {"type": "string", "minLength": 1},
        "kind": {"enum": list(KINDS)},
        "version": {"type": ["string", "integer", "number"]},
        "description": _STRING,
        "target_seconds": {"type": "integer", "minimum": 5, "maximum": 600},
        # kind: drama only: the segments get a voiced narration (解说) instead of only their
        # original sound (切片)
        "narrated": {"type": "boolean"},
        # on-screen wording; {app} and {keyword} are filled in at render time
        "banner": {"type": "string", "minLength": 1},
        "end_card": {"type": "array", "items": {"type": "string", "minLength": 1},
                     "minItems": 1, "maxItems": 4},
        # wishes for the narration, used where neither the job nor the user's settings choose
        "voice": {"type": "object", "additionalProperties": False,
                  "properties": {"gender": {"enum": list(GENDERS)},
                                 "rate": {"type": "string", "pattern": r"^[+-]\d+%$"},
                                 "pitch": {"type": "string", "pattern": r"^[+-]\d+Hz$"}}},
        # story images (background images:ai): shared by every picture of the video
        "images": {"type": "object", "additionalProperties": False,
                   "properties": {"style": {"type": "string", "minLength": 1, "maxLength": 300},
                                  "characters": {"type": "string", "minLength": 1,
                                                 "maxLength": 600}}},
        # the subtitle look (subtitle_styles.KEYS), between the settings and the job's own
        "subtitles": OVERRIDES_SCHEMA,
        "variables": {
            "type": "object",
            "propertyNames": {"pattern": r"^[A-Za-z][A-Za-z0-9_]*$"},
            "additionalProperties": {  # one variable: a mapping, or empty for "all defaults"
                "type": ["object", "null"], "additionalProperties": False,
                "properties": {"default": {}, "required": {"type": "boolean"},
                               "description": _STRING},
            },
        },
    },
}
_VALIDATOR = Draft202012Validator(FRONT_MATTER_SCHEMA)
_PATTERN_HINTS = {"id": "只能用小写字母、数字、_ 和 -", "rate": '写成 "+20%" 或 "-10%"',
                  "pitch": '写成 "+5Hz" 或 "-5Hz"', **dict.fromkeys(
                      ("color", "outline_color", "highlight_color", "spoken_color"),
                      '颜色写成 "#FFD400"')}
_TYPE_NAMES = {"string": "文字", "integer": "整数", "number": "数字", "boolean": "true/false",
               "object": "键值映射", "null": "空", "array": "列表"}
_ENV = make_environment()
MAX_BODY_CHARS = 100_000  # a script template is a few KB; compiling costs ~2 KB per character
_TOO_DEEP = "模板嵌套太深（if/for/括号一层套一层太多），无法编译；请拆开或减少层数"


@dataclass(frozen=True)
class LintIssue:
    level: str  # "error" | "warning"
    line: int  # 1-based line in the template file
    message: str  # Chinese, for the template author
    path: Path | None = None

    @property
    def is_error(self) -> bool:
        return self.level == "error"

    def __str__(self) -> str:
        label = "错误" if self.is_error else "警告"
        return f"{self.path or '<template>'}:{self.line}: {label}: {self.message}"


class TemplateIssueError(TemplateError):
    """A TemplateError that still knows its `LintIssue`, so `lint` can report it as one."""

    def __init__(self, issue: LintIssue, more: int = 0) -> None:
        self.issue = issue
        self.path = issue.path
        tail = f"（另有 {more} 处错误，运行 lint 查看全部）" if more else ""
        super().__init__(f"{issue.path or '<template>'}:{issue.line}: {issue.message}{tail}")


@dataclass(frozen=True)
class VariableSpec:
    name: str
    default: Any = None  # None means "no default"
    required: bool = False
    description: str = ""


@dataclass(frozen=True)
class ScriptTemplate:
    id: str
    name: str
    kind: str
    version: str
    description: str
    variables: dict[str, VariableSpec]
    target_seconds: int
    voice: dict[str, Any]
    segments: list[str]  # block names in source order
    path: Path
    source: str  # the whole file text
    banner: str = ""  # "" → settings render.banner
    end_card: tuple[str, ...] = ()  # () → the built-in end card
    images: dict[str, Any] = field(default_factory=dict)  # {style, characters} for images:ai
    subtitles: dict[str, Any] = field(default_factory=dict)  # front matter `subtitles:`
    narrated: bool = False  # kind: drama: a voiced narration over the segments (解说)

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(self.source.encode("utf-8")).hexdigest()[:16]

    @property
    def voice_hint(self) -> VoiceHint:
        return VoiceHint.from_front_matter(self.voice)

    def cache_payload(self) -> dict[str, Any]:
        return {"id": self.id, "version": self.version, "hash": self.content_hash}


@dataclass(frozen=True)
class ParsedTemplate:
    """What `check_source` could make of a file; fields stay empty where parsing failed."""

    meta: dict[str, Any]
    header: str  # the YAML text, for mapping a field to its line
    body_first_line: int
    ast: nodes.Template | None
    segments: list[str] = field(default_factory=list)
    block_lines: dict[str, int] = field(default_factory=dict)  # block name -> file line


# --- checking --------------------------------------------------------------------------------

def front_matter_line(header: str, loc: list[Any]) -> int:
    """File line of the YAML key at `loc` (or of its nearest existing parent)."""
    located = _located_header(header)
    return located.line(loc, default=2) if located else 2


@functools.lru_cache(maxsize=16)
def _located_header(header: str) -> LocatedYaml | None:
    try:
        return load_located(header, first_line=2)  # the header starts after the opening ---
    except YamlSyntaxError:
        return None


def _schema_issues(meta: dict[str, Any], header: str, path: Path) -> list[LintIssue]:
    issues: list[LintIssue] = []

    def add(loc: list[Any], message: str) -> None:
        issues.append(LintIssue("error", front_matter_line(header, loc), message, path))

    for err in _VALIDATOR.iter_errors(meta):
        loc = list(err.absolute_path)
        name = ".".join(map(str, loc))
        where = f"{name} " if name else ""
        if err.validator == "required":
            missing = [k for k in err.validator_value if k not in err.instance]
            add(loc, f"{where}缺少必填字段 {', '.join(missing)}")
        elif err.validator == "additionalProperties":
            allowed = list(err.schema.get("properties", {}))
            for extra in sorted(set(err.instance) - set(allowed)):
                add([*loc, extra], f"未知字段 {'.'.join(map(str, [*loc, extra]))}"
                                   f"（可用字段：{', '.join(allowed)}）")
        elif err.validator == "propertyNames":
            add([*loc, err.instance], f"变量名 {err.instance!r} 无效（以字母开头，只用字母、数字和 _）")
        elif err.validator == "type":
            wanted = err.validator_value
            kinds = "或".join(_TYPE_NAMES[t] for t in (wanted if isinstance(wanted, list) else [wanted]))
            add(loc, f"{name} 应为{kinds}，实际是 {err.instance!r}")
        elif err.validator == "enum":
            add(loc, f"{name} 应为 {' / '.join(map(str, err.validator_value))} 之一，"
                     f"实际是 {err.instance!r}")
        elif err.validator == "pattern":
            hint = _PATTERN_HINTS.get(str(loc[-1]) if loc else "", err.validator_value)
            add(loc, f"{name} 格式不对：{err.instance!r}（{hint}）")
        elif err.validator in ("minimum", "maximum") and loc and loc[0] == "subtitles":
            bound = "至少" if err.validator == "minimum" else "最多"
            add(loc, f"{name} 超出范围：{bound} {err.validator_value}，实际是 {err.instance}")
        elif err.validator in ("minimum", "maximum"):
            add(loc, f"{name} 应在 5 到 600 秒之间，实际是 {err.instance}")
        elif err.validator == "minLength":
            add(loc, f"{name} 不能为空")
        else:
            add(loc, f"{where}不符合格式要求：{err.message}")
    located = _located_header(header)
    for key, line in located.duplicates if located else []:  # YAML keeps only the last one
        issues.append(LintIssue("error", line, f"front matter 里的 {key} 写了不止一次"
                                               "（只有最后一个会生效）；请只保留一个", path))
    if "narrated" in meta and meta.get("kind") != "drama":
        add(["narrated"], "narrated 只用于短剧模板（kind: drama）")
    variables = meta.get("variables")
    builtins = builtin_variables(str(meta.get("kind")))
    if isinstance(variables, dict):
        for var in variables:
            if var in builtins or var in COMPUTED_VARIABLES:
                add(["variables", var], f"变量 {var} 与内置变量同名，请换个名字")
    return sorted(issues, key=lambda issue: issue.line)


def _error_line(exc: TemplateError, path: Path) -> tuple[int, str]:
    match = re.match(r"(\d+): (.*)", str(exc).removeprefix(f"{path}:"), re.DOTALL)
    return (int(match.group(1)), match.group(2)) if match else (1, str(exc))


def check_source(text: str, path: Path) -> tuple[ParsedTemplate | None, list[LintIssue]]:
    """Every error that makes a template unusable or unsafe, found without running it."""
    try:
        return _check_source(text, path)
    except (RecursionError, MemoryError):  # Jinja's parser and tree walks recurse per level
        return None, [LintIssue("error", 1, _TOO_DEEP, path)]


def _check_source(text: str, path: Path) -> tuple[ParsedTemplate | None, list[LintIssue]]:
    issues: list[LintIssue] = []
    try:
        doc = parse_front_matter(text, path)
        meta, header, body, first = doc.meta, doc.header, doc.body, doc.body_first_line
        issues += _schema_issues(meta, header, path)
    except TemplateError as exc:
        line, message = _error_line(exc, path)
        issues.append(LintIssue("error", line, message, path))
        try:  # a broken header: still check the body
            header, body, first = split_front_matter(text, path)
        except TemplateError:
            return None, issues
        meta = {}
    offset = first - 1
    if len(body) > MAX_BODY_CHARS:
        issues.append(LintIssue("error", first, f"模板正文超过 {MAX_BODY_CHARS:,} 个字符，太长了"
                                "（脚本模板通常只有几 KB）", path))
        return ParsedTemplate(meta, header, first, None), issues
    try:
        ast = _ENV.parse(body, name=path.name, filename=str(path))
    except TemplateSyntaxError as exc:
        issues.append(LintIssue("error", (exc.lineno or 1) + offset,
                                f"Jinja 语法错误：{exc.message}", path))
        return ParsedTemplate(meta, header, first, None), issues
    except ValueError as exc:  # the lexer's int() of a number with thousands of digits
        issues.append(LintIssue("error", first, f"模板里的数字太长：{str(exc)[:80]}", path))
        return ParsedTemplate(meta, header, first, None), issues

    top = [node for node in ast.body if isinstance(node, nodes.Block)]
    top_ids = {id(node) for node in top}
    for block in ast.find_all(nodes.Block):
        if id(block) not in top_ids:
            issues.append(LintIssue("error", block.lineno + offset,
                                    f"段落块 {{% block {block.name} %}} 必须放在模板最外层"
                                    "（不能套在 if/for/macro 或另一个块里）", path))
    segments = [block.name for block in top]
    required = required_segments(str(meta.get("kind")))
    missing = [name for name in required if name not in segments]
    if missing:
        issues.append(LintIssue("error", first,
                                f"缺少段落块 {', '.join(missing)}（每个模板至少要有 "
                                f"{'、'.join(required)} 这几个 {{% block %}}）", path))
    for line, message in find_unsafe(ast):
        issues.append(LintIssue("error", line + offset, message, path))
    if not any(issue.is_error for issue in issues):
        try:  # some mistakes only show when generating code (nothing runs here)
            _ENV.compile(ast, name=path.name, filename=str(path), raw=True)
        except TemplateSyntaxError as exc:
            issues.append(LintIssue("error", (exc.lineno or 1) + offset,
                                    f"Jinja 语法错误：{exc.message}", path))
    parsed = ParsedTemplate(meta, header, first, ast, segments,
                            {block.name: block.lineno + offset for block in top})
    return parsed, issues


# --- loading ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Compiled:
    parsed: ParsedTemplate
    template: Template


def _raise_first(issues: list[LintIssue]) -> None:
    errors = [issue for issue in issues if issue.is_error]
    if errors:
        raise TemplateIssueError(errors[0], more=len(errors) - 1)


@functools.lru_cache(maxsize=64)
def _compile(source: str, path: Path) -> _Compiled:
    """Check, then compile the very AST that was checked; cached by source text."""
    parsed, issues = check_source(source, path)
    _raise_first(issues)
    assert parsed is not None and parsed.ast is not None
    try:  # Python's own compiler has limits of its own on nesting (SyntaxError)
        code = _ENV.compile(parsed.ast, name=path.name, filename=str(path))
    except (RecursionError, MemoryError, SyntaxError):
        raise TemplateIssueError(LintIssue("error", parsed.body_first_line, _TOO_DEEP, path)
                                 ) from None
    template = _ENV.template_class.from_code(_ENV, code, _ENV.make_globals(None), None)
    return _Compiled(parsed, template)


def template_from_source(text: str, path: Path) -> ScriptTemplate:
    """Parse, validate and refuse unsafe constructs; `path` is used for messages and lookup."""
    parsed = _compile(text, path).parsed
    meta = parsed.meta
    variables = {
        name: VariableSpec(name=name, default=(spec or {}).get("default"),
                           required=bool((spec or {}).get("required", False)),
                           description=str((spec or {}).get("description", "")))
        for name, spec in (meta.get("variables") or {}).items()
    }
    return ScriptTemplate(
        id=meta["id"], name=meta["name"], kind=meta["kind"], version=str(meta.get("version", "1")),
        description=str(meta.get("description", "")), variables=variables,
        target_seconds=int(meta["target_seconds"]), voice=dict(meta.get("voice") or {}),
        segments=list(parsed.segments), path=path, source=text,
        banner=str(meta.get("banner", "")),
        end_card=tuple(meta.get("end_card", ())),
        images=dict(meta.get("images") or {}),
        subtitles=dict(meta.get("subtitles") or {}),
        narrated=bool(meta.get("narrated", False)),
    )


def load_template(path: Path) -> ScriptTemplate:
    return template_from_source(read_utf8(path), path)


def scan_templates(dirs: list[Path]) -> tuple[list[ScriptTemplate], list[TemplateError]]:
    """Templates by id (a later directory overrides an earlier one) and the files that failed.

    A broken file is skipped, not fatal, so one bad template in a user folder cannot hide the
    others; callers show the returned errors (and `lint` explains them in full).
    """
    found: dict[str, ScriptTemplate] = {}
    problems: list[TemplateError] = []
    for folder in dirs:
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.j2")):
            try:
                template = load_template(path)
            except TemplateError as exc:
                logger.warning("跳过无法加载的模板：%s", exc)
                problems.append(exc)
                continue
            if template.id in found and found[template.id].path.parent == folder:
                logger.warning("模板 id %s 重复：%s 覆盖了 %s", template.id, path,
                               found[template.id].path)
            found[template.id] = template
    return sorted(found.values(), key=lambda t: t.id), problems


def list_templates(dirs: list[Path]) -> list[ScriptTemplate]:
    return scan_templates(dirs)[0]


def get_template(ref: str, dirs: list[Path]) -> ScriptTemplate:
    """`ref` is a template id, or a path to a .j2 file."""
    if ref.endswith(".j2") or "/" in ref or "\\" in ref:
        path = Path(ref).expanduser()
        if not path.is_file():
            raise InputError(f"找不到模板文件：{path}")
        return load_template(path)
    templates, problems = scan_templates(dirs)
    for template in templates:
        if template.id == ref:
            return template
    for exc in problems:  # the file named like the id is broken: say why, not "unknown id"
        if isinstance(exc, TemplateIssueError) and exc.path and exc.path.stem == ref:
            raise exc
    known = ", ".join(t.id for t in templates) or "（无）"
    broken = f"（另有 {len(problems)} 个模板文件无法加载，运行 lint 查看）" if problems else ""
    raise InputError(f"找不到模板 {ref!r}；可用：{known}{broken}")


# --- rendering -------------------------------------------------------------------------------

def render_template(tpl: ScriptTemplate, context: dict[str, Any], *,
                    chars_per_second: float = DEFAULT_CHARS_PER_SECOND) -> list[Segment]:
    """Ordered, whitespace-normalised segments; every failure is a TemplateError with a line."""
    compiled = _compile(tpl.source, tpl.path)
    header = compiled.parsed.header

    def fail(message: str, loc: list[Any] | None = None, line: int = 1) -> TemplateIssueError:
        if loc is not None:
            line = front_matter_line(header, loc)
        return TemplateIssueError(LintIssue("error", line, message, tpl.path))

    known = set(builtin_variables(tpl.kind)) | set(COMPUTED_VARIABLES) | set(tpl.variables)
    unknown = sorted(set(context) - known)
    if unknown:
        raise fail(f"未知变量 {', '.join(unknown)}：模板没有声明"
                   f"（模板声明的变量：{', '.join(sorted(tpl.variables)) or '无'}）", ["variables"])
    values = {n: v.default for n, v in tpl.variables.items() if v.default is not None}
    values.update(context)
    for name, spec in tpl.variables.items():
        if spec.required and values.get(name) in (None, ""):
            about = f"（{spec.description}）" if spec.description else ""
            raise fail(f"缺少必填变量 {name}{about}", ["variables", name])
    values.setdefault("target_seconds", tpl.target_seconds)
    values.setdefault("target_chars", round(int(values["target_seconds"]) * chars_per_second))

    try:
        captured = render_blocks(compiled.template, values)
    except BlockRenderError as exc:
        line = exc.line + compiled.parsed.body_first_line - 1 if exc.line else 1
        raise fail(exc.message, line=line) from None
    return [Segment(name, normalise_segment(captured.get(name, "")))
            for name in compiled.parsed.segments]
