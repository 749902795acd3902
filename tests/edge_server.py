"""A real local server that speaks Microsoft Edge's read-aloud protocol, for tests.

edge-tts connects to it over a real websocket (aiohttp.web on 127.0.0.1, in a background
thread), so its handshake, its 403 clock-skew retry and its frame parsing all run as they do
against speech.platform.bing.com; only the answers are scripted. The wire format is the one
edge-tts 7.3.1 speaks (edge_tts/communicate.py):

- the client sends two text frames: `Path:speech.config` (JSON asking for word or sentence
  boundaries) and `Path:ssml` (`<speak><voice name=…><prosody pitch= rate= volume=>text`);
- the service answers text frames `Path:turn.start` and `Path:response`, then interleaves
  `Path:audio.metadata` text frames (`{"Metadata":[{"Type":"WordBoundary","Data":{"Offset",
  "Duration","text":{"Text","Length","BoundaryType"}}}]}`, times in 100-ns ticks) with binary
  frames (2-byte big-endian header length, headers ending in CRLF, then MP3 bytes), ends the
  audio with a binary frame without Content-Type or data, and closes the turn with
  `Path:turn.end`. Every header block carries the request's X-RequestId.

It replays tests/data/edge_recorded.json. The audio is made at test time: a tone burst exactly
over each recorded word (offset to offset + duration), encoded like edge's stream (24 kHz,
48 kbps CBR mono MP3, no Xing/ID3 tag), so a test can check timings against the sound itself.

    def test_x(edge_server):
        edge_server.fail_handshake(403, times=2)   # refuse the next two connections
        edge_server.drop(times=1, when="midstream")
        edge_server.sentence_only = True            # a voice that only sends sentences
        edge_server.no_audio = True
        ...
        assert edge_server.requests[-1].rate == "+10%"

Unknown voices (not in the recorded voice list) get the websocket closed without audio, which
edge-tts reports as NoAudioReceived (what the real service does there is assumed, not
observed: any answer without audio ends the same way in edge-tts). Each metadata frame holds
one boundary, as edge-tts reads only the first of a frame. `GET …/voices/list` answers the
recorded voice list; `fail_handshake` and `drop(when="handshake")` apply to it too.
"""

from __future__ import annotations

import array
import asyncio
import json
import math
import socket
import threading
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Self

import pytest
from aiohttp import WSMsgType, web

from workbench.ffmpeg import run_ffmpeg

DATA = Path(__file__).resolve().parent / "data" / "edge_recorded.json"
BASE_PATH = "/consumer/speech/synthesize/readaloud"
WS_PATH = f"{BASE_PATH}/edge/v1"
VOICES_PATH = f"{BASE_PATH}/voices/list"
TOKEN = "6A5AA1D4EAFF4E9FB37E23D68491D6F4"  # edge-tts's TrustedClientToken (public)
SAMPLE_RATE = 24000
MP3_BYTES_PER_SECOND = 48000 // 8
_SSML_NS = "{http://www.w3.org/2001/10/synthesis}"


# The recording and its audio -----------------------------------------------------------------
@lru_cache(maxsize=1)
def recording() -> dict[str, Any]:
    return json.loads(DATA.read_text(encoding="utf-8"))


def recorded_words() -> list[tuple[str, float, float]]:
    """(text, start s, end s) of every recorded WordBoundary."""
    out = []
    for frame in recording()["word_frames"]:
        data = frame["Metadata"][0]["Data"]
        start = data["Offset"] / 10_000_000
        out.append((data["text"]["Text"], start, start + data["Duration"] / 10_000_000))
    return out


@lru_cache(maxsize=1)
def tone_pcm() -> bytes:
    """The 'engine output': silence, with a tone burst (2 ms ramps) over every recorded word."""
    samples = array.array("h", bytes(2 * round(recording()["audio_seconds"] * SAMPLE_RATE)))
    for i, (_, start, end) in enumerate(recorded_words()):
        a, b = round(start * SAMPLE_RATE), round(end * SAMPLE_RATE)
        freq, ramp = 330 + 70 * i, SAMPLE_RATE // 500
        for k in range(b - a):
            gain = min(1.0, k / ramp, (b - a - k) / ramp)
            samples[a + k] = round(9000 * gain * math.sin(2 * math.pi * freq * k / SAMPLE_RATE))
    return samples.tobytes()


def encode_mp3(pcm: bytes) -> bytes:
    """s16le mono 24 kHz → MP3 as edge streams it: 48 kbps CBR, no Xing/LAME tag, no ID3."""
    return run_ffmpeg(
        ["-f", "s16le", "-ar", str(SAMPLE_RATE), "-ac", "1", "-i", "pipe:0",
         "-c:a", "libmp3lame", "-b:a", "48k", "-write_xing", "0", "-id3v2_version", "0",
         "-write_id3v1", "0", "-f", "mp3", "pipe:1"],
        input=pcm, what="test mp3",
    )


