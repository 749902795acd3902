"""Offline voice: espeak-ng 1.52 from the PyPI package espeakng-loader, driven through ctypes.

Why the bundled library and not the system one: Debian 12's espeak-ng 1.51 reads Mandarin tone
digits as English; 1.52's `cmn` voice is right. Word timings are espeak's own synthesis events
(the audio position of every word it speaks), not estimates. espeak has one global engine per
process, so every call holds a lock; separate processes (batch workers) each get their own.
"""

from __future__ import annotations

import ctypes
import logging
import re
import threading
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import espeakng_loader

from workbench.errors import BackendError, BackendUnavailable, InputError
from workbench.text import jieba
from workbench.voice.base import Synthesis, VoiceInfo, VoiceParams, WordTiming

log = logging.getLogger(__name__)

# speak_lib.h
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_DONT_EXIT = 0x8000
_CHARS_UTF8 = 1
_POS_CHARACTER = 1
_EVENT_LIST_TERMINATED = 0
_EVENT_WORD = 1
_RATE, _VOLUME, _PITCH = 1, 2, 3
_BASE_WPM = 175  # espeak's default rate; "+0%" means this

# Chinese voices espeak-ng ships (its language ids) and variants worth offering.
LANGUAGES = {
    "cmn": ("zh-CN", "普通话"),
    "cmn-latn-pinyin": ("zh-CN", "普通话（拉丁字母按拼音读）"),
    "yue": ("zh-HK", "粤语"),
    "hak": ("zh-CN", "客家话"),
}
OFFERED = ("cmn", "cmn+f3", "cmn+f4", "cmn+m3", "cmn+m7", "yue", "yue+f3", "hak")
_VOICE = re.compile(r"^(?P<lang>[a-z]+(?:-[a-z]+)*)(?:\+(?P<variant>[A-Za-z0-9]+))?$")
_SILENCE_LEVEL = 400  # |sample| below this counts as silence (espeak speaks at ~±10000)


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),  # 1-based, in characters
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),  # ms into the output
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", ctypes.c_char * 8),
    ]


_Callback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)


@dataclass
class _Engine:
    lib: ctypes.CDLL
    sample_rate: int
    version: str
    data_path: Path


_lock = threading.Lock()
_engine: _Engine | None = None


def _load() -> _Engine:
    """Load and initialise the bundled libespeak-ng once per process."""
    if _engine is not None:
        return _engine
    with _lock:
        return _engine or _initialise()


def _initialise() -> _Engine:
    global _engine
    try:
        lib = ctypes.CDLL(espeakng_loader.get_library_path())
        data_path = Path(espeakng_loader.get_data_path())
    except (OSError, RuntimeError) as exc:
        raise BackendUnavailable(f"离线配音不可用：无法加载 espeak-ng（{exc}）") from None
    lib.espeak_Initialize.restype = ctypes.c_int
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_Info.restype = ctypes.c_char_p
    lib.espeak_Info.argtypes = [ctypes.c_void_p]
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.espeak_SetSynthCallback.argtypes = [_Callback]
    lib.espeak_Synth.argtypes = [
        ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
        ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p,
    ]
    sample_rate = lib.espeak_Initialize(
        _AUDIO_OUTPUT_SYNCHRONOUS, 0, str(data_path).encode(), _INITIALIZE_DONT_EXIT
    )
    if sample_rate <= 0:
        raise BackendUnavailable(f"离线配音不可用：espeak-ng 初始化失败（数据目录 {data_path}）")
    version = (lib.espeak_Info(None) or b"?").decode()
    _engine = _Engine(lib, sample_rate, version, data_path)
    return _engine


def _variant_exists(engine: _Engine, variant: str) -> bool:
    return (engine.data_path / "voices" / "!v" / variant).is_file()


