"""Time and size limits for running an untrusted script template.

A template can ask for more than the machine has with a few characters (`'x' * 10**10`,
`'x'|center(10**9)`, loops over loops). Python performs such a request in one C call, so the
limits are checked *before* anything that grows a value is done, from its operands: every
intercepted operator, every call (methods and macros) and every filter goes through here.

Each rendering runs with one `RenderBudget` (a context variable, so renders in worker threads
do not share it) that counts:

- steps (loop iterations, calls, operators, filters) and wall-clock time;
- "work": characters (or items) of every value created and of every output, cumulative.

Values larger than `MAX_VALUE` and integers longer than `MAX_INT_DIGITS` are refused outright.
The caller's own values never trip a limit: a rendering given a longer chapter may make values
twice its size, and ten times its size of work more.
Every refusal is a `RenderLimitError` with a Chinese message; the template line comes from the
traceback like any other rendering error.
"""

from __future__ import annotations

import contextvars
import re
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from jinja2 import Undefined, pass_context
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEscapeFormatter, SandboxedFormatter
from jinja2.utils import Namespace, _PassArg

MAX_VALUE = 1_000_000  # characters of one string, items of one list (chapters are ~10,000)
MAX_WORK = 20_000_000  # characters created or output in one rendering, all values together
MAX_INT_DIGITS = 4_000  # Python refuses to print integers over 4,300 digits
MAX_STEPS = 1_000_000  # loop iterations, calls, operators and filters in one rendering
MAX_SECONDS = 5.0  # wall clock of one rendering (an ordinary one takes milliseconds)
_INT_BITS = int(MAX_INT_DIGITS * 3.33)
_CHECK_CLOCK_EVERY = 1024


class RenderLimitError(Exception):
    """A template asked for more time or memory than a rendering may use (Chinese message)."""


def _too_big(what: str) -> RenderLimitError:
    limit = current_budget().max_value
    return RenderLimitError(f"{what}，超出模板渲染的上限（单个值最多 {limit:,} 个字符或元素）"
                            "：检查乘法、循环和宽度参数")


@dataclass
class RenderBudget:
    deadline: float = field(default_factory=lambda: time.monotonic() + MAX_SECONDS)
    max_value: int = MAX_VALUE
    max_work: int = MAX_WORK
    steps: int = 0
    work: int = 0

    @classmethod
    def for_inputs(cls, values: Iterable[Any]) -> RenderBudget:
        largest = max((size_of(v, 10**12) for v in values), default=0)
        return cls(max_value=max(MAX_VALUE, 2 * largest), max_work=MAX_WORK + 10 * largest)

    def tick(self) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise RenderLimitError(f"模板运行步数超过 {MAX_STEPS:,}（循环套循环或宏递归太多），已停止")
        if self.steps % _CHECK_CLOCK_EVERY == 0 and time.monotonic() > self.deadline:
            raise RenderLimitError(f"模板渲染超过 {MAX_SECONDS:.0f} 秒，已停止（检查循环是否太多）")

    def charge(self, size: int, what: str = "结果") -> None:
        """Refuse a value of `size` before it is made; count it towards the rendering's work."""
        if size > self.max_value:
            raise _too_big(f"{what}会有约 {size:,} 个字符或元素")
        self.work += size
        if size > 10_000 and time.monotonic() > self.deadline:  # a few big values are slow too
            raise RenderLimitError(f"模板渲染超过 {MAX_SECONDS:.0f} 秒，已停止（检查循环是否太多）")
        if self.work > self.max_work:
            raise RenderLimitError(f"模板渲染产生的文字累计超过 {self.max_work:,} 个字符，已停止"
                                   "（检查循环和重复拼接）")


_FREE = RenderBudget(deadline=float("inf"))  # outside a rendering (constant folding at compile)
_CURRENT: contextvars.ContextVar[RenderBudget | None] = contextvars.ContextVar(
    "workbench_render_budget", default=None)


def current_budget() -> RenderBudget:
    budget = _CURRENT.get()
    if budget is None:
        _FREE.steps = _FREE.work = 0  # per-value limits only
        return _FREE
    return budget


@contextmanager
def render_budget(inputs: Iterable[Any] = ()) -> Iterator[RenderBudget]:
    """One fresh budget for the rendering run inside the `with`, given the caller's values."""
    token = _CURRENT.set(RenderBudget.for_inputs(inputs))
    try:
        yield _CURRENT.get()  # type: ignore[misc]
    finally:
        _CURRENT.reset(token)


# --- sizes ------------------------------------------------------------------------------------

def size_of(value: Any, limit: int | None = None) -> int:
    """Characters/items a value stands for, deep (a list of one string repeated counts each
    time); counting stops a little past `limit` (the rendering's value limit), which is all a
    caller needs to know."""
    if limit is None:
        limit = current_budget().max_value
    if isinstance(value, str | bytes | bytearray):
        return len(value)
    if isinstance(value, bool) or value is None:
        return 1
    if isinstance(value, int):
        return value.bit_length() // 3 + 1
    if isinstance(value, Undefined | range):  # a range is lazy and prints short
        return 1
    if isinstance(value, Namespace):  # printed with all it holds
        value = object.__getattribute__(value, "_Namespace__attrs")
    if isinstance(value, Mapping):
        value = list(value.items())
    if isinstance(value, Collection):  # lists, tuples, sets, dict views
        total = len(value)
        for item in value:
            if total > limit:
                break
            total += len(item) if type(item) is str else size_of(item, limit - total)
        return total
    return 1