@lru_cache(maxsize=1)
def recorded_mp3() -> bytes:
    return encode_mp3(tone_pcm())


# The server ----------------------------------------------------------------------------------
@dataclass
class SynthesisRequest:
    """What one websocket connection asked for."""

    query: dict[str, str]
    headers: dict[str, str]
    config: dict[str, Any] = field(default_factory=dict)
    ssml: str = ""
    voice: str = ""  # as sent: "Microsoft Server Speech Text to Speech Voice (zh-CN, XiaoxiaoNeural)"
    rate: str = ""
    pitch: str = ""
    volume: str = ""
    text: str = ""


def parse_ssml(ssml: str) -> dict[str, str]:
    root = ET.fromstring(ssml)
    voice = root.find(f"{_SSML_NS}voice")
    prosody = voice.find(f"{_SSML_NS}prosody") if voice is not None else None
    if voice is None or prosody is None:
        raise ValueError(f"unexpected SSML: {ssml[:200]}")
    return {"voice": voice.get("name", ""), "rate": prosody.get("rate", ""),
            "pitch": prosody.get("pitch", ""), "volume": prosody.get("volume", ""),
            "text": prosody.text or ""}


def _text_frame(request_id: str, path: str, body: str) -> str:
    return (f"X-RequestId:{request_id}\r\nContent-Type:application/json; charset=utf-8\r\n"
            f"Path:{path}\r\n\r\n{body}")


def _audio_frame(request_id: str, data: bytes) -> bytes:
    content_type = "Content-Type:audio/mpeg\r\n" if data else ""
    header = f"X-RequestId:{request_id}\r\n{content_type}X-StreamId:1\r\nPath:audio\r\n".encode()
    return len(header).to_bytes(2, "big") + header + data


