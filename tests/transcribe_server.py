"""A real local HTTP server that speaks the OpenAI transcription protocol, for tests.

`POST /v1/audio/transcriptions` takes a multipart form (file, model, response_format,
timestamp_granularities[], language) as the SDK sends it, and answers `verbose_json` with
`server.segments` — or with what the test planned, through everything `LLMServer` offers
(`Planned(status=…, body=…, delay=…, drip=…, huge=…)`), since this is an `LLMServer` with one
more route. `form_fields(request)` reads a recorded request's form back, file bytes included.

    def test_x(transcribe_server):
        transcribe_server.segments = [(0.2, 1.0, "你竟敢背叛我？")]
        ...
        assert len(transcribe_server.transcription_requests) == 1
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from email.parser import BytesParser
from email.policy import default as default_policy
from typing import Any

import pytest
from llm_server import LLMServer, Planned, RecordedRequest

DEFAULT_SEGMENTS = [(0.2, 0.9, "你竟敢背叛我？"), (1.1, 1.8, "等着瞧！")]


def verbose_json(segments: list[tuple[float, float, str]], *, language: str = "chinese",
                 duration: float | None = None) -> dict[str, Any]:
    """A `verbose_json` transcription with segment timestamps, as whisper-1 answers it."""
    return {
        "task": "transcribe",
        "language": language,
        "duration": duration if duration is not None else max((e for _, e, _ in segments),
                                                               default=0.0),
        "text": "".join(t for _, _, t in segments),
        "segments": [{"id": i, "seek": 0, "start": s, "end": e, "text": t, "tokens": [50364],
                      "temperature": 0.0, "avg_logprob": -0.2, "compression_ratio": 1.1,
                      "no_speech_prob": 0.01} for i, (s, e, t) in enumerate(segments)],
    }


def form_fields(request: RecordedRequest) -> dict[str, list[Any]]:
    """A multipart request's fields: name → values; a file is (filename, bytes, content type)."""
    head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
    message = BytesParser(policy=default_policy).parsebytes(head + request.raw)
    fields: dict[str, list[Any]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        filename = part.get_filename()
        value = (filename, payload, part.get_content_type()) if filename else payload.decode()
        fields.setdefault(name, []).append(value)
    return fields


class TranscribeServer(LLMServer):
    """An LLMServer that also answers transcription requests (default: `self.segments`)."""

    def __init__(self) -> None:
        super().__init__()
        self.segments: list[tuple[float, float, str]] = list(DEFAULT_SEGMENTS)
        self.transcribe_default: Callable[[RecordedRequest], Planned] = (
            lambda request: Planned(body=verbose_json(self.segments)))

    @property
    def transcription_requests(self) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if _is_transcription(r)]

    def _answer(self, request: RecordedRequest) -> Planned:
        if not (request.method == "POST" and _is_transcription(request)):
            return super()._answer(request)
        with self._lock:
            self.requests.append(request)
            planned = self._queue.popleft() if self._queue else None
        return planned if planned is not None else self.transcribe_default(request)


def _is_transcription(request: RecordedRequest) -> bool:
    return request.path.split("?", 1)[0].rstrip("/").endswith("/audio/transcriptions")


@pytest.fixture
def transcribe_server() -> Iterator[TranscribeServer]:
    with TranscribeServer() as server:
        yield server
