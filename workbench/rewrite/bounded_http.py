"""Bounded calls to an OpenAI-compatible server: a total deadline and a cap on the answer's size.

The SDK's `timeout` is per read, so a server that drips a byte every two seconds keeps a call
alive forever, and its retries (with `Retry-After` sleeps of up to a minute) come on top; and
httpx reads an answer whole, so a 300 MB answer is 300 MB in memory. Two pieces bound that:

- `bounded_client()`: the SDK's httpx client with a transport that gives every request at most
  the time left in the call (connect, read, write, pool), counts the answer's bytes as they
  arrive (decompressing gzip/deflate itself, so a compressed bomb is counted decoded) and stops
  at the cap or the deadline. Its errors are `openai.OpenAIError`s, which the SDK passes on at
  once instead of retrying.
- `call_with_limits()`: runs the whole SDK call (retries and their sleeps included) in a worker
  thread and stops waiting at the deadline; the abandoned request is told to stop and ends at
  its next read.

Imported only by backends that already imported `openai` (it imports the SDK at module level).
Any networked backend built on the SDK (transcription, images) can use it as it is.
"""

from __future__ import annotations

import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TypeVar

import httpx2
import openai

ANSWER_MAX_BYTES = 4_000_000  # a rewrite answer is a few KB; a whole book is ~1 MB
_GRACE = 0.1  # seconds past the deadline the waiting side allows the call to end by itself

T = TypeVar("T")


class LimitExceeded(openai.OpenAIError):
    """A call went past one of its limits (an OpenAIError, so the SDK never retries it)."""


class DeadlineExceeded(LimitExceeded):
    def __init__(self, seconds: float) -> None:
        super().__init__(f"no complete answer within {seconds:g} s")
        self.seconds = seconds


class AnswerTooLarge(LimitExceeded):
    def __init__(self, limit: int) -> None:
        super().__init__(f"answer larger than {limit} bytes")
        self.limit = limit


class UnsupportedEncoding(LimitExceeded):
    def __init__(self, encoding: str) -> None:
        super().__init__(f"answer compressed with {encoding}")
        self.encoding = encoding


@dataclass
class CallLimits:
    seconds: float
    max_bytes: int = ANSWER_MAX_BYTES
    deadline: float = 0.0  # time.monotonic() at which the call must be over
    cancelled: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.deadline = time.monotonic() + self.seconds

    def remaining(self) -> float:
        """Seconds left; raises DeadlineExceeded when none are (or the caller stopped waiting)."""
        left = self.deadline - time.monotonic()
        if left <= 0 or self.cancelled.is_set():
            raise DeadlineExceeded(self.seconds)
        return left


_limits: ContextVar[CallLimits | None] = ContextVar("workbench_llm_call_limits", default=None)


def call_with_limits(fn: Callable[[], T], seconds: float,
                     max_bytes: int = ANSWER_MAX_BYTES) -> T:
    """`fn()` (an SDK call through a `bounded_client`) with a total deadline: its result or
    exception, or DeadlineExceeded once `seconds` have passed, whatever `fn` is doing then."""
    limits = CallLimits(seconds, max_bytes)
    outcome: dict[str, object] = {}

    def work() -> None:
        _limits.set(limits)
        try:
            outcome["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - re-raised by the waiting thread
            outcome["error"] = exc

    worker = threading.Thread(target=work, name="llm-call", daemon=True)
    worker.start()
    worker.join(seconds + _GRACE)
    if worker.is_alive():
        limits.cancelled.set()  # the request stops at its next read or retry
        raise DeadlineExceeded(seconds)
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]


def bounded_client(**kwargs: object) -> httpx2.Client:
    """The SDK's default httpx client, with the bounding transport (limits apply only inside
    `call_with_limits`; elsewhere it is the plain transport)."""
    return openai.DefaultHttpxClient(transport=BoundedTransport(httpx2.HTTPTransport()),
                                     **kwargs)  # type: ignore[arg-type]


class BoundedTransport(httpx2.BaseTransport):
    def __init__(self, inner: httpx2.BaseTransport) -> None:
        self._inner = inner

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        limits = _limits.get()
        if limits is None:
            return self._inner.handle_request(request)
        left = limits.remaining()
        timeout = dict(request.extensions.get("timeout") or {})
        for phase in ("connect", "read", "write", "pool"):
            timeout[phase] = min(timeout.get(phase) or left, left)
        request.extensions["timeout"] = timeout
        # we decode ourselves (below), so what is counted is what the SDK will hold
        request.headers["Accept-Encoding"] = "gzip, deflate"
        try:
            response = self._inner.handle_request(request)
        except httpx2.TimeoutException:
            limits.remaining()  # past the deadline: say so rather than "timeout, retrying"
            raise
        length = response.headers.get("content-length", "")
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        if length.isdigit() and int(length) > limits.max_bytes and encoding == "identity":
            response.close()
            raise AnswerTooLarge(limits.max_bytes)
        if encoding not in ("identity", "gzip", "deflate", "x-gzip"):
            response.close()
            raise UnsupportedEncoding(encoding)
        if encoding != "identity":  # httpx must not decode it a second time
            for name in ("content-encoding", "content-length"):
                if name in response.headers:
                    del response.headers[name]
        response.stream = _BoundedStream(response.stream, limits,  # type: ignore[arg-type]
                                         decompress=encoding != "identity")
        return response

    def close(self) -> None:
        self._inner.close()


class _BoundedStream(httpx2.SyncByteStream):
    def __init__(self, inner: httpx2.SyncByteStream, limits: CallLimits, decompress: bool) -> None:
        self._inner, self._limits = inner, limits
        # wbits 47: a gzip or a zlib header, detected
        self._decoder = zlib.decompressobj(47) if decompress else None

    def __iter__(self) -> Iterator[bytes]:
        total, limit = 0, self._limits.max_bytes
        try:
            for chunk in self._inner:
                self._limits.remaining()
                if self._decoder is not None:
                    # never more than the cap left (+1, to notice going past it) per chunk
                    chunk = self._decoder.decompress(chunk, limit - total + 1)
                    if self._decoder.unconsumed_tail:
                        raise AnswerTooLarge(limit)
                total += len(chunk)
                if total > limit:
                    raise AnswerTooLarge(limit)
                yield chunk
        except httpx2.TimeoutException:
            self._limits.remaining()
            raise
        except zlib.error:
            raise httpx2.DecodingError("invalid compressed answer") from None

    def close(self) -> None:
        self._inner.close()
