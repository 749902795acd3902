"""Live lint for the lab's editor: a template or a prompt that is not saved yet, checked in
milliseconds, every finding with its line in the text and a `kind` a UI can group or colour by.

Templates get `script.lint`'s checks (syntax, front matter, variables, sandbox, the sample
rendering with its time and memory limits, the cta's keyword, hook length, fixed wording) plus
two the lab adds on the sample rendering: the estimated spoken length against the template's
target, and the studio's banned-word list (the one `make` checks) on what the template says.
Prompts (`prompts/*.md`) are checked against what `rewrite.prompts` accepts and renders.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from jinja2 import TemplateSyntaxError, nodes
from jinja2 import meta as jinja_meta

from workbench.compliance import load_banned_words, scan_banned_words
from workbench.config import Settings
from workbench.errors import TemplateError
from workbench.frontmatter import parse_front_matter, split_front_matter
from workbench.lab.estimate import estimate_segments
from workbench.rewrite.prompts import PROMPT_VARIABLES, SECTION_HEADING, Prompt
from workbench.script.lint import lint_source, sample_context_of
from workbench.script.sandbox import find_unsafe, make_environment
from workbench.script.templates import (
    LintIssue,
    TemplateIssueError,
    check_source,
    render_template,
    template_from_source,
)

MAX_TEXT_CHARS = 200_000  # an editor's buffer; templates and prompts are a few KB
EDITOR = Path("<编辑器>")
# A finding's kind from its message; the first match wins, so the narrow ones come first.
_KINDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("limit", ("超出模板渲染的上限", "步数超过", "渲染超过", "累计超过", "递归或嵌套太深",
               "内存过多", "嵌套太深")),
    ("sandbox", ("Python 内部属性", "模板不能使用 {%", "|attr", "格式字符串里不能访问", "沙箱拦截")),
    ("syntax", ("语法错误", "数字太长", "段落块", "模板正文超过")),
    ("keyword", ("口令",)),
    ("banned", ("广告法", "违禁")),
    ("length", ("hook 段有", "远超目标", "目标时长")),
    ("variable", ("变量",)),
    ("front_matter", ("front matter", "字段", "应为", "格式不对", "不能为空", "写了不止一次",
                      "narrated", "超出范围", "应在 5 到 600")),
    ("layout", ("不会出现在旁白里",)),
)

# errors after which the template cannot render the sample (or should not run twice)
_NO_SAMPLE = frozenset({"limit", "sandbox", "syntax", "front_matter", "variable", "render",
                        "other"})


@dataclass(frozen=True)
class LabIssue:
    level: str  # error | warning
    line: int  # 1-based, in the text
    kind: str  # syntax | front_matter | variable | sandbox | limit | keyword | banned | length
    #            | layout | render | other
    message: str

    @property
    def is_error(self) -> bool:
        return self.level == "error"

    def __str__(self) -> str:
        return f"{self.line}: {'错误' if self.is_error else '警告'}: {self.message}"


@dataclass(frozen=True)
class LintReport:
    kind: str  # template | prompt
    issues: list[LabIssue]

    @property
    def errors(self) -> int:
        return sum(issue.is_error for issue in self.issues)

    @property
    def ok(self) -> bool:
        return self.errors == 0

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "ok": self.ok, "errors": self.errors,
                "warnings": len(self.issues) - self.errors,
                "issues": [asdict(issue) for issue in self.issues]}


def issue_kind(message: str) -> str:
    for kind, needles in _KINDS:
        if any(needle in message for needle in needles):
            return kind
    return "render" if message.startswith("样例试渲染失败") else "other"


def _lab(issue: LintIssue) -> LabIssue:
    return LabIssue(issue.level, issue.line, issue_kind(issue.message), issue.message)


def _too_long(text: str) -> LintReport | None:
    if len(text) <= MAX_TEXT_CHARS:
        return None
    return LintReport("template", [LabIssue("error", 1, "other",
                                            f"内容超过 {MAX_TEXT_CHARS:,} 个字符，太长了")])


def lint_template_text(text: str, settings: Settings, name: Path = EDITOR) -> LintReport:
    """Every finding for a template's text, sorted by line."""
    if (refused := _too_long(text)) is not None:
        return refused
    cps = settings.chars_per_second
    issues = [_lab(issue) for issue in lint_source(text, name, chars_per_second=cps)]
    if not any(issue.is_error and issue.kind in _NO_SAMPLE for issue in issues):
        issues += _sample_issues(text, name, settings, issues)
    return LintReport("template", sorted(issues, key=lambda issue: issue.line))


