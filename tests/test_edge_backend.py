"""The edge voice backend against a local server speaking edge's protocol (tests/edge_server.py).

Everything runs offline: edge-tts itself connects, parses frames and retries its 403; only the
service is local. The online test at the end talks to Microsoft and is skipped unless
WORKBENCH_ONLINE_TESTS=1.
"""
# The `edge_server` fixture is imported by name, so test parameters "redefine" it:
# ruff: noqa: F811

from __future__ import annotations

import array
import asyncio
import itertools
import logging
import os
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import edge_tts
import pytest
from edge_server import (
    TOKEN,
    EdgeServer,
    closed_port_url,
    edge_server,  # noqa: F401
    encode_mp3,
    recorded_mp3,
    recorded_words,
    recording,
)

from workbench.config import Settings
from workbench.errors import BackendError, BackendUnavailable, InputError
from workbench.ffmpeg import run_ffmpeg
from workbench.voice.audio import decode_to_pcm
from workbench.voice.base import VoiceParams
from workbench.voice.edge import (
    COMMON_VOICES,
    MP3_DELAY_SAMPLES,
    SAMPLE_RATE,
    Boundary,
    EdgeBackend,
    collect,
    describe,
    run_sync,
    word_timings,
)

XIAOXIAO = VoiceParams("zh-CN-XiaoxiaoNeural")
TEXT = recording()["text"]


def backend(settings: Settings, **changes: Any) -> EdgeBackend:
    """A backend with tiny backoff so retry tests take milliseconds."""
    options = {"edge_retries": 3, "edge_timeout": 5.0, **changes}
    return EdgeBackend(replace(settings, **options), retry_wait=0.01, retry_wait_max=0.02)


def loud_runs(pcm: bytes, sample_rate: int) -> list[tuple[float, float]]:
    """(start, end) seconds of the stretches where the audio is clearly not silent."""
    samples = array.array("h")
    samples.frombytes(pcm)
    window = sample_rate // 500  # 2 ms
    loud = [max(map(abs, samples[i:i + window])) > 1500
            for i in range(0, len(samples), window)]
    runs: list[list[int]] = []
    for i, on in enumerate(loud):
        if not on:
            continue
        if runs and i - runs[-1][1] <= 10:  # bridge gaps under 20 ms
            runs[-1][1] = i
        else:
            runs.append([i, i])
    return [(a * window / sample_rate, (b + 1) * window / sample_rate) for a, b in runs]


class CountingCommunicate(edge_tts.Communicate):
    made = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        type(self).made += 1
        super().__init__(*args, **kwargs)


@pytest.fixture
def counting(monkeypatch: pytest.MonkeyPatch) -> type[CountingCommunicate]:
    monkeypatch.setattr(CountingCommunicate, "made", 0)
    monkeypatch.setattr(edge_tts, "Communicate", CountingCommunicate)
    return CountingCommunicate


# The recorded utterance through the live code path -----------------------------------------
def test_recorded_words_and_audio(edge_server: EdgeServer, settings: Settings) -> None:
    synthesis = backend(settings).synthesize(TEXT, XIAOXIAO)

    recorded = recorded_words()
    assert [w.text for w in synthesis.words] == [text for text, _, _ in recorded]
    cursor = 0
    for word in synthesis.words:
        assert TEXT[word.char_start:word.char_end] == word.text
        assert word.char_start == TEXT.index(word.text, cursor)
        cursor = word.char_end
    for word, (_, start, end) in zip(synthesis.words, recorded):
        assert abs(word.start - start) < 0.002 and abs(word.end - end) < 0.002

    # The words sit where the tones really are in the audio we hand on: measured ±2 ms (the
    # detection window); 10 ms is tight enough to fail if the 46 ms codec delay were not cut.
    runs = loud_runs(synthesis.pcm, synthesis.sample_rate)
    assert len(runs) == len(synthesis.words)
    for word, (start, end) in zip(synthesis.words, runs):
        assert abs(word.start - start) < 0.01 and abs(word.end - end) < 0.01, (word, start, end)

    # Duration is the decoded audio, minus the codec delay cut from its front.
    decoded = decode_to_pcm(recorded_mp3(), SAMPLE_RATE)
    assert synthesis.sample_rate == SAMPLE_RATE
    assert synthesis.pcm == decoded[MP3_DELAY_SAMPLES * 2:]
    assert abs(synthesis.duration - recording()["audio_seconds"]) < 0.03
    assert all(w.end <= synthesis.duration for w in synthesis.words)


