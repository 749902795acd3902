"""`auto` voice: edge when it answers, espeak when it does not, and no fallback when told so.

Edge is a real local websocket server speaking edge's protocol (tests/edge_server.py) or a closed
local port; espeak is the real engine; jobs are rows in a real SQLite file.
"""

from __future__ import annotations

from pathlib import Path

import edge_tts.communicate
import pytest
from edge_server import EdgeServer, closed_port_url, edge_server, recording  # noqa: F401
from test_voice import SCRIPT

from workbench.config import load_settings
from workbench.errors import BackendUnavailable
from workbench.models import Script, Segment
from workbench.pipeline import VoiceJob, make_voice
from workbench.voice.timing import TimingMap


@pytest.fixture
def auto_settings(monkeypatch, home):
    monkeypatch.setenv("WORKBENCH_VOICE_BACKEND", "auto")
    monkeypatch.setenv("WORKBENCH_EDGE_RETRIES", "2")
    monkeypatch.setenv("WORKBENCH_EDGE_TIMEOUT", "3")
    return load_settings()


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) \
        if folder.exists() else []


def test_unreachable_edge_falls_back_to_espeak_and_says_so(
        edge_server, auto_settings, db, monkeypatch, tmp_path):  # noqa: F811
    monkeypatch.setattr(edge_tts.communicate, "WSS_URL", closed_port_url())
    out_dir = tmp_path / "out"
    outcome = make_voice(VoiceJob(SCRIPT, out_dir), auto_settings, db)

    assert outcome.timing.backend == "espeak" and outcome.timing.voice == "cmn"
    assert "edge 不可用，已回退到离线 espeak cmn" in outcome.timing.fallback
    assert outcome.notes and "回退" in outcome.notes[0]
    assert TimingMap.load(outcome.timings_path).fallback == outcome.timing.fallback
    job = db["jobs"].get(outcome.job_id)
    assert job["status"] == "done" and job["backend"] == "espeak" and "回退" in job["notes"]
    assert _files(out_dir) == ["narration.wav", "subtitles.ass", "subtitles.srt",
                               "timings.json"]
    # only espeak's three segments reached the cache; nothing half-written anywhere
    cache_files = _files(auto_settings.cache_dir)
    assert len(cache_files) == 3 and not any(".part" in f for f in cache_files)
    rows = list(db["stage_cache"].rows_where("stage = 'voice'"))
    assert {r["backend"] for r in rows} == {"espeak"}

    # the next job in this process does not wait for edge again
    again = make_voice(VoiceJob(SCRIPT, tmp_path / "again"), auto_settings, db)
    assert again.cached == 3 and "刚才不可用" in again.notes[0]


def test_fallback_off_fails_clearly_and_leaves_nothing(
        edge_server, auto_settings, db, monkeypatch, tmp_path):  # noqa: F811
    monkeypatch.setattr(edge_tts.communicate, "WSS_URL", closed_port_url())
    monkeypatch.setenv("WORKBENCH_VOICE_FALLBACK", "false")
    settings = load_settings()
    out_dir = tmp_path / "out"
    with pytest.raises(BackendUnavailable) as caught:
        make_voice(VoiceJob(SCRIPT, out_dir), settings, db)
    message = str(caught.value)
    assert "edge" in message and "已尝试 2 次" in message
    job = next(db["jobs"].rows)
    assert job["status"] == "failed" and job["error"] == message
    assert _files(out_dir) == [] and _files(settings.cache_dir) == []
    assert db["stage_cache"].count == 0


def test_edge_speaks_when_it_answers(edge_server: EdgeServer, auto_settings, db,  # noqa: F811
                                     tmp_path):
    text = recording()["text"]
    script = Script(segments=[Segment("hook", text)], keyword="")
    outcome = make_voice(VoiceJob(script, tmp_path / "out", rate="+20%"), auto_settings, db)
    timing = outcome.timing
    assert timing.backend == "edge" and timing.voice == "zh-CN-XiaoxiaoNeural"
    assert timing.fallback == "" and outcome.notes == []
    assert timing.sample_rate == 24000 and len(timing.words) >= 5
    assert all(text[w.char_start:w.char_end] == w.text for w in timing.words)
    assert edge_server.requests[-1].rate == "+20%"
    assert db["jobs"].get(outcome.job_id)["backend"] == "edge"

    connections = edge_server.connections
    again = make_voice(VoiceJob(script, tmp_path / "again", rate="+20%"), auto_settings, db)
    assert again.cached == 1 and edge_server.connections == connections  # no call at all


def test_voice_list_offline_shows_common_edge_voices_and_espeak(
        edge_server, auto_settings, monkeypatch):  # noqa: F811
    import edge_tts.voices

    from workbench.voice.catalog import list_all_voices

    live = list_all_voices(auto_settings, "auto")
    assert live.notes == [] and any(v.backend == "edge" for v in live.voices)
    assert any(v.id == "cmn" for v in live.voices)

    monkeypatch.setattr(edge_tts.voices, "VOICE_LIST",
                        closed_port_url().replace("ws://", "http://"))
    offline = list_all_voices(auto_settings, "auto")
    ids = [v.id for v in offline.voices]
    assert "zh-CN-YunxiNeural" in ids and "cmn+f3" in ids
    assert "无法获取 edge 音色列表" in offline.notes[0]
    with pytest.raises(BackendUnavailable):
        list_all_voices(auto_settings, "edge")