def _sample_issues(text: str, name: Path, settings: Settings,
                   found: list[LabIssue]) -> list[LabIssue]:
    """Length against the target and banned words, on the same sample rendering as lint's
    (nothing when the template does not render: lint says why)."""
    parsed, _ = check_source(text, name)
    try:
        template = template_from_source(text, name)
        segments = render_template(template, sample_context_of(template),
                                   chars_per_second=settings.chars_per_second)
    except (TemplateIssueError, TemplateError):  # reported by lint already
        return []
    assert parsed is not None
    lines = parsed.block_lines
    issues: list[LabIssue] = []
    estimated = estimate_segments(segments, settings.chars_per_second,
                                  template.voice.get("rate"))
    total = sum(seg.seconds for seg in estimated)
    already = any(issue.kind == "length" and "远超目标" in issue.message for issue in found)
    if template.kind == "novel" and total > template.target_seconds and not already:
        longest = max(estimated, key=lambda seg: seg.seconds)
        issues.append(LabIssue(
            "warning", lines.get(longest.name, parsed.body_first_line), "length",
            f"样例渲染约 {total:.0f} 秒，超过目标时长 {template.target_seconds} 秒"
            f"（最长的是 {longest.name} 段，约 {longest.seconds:.0f} 秒）"))
    words = load_banned_words(settings.banned_words_file)
    for finding in scan_banned_words({s.name: s.text for s in segments}, words):
        line = lines.get(finding.where, parsed.body_first_line)
        issues.append(LabIssue("error" if finding.level == "block" else "warning", line,
                               "banned", f"样例渲染：{finding.message}"))
    return issues


# --- prompts ----------------------------------------------------------------------------------

_SAMPLE_PROMPT_CONTEXT: dict[str, Any] = {
    "segments": [{"name": "hook", "text": "示例开头"}, {"name": "body", "text": "示例正文"},
                 {"name": "cta", "text": "番茄小说搜索【示例口令】"}],
    "keyword": "示例口令", "app": "番茄小说", "target_chars": 270, "book_title": "示例书名",
    "chapter_title": "第1章", "instruction": "",
}


def lint_prompt_text(text: str, name: Path = EDITOR) -> LintReport:
    """Every finding for a prompt's text (`## system` and `## user` sections after front
    matter), sorted by line."""
    if (refused := _too_long(text)) is not None:
        return LintReport("prompt", refused.issues)
    issues: list[LabIssue] = []

    def add(level: str, line: int, kind: str, message: str) -> None:
        issues.append(LabIssue(level, line, kind, message))

    try:
        doc = parse_front_matter(text, name)
        meta, body, first = doc.meta, doc.body, doc.body_first_line
    except TemplateError as exc:
        line, message = _split_error(str(exc), name)
        add("error", line, "front_matter", message)
        try:
            _header, body, first = split_front_matter(text, name)
        except TemplateError:
            return LintReport("prompt", issues)
        meta = {}
    for key in ("id", "name"):
        if issues or meta.get(key):
            continue
        add("error", 2, "front_matter", f"front matter 缺少 {key}")
    temperature = meta.get("temperature", 0.8)
    if not isinstance(temperature, int | float) or not 0 <= float(temperature) <= 2:
        add("error", 2, "front_matter", f"temperature 应为 0 到 2 之间的数字，实际是 {temperature!r}")
    sections: dict[str, tuple[int, str]] = {}  # name → (heading's file line, raw text)
    matches = list(SECTION_HEADING.finditer(body))
    for i, match in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(body)
        line = first + body.count("\n", 0, match.start())
        sections.setdefault(match.group(1).lower(), (line, body[match.end():end]))
    for section in ("system", "user"):
        if section not in sections:
            add("error", first, "syntax", f"提示词缺少 '## {section}' 段（需要 ## system 和 ## user）")
        elif not sections[section][1].strip():
            add("error", sections[section][0], "syntax", f"'## {section}' 段是空的")
    if "user" in sections:
        issues += _user_issues(*sections["user"], meta, name,
                               sections.get("system", (0, ""))[1])
    return LintReport("prompt", sorted(issues, key=lambda issue: issue.line))