def test_codec_delay_is_cut_exactly() -> None:
    """A click at 0.5 s in the engine's PCM is at 0.5 s in what collect returns."""
    samples = array.array("h", bytes(2 * SAMPLE_RATE))
    click = SAMPLE_RATE // 2
    samples[click:click + 3] = array.array("h", [20000] * 3)

    async def chunks():
        yield {"type": "audio", "data": encode_mp3(samples.tobytes())}

    synthesis = asyncio.run(collect(chunks(), "咔"))
    decoded = array.array("h")
    decoded.frombytes(synthesis.pcm)
    landed = next(i for i, v in enumerate(decoded) if abs(v) > 2000)
    assert abs(landed - click) <= SAMPLE_RATE // 1000  # within 1 ms


def test_ssml_carries_voice_and_prosody(edge_server: EdgeServer, settings: Settings) -> None:
    params = VoiceParams("zh-CN-XiaoxiaoNeural", rate="+10%", pitch="-5Hz", volume="+20%")
    backend(settings).synthesize(TEXT, params)
    (sent,) = edge_server.requests
    assert sent.voice == "Microsoft Server Speech Text to Speech Voice (zh-CN, XiaoxiaoNeural)"
    assert (sent.rate, sent.pitch, sent.volume) == ("+10%", "-5Hz", "+20%")
    assert sent.text == TEXT
    options = sent.config["context"]["synthesis"]["audio"]
    assert options["metadataoptions"]["wordBoundaryEnabled"] == "true"
    assert options["outputFormat"] == "audio-24khz-48kbitrate-mono-mp3"
    assert {"ConnectionId", "Sec-MS-GEC", "Sec-MS-GEC-Version"} <= set(sent.query)


def test_regional_voice_name_reaches_the_service(edge_server: EdgeServer,
                                                 settings: Settings) -> None:
    backend(settings).synthesize(TEXT, VoiceParams("zh-CN-liaoning-XiaobeiNeural"))
    assert edge_server.requests[0].voice == (
        "Microsoft Server Speech Text to Speech Voice (zh-CN-liaoning, XiaobeiNeural)"
    )


# Retries ------------------------------------------------------------------------------------
def test_403_is_retried_and_then_succeeds(edge_server: EdgeServer, settings: Settings,
                                          caplog: pytest.LogCaptureFixture) -> None:
    edge_server.fail_handshake(403, times=2)  # edge-tts retries the first itself, we the second
    with caplog.at_level(logging.WARNING, logger="workbench.voice.edge"):
        synthesis = backend(settings).synthesize(TEXT, XIAOXIAO)
    assert len(synthesis.words) == len(recorded_words())
    assert edge_server.connections == 3
    assert "HTTP 403" in caplog.text
    assert "Sec-MS-GEC" not in caplog.text and TOKEN not in caplog.text


@pytest.mark.parametrize("when, times, connections", [
    ("handshake", 2, 3),  # aiohttp retries a request the server hung up on once by itself
    ("midstream", 1, 2),  # closed halfway: edge-tts ends the stream quietly, we notice
    ("reset", 1, 2),
])
def test_dropped_connection_is_retried(edge_server: EdgeServer, settings: Settings,
                                       when: str, times: int, connections: int) -> None:
    edge_server.drop(times=times, when=when)
    synthesis = backend(settings).synthesize(TEXT, XIAOXIAO)
    assert edge_server.connections == connections
    assert abs(synthesis.duration - recording()["audio_seconds"]) < 0.03  # all of it
    assert len(synthesis.words) == len(recorded_words())


def test_unreachable_service_is_unavailable_after_all_attempts(
        edge_server: EdgeServer, settings: Settings, monkeypatch: pytest.MonkeyPatch,
        counting: type[CountingCommunicate], tmp_path: Path) -> None:
    monkeypatch.setattr(edge_tts.communicate, "WSS_URL", closed_port_url())
    started = time.monotonic()
    with pytest.raises(BackendUnavailable) as caught:
        backend(settings, edge_retries=4).synthesize(TEXT, XIAOXIAO)
    assert time.monotonic() - started < 3
    assert counting.made == 4
    message = str(caught.value)
    assert "已尝试 4 次" in message and "网络" in message and "--voice-backend espeak" in message
    assert caught.value.__cause__ is None and caught.value.__context__ is None
    assert not any(tmp_path.iterdir())  # nothing written, not even a partial file


