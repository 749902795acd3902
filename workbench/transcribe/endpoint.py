"""Where transcription requests go, and with which key.

`transcribe.base_url` unset: the LLM's endpoint (`OPENAI_BASE_URL`, else OpenAI's).
`transcribe.api_key` unset: the LLM's key, but only when the request goes to the LLM's own
endpoint — a key is never sent to a host it was not set for (a local faster-whisper server
needs none; a placeholder is sent instead).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from workbench.config import Settings, mask_secret
from workbench.errors import BackendError
from workbench.rewrite.openai_backend import KEY_LIKE, OPENAI_DEFAULT_BASE_URL, PLACEHOLDER_KEY


@dataclass(frozen=True)
class Endpoint:
    base_url: str
    api_key: str | None
    configured: bool  # a base URL or a key is set (here or for the LLM)

    def __repr__(self) -> str:  # never show the key, even in a traceback
        return f"Endpoint(base_url={self.display_url!r}, configured={self.configured})"

    def sdk_client(self, openai_mod: Any, timeout: float, max_retries: int, http_client: Any
                   ) -> Any:
        """The openai SDK's client for this endpoint (a placeholder key when none is set)."""
        return openai_mod.OpenAI(api_key=self.api_key or PLACEHOLDER_KEY, base_url=self.base_url,
                                 timeout=timeout, max_retries=max_retries,
                                 http_client=http_client)

    @property
    def host(self) -> str:
        parts = urlsplit(self.base_url)
        if not parts.hostname:
            return "?"
        return parts.hostname + (f":{parts.port}" if parts.port else "")

    @property
    def display_url(self) -> str:
        """The base URL without user:password or query string (either may hold a secret)."""
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{self.host}{parts.path}" if parts.scheme else "?"

    def redact(self, text: str) -> str:
        """`text` from a server, with the key (and anything key-shaped) masked."""
        if self.api_key:
            text = text.replace(self.api_key, mask_secret(self.api_key))
        return KEY_LIKE.sub(lambda m: mask_secret(m.group(0)), text)


def _same_url(a: str, b: str) -> bool:
    return a.rstrip("/").lower() == b.rstrip("/").lower()


def service_endpoint(settings: Settings, base_url: str | None, api_key: str | None) -> Endpoint:
    """A service's own `base_url`/`api_key`, falling back to the LLM's (the key only when the
    request goes to the LLM's own endpoint)."""
    llm_url = settings.llm_base_url or OPENAI_DEFAULT_BASE_URL
    url = base_url or llm_url
    key = api_key
    if not key and _same_url(url, llm_url):
        key = settings.llm_api_key
    return Endpoint(url, key, bool(base_url or api_key or settings.llm_configured))


def transcription_endpoint(settings: Settings) -> Endpoint:
    return service_endpoint(settings, settings.transcribe_base_url, settings.transcribe_api_key)


class SdkBackend:
    """What a backend on the openai SDK holds: its endpoint, a client made on first use (the
    SDK over the bounded HTTP client, `_http`), and `close`. Transcription and images share it."""

    def _connect(self, settings: Settings, endpoint: Endpoint, timeout: float) -> None:
        import openai  # here, not at start-up: the SDK takes ~0.4 s to import

        self._openai: Any = openai
        self._settings = settings
        self._endpoint = endpoint
        self._timeout = timeout
        self._client: Any = None
        self._http: Any = None

    @property
    def endpoint(self) -> str:
        return self._endpoint.display_url

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _get_client(self) -> Any:
        if self._client is None:
            from workbench.rewrite.bounded_http import bounded_client

            self._http = bounded_client()
            self._client = self._endpoint.sdk_client(
                self._openai, self._timeout, self._settings.llm_max_retries, self._http)
        return self._client


def translate_sdk_error(openai_mod: Any, exc: Exception, endpoint: Endpoint, *, service: str,
                        env: str, deadline: float, retries: int, check: str) -> BackendError:
    """The failure lines transcription and images word alike: `service` names the service
    ("语音识别"), `env` its settings (`WORKBENCH_{env}_…`), `check` what to verify. Each
    backend words its own cases (too large an answer, 403, 404, …) before calling this."""
    from workbench.rewrite import bounded_http
    from workbench.rewrite.openai_backend import server_message

    host, url = endpoint.host, endpoint.display_url
    if isinstance(exc, bounded_http.DeadlineExceeded):
        return BackendError(
            f"{service}超过总时限：{url} 在 {deadline:g} 秒内（含重试）没有给出完整回答；"
            f"可调大 WORKBENCH_{env}_DEADLINE，或检查服务是否正常")
    if isinstance(exc, bounded_http.UnsupportedEncoding):
        return BackendError(f"{service}服务 {host} 用不支持的压缩格式（{exc.encoding}）回答；{check}")
    if isinstance(exc, openai_mod.APITimeoutError):
        return BackendError(f"{service}请求超时：{url} 没有回答（已重试 {retries} 次）；可调大 "
                            f"WORKBENCH_{env}_DEADLINE 或稍后再试")
    if isinstance(exc, openai_mod.APIConnectionError):
        return BackendError(f"无法连接{service}服务 {url}：请检查 WORKBENCH_{env}_BASE_URL "
                            "和网络，本地服务请确认已启动")
    if not isinstance(exc, openai_mod.APIStatusError):
        return BackendError(f"{service}失败（{type(exc).__name__}）：{endpoint.redact(str(exc))}")
    detail = endpoint.redact(server_message(exc))
    if isinstance(exc, openai_mod.AuthenticationError):
        return BackendError(
            f"{service}服务 {host} 拒绝了 API Key（401）：请检查 WORKBENCH_{env}_API_KEY（未设置"
            "时，只在接口与大模型相同时使用 OPENAI_API_KEY）")
    if isinstance(exc, openai_mod.RateLimitError):
        return BackendError(f"{service}服务 {host} 限流或额度不足（429，已自动重试 {retries} 次）："
                            f"请稍后再试（{detail}）")
    return BackendError(f"{service}服务 {host} 返回错误 {exc.status_code}：{detail or '（无说明）'}")
