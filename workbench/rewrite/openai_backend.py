"""Rewrite through any OpenAI-compatible chat-completions endpoint (OpenAI, DeepSeek, Qwen,
Ollama, vLLM, LM Studio, ...), with the official `openai` SDK.

What this module adds on top of the SDK, and why:

- JSON mode with a fallback: `response_format={"type": "json_object"}` is asked for, and when a
  server rejects it (many local servers do) the call is made once more without it and the
  backend remembers not to ask again.
- One repair round: a schema-invalid answer is sent back with the reason and the model gets
  exactly one chance to correct it; two bad answers in a row are an error, not a loop.
- Bounded calls (bounded_http.py): a total deadline per call (`WORKBENCH_LLM_DEADLINE`, SDK
  retries and their waits included; the SDK's own timeout is per read) and a cap on the
  answer's size, counted as it arrives. The answer is read raw and checked here (UTF-8, JSON,
  `choices[0].message.content`), so garbage or a wrongly shaped answer is a clear error.
- Errors the user can act on: every SDK error becomes a one-line Chinese `BackendError` that
  names the setting to check. Retries on 429/5xx/timeouts are left to the SDK
  (`WORKBENCH_LLM_MAX_RETRIES`, honouring `Retry-After`).
- No secrets anywhere: translated errors are raised outside the `except` block, so neither
  `__cause__` nor `__context__` carries the SDK exception (its request holds the
  Authorization header and its body may echo the key), and text taken from a server reply
  is passed through `_redact` first. Logs record model, host, latency and tokens only.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

from workbench.config import Settings, mask_secret
from workbench.errors import BackendError, BackendUnavailable
from workbench.rewrite.base import RewriteRequest, RewriteResult
from workbench.rewrite.prompts import Prompt, get_prompt
from workbench.rewrite.schema import InvalidAnswer, parse_rewrite_answer

if TYPE_CHECKING:
    import openai

log = logging.getLogger(__name__)

OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1"
# Local servers (Ollama, vLLM, LM Studio) need no key, but the SDK refuses to start without one.
PLACEHOLDER_KEY = "not-needed"
DEFAULT_PROMPT_ID = "narration"
KEY_LIKE = re.compile(r"\b(sk|key|api)[-_][A-Za-z0-9_\-]{8,}", re.IGNORECASE)


class OpenAIBackend:
    """Narration rewrite by an LLM; one instance keeps one HTTP client (connection pool)."""

    name: ClassVar[str] = "openai"
    version: ClassVar[str] = "1"
    offline: ClassVar[bool] = False

    def __init__(self, settings: Settings, prompt_fallback: Prompt | None = None) -> None:
        if not settings.llm_configured:
            raise BackendUnavailable(
                "openai 改写后端不可用：未配置大模型；请设置 OPENAI_API_KEY（本地模型只需设置 "
                "OPENAI_BASE_URL），或改用离线的 rules 后端"
            )
        import openai  # here, not at start-up: the SDK takes ~0.4 s to import

        self._openai = openai
        self._settings = settings
        self._prompt_fallback = prompt_fallback
        self._client: openai.OpenAI | None = None
        self._json_mode = True  # cleared once a server rejects response_format

    def __repr__(self) -> str:
        return f"OpenAIBackend(model={self.model!r}, endpoint={_display_url(self._settings)!r})"

    @property
    def model(self) -> str:
        return self._settings.llm_model

    @property
    def endpoint(self) -> str:
        """Where the model runs (no credentials): two providers may share a model name."""
        return _display_url(self._settings)

    # The one public operation ------------------------------------------------------------
    def rewrite(self, request: RewriteRequest) -> RewriteResult:
        prompt = self._prompt_for(request)
        user = prompt.render_user(
            segments=[{"name": s.name, "text": s.text} for s in request.segments],
            keyword=request.keyword,
            app=request.app,
            target_chars=request.target_chars,
            book_title=request.book_title,
            chapter_title=request.chapter_title,
            instruction=request.instruction,
        )
        messages = [{"role": "system", "content": prompt.system}, {"role": "user", "content": user}]
        names = [s.name for s in request.segments]
        options = {"temperature": prompt.temperature, "seed": request.seed}

        answer, note = self._complete(messages, **options)
        try:
            return parse_rewrite_answer(answer, names, keyword=request.keyword or None)
        except InvalidAnswer as exc:
            reason = exc.reason + note
        log.info("openai answer invalid (%s); asking the model to repair it once", reason)

        repair = messages + [
            {"role": "assistant", "content": answer},
            {"role": "user", "content": _repair_instruction(reason, names)},
        ]
        answer, note = self._complete(repair, **options)
        try:
            return parse_rewrite_answer(answer, names, keyword=request.keyword or None)
        except InvalidAnswer as exc:
            reason = exc.reason + note
        raise BackendError(
            f"模型返回的 JSON 无效（已重试一次）：{reason}；可换一个更强的模型"
            f"（WORKBENCH_LLM_MODEL）或改用 rules 后端"
        )

    def complete(self, messages: list[dict[str, str]], **options: Any) -> tuple[str, str]:
        """One chat completion asking for JSON, on the same client, limits, JSON-mode fallback
        and error translation as `rewrite`: (answer text, '' or a note for a parse failure).
        For other stages that ask the configured model for JSON (the drama arc)."""
        return self._complete(messages, **options)

    # Internals -------------------------------------------------------------------------------
    def _prompt_for(self, request: RewriteRequest) -> Prompt:
        """The request's prompt, else the one given at construction, else the bundled default."""
        if request.prompt is not None:
            return request.prompt
        if self._prompt_fallback is None:
            self._prompt_fallback = get_prompt(DEFAULT_PROMPT_ID, self._settings.prompt_dirs)
        return self._prompt_fallback

    def close(self) -> None:
        """Release the HTTP connection pool (optional; a new one is made on the next call)."""
        if self._client is not None:
            self._client.close()
            self._client = None

    def _get_client(self) -> openai.OpenAI:
        if self._client is None:
            self._client = make_client(self._settings)
        return self._client

    def _complete(self, messages: list[dict[str, str]], **options: Any) -> tuple[str, str]:
        """One chat completion → (answer text, '' or a note to add to a parse failure)."""
        kwargs: dict[str, Any] = {"model": self.model, "messages": messages, **options}
        if self._json_mode:
            kwargs["response_format"] = {"type": "json_object"}
        started = time.monotonic()
        rejected = False
        try:
            response = _create(self._openai, self._get_client(), self._settings, kwargs)
        except _JsonModeRejected:
            log.info("%s rejected response_format; retrying without JSON mode", _host(self._settings))
            self._json_mode, rejected = False, True
        if rejected:  # retried outside the except block: no exception chaining
            del kwargs["response_format"]
            response = _create(self._openai, self._get_client(), self._settings, kwargs)
        elapsed = time.monotonic() - started

        log.info(
            "openai chat completion: model=%s host=%s latency=%.2fs tokens=%s+%s json_mode=%s",
            self.model, _host(self._settings), elapsed,
            response.usage.get("prompt_tokens", "?"), response.usage.get("completion_tokens", "?"),
            self._json_mode,
        )
        if response.finish_reason == "length":
            log.info("answer cut off at the token limit (finish_reason=length)")
            return response.content, "（回答在长度上限处被截断）"
        return response.content, ""