def test_persistent_403_is_unavailable(edge_server: EdgeServer, settings: Settings) -> None:
    edge_server.fail_handshake(403, times=100)
    with pytest.raises(BackendUnavailable, match="403") as caught:
        backend(settings, edge_retries=2).synthesize(TEXT, XIAOXIAO)
    assert edge_server.connections == 4  # two attempts, each with edge-tts's own 403 retry
    assert TOKEN not in str(caught.value) and "Sec-MS-GEC" not in str(caught.value)


def test_stalled_stream_times_out(edge_server: EdgeServer, settings: Settings) -> None:
    """edge-tts has no read timeout once the websocket is open; ours catches a stall."""
    edge_server.stall = 30
    started = time.monotonic()
    with pytest.raises(BackendUnavailable, match="已尝试 2 次"):
        backend(settings, edge_retries=2, edge_timeout=0.3).synthesize(TEXT, XIAOXIAO)
    assert time.monotonic() - started < 3
    assert edge_server.connections == 2


def test_unknown_voice_is_an_error_without_retries(edge_server: EdgeServer,
                                                   settings: Settings) -> None:
    with pytest.raises(BackendError) as caught:
        backend(settings).synthesize(TEXT, VoiceParams("zh-CN-NoSuchVoiceNeural"))
    assert not isinstance(caught.value, BackendUnavailable)
    assert "zh-CN-NoSuchVoiceNeural" in str(caught.value)
    assert "workbench voices --voice-backend edge" in str(caught.value)
    assert edge_server.connections == 1


def test_no_audio_is_an_error_without_retries(edge_server: EdgeServer,
                                              settings: Settings) -> None:
    edge_server.no_audio = True
    with pytest.raises(BackendError, match="没有返回音频") as caught:
        backend(settings).synthesize(TEXT, XIAOXIAO)
    assert not isinstance(caught.value, BackendUnavailable)
    assert edge_server.connections == 1


def test_other_http_refusals_are_errors_without_retries(edge_server: EdgeServer,
                                                        settings: Settings) -> None:
    edge_server.fail_handshake(404, times=5)
    with pytest.raises(BackendError, match="HTTP 404") as caught:
        backend(settings).synthesize(TEXT, XIAOXIAO)
    assert not isinstance(caught.value, BackendUnavailable)
    assert edge_server.connections == 1
    assert TOKEN not in str(caught.value)


def test_descriptions_never_carry_url_tokens() -> None:
    url = f"wss://speech.example/edge/v1?TrustedClientToken={TOKEN}&Sec-MS-GEC=ABCDEF0123"
    text = describe(aiohttp.InvalidURL(url))
    assert "speech.example/edge/v1" in text
    assert TOKEN not in text and "ABCDEF0123" not in text


def test_malformed_voice_name_never_connects(edge_server: EdgeServer,
                                             settings: Settings) -> None:
    with pytest.raises(BackendError, match="不是 edge 的格式"):
        backend(settings).synthesize(TEXT, VoiceParams("cmn"))
    assert edge_server.connections == 0


def test_text_without_words_is_an_input_error(settings: Settings) -> None:
    with pytest.raises(InputError):
        backend(settings).synthesize("……！", XIAOXIAO)


# Sentence boundaries only -------------------------------------------------------------------
def test_sentence_boundaries_become_word_timings(edge_server: EdgeServer,
                                                 settings: Settings) -> None:
    edge_server.sentence_only = True
    synthesis = backend(settings).synthesize(TEXT, XIAOXIAO)
    words = synthesis.words
    covered = [i for w in words for i in range(w.char_start, w.char_end)]
    assert covered == [i for i, ch in enumerate(TEXT) if ch.isalnum()]  # every spoken char once
    assert all(a.end <= b.start for a, b in itertools.pairwise(words))
    truth = {}  # char → (start, end) of the recorded word it belongs to
    cursor = 0
    for text, start, end in recorded_words():
        at = TEXT.index(text, cursor)
        truth.update({i: (start, end) for i in range(at, at + len(text))})
        cursor = at + len(text)
    for word in words:  # estimates (jieba may split a recorded word), but near the sound
        first, last = truth[word.char_start], truth[word.char_end - 1]
        assert first[0] - 0.2 < word.start and word.end < last[1] + 0.2, word
        assert first[0] - 0.1 < (word.start + word.end) / 2 < last[1] + 0.1, word


