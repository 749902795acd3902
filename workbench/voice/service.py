"""Voice a whole script: one synthesis per segment (cached), pauses between, one timing map.

Segments are synthesized separately so a changed cta re-synthesizes only the cta, and so the
pause between hook, body and cta is ours to set. Every segment result is cached on disk (WAV
under `cache/voice/`) and in `stage_cache`, keyed by the text, backend, backend version, voice,
rate, pitch and volume: a rerun of the same script makes no synthesis call at all.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from workbench.errors import BackendError, BackendUnavailable, InputError
from workbench.files import sha256_file
from workbench.models import Script, Segment
from workbench.script.narration import check_narration_length
from workbench.store.cache import StageCache, content_hash
from workbench.voice.audio import read_wav, silence, write_wav
from workbench.voice.base import Synthesis, WordTiming
from workbench.voice.registry import Choice, VoicePlan
from workbench.voice.timing import SegmentSpan, TimedWord, TimingMap

log = logging.getLogger(__name__)
Progress = Callable[[float, str], None]

# A backend that just failed to answer is not asked again for a while in this process, so a
# batch of hundreds does not pay the retries for every job.
DOWN_FOR_SECONDS = 300.0
_down: dict[str, tuple[float, str]] = {}


def down_reason(backend: str) -> str | None:
    """Why `backend` failed within the last DOWN_FOR_SECONDS (None: not known to be down)."""
    down = _down.get(backend)
    return down[1] if down and down[0] > time.monotonic() else None


def mark_expired(backend: str) -> bool:
    """`backend` was marked down and that mark has run out: nobody knows whether it is back."""
    down = _down.get(backend)
    return bool(down) and down[0] <= time.monotonic()


def clear_mark(backend: str) -> None:
    _down.pop(backend, None)


def mark_down(backend: str, reason: str) -> None:
    """Record that `backend` is unreachable, e.g. from a start-up probe: `auto` then goes
    straight to its fallback for a while instead of paying for retries first."""
    _down[backend] = (time.monotonic() + DOWN_FOR_SECONDS, reason)


@dataclass
class VoiceOutput:
    pcm: bytes
    sample_rate: int
    timing: TimingMap
    synthesized: int = 0  # segments that called the engine
    cached: int = 0  # segments served from the cache
    notes: list[str] = field(default_factory=list)

    @property
    def all_cached(self) -> bool:
        return self.synthesized == 0


def segment_cache_key(choice: Choice, text: str) -> str:
    p = choice.params
    return content_hash("voice", choice.backend.name, choice.backend.version, p.voice, p.rate,
                        p.pitch, p.volume, text)


def _no_progress(fraction: float, message: str) -> None:
    pass


def voice_script(
    script: Script, plan: VoicePlan, cache: StageCache, cache_dir: Path, *,
    pause: float = 0.35, progress: Progress = _no_progress,
) -> VoiceOutput:
    """Speak every non-empty segment with the plan's backend (or its fallback) and join them."""
    if pause < 0 or pause > 5:
        raise InputError(f"段落间停顿 {pause} 秒不合理（0 到 5 秒）")
    # a segment with nothing to say ("……", blank) is left out rather than failing the job
    segments = [s for s in script.segments if any(ch.isalnum() for ch in s.text)]
    if not segments:
        raise InputError("脚本没有可配音的文本（所有段落都是空的）")
    check_narration_length(segments)  # before anything is spoken

    notes: list[str] = []
    choice = plan.primary
    down = _down.get(choice.backend.name)
    if down and down[0] > time.monotonic() and plan.fallback:
        notes.append(f"{choice.backend.name} 刚才不可用（{down[1]}），本次直接使用 "
                     f"{plan.fallback.backend.name}")
        choice = plan.fallback
    try:
        parts, stats = _speak_all(segments, choice, cache, cache_dir, progress)
    except BackendUnavailable as exc:
        if plan.fallback is None or choice is plan.fallback:
            raise
        mark_down(choice.backend.name, str(exc))
        note = (f"{choice.backend.name} 不可用，已回退到离线 {plan.fallback.backend.name} "
                f"{plan.fallback.params.voice}（{exc}）")
        log.info(note)  # returned as a note; the caller shows it
        notes.append(note)
        progress(0.1, note)
        choice = plan.fallback
        parts, stats = _speak_all(segments, choice, cache, cache_dir, progress)
    else:
        _down.pop(choice.backend.name, None)

    rate = parts[0].sample_rate
    gap = silence(pause, rate)
    audio = bytearray()
    spans: list[SegmentSpan] = []
    words: list[TimedWord] = []
    for index, (segment, part) in enumerate(zip(segments, parts, strict=True)):
        if index:
            audio += gap
        start = len(audio) / 2 / rate
        audio += part.pcm
        spans.append(SegmentSpan(segment.name, segment.text, round(start, 3),
                                 round(len(audio) / 2 / rate, 3)))
        words.extend(
            TimedWord(w.text, round(w.start + start, 3), round(w.end + start, 3), index,
                      w.char_start, w.char_end)
            for w in part.words
        )
    p = choice.params
    timing = TimingMap(
        audio="", sample_rate=rate, duration=round(len(audio) / 2 / rate, 3),
        backend=choice.backend.name, voice=p.voice, rate=p.rate, pitch=p.pitch, volume=p.volume,
        keyword=script.keyword, segments=spans, words=words,
        fallback=notes[-1] if choice is plan.fallback and notes else "",
    )
    return VoiceOutput(bytes(audio), rate, timing, synthesized=stats[0], cached=stats[1],
                       notes=notes)