class EspeakBackend:
    name = "espeak"
    offline = True
    # espeak's default variant is male
    gender_voices: ClassVar[dict[str, str]] = {"male": "cmn", "female": "cmn+f3"}

    @property
    def version(self) -> str:
        return f"espeak-ng {_load().version}"

    def accepts(self, voice: str) -> bool:
        match = _VOICE.match(voice)
        if not match or match["lang"] not in LANGUAGES:
            return False
        return not match["variant"] or _variant_exists(_load(), match["variant"])

    def list_voices(self) -> list[VoiceInfo]:
        voices = []
        for voice in OFFERED:
            lang, _, variant = voice.partition("+")
            locale, label = LANGUAGES[lang]
            gender = "Female" if variant.startswith("f") else "Male"
            extra = f"，变体 {variant}" if variant else ""
            voices.append(VoiceInfo(voice, self.name, locale, gender, f"espeak {label}{extra}"))
        return voices

    def synthesize(self, text: str, params: VoiceParams) -> Synthesis:
        if not self.accepts(params.voice):
            raise InputError(
                f"espeak 没有音色 {params.voice!r}（可用: {', '.join(OFFERED)}；"
                "workbench voices --voice-backend espeak 查看）"
            )
        if not text.strip():
            raise InputError("配音文本为空")
        engine = _load()
        with _lock:
            pcm, events = self._run(engine, text, params)
        if not pcm:
            raise BackendError(f"espeak 没有生成音频（文本开头: {text[:20]!r}）")
        words = _word_timings(text, events, pcm, engine.sample_rate)
        return Synthesis(pcm=pcm, sample_rate=engine.sample_rate, words=words)

    @staticmethod
    def _run(engine: _Engine, text: str, params: VoiceParams) -> tuple[bytes, list[tuple[int, int]]]:
        lib = engine.lib
        if lib.espeak_SetVoiceByName(params.voice.encode()) != 0:
            raise InputError(f"espeak 无法使用音色 {params.voice!r}")
        wpm = round(_BASE_WPM * (1 + params.rate_percent / 100))
        lib.espeak_SetParameter(_RATE, max(80, min(450, wpm)), 0)
        lib.espeak_SetParameter(_PITCH, max(0, min(100, 50 + params.pitch_hz)), 0)
        lib.espeak_SetParameter(_VOLUME, max(0, min(200, 100 + params.volume_percent)), 0)

        samples = array("h")
        events: list[tuple[int, int]] = []  # (0-based char position, sample index)

        def on_audio(wav, count, event_list):  # type: ignore[no-untyped-def]
            if wav and count > 0:
                samples.frombytes(ctypes.string_at(wav, count * 2))
            i = 0
            while event_list[i].type != _EVENT_LIST_TERMINATED:
                event = event_list[i]
                if event.type == _EVENT_WORD:
                    ms = event.audio_position
                    events.append((event.text_position - 1, round(ms * engine.sample_rate / 1000)))
                i += 1
            return 0

        callback = _Callback(on_audio)  # kept alive until synthesis returns
        lib.espeak_SetSynthCallback(callback)
        data = text.encode("utf-8")
        status = lib.espeak_Synth(data, len(data) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8,
                                  None, None)
        lib.espeak_Synchronize()
        if status != 0:
            raise BackendError(f"espeak 合成失败（错误码 {status}）")
        return samples.tobytes(), events


def _speech_end(samples: array, start: int, stop: int, sample_rate: int) -> int:
    """The last sample before `stop` that is not silence (where a word before a pause ends)."""
    window = max(1, sample_rate // 100)  # 10 ms
    pos = stop
    while pos - window > start:
        chunk = samples[pos - window:pos]
        if max(chunk, default=0) > _SILENCE_LEVEL or -min(chunk, default=0) > _SILENCE_LEVEL:
            return min(stop, pos + window)  # keep a 10 ms tail: the decay is still audible
        pos -= window
    return stop


def _word_timings(text: str, events: list[tuple[int, int]], pcm: bytes,
                  sample_rate: int) -> list[WordTiming]:
    """espeak word events → timings for jieba words.

    espeak's Mandarin `word` events mark where each spoken unit (usually one character, some
    dictionary words) starts, in samples. A unit lasts until the next unit starts, except before a
    pause (punctuation), where it ends when the audio goes silent. Units are then regrouped into
    jieba words: a word starts when its first character starts and ends with its last one.
    """
    samples = array("h")
    samples.frombytes(pcm)
    total = len(samples)
    starts: dict[int, int] = {}
    for pos, sample in events:
        if 0 <= pos < len(text) and pos not in starts:
            starts[pos] = min(max(0, sample), total)
    if not starts:
        return []
    positions = sorted(starts)
    # Per character: (start, end) in samples. Characters inside a unit share it proportionally.
    char_time: dict[int, tuple[int, int]] = {}
    for i, pos in enumerate(positions):
        nxt = positions[i + 1] if i + 1 < len(positions) else len(text)
        begin = starts[pos]
        stop = starts[positions[i + 1]] if i + 1 < len(positions) else total
        stop = max(stop, begin)
        chars = [c for c in range(pos, nxt) if _spoken(text[c])]
        if not chars:
            continue
        stop = _speech_end(samples, begin, stop, sample_rate)
        step = (stop - begin) / len(chars)
        for k, c in enumerate(chars):
            char_time[c] = (round(begin + k * step), round(begin + (k + 1) * step))

    words: list[WordTiming] = []
    offset = 0
    for token in jieba().cut(text, HMM=False):
        span = range(offset, offset + len(token))
        offset += len(token)
        timed = [char_time[c] for c in span if c in char_time]
        if not timed:
            continue
        first = next(c for c in span if c in char_time)
        last = max(c for c in span if c in char_time)
        words.append(WordTiming(
            text=text[first:last + 1],
            start=round(timed[0][0] / sample_rate, 3),
            end=round(max(t[1] for t in timed) / sample_rate, 3),
            char_start=first,
            char_end=last + 1,
        ))
    return words


def _spoken(char: str) -> bool:
    return char.isalnum()