@dataclass(frozen=True)
class ChatAnswer:
    """What we use of a chat completion, checked (see `read_answer`)."""

    content: str
    finish_reason: str | None
    usage: dict[str, Any]


def read_answer(body: bytes, settings: Settings) -> ChatAnswer:
    """The answer's text from a raw chat-completion body; anything else is a BackendError."""
    where = f"大模型服务（{_host(settings)}）的回答"
    check = "请确认 OPENAI_BASE_URL 指向 OpenAI 兼容接口（通常以 /v1 结尾）"
    data = decode_json(body, where, check, lambda text: _redact(text, settings))
    choices = data.get("choices") if isinstance(data, dict) else None
    if not choices or not isinstance(choices, list):
        raise BackendError(f"{where}格式不对：没有 choices；{check}")
    choice = choices[0]
    message = choice.get("message") if isinstance(choice, dict) else None
    if not isinstance(message, dict):
        raise BackendError(f"{where}格式不对：choices[0] 里没有 message 对象；{check}")
    content = message.get("content")
    if content is not None and not isinstance(content, str):
        raise BackendError(f"{where}格式不对：message.content 应为文本，实际是 "
                           f"{type(content).__name__}；{check}")
    reason = choice.get("finish_reason")
    usage = data.get("usage")
    return ChatAnswer(content or "", reason if isinstance(reason, str) else None,
                      usage if isinstance(usage, dict) else {})


class _JsonModeRejected(Exception):
    """The server answered 400/422 about `response_format`: retry without JSON mode."""


