"""What every tab shares: settings and the database per request, the user, error translation."""

from __future__ import annotations

import functools
import html
import inspect
import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import gradio as gr
from sqlite_utils import Database

from workbench.compliance import LEVEL_NAMES
from workbench.config import OPTIONS, Settings, load_settings
from workbench.errors import InputError, WorkbenchError
from workbench.rewrite.registry import resolve_backend
from workbench.store import database_error, open_db
from workbench.voice.reach import edge_down_reason
from workbench.voice.registry import plan_voice

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])
# How a compliance finding is marked in the page (the CLI's words).
LEVELS = {level: f"【{name}】" for level, name in LEVEL_NAMES.items()}


def current_settings() -> Settings:
    """Read per request, so what the 设置 tab saves applies to the next click."""
    return load_settings()


@contextmanager
def session() -> Iterator[tuple[Settings, Database]]:
    """Settings plus a connection of this thread's own (SQLite connections are per thread)."""
    settings = current_settings()
    settings.ensure_dirs()
    db = open_db(settings.db_path)
    try:
        yield settings, db
    finally:
        db.close()


def owner(request: gr.Request | None) -> str:
    """Whose draft: the logged-in user, or "local" when the app runs without login."""
    return (getattr(request, "username", None) or "local") if request else "local"


# The settings a web user can change, by the label the 设置 tab gives them.
FORM_LABELS = {"llm_base_url": "接口地址", "llm_model": "模型", "llm_api_key": "API Key",
               "rewrite_backend": "改写方式", "voice_backend": "配音方式", "voice": "默认音色",
               "voice_rate": "默认语速", "voice_fallback": "回退策略",
               "render_profile": "默认输出规格"}


@functools.cache
def _setting_names() -> tuple[tuple[re.Pattern[str], str], ...]:
    """Environment variable → how a web user reaches that setting (longest names first)."""
    pairs = []
    for option in sorted(OPTIONS, key=lambda o: -len(o.env)):
        label = FORM_LABELS.get(option.name)
        if label:
            told, where = f"在设置页填写「{label}」", f"设置页的「{label}」"
        else:
            told = f"在配置文件 workbench.toml 里设置 {option.toml_key}"
            where = f"配置文件 workbench.toml 的 {option.toml_key}"
        env = re.escape(option.env)
        pairs.append((re.compile(rf"设置\s*\b{env}\b\s*"), told))
        pairs.append((re.compile(rf"\s*\b{env}\b\s*"), where))
    return tuple(pairs)


def for_web(message: str) -> str:
    """A library message as a web user should read it: settings by where they are in the app,
    never an environment variable to set (the CLI's wording names those), and files by their
    name, never a server path."""
    for pattern, words in _setting_names():
        message = pattern.sub(words, message)
    return _SERVER_PATH.sub(lambda m: m.group(0).rstrip("/").rsplit("/", 1)[-1] or "/", message)


# An absolute path on the server (not the path part of a URL): the web user sees the file name.
_SERVER_PATH = re.compile(r"(?<![\w:/.~-])/(?:[^\s/'\"，。；：、）)】」]+/)+[^\s/'\"，。；：、）)】」]*")


def user_error(message: str, title: str = "出错了") -> gr.Error:
    """The page shows the message as HTML, so `<` `>` `&` are escaped; quotes are not (they are
    harmless in text, and an API client would otherwise read `&#x27;fast&#x27;`)."""
    return gr.Error(html.escape(for_web(message), quote=False), title=title,
                    print_exception=False)


def handler(fn: F) -> F:
    """Stage errors reach the page as gr.Error with the CLI's text; anything unexpected is
    logged with its traceback on the server and shown as one line, never as a trace."""

    if inspect.isgeneratorfunction(fn):  # a handler that streams updates (yield)

        @functools.wraps(fn)
        def streaming(*args: Any, **kwargs: Any) -> Any:
            try:
                yield from fn(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - translated (logged when unexpected)
                raise _translated(exc, fn.__name__) from None

        return streaming  # type: ignore[return-value]

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - translated (logged when unexpected)
            raise _translated(exc, fn.__name__) from None

    return wrapper  # type: ignore[return-value]


def _translated(exc: Exception, name: str) -> gr.Error:
    if isinstance(exc, gr.Error):
        return exc
    if isinstance(exc, WorkbenchError):
        return user_error(str(exc))
    if (known := database_error(exc)) is not None:
        return user_error(str(known))
    log.exception("unexpected error in %s", name, exc_info=exc)
    return user_error(f"内部错误（{type(exc).__name__}），详情已写入服务器日志。"
                      "请重试；若反复出现，请把日志发给维护者。")


def backend_badge(settings: Settings) -> str:
    """One line naming the active backends, e.g. "离线模式: 规则改写 + espeak"."""
    try:
        rewrite = resolve_backend(settings.rewrite_backend, settings).backend
        voice = plan_voice(settings)
    except WorkbenchError as exc:
        return f"⚠️ 设置有误：{exc}"
    speaker = voice.primary
    unreachable = edge_down_reason() if voice.fallback and speaker.backend.name == "edge" else (
        None)
    if unreachable:  # auto already knows edge is down: espeak speaks
        speaker = voice.fallback
    if rewrite.name == "rules" and speaker.backend.name == "espeak":
        why = "（edge 连不上，已自动改用离线配音）" if unreachable else ""
        return f"离线模式: 规则改写 + espeak（{speaker.params.voice}）{why}"
    words = ["规则改写" if rewrite.name == "rules" else f"LLM 改写（{rewrite.model}）"]
    words.append(f"{speaker.backend.name} 配音（{speaker.params.voice}）")
    fallback = "，不可用时回退到 espeak" if voice.fallback and not unreachable else ""
    return "在线模式: " + " + ".join(words) + fallback


def row_number(rows: list[Any], row: Any, *, empty: str, unit: str, whole: str,
               hint: str = "") -> int:
    """The 1-based row number a page sent (from a table click or a typed box), checked
    against the table: InputError(`empty`) for an empty table, else one naming the range."""
    try:
        n = int(float(row))
    except (TypeError, ValueError):
        n = 0
    if not rows:
        raise InputError(empty)
    if not 1 <= n <= len(rows):
        raise InputError(f"没有第 {str(row)[:10]} {unit}：{whole}共 {len(rows)} {unit}{hint}")
    return n