# Mapping boundaries to text (unit level) ----------------------------------------------------
def _b(text: str, start: float, end: float, kind: str = "WordBoundary") -> Boundary:
    return Boundary(kind, round(start * 1e7), round((end - start) * 1e7), text)


def test_normalised_and_unfound_words_get_best_effort_spans() -> None:
    text = "他说：“ＯＫ，２０２４年见！”"
    words = word_timings([
        _b("他说", 0.1, 0.4), _b("OK", 0.5, 0.8), _b("，", 0.8, 0.9),  # width differs; a comma
        _b("二零二四年", 1.0, 1.8), _b("见", 1.9, 2.1),  # read out: not in the text
    ], text, duration=3.0)
    assert [(w.text, w.char_start, w.char_end) for w in words] == [
        ("他说", 0, 2), ("ＯＫ", 4, 6), ("２０２４年", 7, 12), ("见", 12, 13),
    ]


def test_runs_of_unfound_words_share_the_text_between_found_ones() -> None:
    text = "※甲乙丙丁戊己"
    words = word_timings([
        _b("A", 0.0, 0.1), _b("乙", 0.2, 0.3), _b("B", 0.3, 0.4), _b("C", 0.4, 0.5),
        _b("戊", 0.6, 0.7), _b("DD", 0.8, 0.9),
    ], text, duration=1.0)
    assert [(w.text, w.char_start, w.char_end) for w in words] == [
        ("甲", 1, 2), ("乙", 2, 3), ("丙", 3, 4), ("丁", 4, 5), ("戊", 5, 6), ("己", 6, 7),
    ]


def test_times_are_ordered_non_overlapping_and_clipped() -> None:
    text = "一二三四"
    words = word_timings([
        _b("二", 0.5, 1.2), _b("一", 0.1, 0.7),  # out of order, overlapping
        _b("三", 1.1, 1.5), _b("四", 1.6, 9.0),  # runs past the audio
    ], text, duration=2.0)
    assert [w.text for w in words] == ["一", "二", "三", "四"]
    assert [(w.start, w.end) for w in words] == [
        (0.1, 0.5), (0.5, 1.1), (1.1, 1.5), (1.6, 2.0),
    ]


def test_tagged_mp3_is_not_cut_twice(tmp_path: Path) -> None:
    """With a LAME tag ffmpeg removes the codec delay itself; collect must not cut again."""
    samples = array.array("h", bytes(2 * SAMPLE_RATE))
    click = SAMPLE_RATE // 2
    samples[click:click + 3] = array.array("h", [20000] * 3)
    tagged = tmp_path / "tagged.mp3"  # a seekable output, so ffmpeg writes the Xing/LAME tag
    run_ffmpeg(["-f", "s16le", "-ar", str(SAMPLE_RATE), "-ac", "1", "-i", "pipe:0",
                "-c:a", "libmp3lame", "-b:a", "48k", str(tagged)], input=samples.tobytes())

    async def chunks():
        yield {"type": "audio", "data": tagged.read_bytes()}

    decoded = array.array("h")
    decoded.frombytes(asyncio.run(collect(chunks(), "咔")).pcm)
    landed = next(i for i, v in enumerate(decoded) if abs(v) > 2000)
    assert abs(landed - click) <= SAMPLE_RATE // 1000


def test_collect_without_audio_is_an_error() -> None:
    async def chunks():
        yield {"type": "WordBoundary", "offset": 0, "duration": 10, "text": "你"}

    with pytest.raises(BackendError, match="没有返回音频"):
        asyncio.run(collect(chunks(), "你"))


def test_collect_with_broken_audio_is_an_error() -> None:
    async def chunks():
        yield {"type": "audio", "data": b"\xff\xf3 not an mp3 at all" * 10}

    with pytest.raises(BackendError):
        asyncio.run(collect(chunks(), "你"))


