"""Online voice: Microsoft Edge's read-aloud service through edge-tts, with word timings.

What this module adds on top of edge-tts, and why:

- One code path: `synthesize` feeds `Communicate.stream()` into `collect`; the tests run the
  same code against a local server speaking edge's websocket protocol (tests/edge_server.py).
- Word timings as character spans: edge sends each word's text and time (100-ns ticks), not
  where it is in the input, so `locate` finds it. Voices that only send sentence boundaries
  still get word-level timings, split by jieba word.
- Audio that lines up with those times: edge streams MP3 without a gapless header, so ffmpeg
  puts the codec delay in front of it (measured below); it is cut off.
- Retries on what may pass (network errors, timeouts, HTTP 403/429/5xx, a stream cut before
  `turn.end`), none on what will not (a bad voice name); errors say what to do. The websocket
  URL carries a Sec-MS-GEC token: exception texts are scrubbed of URL queries and translated
  errors are raised outside `except` blocks (no chained aiohttp error with the URL).
- An idle timeout: edge-tts's timeouts cover the handshake only (aiohttp switches the read
  timeout off for websockets), so a stalled stream would hang forever.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import unicodedata
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Coroutine, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib.metadata import version as package_version
from typing import Any, ClassVar, TypeVar

import tenacity

from workbench.config import Settings
from workbench.errors import (
    BackendError,
    BackendUnavailable,
    InputError,
    RenderError,
    WorkbenchError,
)
from workbench.text import jieba
from workbench.voice.audio import decode_to_pcm
from workbench.voice.base import Synthesis, VoiceInfo, VoiceParams, WordTiming

log = logging.getLogger(__name__)
T = TypeVar("T")

SAMPLE_RATE = 24000  # edge-tts asks for audio-24khz-48kbitrate-mono-mp3
TICKS_PER_SECOND = 10_000_000
# Codec delay of an MP3 without Xing/LAME tag (edge streams it so): measured by encoding a click
# at 0.1/0.5/1.0 s with libmp3lame (24 kHz, 48 kbps CBR, -write_xing 0) and decoding it with
# decode_to_pcm: it lands 1105 samples (46.0 ms) late every time = LAME's 576-sample encoder
# delay + the decoder's 529. With a LAME tag ffmpeg trims the delay itself (the click lands at
# 0.500 s), so the cut is made only when there is no tag. Edge's encoder is assumed to delay
# like LAME's (MDCT encoders share the look-ahead); edge's ~100 ms lead-in absorbs the cut.
MP3_DELAY_SAMPLES = 1105
VOICE_NAME = re.compile(r"^[a-z]{2,3}-[A-Za-z]{2,4}(-[A-Za-z]+)*-\w+Neural$")
_LOOKAHEAD = 16  # chars a word may sit past the cursor (punctuation, quotes, skipped symbols)
_PAUSE_MARKS = "，。！？；：、,.!?;:…—"
_URL_QUERY = re.compile(r"((?:wss?|https?)://[^\s'\"?]+)\?[^\s'\"]*")
_HINT_VOICES = "workbench voices --voice-backend edge 可列出可用音色"

# Shown when the voice list cannot be fetched (offline).
COMMON_VOICES: tuple[VoiceInfo, ...] = (
    VoiceInfo("zh-CN-XiaoxiaoNeural", "edge", "zh-CN", "Female", "晓晓：温暖（新闻、小说）"),
    VoiceInfo("zh-CN-XiaoyiNeural", "edge", "zh-CN", "Female", "晓伊：活泼（动画、小说）"),
    VoiceInfo("zh-CN-YunjianNeural", "edge", "zh-CN", "Male", "云健：激情（体育、小说）"),
    VoiceInfo("zh-CN-YunxiNeural", "edge", "zh-CN", "Male", "云希：活泼、阳光（小说）"),
    VoiceInfo("zh-CN-YunxiaNeural", "edge", "zh-CN", "Male", "云夏：可爱（动画、小说）"),
    VoiceInfo("zh-CN-YunyangNeural", "edge", "zh-CN", "Male", "云扬：专业、可靠（新闻）"),
)


class StreamCut(Exception):
    """The connection ended before edge's `turn.end`: the audio is incomplete (retryable)."""


