"""The Jinja2 sandbox script templates run in, and the filters that cut Chinese narration.

Templates are written by lab staff and shared around, so they are treated as untrusted code.
Two layers keep them away from Python internals:

1. `find_unsafe` walks the parsed template *before* it is compiled or run and refuses any
   reach for dunder/private attributes, frame/code objects, `|attr` with a computed name and
   `{% include %}`/`{% import %}`/`{% extends %}` (there is no loader: no file access).
2. At run time the `ImmutableSandboxedEnvironment` blocks what the static walk cannot see
   (names built at run time) and forbids mutating lists and dicts passed in by the caller.
3. `ScriptEnvironment` adds the time and size limits of `limits.py` (operators, calls and
   filters are checked before they grow a value; loops and `~` via `codegen.py`), so a hostile
   template ends with a clear error in seconds instead of exhausting the machine.

The narration filters live in `filters.py`; the sentence helpers in `workbench.text`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from functools import update_wrapper
from typing import Any

from jinja2 import StrictUndefined, Template, UndefinedError, nodes
from jinja2.runtime import Context
from jinja2.sandbox import (
    UNSAFE_ASYNC_GENERATOR_ATTRIBUTES,
    UNSAFE_COROUTINE_ATTRIBUTES,
    UNSAFE_GENERATOR_ATTRIBUTES,
    ImmutableSandboxedEnvironment,
    SecurityError,
)
from markupsafe import Markup

from workbench.script.codegen import GuardedCodeGenerator, guard_concat, guard_loop
from workbench.script.filters import FILTERS
from workbench.script.limits import (
    LimitedEscapeFormatter,
    LimitedFormatter,
    RenderLimitError,
    checked_result,
    current_budget,
    guard_filter,
    predict_binop,
    prepare_str_call,
    refuse_large_arguments,
    render_budget,
    size_of,
)
from workbench.text import (
    CLAUSE_MARKS,
    CLOSE_BRACKETS,
    CLOSE_QUOTES,
    ELLIPSIS,
    SENTENCE_END,
    tidy_punctuation,
)

# Attribute names that lead to frames, code or globals even without a leading underscore.
UNSAFE_ATTRIBUTES = frozenset(
    {"mro", "func_globals", "func_code", "func_closure", "func_defaults", "func_dict",
     "f_globals", "f_locals", "f_builtins", "f_back", "f_code", "tb_frame", "tb_next",
     "co_code", "im_func", "im_self", "im_class", "gi_yieldfrom", "cr_await", "ag_await"}
    | UNSAFE_GENERATOR_ATTRIBUTES | UNSAFE_COROUTINE_ATTRIBUTES | UNSAFE_ASYNC_GENERATOR_ATTRIBUTES
)
# Filters whose string arguments are attribute paths (`map(attribute='a.b')`, `selectattr('a')`).
_ATTRIBUTE_FILTERS = frozenset(
    {"map", "sort", "groupby", "sum", "selectattr", "rejectattr", "unique", "min", "max"}
)
_FORMAT_FIELD_ACCESS = re.compile(r"\{[^{}]*[.\[][^{}]*\}")
_FORBIDDEN_TAGS = {
    nodes.Include: "include", nodes.Import: "import", nodes.FromImport: "from … import",
    nodes.Extends: "extends",
}


def is_unsafe_name(name: str) -> bool:
    return name.startswith("_") or name in UNSAFE_ATTRIBUTES


# --- static check ---------------------------------------------------------------------------

def _fold_str(node: nodes.Node) -> str | None:
    """The value of a string expression built only from literals ('__cl' ~ 'ass__'), else None."""
    if isinstance(node, nodes.Const):
        return node.value if isinstance(node.value, str) else None
    if isinstance(node, nodes.Concat):
        parts = [_fold_str(n) for n in node.nodes]
        return None if any(p is None for p in parts) else "".join(parts)  # type: ignore[arg-type]
    if isinstance(node, nodes.Add):
        left, right = _fold_str(node.left), _fold_str(node.right)
        return None if left is None or right is None else left + right
    if isinstance(node, nodes.Mul) and isinstance(node.right, nodes.Const):
        left = _fold_str(node.left)
        if left is not None and isinstance(node.right.value, int):
            return left * min(node.right.value, 64)
    return None


def _path_unsafe(value: str) -> str | None:
    for part in value.split("."):
        if is_unsafe_name(part.strip()):
            return part.strip()
    return None


def find_unsafe(ast: nodes.Template) -> list[tuple[int, str]]:
    """(line, Chinese message) for every construct refused before execution; lines are Jinja's."""
    found: list[tuple[int, str]] = []

    def refuse_attr(node: nodes.Node, attr: str) -> None:
        message = f"模板试图访问 Python 内部属性 {attr!r}，已拒绝（模板只能使用变量、过滤器和普通属性）"
        found.append((node.lineno, message))

    for node in ast.find_all(nodes.Node):
        tag = next((name for cls, name in _FORBIDDEN_TAGS.items() if isinstance(node, cls)), None)
        if tag:
            found.append((node.lineno, f"模板不能使用 {{% {tag} %}}（模板不能读取其他文件）"))
        elif isinstance(node, nodes.Getattr | nodes.NSRef) and is_unsafe_name(node.attr):
            refuse_attr(node, node.attr)
        elif isinstance(node, nodes.Getitem):
            key = _fold_str(node.arg)
            if key is not None and is_unsafe_name(key):
                refuse_attr(node, key)
        elif isinstance(node, nodes.Name) and (node.name.startswith("__") or
                                               node.name in UNSAFE_ATTRIBUTES):
            refuse_attr(node, node.name)
        elif isinstance(node, nodes.Filter) and node.name == "attr":
            key = _fold_str(node.args[0]) if node.args else None
            if key is None:
                found.append((node.lineno, "|attr 过滤器只能使用写死的属性名，已拒绝"))
            elif is_unsafe_name(key):
                refuse_attr(node, key)
        elif isinstance(node, nodes.Filter) and node.name in _ATTRIBUTE_FILTERS:
            for arg in [*node.args, *(kw.value for kw in node.kwargs)]:
                value = _fold_str(arg)
                bad = _path_unsafe(value) if value is not None else None
                if bad:
                    refuse_attr(node, bad)
        elif (isinstance(node, nodes.Getattr) and node.attr in ("format", "format_map")
              and isinstance(node.node, nodes.Const) and isinstance(node.node.value, str)
              and _FORMAT_FIELD_ACCESS.search(node.node.value)):
            found.append((node.lineno, "格式字符串里不能访问属性或下标（如 {0.x}），已拒绝"))
    return found