# Voices, names, versions, event loops -------------------------------------------------------
def test_list_voices_from_the_service(edge_server: EdgeServer, settings: Settings) -> None:
    edge_server.fail_handshake(403, times=2)  # one for edge-tts's retry, one for ours
    voices = backend(settings).list_voices()
    ids = [v.id for v in voices]
    assert ids[:2] == ["zh-CN-XiaoxiaoNeural", "zh-CN-YunxiNeural"]
    assert set(ids) == {"zh-CN-XiaoxiaoNeural", "zh-CN-YunxiNeural",
                        "zh-CN-liaoning-XiaobeiNeural", "zh-CN-shaanxi-XiaoniNeural",
                        "zh-HK-HiuGaaiNeural", "zh-TW-HsiaoChenNeural"}
    xiaoxiao = voices[0]
    assert (xiaoxiao.backend, xiaoxiao.locale, xiaoxiao.gender) == ("edge", "zh-CN", "Female")
    assert "Warm" in xiaoxiao.description and "Xiaoxiao" in xiaoxiao.description
    assert edge_server.voice_list_requests == 3


def test_list_voices_unreachable(edge_server: EdgeServer, settings: Settings,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    url = closed_port_url().replace("ws://", "http://")
    monkeypatch.setattr(edge_tts.voices, "VOICE_LIST", url)
    with pytest.raises(BackendUnavailable, match="音色列表"):
        backend(settings, edge_retries=2).list_voices()


@pytest.mark.parametrize("voice, ok", [
    ("zh-CN-XiaoxiaoNeural", True), ("zh-CN-liaoning-XiaobeiNeural", True),
    ("zh-CN-shaanxi-XiaoniNeural", True), ("zh-HK-HiuGaaiNeural", True),
    ("zh-TW-HsiaoChenNeural", True), ("en-US-EmmaMultilingualNeural", True),
    ("fil-PH-AngeloNeural", True),
    ("cmn", False), ("cmn+f3", False), ("yue", False), ("zh-CN-Xiaoxiao", False),
    ("XiaoxiaoNeural", False), ("", False),
])
def test_accepts(settings: Settings, voice: str, ok: bool) -> None:
    assert backend(settings).accepts(voice) is ok


def test_common_voices_offline(settings: Settings) -> None:
    edge = backend(settings)
    assert len(COMMON_VOICES) == 6
    assert all(edge.accepts(v.id) and v.backend == "edge" and v.gender for v in COMMON_VOICES)
    assert edge.version == f"edge-tts {edge_tts.__version__}"


def test_synthesize_inside_a_running_event_loop(edge_server: EdgeServer,
                                                settings: Settings) -> None:
    edge = backend(settings)

    async def handler():  # what a Gradio/async caller looks like
        return edge.synthesize(TEXT, XIAOXIAO)

    synthesis = asyncio.run(handler())
    assert len(synthesis.words) == len(recorded_words())


def test_run_sync_propagates_errors_from_the_worker_thread() -> None:
    async def fails() -> None:
        raise BackendError("boom")

    async def caller() -> None:
        run_sync(fails)

    with pytest.raises(BackendError, match="boom"):
        asyncio.run(caller())


# The real service ---------------------------------------------------------------------------
@pytest.mark.online
@pytest.mark.skipif(os.environ.get("WORKBENCH_ONLINE_TESTS") != "1",
                    reason="talks to Microsoft; set WORKBENCH_ONLINE_TESTS=1")
def test_online_xiaoxiao(settings: Settings) -> None:
    text = "今天的天气很好，我们一起去公园散步吧。"
    synthesis = EdgeBackend(settings).synthesize(text, XIAOXIAO)
    assert 1.0 < synthesis.duration < 10
    words = synthesis.words
    assert len(words) >= 5
    assert all(text[w.char_start:w.char_end] == w.text for w in words)
    assert all(a.end <= b.start for a, b in itertools.pairwise(words))
    assert 0 < words[0].start < 1.0 and words[-1].end <= synthesis.duration
    spoken = sum(ch.isalnum() for ch in text)
    assert sum(w.char_end - w.char_start for w in words) >= spoken * 0.9
