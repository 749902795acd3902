"""`lint`: every problem in a script template at once, each with its line in the file.

Static checks never run the template. Only when they find no error is it rendered once with a
sample chapter, to catch what only shows at run time (a filter given a bad argument, an empty
segment, a call to action without the keyword, a hook too long to say in three seconds).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from jinja2 import TemplateSyntaxError, nodes
from jinja2 import meta as jinja_meta

from workbench.errors import TemplateError
from workbench.frontmatter import read_utf8
from workbench.script.filters import chars
from workbench.script.sandbox import make_environment
from workbench.script.templates import (
    DEFAULT_CHARS_PER_SECOND,
    LintIssue,
    ParsedTemplate,
    ScriptTemplate,
    TemplateIssueError,
    check_source,
    front_matter_line,
    render_template,
    template_from_source,
)
from workbench.script.variables import COMPUTED_VARIABLES, builtin_variables, required_segments

__all__ = ["SAMPLE_CHAPTER", "SAMPLE_CONTEXT", "SAMPLE_DRAMA_CONTEXT", "LintIssue",
           "lint_source", "lint_template"]

HOOK_MAX_CHARS = 40  # about three seconds of fast narration
OVERLONG_FACTOR = 1.5
# Absolute claims the advertising law (广告法) forbids; the compliance stage checks the final
# script, this only flags them in the template's own fixed wording.
AD_WORDS = ("国家级", "第一", "唯一", "顶级", "独家", "最")
_IMPLICIT_NAMES = {"self", "loop", "super", "caller", "varargs", "kwargs"}
_GUARD_FILTERS = {"default", "d"}
_GUARD_TESTS = {"defined", "undefined"}

SAMPLE_CHAPTER = """\
　　雨下了一整夜。我撑着伞站在公司楼下，看着林浩从那辆黑色轿车里走出来，胳膊上挽着的，是我的未婚妻苏晴。
　　“陈默，你还有脸来？”林浩把一张辞退通知甩在我脸上，“从今天起，你被开除了。”
　　周围的同事围了一圈，没人替我说话。三年来，我替公司跑下了大半的客户，到头来只换来一句“你被开除了”。
　　苏晴低着头，不敢看我。
　　“为什么？”我问她。
　　她咬着嘴唇，半晌才开口：“陈默，我们不是一路人。”
　　我笑了。雨水顺着伞骨往下淌，凉得刺骨。
　　就在这时，我口袋里的手机震了一下。是一条陌生号码发来的短信：“少爷，老爷子走了。三百亿的家产，从今晚起归您。车已经在楼下。”
　　我抬起头，一排黑色的车正缓缓停在路边。领头那辆车上下来一个白发老人，快步走到我面前，当着所有人的面，深深鞠了一躬。
　　“少爷，让您受委屈了。”
　　林浩脸上的笑，一点一点僵住了。
　　可我盯着短信里的那行小字，后背却一阵发凉——“老爷子走之前说，害他的人，就在您身边。”
"""

SAMPLE_CONTEXT: dict[str, Any] = {
    "keyword": "示例口令",
    "app": "番茄小说",
    "book_title": "示例书名",
    "chapter_title": "第1章 雨夜",
    "chapter_index": 1,
    "chapter_text": SAMPLE_CHAPTER,
}

_SAMPLE_LINES = (
    ("一张票，到第十七码头。", "江州没有第十七码头。", "十年前有。你爸的船就沉在那儿。"),
    ("三万八的票款，是不是你拿的？", "我没拿！每笔账我都当面点清。", "十年前的事故报告，也是你签的字吧？"),
)
SAMPLE_DRAMA_CONTEXT: dict[str, Any] = {
    "keyword": "示例口令",
    "app": "红果短剧",
    "drama_title": "示例短剧",
    "segments": [
        {"episode": i + 1, "number": i + 1, "start": 2.0, "end": 14.0, "seconds": 12.0,
         "text": " ".join(lines), "lines": list(lines)}
        for i, lines in enumerate(_SAMPLE_LINES)
    ],
    "episode_numbers": [1, 2],
    "strongest_line": "十年前的事故报告，也是你签的字吧？",
    "total_seconds": 24.0,
}


def sample_context_for(kind: str) -> dict[str, Any]:
    return SAMPLE_DRAMA_CONTEXT if kind == "drama" else SAMPLE_CONTEXT


def sample_context_of(template: ScriptTemplate, extra: dict[str, Any] | None = None
                      ) -> dict[str, Any]:
    """What lint renders `template` with: its kind's sample, `extra` over that, and "示例" for
    each required variable still missing."""
    context = {**sample_context_for(template.kind), **(extra or {})}
    for name, spec in template.variables.items():
        if spec.required and name not in context:
            context[name] = "示例"
    return context


def _declared(parsed: ParsedTemplate) -> dict[str, dict[str, Any]]:
    """The `variables` mapping as far as it is well-formed (lint also runs on broken files)."""
    variables = parsed.meta.get("variables")
    if not isinstance(variables, dict):
        return {}
    return {str(k): (v if isinstance(v, dict) else {}) for k, v in variables.items()}


def _top_level_names(ast: nodes.Template) -> set[str]:
    """Names a top-level `{% set %}`/`{% macro %}` defines; blocks can read them."""
    names: set[str] = set()
    for node in ast.body:
        if isinstance(node, nodes.Assign | nodes.AssignBlock):
            names |= {n.name for n in node.target.find_all(nodes.Name)}
            if isinstance(node.target, nodes.Name):
                names.add(node.target.name)
        elif isinstance(node, nodes.Macro):
            names.add(node.name)
    return names


def _variable_issues(parsed: ParsedTemplate, path: Path) -> list[LintIssue]:
    assert parsed.ast is not None
    ast, offset = parsed.ast, parsed.body_first_line - 1
    declared = _declared(parsed)
    first_use: dict[str, int] = {}
    for name_node in ast.find_all(nodes.Name):
        if name_node.ctx == "load":
            line = first_use.get(name_node.name, name_node.lineno)
            first_use[name_node.name] = min(line, name_node.lineno)
    guarded: set[str] = set()  # tested with `is defined` or given `|default`: the author copes
    for node in ast.find_all((nodes.Test, nodes.Filter)):
        names = _GUARD_TESTS if isinstance(node, nodes.Test) else _GUARD_FILTERS
        if node.name in names and isinstance(node.node, nodes.Name):
            guarded.add(node.node.name)

    known = (set(builtin_variables(str(parsed.meta.get("kind")))) | set(COMPUTED_VARIABLES)
             | set(declared)
             | set(make_environment().globals) | _IMPLICIT_NAMES | _top_level_names(ast))
    try:
        undeclared = jinja_meta.find_undeclared_variables(ast)
    except TemplateSyntaxError:  # reported by check_source already
        undeclared = set()
    issues = [
        LintIssue("error", first_use.get(name, 1) + offset,
                  f"未知变量 {name}：既不是内置变量，也没有在 front matter 的 variables 里声明",
                  path)
        for name in sorted(undeclared - known)
    ]
    for name, spec in declared.items():
        line = front_matter_line(parsed.header, ["variables", name])
        has_default = spec.get("default") is not None
        required = spec.get("required") is True
        if name not in first_use:
            issues.append(LintIssue("warning", line, f"声明了变量 {name}，但模板里没有用到", path))
        if required and has_default:
            issues.append(LintIssue("warning", line,
                                    f"变量 {name} 标为必填又给了默认值，两者矛盾："
                                    "去掉 default，或改成 required: false", path))
        if not required and not has_default and name in first_use and name not in guarded:
            issues.append(LintIssue("error", line,
                                    f"变量 {name} 不是必填也没有默认值，调用方不提供时渲染会失败："
                                    "加上 default（可以是 \"\"），或改成 required: true", path))
    return issues


def _data_line(data: nodes.TemplateData, index: int) -> int:
    return data.lineno + data.data.count("\n", 0, index)


def _text_issues(parsed: ParsedTemplate, path: Path) -> list[LintIssue]:
    """Text outside blocks (never narrated) and advertising-law words in fixed wording."""
    assert parsed.ast is not None
    offset = parsed.body_first_line - 1
    issues: list[LintIssue] = []
    for node in parsed.ast.body:
        if not isinstance(node, nodes.Output):
            continue
        for child in node.nodes:
            if isinstance(child, nodes.TemplateData):
                stripped = child.data.lstrip()
                if stripped:
                    line = _data_line(child, len(child.data) - len(stripped)) + offset
                    issues.append(LintIssue("warning", line,
                                            "这段文字在所有 {% block %} 之外，不会出现在旁白里",
                                            path))
            else:
                issues.append(LintIssue("warning", child.lineno + offset,
                                        "{{ … }} 在所有 {% block %} 之外，不会出现在旁白里", path))
    seen: set[tuple[int, str]] = set()
    for data in parsed.ast.find_all(nodes.TemplateData):
        for word in AD_WORDS:
            start = data.data.find(word)
            if start >= 0:
                seen.add((_data_line(data, start) + offset, word))
    for name, spec in _declared(parsed).items():
        default = spec.get("default")
        for word in AD_WORDS:
            if isinstance(default, str) and word in default:
                seen.add((front_matter_line(parsed.header, ["variables", name]), word))
    for line, word in sorted(seen):
        issues.append(LintIssue("warning", line,
                                f"固定文案里有广告法禁用的绝对化用语「{word}」，建议换个说法", path))
    return issues


def _render_issues(text: str, path: Path, parsed: ParsedTemplate,
                   sample_context: dict[str, Any] | None,
                   chars_per_second: float) -> list[LintIssue]:
    try:
        template = template_from_source(text, path)
    except TemplateIssueError as exc:  # Python's compiler refused the generated code
        return [exc.issue]
    context = sample_context_of(template, sample_context)
    try:
        segments = render_template(template, context, chars_per_second=chars_per_second)
    except TemplateIssueError as exc:
        return [replace(exc.issue, message=f"样例试渲染失败：{exc.issue.message}")]
    except TemplateError as exc:
        return [LintIssue("error", 1, f"样例试渲染失败：{exc}", path)]

    def at(block: str) -> int:
        return parsed.block_lines.get(block, parsed.body_first_line)

    issues: list[LintIssue] = []
    by_name = {segment.name: segment.text for segment in segments}
    for name in required_segments(template.kind):
        if not by_name.get(name):
            issues.append(LintIssue("error", at(name), f"{name} 段用样例渲染出来是空的", path))
    keyword = str(context.get("keyword", ""))
    if by_name.get("cta") and keyword not in by_name["cta"]:
        issues.append(LintIssue("error", at("cta"),
                                f"cta 段没有包含口令（样例口令「{keyword}」）："
                                "结尾引导必须带上 {{ keyword }}，如 {{ app }}搜索【{{ keyword }}】",
                                path))
    hook_chars = chars(by_name.get("hook", ""))
    if hook_chars > HOOK_MAX_CHARS:
        issues.append(LintIssue("warning", at("hook"),
                                f"hook 段有 {hook_chars} 字，超过 {HOOK_MAX_CHARS} 字，"
                                "3 秒内说不完；开头钩子要短", path))
    total = sum(chars(segment.text) for segment in segments)
    if total > template.target_seconds * chars_per_second * OVERLONG_FACTOR:
        seconds = total / chars_per_second
        issues.append(LintIssue("warning", parsed.body_first_line,
                                f"样例渲染共 {total} 字，约 {seconds:.0f} 秒，"
                                f"远超目标 {template.target_seconds} 秒", path))
    return issues


def lint_template(path: Path, sample_context: dict[str, Any] | None = None, *,
                  chars_per_second: float = DEFAULT_CHARS_PER_SECOND) -> list[LintIssue]:
    """All problems, errors and warnings, sorted by line; an empty list means clean."""
    try:
        text = read_utf8(path)
    except TemplateError as exc:
        return [LintIssue("error", 1, str(exc).removeprefix(f"{path}:1: "), path)]
    return lint_source(text, path, sample_context, chars_per_second=chars_per_second)


def lint_source(text: str, path: Path, sample_context: dict[str, Any] | None = None, *,
                chars_per_second: float = DEFAULT_CHARS_PER_SECOND) -> list[LintIssue]:
    """`lint_template` on text not (yet) saved to a file, e.g. the lab's editor; `path` only
    names it in messages."""
    try:
        return _lint_text(text, path, sample_context, chars_per_second)
    except RecursionError:  # a tree walk on a template nested deeper than check_source saw
        return [LintIssue("error", 1, "模板嵌套太深，无法检查；请拆开或减少层数", path)]


def _lint_text(text: str, path: Path, sample_context: dict[str, Any] | None,
               chars_per_second: float) -> list[LintIssue]:
    parsed, issues = check_source(text, path)
    if parsed is not None and parsed.ast is not None:
        issues += _variable_issues(parsed, path)
        issues += _text_issues(parsed, path)
    if parsed is not None and not any(issue.is_error for issue in issues):
        issues += _render_issues(text, path, parsed, sample_context, chars_per_second)
    return sorted(issues, key=lambda issue: issue.line)
