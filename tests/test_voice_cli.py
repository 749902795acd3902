"""`workbench voice` / `workbench voices` end to end: the real entry point (in this process, and
in a subprocess for the AAC test), real espeak, real files."""

from __future__ import annotations

import json
import wave

import pysubs2
from cli_runner import run_cli, run_subprocess
from sqlite_utils import Database
from test_voice import SCRIPT

from workbench.voice.timing import TimingMap


def _script_file(tmp_path):
    path = tmp_path / "script.json"
    path.write_text(json.dumps({"job_id": 7, **SCRIPT.to_dict()}, ensure_ascii=False), "utf-8")
    return path


def test_voice_writes_audio_timings_and_subtitles(tmp_path, home):
    out_dir = tmp_path / "out"
    result = run_cli("voice", "--script", str(_script_file(tmp_path)), "--out", str(out_dir),
                     "--voice", "cmn+f3", "--rate", "+20%")
    assert result.returncode == 0, result.stderr
    assert "espeak" in result.stderr and "cmn+f3" in result.stdout
    names = sorted(p.name for p in out_dir.iterdir())
    assert names == ["narration.wav", "subtitles.ass", "subtitles.srt", "timings.json"]

    timing = TimingMap.load(out_dir / "timings.json")
    assert timing.audio == "narration.wav" and timing.voice == "cmn+f3" and timing.rate == "+20%"
    with wave.open(str(out_dir / "narration.wav")) as wav:
        assert abs(wav.getnframes() / wav.getframerate() - timing.duration) < 0.05
    ass = pysubs2.load(str(out_dir / "subtitles.ass"))
    srt = pysubs2.load(str(out_dir / "subtitles.srt"))
    assert len(ass) == len(srt) > 5
    assert any("夜渡迷局" in e.text and "\\c" in e.text for e in ass)
    assert ass.styles["Default"].fontname == "Noto Sans SC"

    db = Database(home / "workbench.db")
    job = db.execute("select kind, status, backend, model, cache_hit from jobs").fetchone()
    assert job == ("voice", "done", "espeak", "cmn+f3", 0)

    again = run_cli("voice", "--script", str(_script_file(tmp_path)), "--out", str(out_dir),
                    "--voice", "cmn+f3", "--rate", "+20%")
    assert again.returncode == 0 and "3 段来自缓存" in again.stdout
    assert db.execute("select cache_hit from jobs order by id desc").fetchone() == (1,)


def test_voice_writes_aac_when_asked(tmp_path):
    """Subprocess smoke test of `voice`: espeak and the AAC encode in a fresh process."""
    out_dir = tmp_path / "out"
    result = run_subprocess("voice", "--script", str(_script_file(tmp_path)), "--out", str(out_dir),
                            "--format", "m4a")
    assert result.returncode == 0, result.stderr
    audio = out_dir / "narration.m4a"
    assert audio.stat().st_size > 10_000
    timing = TimingMap.load(out_dir / "timings.json")
    from workbench.voice.audio import decode_to_pcm

    pcm = decode_to_pcm(audio.read_bytes(), timing.sample_rate)
    assert abs(len(pcm) / 2 / timing.sample_rate - timing.duration) < 0.05
    assert not list(out_dir.glob("*.part*"))


def test_bad_script_file_gets_a_clear_error(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('{"segments": [\n  {"name": "hook", "text": "x"},\n]}', "utf-8")
    result = run_cli("voice", "--script", str(broken), "--out", str(tmp_path / "o"))
    assert result.returncode == 1
    assert f"{broken}:3" in result.stderr and "格式错误" in result.stderr
    missing = run_cli("voice", "--script", str(tmp_path / "nope.json"), "--out",
                      str(tmp_path / "o"))
    assert missing.returncode == 1 and "找不到脚本文件" in missing.stderr
    wrong = tmp_path / "wrong.json"
    wrong.write_text('{"title": "x"}', "utf-8")
    result = run_cli("voice", "--script", str(wrong), "--out", str(tmp_path / "o"))
    assert result.returncode == 1 and "segments" in result.stderr
    bad_rate = run_cli("voice", "--script", str(_script_file(tmp_path)), "--out",
                       str(tmp_path / "o"), "--rate", "fast")
    assert bad_rate.returncode == 1 and "语速" in bad_rate.stderr
    assert not (tmp_path / "o").exists()


def test_voices_lists_offline_voices(tmp_path):
    result = run_cli("voices", "--backend", "espeak")
    assert result.returncode == 0, result.stderr
    assert "cmn+f3" in result.stdout and "yue" in result.stdout


def test_voice_backend_option_and_the_deprecated_backend_spelling(tmp_path):
    new = run_cli("voices", "--voice-backend", "espeak")
    assert new.returncode == 0, new.stderr
    assert "cmn+f3" in new.stdout and "edge" not in new.stdout and "弃用" not in new.stderr
    old = run_cli("voices", "--backend", "espeak")
    assert old.returncode == 0 and old.stdout == new.stdout
    assert "--backend 已弃用，请改用 --voice-backend" in old.stderr

    script = _script_file(tmp_path)
    voiced = run_cli("voice", "--script", str(script), "--out", str(tmp_path / "a"),
                 "--voice-backend", "espeak")
    assert voiced.returncode == 0 and "弃用" not in voiced.stderr, voiced.stderr
    again = run_cli("voice", "--script", str(script), "--out", str(tmp_path / "b"),
                "--backend", "espeak")
    assert again.returncode == 0 and "--voice-backend" in again.stderr, again.stderr
    assert "来自缓存" in again.stdout
