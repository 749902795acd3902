"""A real local HTTP server that speaks the OpenAI chat-completions protocol, for tests.

Tests talk to it through the real SDK over a real socket, so retries, timeouts, headers and
error bodies behave as they do against a provider; only the answers are scripted:

    def test_x(llm_server):
        llm_server.plan(Planned(status=429, body=error_body("slow down"),
                                headers={"Retry-After": "1"}))
        llm_server.plan_reply(valid_answer(["hook", "body", "cta"], keyword="口令"))
        ...
        assert len(llm_server.chat_requests) == 2

Each request consumes the next planned response, whatever its path. When the queue is empty
`POST /v1/chat/completions` gets `server.default` (by default a valid rewrite answer built from
the segment names and keyword found in the request's prompt), `GET /v1/models` lists
`server.models`, and anything else is a 404. Every request is recorded before it is answered,
so even one the client gave up on (timeout) is counted.

Hostile answers, for the limits on a call: `Planned(drip=2)` sends its body one byte every two
seconds, `Planned(huge=50_000_000)` streams a 50 MB answer (made as it is sent, so the server
holds none of it), `bytes` bodies with a JSON content type are garbage, and any dict is sent
as is, whatever its shape. `server.bytes_sent` counts the body bytes that left the server.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

import pytest

DEFAULT_SEGMENTS = ["hook", "body", "cta"]
DEFAULT_KEYWORD = "测试口令"


@dataclass
class Planned:
    """One scripted response. `body`: dict/list → JSON, str/bytes → sent as is."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (provokes client timeouts)
    drip: float = 0.0  # send the body one byte every `drip` seconds (a per-read timeout never fires)
    huge: int = 0  # instead of `body`: a JSON-looking body of this many bytes, made as it is sent


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # keys lower-cased
    body: Any  # parsed JSON, or None when the body is empty / not JSON
    raw: bytes
    at: float  # time.monotonic() when it arrived

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list((self.body or {}).get("messages", []))

    def text(self) -> str:
        """All message contents joined, for 'does the prompt mention X' assertions."""
        return "\n".join(str(m.get("content", "")) for m in self.messages)


Responder = Callable[[RecordedRequest], Planned]


def chat_completion(
    content: str | None,
    *,
    model: str = "test-model",
    finish_reason: str = "stop",
    prompt_tokens: int = 120,
    completion_tokens: int = 80,
) -> dict[str, Any]:
    """A complete `chat.completion` object, as an OpenAI-compatible server returns it."""
    return {
        "id": f"chatcmpl-test{int(time.time() * 1000)}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": content, "refusal": None},
            "logprobs": None,
            "finish_reason": finish_reason,
        }],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
        "system_fingerprint": "fp_test",
    }


def error_body(
    message: str, *, type: str = "invalid_request_error", code: str | None = None,
    param: str | None = None,
) -> dict[str, Any]:
    """The `{"error": {...}}` body OpenAI (and most compatible servers) send with a 4xx/5xx."""
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


def valid_answer(
    segments: list[str] | None = None,
    keyword: str = DEFAULT_KEYWORD,
    *,
    title: str = "重生归来，她让全家后悔莫及",
    hashtags: list[str] | None = None,
) -> str:
    """A rewrite answer that passes `parse_rewrite_answer` for these segment names."""
    names = segments or DEFAULT_SEGMENTS
    texts = {
        "hook": "你敢信吗？订婚宴上，她当众被退婚，三年后她回来了。",
        "body": "这一次，她不再忍让，一步步拿回属于自己的一切。",
        "cta": f"想看后续，打开番茄小说搜索口令「{keyword}」。",
    }
    items = [{"name": n, "text": texts.get(n, f"{n} 段的口播文字。")} for n in names]
    if "cta" not in names and items:
        items[-1]["text"] += f"搜索口令「{keyword}」。"
    return json.dumps({
        "segments": items,
        "title": title,
        "caption": "被退婚的真千金杀回来了，这次谁也别想欺负她！",
        "hashtags": hashtags or ["小说推荐", "#爽文", "逆袭"],
    }, ensure_ascii=False)


_SEGMENT_LINE = re.compile(r"^\[([A-Za-z_][\w-]*)\]\s*$", re.MULTILINE)
_KEYWORD_LINE = re.compile(r"^口令[:：]\s*(.+?)\s*$", re.MULTILINE)


def echo_valid_answer(request: RecordedRequest) -> Planned:
    """Default responder: a valid answer for the segments/keyword named in the prompt.

    It reads the `[name]` lines and the `口令：` line that prompts/narration.md renders, so a
    test that does not script anything still gets an answer that parses.
    """
    user = "\n".join(str(m.get("content", "")) for m in request.messages if m.get("role") == "user")
    names = list(dict.fromkeys(_SEGMENT_LINE.findall(user))) or DEFAULT_SEGMENTS
    found = _KEYWORD_LINE.search(user)
    keyword = found.group(1) if found else DEFAULT_KEYWORD
    model = str((request.body or {}).get("model", "test-model"))
    return Planned(body=chat_completion(valid_answer(names, keyword), model=model))