def _int_arg(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _arg(args: tuple[Any, ...], kwargs: dict[str, Any], index: int, name: str,
         default: Any = None) -> Any:
    if len(args) > index:
        return args[index]
    return kwargs.get(name, default)


def checked_result(result: Any, what: str = "结果", *, counted: bool = False) -> Any:
    """`result`, once counted: an integer by its digits, anything else by its size (unless its
    predicted size was `counted` already)."""
    if isinstance(result, int) and not isinstance(result, bool):
        if result.bit_length() > _INT_BITS:
            raise RenderLimitError(f"整数超过 {MAX_INT_DIGITS:,} 位，超出模板渲染的上限")
    elif not counted:
        current_budget().charge(size_of(result), what)
    return result


# --- format strings ---------------------------------------------------------------------------

_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?[a-zA-Z%]")
_DIGITS = re.compile(r"\d+")


def _refuse_width(width: int) -> None:
    if width > MAX_VALUE:
        raise _too_big(f"格式宽度或精度 {width:,} 太大")


def check_percent_format(fmt: str, args: Any) -> int:
    """Size of `fmt % args` at most, refusing a width or precision (written in the string or
    taken from `*`) that alone is too big."""
    size = len(fmt) + size_of(args)
    star = False
    for match in _PERCENT_SPEC.finditer(fmt):
        for part in match.groups():
            if part == "*":
                star = True
            elif part:
                width = int(part) if len(part) < 12 else MAX_VALUE + 1
                _refuse_width(width)
                size += width
    if star:
        for value in args if isinstance(args, tuple) else (args,):
            _refuse_width(_int_arg(value))
            size += _int_arg(value)
    return size


class LimitedFormatter(SandboxedFormatter):
    """`str.format` in the sandbox, refusing a field whose width or precision (nested `{}`
    already filled in) is too big, and a result that grows too long."""

    def vformat(self, format_string: str, args: Sequence[Any],
                kwargs: Mapping[str, Any]) -> str:
        if size_of([*args, *kwargs.values()]) > current_budget().max_value:
            raise _too_big("format() 的参数太大")
        self._written = len(format_string)
        return super().vformat(format_string, args, kwargs)

    def format_field(self, value: Any, format_spec: str) -> Any:
        for digits in _DIGITS.findall(format_spec):
            _refuse_width(int(digits) if len(digits) < 12 else MAX_VALUE + 1)
        text = super().format_field(value, format_spec)
        self._written += len(text)
        if self._written > current_budget().max_value:
            raise _too_big("format() 的结果太长")
        return text


class LimitedEscapeFormatter(LimitedFormatter, SandboxedEscapeFormatter):
    pass


# --- operators --------------------------------------------------------------------------------

def predict_binop(operator: str, left: Any, right: Any) -> int:
    """Size of `left <operator> right`, before computing it (0 when it cannot grow)."""
    if operator == "*":
        for seq, times in ((left, right), (right, left)):
            if isinstance(seq, str | list | tuple | bytes) and isinstance(times, int):
                return size_of(seq) * max(times, 0)
        if (isinstance(left, int) and isinstance(right, int)
                and left.bit_length() + right.bit_length() > _INT_BITS + 1):
            raise RenderLimitError(f"整数乘积超过 {MAX_INT_DIGITS:,} 位，超出模板渲染的上限")
    elif operator == "**" and isinstance(left, int) and isinstance(right, int) and right > 0:
        if abs(left) > 1 and (right > _INT_BITS or (abs(left).bit_length() - 1) * right > _INT_BITS):
            raise RenderLimitError(f"乘方结果超过 {MAX_INT_DIGITS:,} 位，超出模板渲染的上限")
    elif operator == "+" and isinstance(left, str | list | tuple) and type(left) is type(right):
        return size_of(left) + size_of(right)
    elif operator == "%" and isinstance(left, str):
        return check_percent_format(left, right)
    return 0


# --- calls of str methods ---------------------------------------------------------------------

_JINJA_KWARGS = ("_block_vars", "_loop_vars")  # the scope Jinja hands every call inside a block


def refuse_large_arguments(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    """Arguments of one call, all together, within the value limit (a list that repeats a long
    text many times is cheap to make but not to print or join)."""
    values = [*args, *(v for k, v in kwargs.items() if k not in _JINJA_KWARGS)]
    if values and size_of(values) > current_budget().max_value:
        raise _too_big("调用的参数太大")


def _join_items(items: Iterable[Any]) -> list[Any]:
    budget = current_budget()
    listed: list[Any] = []
    for item in items:
        budget.tick()
        listed.append(item)
    return listed


def _replace_size(text: str, old: Any, new: Any, count: Any) -> int:
    if not isinstance(old, str) or not isinstance(new, str):
        return len(text)
    hits = len(text) + 1 if old == "" else text.count(old)
    if isinstance(count, int) and count >= 0:
        hits = min(hits, count)
    return len(text) + hits * max(len(new) - len(old), 0)


def prepare_str_call(obj: Any, args: tuple[Any, ...],
                     kwargs: dict[str, Any]) -> tuple[tuple[Any, ...], int]:
    """(arguments to call with, predicted size) for a bound method of a string."""
    text, name = obj.__self__, obj.__name__
    size = len(text)
    if name in ("center", "ljust", "rjust", "zfill"):
        size = max(size, _int_arg(_arg(args, kwargs, 0, "width", 0)))
    elif name == "expandtabs":
        size += text.count("\t") * _int_arg(_arg(args, kwargs, 0, "tabsize", 8))
    elif name == "replace":
        size = _replace_size(text, _arg(args, kwargs, 0, "old"), _arg(args, kwargs, 1, "new"),
                             _arg(args, kwargs, 2, "count", -1))
    elif name == "join" and args:
        items = _join_items(args[0])
        args = (items, *args[1:])
        size = sum(size_of(item) for item in items) + len(text) * len(items)
    elif name == "translate" and args and isinstance(args[0], Mapping):
        longest = max((size_of(v) for v in args[0].values()), default=1)
        size = len(text) * max(longest, 1)
    elif name == "encode":
        size *= 4
    return args, size


# --- filters ----------------------------------------------------------------------------------

def _filter_size(name: str, value: Any, args: tuple[Any, ...],
                 kwargs: dict[str, Any]) -> tuple[Any, int]:
    """(value to filter, predicted size) for the filters whose output can outgrow their input;
    0 means "look at the result"."""
    text = value if isinstance(value, str) else ""
    if name == "center":
        return value, max(len(text), _int_arg(_arg(args, kwargs, 0, "width", 80)))
    if name == "indent":
        width = _arg(args, kwargs, 0, "width", 4)
        per_line = len(width) if isinstance(width, str) else _int_arg(width)
        if per_line > MAX_VALUE:
            raise _too_big(f"缩进宽度 {per_line:,} 太大")
        return value, len(text) + (text.count("\n") + 1) * per_line
    if name == "wordwrap":
        wrap = _arg(args, kwargs, 2, "wrapstring")
        return value, len(text) + (len(text) + 1) * (len(wrap) if isinstance(wrap, str) else 1)
    if name == "replace":
        return value, _replace_size(text, _arg(args, kwargs, 0, "old"),
                                    _arg(args, kwargs, 1, "new"), _arg(args, kwargs, 2, "count"))
    if name == "join":
        items = _join_items(value)
        sep = _arg(args, kwargs, 0, "d", "")
        return items, sum(size_of(item) for item in items) + len(items) * size_of(sep)
    if name == "format" and isinstance(value, str):
        return value, check_percent_format(value, args or kwargs)
    if name == "batch":
        return value, _int_arg(_arg(args, kwargs, 0, "linecount", 0))
    if name == "slice":
        return value, _int_arg(_arg(args, kwargs, 0, "slices", 0))
    if name == "tojson":
        return value, size_of(value) * (2 + _int_arg(_arg(args, kwargs, 0, "indent", 0)))
    if name == "sum" and not isinstance(_arg(args, kwargs, 1, "start", 0), int | float):
        items = _join_items(value)  # adding lists or tuples copies the total each time
        total = sum(size_of(item) for item in items)
        if len(items) * total > current_budget().max_work:
            raise _too_big(f"过滤器 sum 要把 {len(items):,} 个列表逐个相加")
        return items, total
    if name == "urlize":
        extra = sum(size_of(kwargs.get(k) or "") for k in ("target", "rel"))
        return value, len(text) * (3 + extra)
    return value, 0


def guard_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """`func` with the size checks; a context filter, so Jinja never folds it at compile time."""
    pass_arg = _PassArg.from_obj(func)

    @pass_context
    def guarded(context: Context, value: Any, *args: Any, **kwargs: Any) -> Any:
        budget = current_budget()
        budget.tick()
        refuse_large_arguments(args, kwargs)
        budget.charge(size_of(value), f"过滤器 {name} 的输入")  # reading it is work too
        value, predicted = _filter_size(name, value, args, kwargs)
        if predicted:
            budget.charge(predicted, f"过滤器 {name} 的结果")
        if pass_arg is _PassArg.context:
            result = func(context, value, *args, **kwargs)
        elif pass_arg is _PassArg.eval_context:
            result = func(context.eval_ctx, value, *args, **kwargs)
        elif pass_arg is _PassArg.environment:
            result = func(context.environment, value, *args, **kwargs)
        else:
            result = func(value, *args, **kwargs)
        return checked_result(result, f"过滤器 {name} 的结果", counted=bool(predicted))

    guarded.__name__ = getattr(func, "__name__", name)
    guarded.__doc__ = func.__doc__
    return guarded
