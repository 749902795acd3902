"""Offline voice: espeak-ng synthesis, timing maps, the per-segment cache, backend routing."""

from __future__ import annotations

import itertools
import time
import wave
from array import array
from dataclasses import replace

import pytest
from conftest import SAMPLES

from workbench.errors import InputError
from workbench.materials.library import add_material
from workbench.models import MakeJob, Script, Segment
from workbench.pipeline import run_job
from workbench.store.cache import StageCache
from workbench.voice.audio import write_wav
from workbench.voice.base import VoiceParams
from workbench.voice.espeak import EspeakBackend
from workbench.voice.registry import Choice, VoicePlan, plan_voice
from workbench.voice.service import segment_cache_key, voice_script

SCRIPT = Script(
    segments=[
        Segment("hook", "凌晨一点，最后一班渡船没有靠岸，船上却亮着灯。"),
        Segment("body", "林舟攥着那张泛黄的船票，听见雾里有人喊他的名字。"
                        "他回头，码头上空无一人，只有一串湿漉漉的脚印。"),
        Segment("cta", "想知道船上等他的是谁？去番茄小说搜口令夜渡迷局。"),
    ],
    keyword="夜渡迷局",
)


class CountingEspeak(EspeakBackend):
    """The real engine, counting how often it is asked to speak."""

    def __init__(self) -> None:
        self.calls = 0

    def synthesize(self, text, params):  # type: ignore[no-untyped-def]
        self.calls += 1
        return super().synthesize(text, params)


def _plan(backend=None, voice="cmn", rate="+0%") -> VoicePlan:
    return VoicePlan(Choice(backend or CountingEspeak(), VoiceParams(voice, rate)), None, "test")


def _samples(pcm: bytes) -> array:
    out = array("h")
    out.frombytes(pcm)
    return out


def _loud(samples: array, rate: int, start: float, end: float) -> int:
    chunk = samples[int(start * rate):int(end * rate)]
    return max((abs(s) for s in chunk), default=0)


@pytest.fixture
def spoken(settings, db):
    backend = CountingEspeak()
    result = voice_script(SCRIPT, _plan(backend), StageCache(db), settings.cache_dir / "voice",
                          pause=0.4)
    return result, backend


def test_audio_duration_matches_the_timing_map(spoken, tmp_path):
    result, _ = spoken
    timing = result.timing
    path = tmp_path / "n.wav"
    write_wav(path, result.pcm, result.sample_rate)
    with wave.open(str(path)) as wav:
        seconds = wav.getnframes() / wav.getframerate()
    assert abs(seconds - timing.duration) < 0.05
    assert timing.backend == "espeak" and timing.voice == "cmn"
    assert timing.words[-1].end <= timing.duration + 0.001
    # the last word really ends where the audio ends (espeak adds no tail: within 50 ms)
    assert timing.duration - timing.words[-1].end < 0.05


def test_words_cover_the_text_in_order_and_sit_on_speech(spoken):
    result, _ = spoken
    timing, samples = result.timing, _samples(result.pcm)
    assert [s.name for s in timing.segments] == ["hook", "body", "cta"]
    previous_end = 0.0
    for word in timing.words:
        segment = timing.segments[word.segment]
        assert segment.text[word.char_start:word.char_end] == word.text
        assert segment.start - 0.001 <= word.start < word.end <= segment.end + 0.001
        assert word.start >= previous_end - 0.001  # ordered, no overlap
        previous_end = word.end
        assert _loud(samples, result.sample_rate, word.start, word.end) > 2000, word
    spoken_chars = sum(w.char_end - w.char_start for w in timing.words)
    letters = sum(ch.isalnum() for s in SCRIPT.segments for ch in s.text)
    assert spoken_chars == letters  # every character belongs to exactly one word


def test_pauses_between_segments_are_silent_and_as_long_as_asked(spoken):
    result, _ = spoken
    timing, samples = result.timing, _samples(result.pcm)
    for before, after in zip(timing.segments, timing.segments[1:], strict=False):
        assert after.start - before.end == pytest.approx(0.4, abs=0.002)
        assert _loud(samples, result.sample_rate, before.end + 0.01, after.start - 0.01) == 0


def test_a_pause_inside_a_segment_ends_the_word_before_it(spoken):
    """'凌晨一点，' — the word before the comma ends when the voice stops, not at the next word."""
    result, _ = spoken
    hook = [w for w in result.timing.words if w.segment == 0]
    before_comma = next(w for w in hook if w.text.endswith("点"))
    after_comma = hook[hook.index(before_comma) + 1]
    assert after_comma.start - before_comma.end > 0.05
    samples = _samples(result.pcm)
    assert _loud(samples, result.sample_rate, before_comma.end + 0.02, after_comma.start - 0.01) \
        < 1000