class LLMServer:
    """Scriptable OpenAI-compatible server on 127.0.0.1 (port chosen by the OS)."""

    def __init__(self) -> None:
        self.models: list[str] = ["test-model"]
        self.default: Responder = echo_valid_answer
        self.requests: list[RecordedRequest] = []
        self.bytes_sent = 0  # body bytes written to clients, over all requests
        self._queue: deque[Planned] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._httpd.daemon_threads = True
        # Handler threads may be sleeping in a planned delay; stop() wakes them, and closing
        # must not wait for a client that never reads its answer.
        self._httpd.block_on_close = False
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="llm-server",
                                        kwargs={"poll_interval": 0.05}, daemon=True)

    # Lifecycle ------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """Root URL without a path; the OpenAI base URL is `url + "/v1"` (see `base_url`)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # Scripting ------------------------------------------------------------------------------
    def plan(self, *responses: Planned) -> None:
        """Queue responses; each request (any path) takes the next one."""
        with self._lock:
            self._queue.extend(responses)

    def plan_reply(self, content: str | None, *, delay: float = 0.0, **kwargs: Any) -> None:
        """Queue a 200 chat completion whose message content is `content`."""
        self.plan(Planned(body=chat_completion(content, **kwargs), delay=delay))

    def plan_error(
        self, status: int, message: str, *, headers: dict[str, str] | None = None,
        delay: float = 0.0, **kwargs: Any,
    ) -> None:
        """Queue an error status with an OpenAI-style error body."""
        self.plan(Planned(status=status, body=error_body(message, **kwargs),
                          headers=headers or {}, delay=delay))

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path.endswith("/chat/completions")]

    # Called by the handler ------------------------------------------------------------------
    def _answer(self, request: RecordedRequest) -> Planned:
        with self._lock:
            self.requests.append(request)
            planned = self._queue.popleft() if self._queue else None
        if planned is not None:
            return planned
        path = request.path.split("?", 1)[0].rstrip("/")
        if request.method == "POST" and path.endswith("/chat/completions"):
            return self.default(request)
        if request.method == "GET" and path.endswith("/models"):
            data = [{"id": m, "object": "model", "created": 0, "owned_by": "test"}
                    for m in self.models]
            return Planned(body={"object": "list", "data": data})
        return Planned(status=404, body=error_body(f"no route {request.method} {path}"))


def _make_handler(server: LLMServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        # HTTP/1.0: one request per connection, so no idle keep-alive socket outlives a test.
        protocol_version = "HTTP/1.0"

        def do_GET(self) -> None:
            self._handle()

        def do_POST(self) -> None:
            self._handle()

        def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
            pass

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = None
            request = RecordedRequest(
                method=self.command, path=self.path,
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body, raw=raw, at=time.monotonic(),
            )
            planned = server._answer(request)
            if planned.delay and server._stopping.wait(planned.delay):
                return  # shutting down: drop the answer
            self._send(planned)

        def _send(self, planned: Planned) -> None:
            if planned.huge:
                return self._send_huge(planned)
            if isinstance(planned.body, (dict, list)):
                payload = json.dumps(planned.body, ensure_ascii=False).encode()
                content_type = "application/json"
            elif isinstance(planned.body, bytes):
                payload, content_type = planned.body, "application/octet-stream"
            else:
                payload = str(planned.body or "").encode()
                content_type = "text/plain; charset=utf-8"
            try:
                self.send_response(planned.status)
                headers = {"Content-Type": content_type, **planned.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if planned.drip:
                    for i in range(len(payload)):
                        self._write(payload[i:i + 1])
                        if server._stopping.wait(planned.drip):
                            return
                else:
                    self._write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout) before we answered

        def _send_huge(self, planned: Planned) -> None:
            """A chat completion whose content never ends, `planned.huge` bytes in all; no
            Content-Length (HTTP/1.0: the body ends when the connection closes), so only
            counting what arrives can stop it."""
            head = b'{"choices": [{"index": 0, "message": {"role": "assistant", "content": "'
            chunk = "啊".encode() * 21_000  # 63 KB
            try:
                self.send_response(planned.status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self._write(head)
                left = planned.huge - len(head)
                while left > 0 and not server._stopping.is_set():
                    self._write(chunk[:left])
                    left -= len(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client stopped reading: what we want

        def _write(self, data: bytes) -> None:
            self.wfile.write(data)
            self.wfile.flush()
            with server._lock:
                server.bytes_sent += len(data)

    return Handler


@pytest.fixture
def llm_server() -> Iterator[LLMServer]:
    """A started LLMServer, stopped after the test."""
    with LLMServer() as server:
        yield server