@dataclass(frozen=True)
class Boundary:
    kind: str  # WordBoundary | SentenceBoundary
    offset: int  # 100-ns ticks from the start of the audio
    duration: int
    text: str


def run_sync(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine from sync code. Inside a running loop (Gradio, Jupyter) `asyncio.run`
    is not allowed, so the coroutine then gets its own loop in a worker thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        running = False  # asyncio.run outside the except block: errors get no __context__
    else:
        running = True
    if not running:
        return asyncio.run(make())
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="edge-tts") as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


# From chunks to a Synthesis -----------------------------------------------------------------
async def collect(chunks: AsyncIterable[Mapping[str, Any]], text: str) -> Synthesis:
    """edge-tts chunks for `text` (`audio` and boundary dicts, as `Communicate.stream()` yields
    them) → a Synthesis. Audio stays in memory: nothing is written, even on success."""
    mp3 = bytearray()
    boundaries: list[Boundary] = []
    async for chunk in chunks:
        kind = chunk.get("type")
        if kind == "audio":
            mp3 += chunk.get("data", b"")
        elif kind in ("WordBoundary", "SentenceBoundary"):
            boundaries.append(Boundary(kind, int(chunk["offset"]), int(chunk["duration"]),
                                       str(chunk.get("text", ""))))
    if not mp3:
        raise BackendError("edge 没有返回音频（回答是空的）；可稍后重试或改用 --voice-backend espeak")
    try:
        pcm = await asyncio.to_thread(decode_to_pcm, bytes(mp3), SAMPLE_RATE, "edge 音频解码")
    except RenderError as exc:
        raise BackendError(f"edge 返回的音频无法解码：{exc}") from None
    if not has_gapless_header(mp3):
        pcm = pcm[MP3_DELAY_SAMPLES * 2:]
    if not pcm:
        raise BackendError("edge 返回的音频是空的；可稍后重试或改用 --voice-backend espeak")
    synthesis = Synthesis(pcm, SAMPLE_RATE)
    synthesis.words = word_timings(boundaries, text, synthesis.duration)
    return synthesis


def has_gapless_header(mp3: bytes | bytearray) -> bool:
    """A Xing/Info tag in the first frame, from which ffmpeg trims the codec delay itself."""
    start = 0
    if mp3[:3] == b"ID3" and len(mp3) >= 10:  # skip an ID3v2 tag (syncsafe size)
        start = 10 + (mp3[6] << 21 | mp3[7] << 14 | mp3[8] << 7 | mp3[9])
    head = bytes(mp3[start:start + 200])
    return b"Xing" in head or b"Info" in head


def word_timings(boundaries: list[Boundary], text: str, duration: float) -> list[WordTiming]:
    """Boundaries → WordTimings in time order, non-overlapping, within `duration` seconds.

    Word boundaries are used when there are any, else sentence boundaries split into jieba
    words. Words with nothing speakable (punctuation) are dropped: those characters stay
    recoverable from the spans around them.
    """
    words = sorted((b for b in boundaries if b.kind == "WordBoundary"), key=lambda b: b.offset)
    timed: list[tuple[int, int, tuple[int, int]]] = []  # (start, end ticks, char span)
    if words:
        spans = locate([b.text for b in words], text)
        timed = [(b.offset, b.offset + b.duration, span) for b, span in zip(words, spans)]
    else:
        sentences = sorted(boundaries, key=lambda b: b.offset)
        for b, span in zip(sentences, locate([b.text for b in sentences], text)):
            timed += _split_sentence(text, span, b.offset, b.offset + b.duration)
    timed = sorted((t for t in timed if any(c.isalnum() for c in text[t[2][0]:t[2][1]])),
                   key=lambda t: t[0])
    out: list[WordTiming] = []
    prev_end = 0.0
    for i, (t0, t1, (a, b)) in enumerate(timed):
        start = min(max(t0 / TICKS_PER_SECOND, prev_end), duration)
        end = t1 if i + 1 == len(timed) else min(t1, timed[i + 1][0])
        end = min(max(end / TICKS_PER_SECOND, start), duration)
        out.append(WordTiming(text[a:b], round(start, 3), round(end, 3), a, b))
        prev_end = out[-1].end
    return out