# --- segment text ---------------------------------------------------------------------------

_NO_COMMA_AFTER = SENTENCE_END + ELLIPSIS + CLAUSE_MARKS + CLOSE_QUOTES + '"—～~'
_NO_COMMA_BEFORE = SENTENCE_END + ELLIPSIS + CLAUSE_MARKS + CLOSE_QUOTES + CLOSE_BRACKETS + "—"


def _squash_spaces(line: str) -> str:
    line = re.sub(r"\s+", " ", line.strip())
    return re.sub(r" (?=[^\x00-\x7f])|(?<=[^\x00-\x7f]) ", "", line)  # no spaces around CJK


def normalise_segment(text: str) -> str:
    """One line of narration from a rendered block.

    Chinese has no spaces between words, so whitespace around CJK text is dropped. A line break
    the template author left in is a pause: after punctuation it simply disappears, otherwise
    it becomes `，` (two Latin words are joined with a space instead).
    """
    out = ""
    for line in filter(None, (_squash_spaces(raw) for raw in text.splitlines())):
        if not out:
            out = line
        elif out[-1].isascii() and out[-1].isalnum() and line[0].isascii() and line[0].isalnum():
            out += " " + line
        elif out[-1] in _NO_COMMA_AFTER or line[0] in _NO_COMMA_BEFORE:
            out += line
        else:
            out += "，" + line
    return tidy_punctuation(out).strip()


class ScriptEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox with the limits of `limits.py`: operators, calls, filters, loops and `~`
    are checked for size and counted against the rendering's time budget."""

    intercepted_binops = frozenset({"+", "-", "*", "/", "//", "%", "**"})
    code_generator_class = GuardedCodeGenerator
    guard_loop = staticmethod(guard_loop)
    guard_concat = staticmethod(guard_concat)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        budget = current_budget()
        budget.tick()
        predicted = predict_binop(operator, left, right)
        if predicted:
            budget.charge(predicted, f"{operator} 运算的结果")
        result = super().call_binop(context, operator, left, right)
        return checked_result(result, counted=bool(predicted))

    def call(self, context: Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        budget = current_budget()
        budget.tick()
        refuse_large_arguments(args, kwargs)
        predicted = 0
        if isinstance(getattr(obj, "__self__", None), str):
            args, predicted = prepare_str_call(obj, args, kwargs)
            budget.charge(predicted, f"{obj.__name__}() 的结果")
        result = super().call(context, obj, *args, **kwargs)
        return checked_result(result, counted=bool(predicted))

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """Jinja's own wrapper (`str.format` through a sandboxed formatter), with the limited
        formatter of `limits.py` instead."""
        if super().wrap_str_format(value) is None:
            return None
        fmt: str = value.__self__
        formatter = (LimitedEscapeFormatter(self, escape=fmt.escape)
                     if isinstance(fmt, Markup) else LimitedFormatter(self))
        is_map = value.__name__ == "format_map"

        def wrapper(*args: Any, **kwargs: Any) -> str:
            if is_map:
                if kwargs or len(args) != 1:
                    raise TypeError("format_map() takes exactly one argument")
                args, kwargs = (), args[0]
            return type(fmt)(formatter.vformat(fmt, args, kwargs))

        return update_wrapper(wrapper, value)


def _finalize(value: Any) -> Any:
    """Every `{{ … }}` output counts towards the rendering's work."""
    current_budget().charge(size_of(value), "输出")
    return value


def make_environment() -> ImmutableSandboxedEnvironment:
    """The one environment script templates are compiled in: no loader, strict undefined."""
    env = ScriptEnvironment(undefined=StrictUndefined, autoescape=False,
                            keep_trailing_newline=False, finalize=_finalize)
    env.globals.pop("lipsum", None)  # Latin filler text has no place in Chinese narration
    env.filters.update(FILTERS)
    env.filters = {name: guard_filter(name, func) for name, func in env.filters.items()}
    return env


# --- running ---------------------------------------------------------------------------------

class BlockRenderError(Exception):
    """A template failed at run time; `line` is the template (not file) line, 0 if unknown."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def _capture(name: str, block: Callable[[Context], Iterator[str]],
             captured: dict[str, str]) -> Callable[[Context], Iterator[str]]:
    def render(context: Context) -> Iterator[str]:
        text = "".join(block(context))
        captured.setdefault(name, text)  # the first rendering is the block's own place
        yield text
    return render


def _failing_line(exc: BaseException, template: Template) -> int:
    """Template line of the innermost template frame in the traceback (0 if none)."""
    line = 0
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == template.filename:
            line = template.get_corresponding_lineno(tb.tb_lineno)
        tb = tb.tb_next
    return line


def _describe(exc: Exception) -> str:
    if isinstance(exc, RenderLimitError):
        return str(exc)
    if isinstance(exc, RecursionError):
        return "模板递归或嵌套太深（宏或 loop() 在无止境地调用自己，或数据一层套一层），已停止"
    if isinstance(exc, MemoryError):
        return "模板渲染占用内存过多，已停止（检查乘法、循环和宽度参数）"
    if isinstance(exc, SecurityError):
        return f"沙箱拦截了不安全的操作：{exc}"
    if isinstance(exc, UndefinedError):
        match = re.fullmatch(r"'(.+)' is undefined", str(exc.message))
        if match:
            return f"变量 {match.group(1)} 未定义（既没有声明，调用方也没有提供）"
        return f"取不到的值：{exc.message}"
    return f"渲染出错：{type(exc).__name__}: {exc}"


def render_blocks(template: Template, values: dict[str, Any]) -> dict[str, str]:
    """Raw output of each top-level block, from one run of the whole template.

    One run, rather than calling each block on its own, so that `{% set %}` and `{% macro %}`
    written above the blocks are visible inside them.
    """
    context = template.new_context(values)
    captured: dict[str, str] = {}
    for name, stack in context.blocks.items():
        stack[0] = _capture(name, stack[0], captured)
    try:
        with render_budget(values.values()):
            for _ in template.root_render_func(context):
                pass
    except Exception as exc:  # noqa: BLE001 - untrusted template code: any failure is its fault
        raise BlockRenderError(_failing_line(exc, template), _describe(exc)) from None
    return captured