def make_client(settings: Settings, *, max_retries: int | None = None) -> openai.OpenAI:
    """An SDK client from our settings only (never the SDK's own env lookup for key/base URL),
    on the bounding transport (used by `_create`)."""
    import openai as openai_mod

    from workbench.rewrite.bounded_http import bounded_client

    return openai_mod.OpenAI(
        api_key=settings.llm_api_key or PLACEHOLDER_KEY,
        base_url=settings.llm_base_url or OPENAI_DEFAULT_BASE_URL,
        timeout=settings.llm_timeout,
        max_retries=settings.llm_max_retries if max_retries is None else max_retries,
        http_client=bounded_client(),
    )


def _create(openai_mod: Any, client: Any, settings: Settings, kwargs: dict[str, Any]
            ) -> ChatAnswer:
    """`chat.completions.create` within the call's limits, read raw and checked, with SDK
    errors translated into our errors.

    The translated error is raised after the `except` block on purpose: raising inside it,
    even `from None`, would keep the SDK exception (and its request headers) as __context__.
    """
    from workbench.rewrite.bounded_http import call_with_limits

    failure: Exception | None = None
    try:
        raw = call_with_limits(
            lambda: client.chat.completions.with_raw_response.create(**kwargs),
            settings.llm_deadline)
        return read_answer(raw.content, settings)
    except openai_mod.OpenAIError as exc:
        failure = exc
    assert failure is not None
    log.info(
        "openai chat completion failed: model=%s host=%s error=%s status=%s",
        kwargs.get("model"), _host(settings), type(failure).__name__,
        getattr(failure, "status_code", "-"),
    )
    if "response_format" in kwargs and _complains_about_response_format(openai_mod, failure):
        raise _JsonModeRejected()
    raise translate_error(openai_mod, failure, settings)


def _complains_about_response_format(openai_mod: Any, exc: Exception) -> bool:
    text = refusal_text(openai_mod, exc)
    return text is not None and any(
        w in text for w in ("response_format", "response format", "json_object"))


def refusal_text(openai_mod: Any, exc: Exception) -> str | None:
    """For a 400/422, the server's explanation and the parameter it names, lower case (to look
    for a request field it refuses); None for any other failure."""
    if not isinstance(exc, (openai_mod.BadRequestError, openai_mod.UnprocessableEntityError)):
        return None
    return f"{server_message(exc)} {getattr(exc, 'param', '') or ''}".lower()


def translate_error(openai_mod: Any, exc: Exception, settings: Settings) -> BackendError:
    """One Chinese line per SDK failure, naming the setting that fixes it."""
    from workbench.rewrite import bounded_http

    host, url, model = _host(settings), _display_url(settings), settings.llm_model
    if isinstance(exc, bounded_http.DeadlineExceeded):
        return BackendError(
            f"大模型调用超过总时限：{url} 在 {settings.llm_deadline:g} 秒内（含重试）没有给出完整"
            "回答；可调大 WORKBENCH_LLM_DEADLINE，或检查服务是否正常"
        )
    if isinstance(exc, bounded_http.AnswerTooLarge):
        return BackendError(
            f"大模型服务 {host} 的回答超过 {exc.limit / 1e6:g} MB，已停止读取：正常回答只有几 KB；"
            "请确认 OPENAI_BASE_URL 指向 OpenAI 兼容接口（通常以 /v1 结尾）"
        )
    if isinstance(exc, bounded_http.UnsupportedEncoding):
        return BackendError(
            f"大模型服务 {host} 用不支持的压缩格式（{exc.encoding}）回答；请确认 OPENAI_BASE_URL "
            "指向 OpenAI 兼容接口"
        )
    if isinstance(exc, openai_mod.APITimeoutError):
        return BackendError(
            f"大模型请求超时：{url} 在 {settings.llm_timeout:g} 秒内没有回答（已重试 "
            f"{settings.llm_max_retries} 次）；可调大 WORKBENCH_LLM_TIMEOUT 或稍后再试"
        )
    if isinstance(exc, openai_mod.APIConnectionError):
        return BackendError(
            f"无法连接大模型服务 {url}：请检查 OPENAI_BASE_URL 和网络，本地模型请确认服务已启动"
        )
    if not isinstance(exc, openai_mod.APIStatusError):
        return BackendError(f"调用大模型失败（{type(exc).__name__}）：{_redact(str(exc), settings)}")

    detail = _redact(server_message(exc), settings)
    status = exc.status_code
    if isinstance(exc, openai_mod.AuthenticationError):
        return BackendError(
            f"大模型服务 {host} 拒绝了 API Key（401）：请检查 OPENAI_API_KEY，以及 OPENAI_BASE_URL "
            "是否是这个 Key 所属服务商的地址"
        )
    if isinstance(exc, openai_mod.PermissionDeniedError):
        return BackendError(
            f"大模型服务 {host} 拒绝访问（403）：这个 API Key 无权使用模型 {model} 或所在地区不受"
            f"支持；请检查 OPENAI_API_KEY 和 WORKBENCH_LLM_MODEL（{detail}）"
        )
    if isinstance(exc, openai_mod.NotFoundError):
        return BackendError(
            f"在 {url} 找不到模型 {model}（404）：请检查 WORKBENCH_LLM_MODEL，以及 OPENAI_BASE_URL "
            "是否完整（通常以 /v1 结尾）"
        )
    if isinstance(exc, openai_mod.RateLimitError):
        if getattr(exc, "code", None) == "insufficient_quota" or "quota" in detail.lower():
            return BackendError(
                f"大模型服务 {host} 额度不足（429）：请检查账户余额或套餐后再试（{detail}）"
            )
        return BackendError(
            f"大模型服务 {host} 限流（429，已自动重试 {settings.llm_max_retries} 次）：请等一两分钟"
            f"再试，或减少批量任务的并发（{detail}）"
        )
    return BackendError(f"大模型服务 {host} 返回错误 {status}：{detail or '（无说明）'}")