def test_cached_rerun_makes_no_synthesis_call(spoken, settings, db):
    first, backend = spoken
    assert backend.calls == 3 and first.synthesized == 3 and first.cached == 0
    again = CountingEspeak()
    second = voice_script(SCRIPT, _plan(again), StageCache(db), settings.cache_dir / "voice",
                          pause=0.4)
    assert again.calls == 0 and second.cached == 3 and second.all_cached
    assert second.pcm == first.pcm and second.timing == first.timing
    # a different pause reuses every segment; a changed cta re-synthesizes only the cta
    changed = replace(SCRIPT, segments=[*SCRIPT.segments[:2], Segment("cta", "搜夜渡迷局。")])
    third = voice_script(changed, _plan(again), StageCache(db), settings.cache_dir / "voice",
                         pause=0.2)
    assert again.calls == 1 and third.cached == 2


def test_cache_key_covers_text_voice_prosody_and_engine_version():
    backend = EspeakBackend()
    base = segment_cache_key(Choice(backend, VoiceParams("cmn")), "你好")
    assert base != segment_cache_key(Choice(backend, VoiceParams("cmn")), "你好。")
    assert base != segment_cache_key(Choice(backend, VoiceParams("cmn+f3")), "你好")
    assert base != segment_cache_key(Choice(backend, VoiceParams("cmn", "+10%")), "你好")
    assert base != segment_cache_key(Choice(backend, VoiceParams("cmn", pitch="+5Hz")), "你好")
    assert base != segment_cache_key(Choice(backend, VoiceParams("cmn", volume="-5%")), "你好")

    class Newer(EspeakBackend):
        version = "espeak-ng 9.9"

    assert base != segment_cache_key(Choice(Newer(), VoiceParams("cmn")), "你好")


def test_damaged_cache_audio_is_synthesized_again(spoken, settings, db):
    cache_files = sorted((settings.cache_dir / "voice").glob("*.wav"))
    assert len(cache_files) == 3
    cache_files[0].write_bytes(b"RIFF broken")
    backend = CountingEspeak()
    result = voice_script(SCRIPT, _plan(backend), StageCache(db), settings.cache_dir / "voice",
                          pause=0.4)
    assert backend.calls == 1 and result.synthesized == 1 and result.cached == 2
    # espeak is not bit-exact from run to run (a few ms): compare lengths, not bytes
    assert result.timing.duration == pytest.approx(spoken[0].timing.duration, abs=0.05)


def test_rate_changes_duration():
    backend = EspeakBackend()
    text = SCRIPT.segments[1].text
    slow = backend.synthesize(text, VoiceParams("cmn", "-20%"))
    fast = backend.synthesize(text, VoiceParams("cmn", "+50%"))
    assert fast.duration < slow.duration * 0.75
    assert fast.words[-1].end < slow.words[-1].end


def test_espeak_voices_and_variants():
    backend = EspeakBackend()
    ids = [v.id for v in backend.list_voices()]
    assert "cmn" in ids and "cmn+f3" in ids
    assert backend.accepts("cmn+f3") and not backend.accepts("cmn+nosuch")
    assert not backend.accepts("zh-CN-XiaoxiaoNeural")
    female = backend.synthesize("你好，世界。", VoiceParams("cmn+f3"))
    male = backend.synthesize("你好，世界。", VoiceParams("cmn"))
    assert female.pcm != male.pcm


@pytest.mark.parametrize("kwargs, fragment", [
    ({"rate": "20%"}, "rate"),
    ({"rate": "+200%"}, "超出范围"),
    ({"pitch": "+5%"}, "pitch"),
    ({"volume": "loud"}, "volume"),
])
def test_bad_prosody_is_refused_clearly(kwargs, fragment):
    with pytest.raises(InputError, match=fragment):
        VoiceParams("cmn", **kwargs)


def test_segments_with_nothing_to_say_are_left_out(settings, db):
    script = Script(segments=[Segment("hook", "……"), Segment("body", "船来了。")])
    result = voice_script(script, _plan(), StageCache(db), settings.cache_dir / "voice")
    assert [s.name for s in result.timing.segments] == ["body"]


def test_empty_script_is_refused(settings, db):
    empty = Script(segments=[Segment("hook", "  "), Segment("cta", "！")])
    with pytest.raises(InputError, match="没有可配音"):
        voice_script(empty, _plan(), StageCache(db), settings.cache_dir / "voice")