class EdgeServer:
    """Scriptable edge read-aloud service on 127.0.0.1 (port chosen by the OS)."""

    def __init__(self, mp3: bytes | None = None) -> None:
        self.mp3 = recorded_mp3() if mp3 is None else mp3
        self.sentence_only = False  # answer sentence boundaries even when words were asked for
        self.no_audio = False
        self.stall = 0.0  # seconds to go quiet halfway through the audio
        self.connections = 0  # websocket attempts, refused ones included
        self.voice_list_requests = 0
        self.requests: list[SynthesisRequest] = []
        self._plan: deque[tuple[str, int]] = deque()  # ("refuse", status) | ("drop", when)
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="edge-server",
                                        daemon=True)
        self._runner: web.AppRunner | None = None
        self.port = 0

    # Lifecycle ------------------------------------------------------------------------------
    def start(self) -> Self:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._setup(), self._loop).result(10)
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    async def _setup(self) -> None:
        app = web.Application()
        app.router.add_get(WS_PATH, self._synthesis)
        app.router.add_get(VOICES_PATH, self._voices)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def _shutdown(self) -> None:
        """Stop listening, then end handlers still running (a stalled stream sleeps on)."""
        if self._runner is not None:
            await self._runner.cleanup()
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)

    @property
    def wss_url(self) -> str:
        """What to put in edge_tts.communicate.WSS_URL (edge-tts appends `&ConnectionId=…`)."""
        return f"ws://127.0.0.1:{self.port}{WS_PATH}?TrustedClientToken={TOKEN}"

    @property
    def voice_list_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{VOICES_PATH}?trustedclienttoken={TOKEN}"

    # Scripting ------------------------------------------------------------------------------
    def fail_handshake(self, status: int = 403, times: int = 1) -> None:
        """Answer the next `times` requests (websocket or voice list) with HTTP `status`."""
        with self._lock:
            self._plan.extend([("refuse", status)] * times)

    def drop(self, times: int = 1, when: str = "midstream") -> None:
        """Drop the next `times` connections: `handshake` (close before answering),
        `midstream` (close the TCP connection halfway through the audio) or `reset` (abort it
        there, no FIN)."""
        assert when in ("handshake", "midstream", "reset")
        with self._lock:
            self._plan.extend([("drop", when)] * times)

    def _next_failure(self) -> tuple[str, Any] | None:
        with self._lock:
            return self._plan.popleft() if self._plan else None

    # Handlers -------------------------------------------------------------------------------
    async def _refused(self, request: web.Request, failure: tuple[str, Any] | None
                       ) -> web.StreamResponse | None:
        if failure and failure[0] == "refuse":  # aiohttp adds the Date header edge-tts reads
            return web.Response(status=failure[1], text="Forbidden")
        if failure and failure[1] == "handshake":
            assert request.transport is not None
            request.transport.abort()
            raise asyncio.CancelledError  # aiohttp's quiet way out of a lost connection
        return None

    async def _voices(self, request: web.Request) -> web.StreamResponse:
        with self._lock:
            self.voice_list_requests += 1
        refused = await self._refused(request, self._next_failure())
        return refused or web.json_response(recording()["voices"])

    async def _synthesis(self, request: web.Request) -> web.StreamResponse:
        with self._lock:
            self.connections += 1
        failure = self._next_failure()
        refused = await self._refused(request, failure)
        if refused is not None:
            return refused
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        asked = SynthesisRequest(query=dict(request.query), headers=dict(request.headers))
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            head, _, body = msg.data.partition("\r\n\r\n")
            headers = dict(line.split(":", 1) for line in head.split("\r\n"))
            if headers.get("Path") == "speech.config":
                asked.config = json.loads(body)
            elif headers.get("Path") == "ssml":
                asked.ssml = body
                for key, value in parse_ssml(body).items():
                    setattr(asked, key, value)
                with self._lock:
                    self.requests.append(asked)
                await self._speak(ws, request, headers["X-RequestId"], asked, failure)
        return ws

    async def _speak(self, ws: web.WebSocketResponse, request: web.Request, rid: str,
                     asked: SynthesisRequest, failure: tuple[str, Any] | None) -> None:
        if asked.voice not in {v["Name"] for v in recording()["voices"]}:
            await ws.close(code=1007, message=b"Unsupported voice")
            return
        service_tag = json.dumps({"context": {"serviceTag": "0f1b2c3d4e5f"}})
        await ws.send_str(_text_frame(rid, "turn.start", service_tag))
        await ws.send_str(_text_frame(rid, "response", json.dumps(
            {"context": {"serviceTag": "0f1b2c3d4e5f"},
             "audio": {"type": "inline", "streamId": "1"}})))
        if self.no_audio:
            await ws.send_str(_text_frame(rid, "turn.end", "{}"))
            return
        options = asked.config["context"]["synthesis"]["audio"]["metadataoptions"]
        words = options.get("wordBoundaryEnabled") == "true" and not self.sentence_only
        frames = recording()["word_frames" if words else "sentence_frames"]
        sent, half = 0, len(self.mp3) // 2
        for frame in [*frames, None]:
            if frame is not None:
                await ws.send_str(_text_frame(rid, "audio.metadata", json.dumps(frame)))
                data = frame["Metadata"][0]["Data"]
                until = (data["Offset"] + data["Duration"]) * MP3_BYTES_PER_SECOND // 10_000_000
            else:
                until = len(self.mp3)
            while sent < until:
                piece = self.mp3[sent:min(until, sent + 1440)]  # ten 144-byte frames at most
                await ws.send_bytes(_audio_frame(rid, piece))
                sent += len(piece)
                if half and sent >= half:
                    half = 0
                    if failure and failure[0] == "drop":
                        assert request.transport is not None
                        if failure[1] == "reset":
                            request.transport.abort()
                        else:
                            request.transport.close()
                        return
                    if self.stall:
                        await asyncio.sleep(self.stall)
        await ws.send_bytes(_audio_frame(rid, b""))
        await ws.send_str(_text_frame(rid, "turn.end", "{}"))


def closed_port_url() -> str:
    """A ws:// URL on a local port nobody listens on (connection refused at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"ws://127.0.0.1:{port}{WS_PATH}?TrustedClientToken={TOKEN}"


@pytest.fixture
def edge_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[EdgeServer]:
    """A started EdgeServer that edge-tts talks to instead of Microsoft, reset per test.

    edge-tts reads `WSS_URL` / `VOICE_LIST` from its own module globals, so those are patched;
    its `ssl=` context is ignored by aiohttp for ws:// and http:// URLs. Proxies from the
    environment (edge-tts uses trust_env) are kept away from 127.0.0.1, and the clock-skew
    correction a 403 leaves behind is undone afterwards.
    """
    import edge_tts.communicate
    import edge_tts.voices
    from edge_tts.drm import DRM

    for var in ("HTTP_PROXY", "HTTPS_PROXY", "WS_PROXY", "WSS_PROXY", "ALL_PROXY",
                "http_proxy", "https_proxy", "ws_proxy", "wss_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setattr(DRM, "clock_skew_seconds", DRM.clock_skew_seconds)
    with EdgeServer() as server:
        monkeypatch.setattr(edge_tts.communicate, "WSS_URL", server.wss_url)
        monkeypatch.setattr(edge_tts.voices, "VOICE_LIST", server.voice_list_url)
        yield server