def _split_error(text: str, name: Path) -> tuple[int, str]:
    rest = text.removeprefix(f"{name}:")
    number, sep, message = rest.partition(": ")
    return (int(number), message) if sep and number.isdigit() else (1, text)


def _user_issues(heading: int, section: str, meta: dict[str, Any], name: Path,
                 system: str) -> list[LabIssue]:
    env = make_environment()
    at = heading - 1  # Jinja's line 1 is the heading's line (the section starts after it)
    try:
        ast = env.parse(section)
    except TemplateSyntaxError as exc:
        return [LabIssue("error", at + (exc.lineno or 1), "syntax",
                         f"user 段 Jinja 语法错误：{exc.message}")]
    except (RecursionError, ValueError) as exc:
        return [LabIssue("error", heading, "syntax", f"user 段无法解析：{str(exc)[:80]}")]
    issues = [LabIssue("error", at + line, "sandbox", message)
              for line, message in find_unsafe(ast)]
    first_use: dict[str, int] = {}
    for node in ast.find_all(nodes.Name):
        if node.ctx == "load":
            first_use[node.name] = min(first_use.get(node.name, node.lineno), node.lineno)
    for var in sorted(jinja_meta.find_undeclared_variables(ast) - set(PROMPT_VARIABLES)
                      - set(env.globals)):
        issues.append(LabIssue("error", at + first_use.get(var, 1), "variable",
                               f"未知变量 {var}：提示词只能用 {', '.join(PROMPT_VARIABLES)}"))
    if "keyword" not in first_use:
        issues.append(LabIssue("warning", heading, "keyword",
                               "user 段没有用到 {{ keyword }}：模型不知道口令，结尾引导可能丢掉它"))
    if "segments" not in first_use:
        issues.append(LabIssue("warning", heading, "variable",
                               "user 段没有用到 {{ segments }}：模型看不到模板生成的分段"))
    if issues and any(issue.is_error for issue in issues):
        return issues
    prompt = Prompt(id=str(meta.get("id", "")), name=str(meta.get("name", "")), version="1",
                    description="", system=system.strip(), user=section.strip(),
                    temperature=0.8, path=name)
    try:
        prompt.render_user(**_SAMPLE_PROMPT_CONTEXT)
    except TemplateError as exc:
        message = str(exc).removeprefix(f"{name}: ")
        issues.append(LabIssue("error", heading, issue_kind(message), f"样例试渲染失败：{message}"))
    return issues


def lint_text(text: str, settings: Settings, name: Path = EDITOR, kind: str | None = None
              ) -> LintReport:
    """A template (`.j2`) or a prompt (`.md`); `kind` None: from the name, else from the text
    (a prompt has `## system` / `## user` sections, a template `{% block %}`s)."""
    if kind is None:
        if name.suffix in (".md", ".j2"):
            kind = "prompt" if name.suffix == ".md" else "template"
        else:
            kind = "prompt" if SECTION_HEADING.search(text) and "{% block" not in text else "template"
    if kind == "prompt":
        return lint_prompt_text(text, name)
    return lint_template_text(text, settings, name)