def decode_json(body: bytes, where: str, check: str, redact: Callable[[str], str]) -> Any:
    """A raw answer's JSON; not UTF-8 or not JSON is a BackendError about `where` (what
    answered), ending with `check` (what to verify), quoting the answer's start redacted."""
    try:
        return json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise BackendError(f"{where}不是 UTF-8 文本（{len(body)} 字节的乱码）；{check}") from None
    except ValueError:
        start = " ".join(redact(body[:80].decode("utf-8", "replace")).split())
        raise BackendError(f"{where}不是 JSON（开头是：{start!r}）；{check}") from None


def server_message(exc: Exception) -> str:
    """The server's own explanation, one line, short: body.error.message or the raw body."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        text = inner.get("message") if isinstance(inner, dict) else inner
        text = str(text or body.get("message") or body.get("detail") or "")
    elif body is not None:
        text = str(body)
    else:
        text = str(getattr(exc, "message", "") or "")
    text = " ".join(text.split())
    return text if len(text) <= 200 else text[:200] + "…"


def _redact(text: str, settings: Settings) -> str:
    """Remove the configured key (and anything key-shaped) from text that came from outside."""
    key = settings.llm_api_key
    if key:
        text = text.replace(key, mask_secret(key))
    return KEY_LIKE.sub(lambda m: mask_secret(m.group(0)), text)


def _host(settings: Settings) -> str:
    parts = urlsplit(settings.llm_base_url or OPENAI_DEFAULT_BASE_URL)
    return parts.hostname + (f":{parts.port}" if parts.port else "") if parts.hostname else "?"


def _display_url(settings: Settings) -> str:
    """The base URL without user:password or query string (either may hold a secret)."""
    parts = urlsplit(settings.llm_base_url or OPENAI_DEFAULT_BASE_URL)
    return f"{parts.scheme}://{_host(settings)}{parts.path}" if parts.scheme else "?"


def _repair_instruction(reason: str, names: list[str]) -> str:
    return (
        f"你上面的回答不符合要求：{reason}。请改正后重新输出完整的 JSON 对象，只输出 JSON，不要输出"
        f"其他文字。segments 的段名必须依次为 {', '.join(names)}；title 不超过 30 个字；"
        "hashtags 为 3 到 6 个不带 # 号的标签。"
    )


def check_connection(settings: Settings) -> str:
    """Send one tiny chat request and return a short Chinese status line.

    Meant for a "test connection" button: no SDK retries (the user wants an answer now), the
    configured timeout, and the same error translation as `rewrite`, so a failure raises a
    `BackendError`/`BackendUnavailable` whose message says what to fix.
    """
    if not settings.llm_configured:
        raise BackendUnavailable("未配置大模型：请设置 OPENAI_API_KEY 或 OPENAI_BASE_URL")
    import openai as openai_mod

    client = make_client(settings, max_retries=0)
    started = time.monotonic()
    try:
        response = _create(openai_mod, client, settings, {
            "model": settings.llm_model,
            "messages": [{"role": "user", "content": "连接测试：请只回复 OK"}],
        })
    finally:
        client.close()
    elapsed_ms = (time.monotonic() - started) * 1000
    total = response.usage.get("total_tokens")
    tokens = f"，用量 {total} tokens" if total is not None else ""
    return f"连接正常：{_host(settings)} 的模型 {settings.llm_model} 已回答（{elapsed_ms:.0f} 毫秒{tokens}）"
