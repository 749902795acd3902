"""Speech recognition through any OpenAI-compatible transcription endpoint (OpenAI's whisper-1,
a local faster-whisper or whisper.cpp server, SiliconFlow, ...) with the official SDK's
`audio.transcriptions.create(response_format="verbose_json",
timestamp_granularities=["segment"])`.

Like the rewrite backend: every call is bounded (bounded_http.py: a total deadline per request,
`transcribe.deadline`, SDK retries included, and a cap on the answer's size, counted as it
arrives); the answer is read raw and checked here (UTF-8, JSON, a `segments` list whose items
have numeric `start` <= `end` and a text string), so a server that answers with anything else
is a one-line error naming the endpoint; SDK errors become Chinese lines that name the setting
to check. Translated errors are raised outside the `except` block (no `__context__` holding the
request's Authorization header), and text taken from a server reply is redacted first.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import Any, ClassVar

from workbench.config import Settings
from workbench.errors import BackendError, BackendUnavailable
from workbench.materials.sidecar import SubtitleLine
from workbench.rewrite.openai_backend import decode_json
from workbench.transcribe.endpoint import (
    Endpoint,
    SdkBackend,
    transcription_endpoint,
    translate_sdk_error,
)

log = logging.getLogger(__name__)

ANSWER_MAX_BYTES = 4_000_000  # verbose_json for 10 minutes of speech is a few hundred KB
_MIME = {".mp3": "audio/mpeg", ".flac": "audio/flac", ".wav": "audio/wav", ".ogg": "audio/ogg"}
_CHECK = "请确认 WORKBENCH_TRANSCRIBE_BASE_URL（未设置时用 OPENAI_BASE_URL）指向 OpenAI 兼容的语音识别接口"


class OpenAITranscriber(SdkBackend):
    name: ClassVar[str] = "openai"
    version: ClassVar[str] = "1"

    def __init__(self, settings: Settings) -> None:
        self._endpoint = transcription_endpoint(settings)
        if not self._endpoint.configured:
            raise BackendUnavailable(
                "openai 语音识别不可用：没有配置接口；请设置 WORKBENCH_TRANSCRIBE_API_KEY（本地服务"
                "只需设置 WORKBENCH_TRANSCRIBE_BASE_URL），或设置 WORKBENCH_WHISPER_MODEL_DIR "
                "改用本地 faster-whisper 模型"
            )
        self._connect(settings, self._endpoint, settings.transcribe_deadline)

    def __repr__(self) -> str:
        return f"OpenAITranscriber(model={self.model!r}, endpoint={self.endpoint!r})"

    @property
    def model(self) -> str:
        return self._settings.transcribe_model

    def transcribe(self, audio: Path, language: str | None) -> list[SubtitleLine]:
        from workbench.rewrite.bounded_http import call_with_limits

        kwargs: dict[str, Any] = {
            "model": self.model,
            "file": (audio.name, audio.read_bytes(), _MIME.get(audio.suffix, "audio/mpeg")),
            "response_format": "verbose_json",
            "timestamp_granularities": ["segment"],
        }
        if language:
            kwargs["language"] = language
        client = self._get_client()
        started = time.monotonic()
        failure: Exception | None = None
        try:
            raw = call_with_limits(
                lambda: client.audio.transcriptions.with_raw_response.create(**kwargs),
                self._settings.transcribe_deadline, ANSWER_MAX_BYTES)
            body = raw.content
        except self._openai.OpenAIError as exc:
            failure = exc
        if failure is not None:
            log.info("transcription failed: model=%s host=%s error=%s status=%s", self.model,
                     self._endpoint.host, type(failure).__name__,
                     getattr(failure, "status_code", "-"))
            raise translate_error(self._openai, failure, self._endpoint, self._settings)
        lines = parse_transcription(body, self._endpoint)
        log.info("transcription: model=%s host=%s latency=%.2fs bytes=%d lines=%d", self.model,
                 self._endpoint.host, time.monotonic() - started, len(body), len(lines))
        return lines


def parse_transcription(body: bytes, endpoint: Endpoint) -> list[SubtitleLine]:
    """The timed lines of a raw verbose_json answer; anything else is a BackendError that names
    the endpoint (never the key)."""
    where = f"语音识别服务（{endpoint.display_url}）的回答"
    data = decode_json(body, where, _CHECK, endpoint.redact)
    segments = data.get("segments") if isinstance(data, dict) else None
    if not isinstance(segments, list):
        raise BackendError(
            f"{where}没有 segments（分段时间戳）：这个服务或模型可能不支持 verbose_json；"
            "请换一个能给出分段时间戳的模型（WORKBENCH_TRANSCRIBE_MODEL），或给剧集配上字幕文件")
    lines = []
    for number, segment in enumerate(segments, start=1):
        if not isinstance(segment, dict):
            raise BackendError(f"{where}格式不对：第 {number} 段不是对象；{_CHECK}")
        start, end, text = segment.get("start"), segment.get("end"), segment.get("text")
        for label, value in (("start", start), ("end", end)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
                    math.isfinite(value)):
                raise BackendError(f"{where}格式不对：第 {number} 段的 {label} 不是数字"
                                   f"（{str(value)[:20]!r}）；{_CHECK}")
        if start > end:  # type: ignore[operator]
            raise BackendError(f"{where}格式不对：第 {number} 段的开始时间晚于结束时间"
                               f"（{start:g} > {end:g}）；{_CHECK}")
        if not isinstance(text, str):
            raise BackendError(f"{where}格式不对：第 {number} 段的 text 不是文本；{_CHECK}")
        if text.strip():
            lines.append(SubtitleLine(max(0.0, float(start)), max(0.0, float(end)),
                                      text.strip()))
    return sorted(lines, key=lambda line: line.start)


def translate_error(openai_mod: Any, exc: Exception, endpoint: Endpoint,
                    settings: Settings) -> BackendError:
    """One Chinese line per SDK failure, naming the setting that fixes it."""
    from workbench.rewrite import bounded_http
    from workbench.rewrite.openai_backend import server_message

    host, url, model = endpoint.host, endpoint.display_url, settings.transcribe_model
    if isinstance(exc, bounded_http.AnswerTooLarge):
        return BackendError(
            f"语音识别服务 {host} 的回答超过 {exc.limit / 1e6:g} MB，已停止读取：正常回答只有几百 KB；"
            f"{_CHECK}")
    if isinstance(exc, openai_mod.APIStatusError):
        detail = endpoint.redact(server_message(exc))
        if isinstance(exc, openai_mod.PermissionDeniedError):
            return BackendError(f"语音识别服务 {host} 拒绝访问（403）：这个 Key 无权使用模型 {model}；"
                                f"请检查 WORKBENCH_TRANSCRIBE_API_KEY 和 WORKBENCH_TRANSCRIBE_MODEL"
                                f"（{detail}）")
        if isinstance(exc, openai_mod.NotFoundError):
            return BackendError(
                f"在 {url} 找不到语音识别接口或模型 {model}（404）：这个服务可能不提供语音识别；请检查 "
                "WORKBENCH_TRANSCRIBE_BASE_URL（通常以 /v1 结尾）和 WORKBENCH_TRANSCRIBE_MODEL，"
                "或设置 WORKBENCH_TRANSCRIBE_BACKEND=none")
        if exc.status_code == 413:
            return BackendError(f"语音识别服务 {host} 拒收音频：文件太大（413）（{detail}）")
    return translate_sdk_error(openai_mod, exc, endpoint, service="语音识别", env="TRANSCRIBE",
                               deadline=settings.transcribe_deadline,
                               retries=settings.llm_max_retries, check=_CHECK)