def _speak_all(segments: list[Segment], choice: Choice, cache: StageCache, cache_dir: Path,
               progress: Progress) -> tuple[list[Synthesis], tuple[int, int]]:
    parts: list[Synthesis] = []
    synthesized = cached = 0
    rates: set[int] = set()
    for i, segment in enumerate(segments):
        progress(0.1 + 0.8 * i / len(segments),
                 f"配音 {segment.name}（{choice.backend.name} {choice.params.voice}）")
        part = _cached_segment(choice, segment.text, cache, cache_dir)
        if part is None:
            part = choice.backend.synthesize(segment.text, choice.params)
            if not part.pcm:
                raise BackendError(f"{choice.backend.name} 返回了空音频（段落 {segment.name}）")
            _store_segment(choice, segment.text, part, cache, cache_dir)
            synthesized += 1
        else:
            cached += 1
        rates.add(part.sample_rate)
        parts.append(part)
    if len(rates) > 1:  # one backend, one rate; guard the join below anyway
        raise BackendError(f"{choice.backend.name} 返回了不同采样率的音频: {sorted(rates)}")
    return parts, (synthesized, cached)


def _cache_file(cache_dir: Path, key: str) -> Path:
    return cache_dir / f"{key}.wav"


def _cached_segment(choice: Choice, text: str, cache: StageCache,
                    cache_dir: Path) -> Synthesis | None:
    key = segment_cache_key(choice, text)
    entry = cache.get(key)
    if entry is None:
        return None
    path = _cache_file(cache_dir, key)
    if not path.is_file() or sha256_file(path) != entry.get("sha256"):
        log.info("voice cache entry %s has no intact audio; synthesizing again", key[:12])
        return None
    pcm, rate = read_wav(path)
    return Synthesis(pcm, rate, [WordTiming(**w) for w in entry["words"]])


def _store_segment(choice: Choice, text: str, part: Synthesis, cache: StageCache,
                   cache_dir: Path) -> None:
    key = segment_cache_key(choice, text)
    path = _cache_file(cache_dir, key)
    write_wav(path, part.pcm, part.sample_rate)
    cache.put(key, "voice", choice.backend.name, {
        "sha256": sha256_file(path), "sample_rate": part.sample_rate,
        "duration": round(part.duration, 3), "voice": choice.params.voice,
        "words": [asdict(w) for w in part.words],
    })