def locate(needles: list[str], text: str) -> list[tuple[int, int]]:
    """The character span of each needle in `text`, searching forward from a cursor.

    Edge usually echoes the input but may normalise it (width, case, numbers read out). Needles
    are matched after per-character NFKC + casefold (offsets stay valid) and at most a few
    characters past the cursor, so one odd word cannot swallow the rest of the text. Needles
    not found share the text between their found neighbours by length (an empty span when
    there is none): a best effort that keeps the order.
    """
    folded = _fold(text)
    found: list[tuple[int, int] | None] = []
    cursor = pending = 0
    for needle in needles:
        key = _fold(needle.strip())
        at = folded.find(key, cursor, cursor + pending + _LOOKAHEAD + len(key)) if key else -1
        if at < 0:
            found.append(None)
            pending += len(key)
        else:
            found.append((at, at + len(key)))
            cursor, pending = at + len(key), 0
    spans: list[tuple[int, int]] = []
    waiting: list[str] = []  # unfound needles since the last found one
    for needle, span in zip([*needles, ""], [*found, (len(text), len(text))]):  # + sentinel
        if span is None:
            waiting.append(needle)
            continue
        if waiting:
            spans += _share(text, spans[-1][1] if spans else 0, span[0], waiting)
            waiting = []
        spans.append(span)
    return spans[:len(needles)]