# routing ---------------------------------------------------------------------------------
def test_auto_with_an_espeak_voice_stays_offline(settings):
    plan = plan_voice(settings, "auto", "cmn+f3")
    assert plan.primary.backend.name == "espeak" and plan.fallback is None


def test_auto_speaks_edge_and_falls_back_to_espeak(settings):
    plan = plan_voice(settings, "auto", rate="+20%")
    assert plan.primary.backend.name == "edge"
    assert plan.primary.params.voice == "zh-CN-XiaoxiaoNeural"
    assert plan.fallback.backend.name == "espeak" and plan.fallback.params.voice == "cmn"
    assert plan.fallback.params.rate == "+20%"


def test_fallback_can_be_turned_off(settings):
    plan = plan_voice(replace(settings, voice_fallback=False), "auto")
    assert plan.primary.backend.name == "edge" and plan.fallback is None
    assert "关闭" in plan.reason


def test_espeak_backend_ignores_the_default_edge_voice_but_not_an_explicit_one(settings):
    assert plan_voice(settings, "espeak").primary.params.voice == "cmn"
    with pytest.raises(InputError, match="espeak 没有音色"):
        plan_voice(settings, "espeak", "zh-CN-YunxiNeural")
    with pytest.raises(InputError, match="不是 edge 音色"):
        plan_voice(settings, "edge", "cmn-nosuch")
    with pytest.raises(InputError, match="未知的配音后端"):
        plan_voice(settings, "azure")


def test_subtitles_from_real_speech_start_on_their_first_word(spoken):
    from workbench.subtitles import SubtitleStyle, build_events, max_chars_for

    timing = spoken[0].timing
    events = build_events(timing)
    limit = max_chars_for(SubtitleStyle())
    assert len(events) >= 6
    for event in events:
        assert len(event.text) <= limit
        first = next(w for w in timing.words if w.segment == event.segment
                     and w.char_end > event.char_start and w.char_start < event.char_end)
        within = (event.char_start - first.char_start) / (first.char_end - first.char_start)
        expected = first.start + max(0.0, within) * (first.end - first.start)
        assert abs(event.start - expected) < 0.05, (event, first)
    for a, b in itertools.pairwise(events):
        assert a.end <= b.start + 1e-6


def test_threads_share_the_engine_safely():
    """espeak has one global engine; the UI may call it from several threads at once."""
    from concurrent.futures import ThreadPoolExecutor

    backend = EspeakBackend()
    texts = [f"第{n}位乘客在雾里等船。" for n in "一二三四五六"]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda t: backend.synthesize(t, VoiceParams("cmn")), texts))
    for text, result in zip(texts, results, strict=True):
        assert "".join(w.text for w in result.words) == "".join(c for c in text if c.isalnum())


@pytest.mark.timeout(60)
def test_a_200000_character_segment_is_refused_before_any_synthesis(settings, db):
    """4 hours of audio at espeak's pace: refused on the text, naming the segment."""
    backend = CountingEspeak()
    script = replace(SCRIPT, segments=[SCRIPT.segments[0], Segment("body", "夜渡。" * 66_667)])
    started = time.monotonic()
    with pytest.raises(InputError, match=r"段落 body 有 200,001 字，超过每段上限 4,050 字"):
        voice_script(script, _plan(backend), StageCache(db), settings.cache_dir / "voice")
    assert backend.calls == 0 and time.monotonic() - started < 5
    # segments each under the cap but too long together: the whole script is refused
    parts = [Segment(f"part{i}", "夜渡。" * 1300) for i in range(3)]
    with pytest.raises(InputError, match=r"脚本共 11,700 字，超过配音上限 8,100 字（约 15 分钟）"):
        voice_script(replace(SCRIPT, segments=parts), _plan(backend), StageCache(db),
                     settings.cache_dir / "voice")
    assert backend.calls == 0


@pytest.mark.timeout(60)
def test_an_edited_script_too_long_to_narrate_fails_the_job_fast(settings, db):
    """Through the whole pipeline: the edited script is refused as it is read, nothing rendered."""
    material, _ = add_material(db, SAMPLES / "night-ferry.txt")
    edited = replace(SCRIPT, segments=[*SCRIPT.segments[:2], Segment("cta", "搜口令。" * 50_000)])
    job = MakeJob(material_id=material["id"], chapter=2, template="suspense", keyword="夜渡迷局",
                  rewrite_backend="rules", voice_backend="espeak", script=edited.to_dict())
    started = time.monotonic()
    with pytest.raises(InputError, match=r"段落 cta 有 200,000 字"):
        run_job(job, settings, db)
    assert time.monotonic() - started < 10
    assert not list(settings.cache_dir.glob("voice/*.wav"))