def _share(text: str, left: int, right: int, needles: list[str]) -> list[tuple[int, int]]:
    """The text between two found words, shared by the unfound needles in it by length."""
    while left < right and not text[left].isalnum():
        left += 1
    weights = [max(1, len(n.strip())) for n in needles]
    total, acc, out = sum(weights), 0, []
    for w in weights:
        begin = left + (right - left) * acc // total
        acc += w
        out.append((begin, left + (right - left) * acc // total))
    return out


def _fold(s: str) -> str:
    folded = (unicodedata.normalize("NFKC", ch).casefold() for ch in s)
    return "".join(f if len(f) == 1 else ch for f, ch in zip(folded, s))


def _split_sentence(text: str, span: tuple[int, int], start: int,
                    end: int) -> list[tuple[int, int, tuple[int, int]]]:
    """A sentence's time split over its jieba words by character count; a pause mark inside
    the sentence counts as one character of silence."""
    a, b = span
    while a < b and not text[a].isalnum():
        a += 1
    while b > a and not text[b - 1].isalnum():
        b -= 1
    pieces: list[tuple[int, int, bool]] = []  # (char start, char end, spoken)
    for token in jieba().cut(text[a:b], HMM=False) if a < b else []:
        spoken = any(ch.isalnum() for ch in token)
        if spoken or any(ch in _PAUSE_MARKS for ch in token):
            pieces.append((a, a + len(token), spoken))
        a += len(token)
    weights = [q - p if spoken else 1 for p, q, spoken in pieces]
    total, acc, out = sum(weights), 0, []
    for (p, q, spoken), w in zip(pieces, weights):
        t0 = start + (end - start) * acc // total
        acc += w
        if spoken:
            out.append((t0, start + (end - start) * acc // total, (p, q)))
    return out


# The backend --------------------------------------------------------------------------------
class EdgeBackend:
    """Edge voices (zh-CN-XiaoxiaoNeural, ...) with word boundaries; needs the internet."""

    name: ClassVar[str] = "edge"
    offline: ClassVar[bool] = False
    gender_voices: ClassVar[dict[str, str]] = {"male": "zh-CN-YunxiNeural",
                                               "female": "zh-CN-XiaoxiaoNeural"}

    def __init__(self, settings: Settings, *, retry_wait: float = 0.5,
                 retry_wait_max: float = 4.0) -> None:
        self._attempts = max(1, settings.edge_retries)
        self._timeout = max(0.1, settings.edge_timeout)
        self._retry_wait = retry_wait  # the first backoff; doubles per attempt up to the max
        self._retry_wait_max = retry_wait_max

    def __repr__(self) -> str:
        return f"EdgeBackend(attempts={self._attempts}, timeout={self._timeout:g})"

    @property
    def version(self) -> str:
        import edge_tts  # here, not at start-up: it pulls in aiohttp
        return f"edge-tts {getattr(edge_tts, '__version__', '') or package_version('edge-tts')}"

    def accepts(self, voice: str) -> bool:
        return bool(VOICE_NAME.match(voice))

    def synthesize(self, text: str, params: VoiceParams) -> Synthesis:
        if not any(ch.isalnum() for ch in text):
            raise InputError(f"配音文本没有可读的文字: {text[:20]!r}")
        import edge_tts  # here, not at start-up: it pulls in aiohttp
        whole = math.ceil(self._timeout)  # edge-tts wants whole seconds

        async def attempt() -> Synthesis:
            communicate = edge_tts.Communicate(
                text, params.voice, rate=params.rate, volume=params.volume, pitch=params.pitch,
                boundary="WordBoundary", connect_timeout=whole, receive_timeout=whole,
            )
            return await collect(_watched(communicate, self._timeout), text)

        return run_sync(lambda: self._retrying(attempt, "edge 在线配音", params.voice))

    def list_voices(self) -> list[VoiceInfo]:
        """Edge's Chinese voices (zh-*), zh-CN first; deprecated ones are left out."""
        import edge_tts  # here, not at start-up: it pulls in aiohttp

        async def attempt() -> list[dict[str, Any]]:
            return await asyncio.wait_for(edge_tts.list_voices(), self._timeout)

        out = []
        for v in run_sync(lambda: self._retrying(attempt, "获取 edge 音色列表", None)):
            locale = str(v.get("Locale", ""))
            if not locale.startswith("zh-") or v.get("Status") == "Deprecated":
                continue
            tag = v.get("VoiceTag") or {}
            styles = "、".join(tag.get("VoicePersonalities") or [])
            uses = "、".join(tag.get("ContentCategories") or [])
            extra = "；".join(x for x in (styles and f"风格 {styles}", uses and f"适合 {uses}") if x)
            description = str(v.get("FriendlyName", "")) + (f"（{extra}）" if extra else "")
            out.append(VoiceInfo(str(v.get("ShortName", "")), self.name, locale,
                                 str(v.get("Gender", "")), description))
        return sorted(out, key=lambda v: (v.locale != "zh-CN", v.locale, v.id))

    async def _retrying(self, attempt: Callable[[], Awaitable[T]], what: str,
                        voice: str | None) -> T:
        """`attempt` with backoff on transient failures; every failure becomes our error."""
        import edge_tts  # here, not at start-up: it pulls in aiohttp
        made = 0

        async def counted() -> T:
            nonlocal made
            made += 1
            return await attempt()

        def warn(state: tenacity.RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            log.warning("%s: attempt %d/%d failed (%s); retrying in %.2fs", what,
                        state.attempt_number, self._attempts, describe(exc),
                        state.next_action.sleep if state.next_action else 0)

        retrying = tenacity.AsyncRetrying(
            stop=tenacity.stop_after_attempt(self._attempts),
            wait=tenacity.wait_exponential(multiplier=self._retry_wait, max=self._retry_wait_max),
            retry=tenacity.retry_if_exception(lambda e: is_transient(e, edge_tts)),
            before_sleep=warn, reraise=True,
        )
        failure: Exception | None = None
        try:
            return await retrying(counted)
        except WorkbenchError:
            raise
        except Exception as exc:  # noqa: BLE001 - translated below, outside the block: no chaining
            failure = exc
        log.info("%s failed after %d attempt(s): %s", what, made, describe(failure))
        raise translate(failure, edge_tts, what=what, attempts=made, voice=voice)


async def _watched(communicate: Any, idle: float) -> AsyncIterator[dict[str, Any]]:
    """`communicate.stream()` with an idle timeout, checked for a complete turn at the end.

    edge-tts adds audio bytes to `state["cumulative_audio_bytes"]` only on `turn.end`; when the
    connection closes before it, edge-tts ends the stream quietly with partial audio (seen with
    a server closing or resetting mid-stream). A mismatch means the turn was cut."""
    stream = communicate.stream()
    received = 0
    try:
        while True:
            try:
                chunk = await asyncio.wait_for(anext(stream), idle)
            except StopAsyncIteration:
                break
            if chunk.get("type") == "audio":
                received += len(chunk.get("data", b""))
            yield chunk
    finally:
        await stream.aclose()
    confirmed = getattr(communicate, "state", {}).get("cumulative_audio_bytes")
    if isinstance(confirmed, int) and confirmed != received:
        raise StreamCut(f"连接在音频传完前断开（收到 {received} 字节）")


def is_transient(exc: BaseException, edge_tts: Any) -> bool:
    """Worth another attempt: network trouble, timeouts, refusals that pass (403 after a clock
    fix, 429, 5xx) and cut streams. Not: a bad voice, no audio, an answer we cannot parse."""
    import aiohttp

    if isinstance(exc, aiohttp.ClientResponseError):
        return exc.status in (403, 429) or exc.status >= 500
    errors = edge_tts.exceptions
    return isinstance(exc, (aiohttp.ClientConnectionError, asyncio.TimeoutError, ConnectionError,
                            errors.WebSocketError, errors.SkewAdjustmentError, StreamCut))


def translate(exc: Exception, edge_tts: Any, *, what: str, attempts: int,
              voice: str | None) -> WorkbenchError:
    """One Chinese line per failure, saying what to do."""
    import aiohttp

    errors = edge_tts.exceptions
    status = exc.status if isinstance(exc, aiohttp.ClientResponseError) else None
    if status == 403 or isinstance(exc, errors.SkewAdjustmentError):  # a 403 without a Date
        return BackendUnavailable(
            f"{what}被微软拒绝（HTTP 403，已尝试 {attempts} 次）：常见原因是本机时间不准或 "
            "edge-tts 版本过旧（pip install -U edge-tts）；也可检查网络/代理，或改用离线配音 "
            "--voice-backend espeak"
        )
    if is_transient(exc, edge_tts):
        return BackendUnavailable(
            f"{what}失败：微软 edge 语音服务连不上或连接中断（{describe(exc)}，已尝试 {attempts} "
            "次）；请检查网络或代理（HTTPS_PROXY），或改用离线配音 --voice-backend espeak"
        )
    if isinstance(exc, errors.NoAudioReceived):
        return BackendError(f"{what}没有返回音频：音色 {voice!r} 可能不存在或写错了"
                            f"（{_HINT_VOICES}）")
    if isinstance(exc, ValueError) and voice is not None and "voice" in str(exc).lower():
        return BackendError(f"{what}：音色名 {voice!r} 不是 edge 的格式（{_HINT_VOICES}）")
    if status is not None or isinstance(exc, errors.EdgeTTSException):
        return BackendError(f"{what}失败：服务的回答无法处理（{describe(exc)}）；可能需要升级 "
                            "edge-tts（pip install -U edge-tts），或改用 --voice-backend espeak")
    return BackendError(f"{what}失败（{describe(exc)}）")


def describe(exc: BaseException | None) -> str:
    """A loggable one-liner: type and message, with URL queries (the tokens) removed."""
    import aiohttp

    if isinstance(exc, aiohttp.ClientResponseError):  # its str() has the full URL
        return f"{type(exc).__name__}: HTTP {exc.status}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"{type(exc).__name__}: {exc.host}:{exc.port} {exc.strerror or ''}".strip()
    if isinstance(exc, asyncio.TimeoutError) and not str(exc):
        return "TimeoutError: 超时"
    return _URL_QUERY.sub(r"\1?…", f"{type(exc).__name__}: {exc}")
