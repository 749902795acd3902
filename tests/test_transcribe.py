# ruff: noqa: F811  (pytest fixtures imported from transcribe_server are parameters here)
"""Speech recognition for drama episodes: sidecar subtitles win, transcripts come from a real
local server speaking the transcription protocol (through the real SDK), are validated,
clamped to the episode, cached per chunk, bounded in time and size; offline there are no lines
and the user is told why."""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import replace
from pathlib import Path

import openai
import pytest
from cli_runner import run_cli, run_subprocess
from llm_server import Planned
from test_drama_material import make_episode
from transcribe_server import form_fields, transcribe_server, verbose_json  # noqa: F401

from workbench.errors import BackendError, BackendUnavailable, InputError
from workbench.ffmpeg import ffmpeg_exe
from workbench.materials.drama import add_drama, list_episodes
from workbench.materials.episode_ranges import parse_episode_range
from workbench.materials.sidecar import SubtitleLine
from workbench.transcribe import audio
from workbench.transcribe.registry import OFFLINE_NOTE, faster_whisper_installed, resolve_backend
from workbench.transcribe.service import episode_lines

KEY = "sk-transcribe-SECRET-0123456789"
SECONDS = 2.0


@pytest.fixture(scope="module")
def drama_folder(tmp_path_factory) -> Path:
    """Three 2-second episodes; only the first has a sidecar SRT."""
    folder = tmp_path_factory.mktemp("drama") / "逆袭"
    folder.mkdir()
    for n, size in ((1, "180x320"), (2, "180x320"), (3, "160x284")):  # 3 differs from 2
        make_episode(folder / f"逆袭 - 第{n}集.mp4", SECONDS, size=size)
    (folder / "逆袭 - 第1集.srt").write_text(
        "1\n00:00:00,100 --> 00:00:00,900\n字幕第一句\n\n2\n00:00:01,000 --> 00:00:01,500\n"
        "字幕第二句\n", encoding="utf-8")
    return folder


@pytest.fixture
def drama(db, drama_folder) -> list[dict]:
    return list_episodes(db, add_drama(db, [drama_folder]).material["id"])


@pytest.fixture
def online(settings, transcribe_server):
    return replace(settings, transcribe_base_url=transcribe_server.base_url,
                   transcribe_api_key=KEY, llm_max_retries=0)


def seconds_of(sound: bytes, tmp_path: Path) -> float:
    """How long an uploaded file plays: decoded by ffmpeg to 16 kHz mono samples."""
    path = tmp_path / "upload.bin"
    path.write_bytes(sound)
    pcm = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(path), "-f", "s16le", "-ac",
                          "1", "-ar", "16000", "-"], capture_output=True, check=True).stdout
    return len(pcm) / 32000


# Where lines come from -------------------------------------------------------------------
def test_sidecar_subtitles_win_and_no_request_is_made(db, drama, online, transcribe_server):
    result = episode_lines(drama[0], online, db, backend="openai")
    assert result.source == "sidecar" and result.note == ""
    assert result.lines == [SubtitleLine(0.1, 0.9, "字幕第一句"), SubtitleLine(1.0, 1.5, "字幕第二句")]
    assert transcribe_server.transcription_requests == []


def test_a_transcript_is_fetched_once_with_real_audio_then_cached(
        db, drama, online, transcribe_server, tmp_path):
    first = episode_lines(drama[1], online, db)
    assert first.source == "transcript:openai" and not first.cached and first.requests == 1
    assert first.lines == [SubtitleLine(0.2, 0.9, "你竟敢背叛我？"), SubtitleLine(1.1, 1.8, "等着瞧！")]
    assert "openai" in first.note and "whisper-1" in first.note
    [request] = transcribe_server.transcription_requests
    assert request.path == "/v1/audio/transcriptions"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    form = form_fields(request)
    assert form["model"] == ["whisper-1"] and form["response_format"] == ["verbose_json"]
    assert form["timestamp_granularities[]"] == ["segment"] and form["language"] == ["zh"]
    [(filename, sound, content_type)] = form["file"]
    assert filename.endswith(".mp3") and content_type == "audio/mpeg"
    assert abs(seconds_of(sound, tmp_path) - SECONDS) < 0.15  # the episode's sound, whole
    assert len(sound) < 20_000  # 16 kHz mono 32 kbit/s: about 4 KB a second

    again = episode_lines(drama[1], online, db)
    assert again.lines == first.lines and again.cached and again.requests == 0
    assert len(transcribe_server.transcription_requests) == 1
    other_model = episode_lines(drama[1], replace(online, transcribe_model="large-v3"), db)
    assert not other_model.cached and len(transcribe_server.transcription_requests) == 2


def test_segments_past_the_episode_end_are_clamped_or_dropped(db, drama, online,
                                                              transcribe_server):
    transcribe_server.segments = [(-0.3, 0.5, "提前"), (1.5, 9.0, "越过结尾"), (5.0, 6.0, "在结尾之后"),
                                  (0.6, 0.6, "零长度"), (0.7, 1.2, "   ")]
    result = episode_lines(drama[1], online, db)
    assert result.lines == [SubtitleLine(0.0, 0.5, "提前"), SubtitleLine(1.5, 2.0, "越过结尾")]


def test_a_long_episode_goes_in_chunks_with_their_offsets_added_back(
        db, drama, online, transcribe_server, monkeypatch, tmp_path):
    monkeypatch.setattr(audio, "CHUNK_SECONDS", 0.8)  # 2 s → 0.8 + 1.2 (no sliver at the end)
    assert [(c.offset, c.length) for c in audio.plan_chunks(SECONDS)] == [(0.0, 0.8), (0.8, 1.2)]
    transcribe_server.segments = [(0.1, 0.7, "一句"), (0.75, 5.0, "过界")]
    result = episode_lines(drama[2], online, db)
    assert result.requests == 2
    assert [(line.start, line.end) for line in result.lines] == [
        (0.1, 0.7), (0.75, 0.8), (0.9, 1.5), (1.55, 2.0)]
    uploads = [form_fields(r)["file"][0][1] for r in transcribe_server.transcription_requests]
    assert [round(seconds_of(u, tmp_path), 1) for u in uploads] == [0.8, 1.2]
    assert episode_lines(drama[2], online, db).cached


def test_chunk_plan_bounds():
    assert [(c.offset, c.length) for c in audio.plan_chunks(1500)] == [
        (0.0, 600.0), (600.0, 600.0), (1200.0, 300.0)]
    assert [c.length for c in audio.plan_chunks(1200.5)] == [600.0, 600.5]
    with pytest.raises(InputError, match="剧集太长"):
        audio.plan_chunks(5 * 3600)


def test_language_auto_lets_the_model_detect_it(db, drama, online, transcribe_server):
    episode_lines(drama[1], replace(online, transcribe_language="auto"), db)
    assert "language" not in form_fields(transcribe_server.transcription_requests[0])


# Bad answers and hostile servers ---------------------------------------------------------
@pytest.mark.parametrize(("body", "reason"), [
    ("<html>502 Bad Gateway</html>", "不是 JSON"),
    ({"text": "你好，只有全文没有时间戳"}, "没有 segments"),
    (verbose_json([(1.5, 0.5, "倒着")]), "第 1 段的开始时间晚于结束时间（1.5 > 0.5）"),
    ({"segments": [{"start": "0", "end": 1, "text": "字符串时间"}]}, "第 1 段的 start 不是数字"),
    ({"segments": [{"start": 0, "end": 1, "text": None}]}, "第 1 段的 text 不是文本"),
    ({"segments": ["一句"]}, "第 1 段不是对象"),
    (b"\xff\xfe\x00garbage", "不是 UTF-8"),
])
def test_a_malformed_answer_is_a_clear_error_naming_the_endpoint(
        db, drama, online, transcribe_server, body, reason):
    transcribe_server.plan(Planned(body=body, headers={"Content-Type": "application/json"}))
    with pytest.raises(BackendError) as caught:
        episode_lines(drama[1], online, db)
    message = str(caught.value)
    assert reason in message and transcribe_server.base_url in message
    assert KEY not in message and "\n" not in message
    assert not isinstance(caught.value.__context__, openai.OpenAIError)  # holds the request


@pytest.mark.parametrize("planned", [Planned(delay=30), Planned(body=verbose_json([]), drip=0.4)],
                         ids=["hangs", "drips"])
def test_a_server_that_hangs_or_drips_is_ended_by_the_deadline(
        db, drama, online, transcribe_server, planned):
    transcribe_server.plan(planned)
    started = time.monotonic()
    with pytest.raises(BackendError, match="语音识别超过总时限.*1 秒.*WORKBENCH_TRANSCRIBE_DEADLINE"):
        episode_lines(drama[1], replace(online, transcribe_deadline=1.0), db)
    assert time.monotonic() - started < 3


def test_an_endless_answer_is_cut_off_at_the_cap(db, drama, online, transcribe_server):
    transcribe_server.plan(Planned(huge=20_000_000))
    with pytest.raises(BackendError, match="超过 4 MB"):
        episode_lines(drama[1], online, db)
    assert transcribe_server.bytes_sent < 10_000_000


def test_server_errors_name_the_setting_and_never_the_key(db, drama, online, transcribe_server):
    transcribe_server.plan_error(401, f"Incorrect API key provided: {KEY}")
    with pytest.raises(BackendError) as caught:
        episode_lines(drama[1], online, db)
    assert "WORKBENCH_TRANSCRIBE_API_KEY" in str(caught.value) and KEY not in str(caught.value)
    assert caught.value.__context__ is None  # the SDK's error carries the Authorization header
    transcribe_server.plan_error(404, "Unknown route")
    with pytest.raises(BackendError, match="找不到语音识别接口.*WORKBENCH_TRANSCRIBE_BACKEND=none"):
        episode_lines(drama[1], online, db)


# Choosing a backend ----------------------------------------------------------------------
def test_offline_with_neither_backend_there_are_no_lines_and_a_note(db, drama, settings):
    result = episode_lines(drama[1], settings, db)
    assert (result.lines, result.source, result.note) == ([], "none", OFFLINE_NOTE)
    off = episode_lines(drama[1], replace(settings, transcribe_backend="none"), db)
    assert off.source == "none" and "语音识别已关闭" in off.note
    assert episode_lines(drama[0], settings, db).source == "sidecar"  # subtitles need no backend
    with pytest.raises(InputError, match="未知的语音识别后端: vosk"):
        episode_lines(drama[0], settings, db, backend="vosk")


def test_auto_prefers_transcription_settings_then_a_model_folder_never_the_llm(
        db, drama, settings, transcribe_server, tmp_path):
    via_llm = replace(settings, llm_base_url=transcribe_server.base_url, llm_api_key=KEY)
    chosen = resolve_backend("auto", via_llm)  # an LLM set up for rewriting is not enough
    assert chosen.backend is None and "WORKBENCH_TRANSCRIBE_BACKEND=openai" in chosen.reason
    assert episode_lines(drama[1], via_llm, db).source == "none"
    assert transcribe_server.transcription_requests == []
    explicit = replace(via_llm, transcribe_backend="openai")  # asked for: the LLM's endpoint
    assert episode_lines(drama[1], explicit, db).source == "transcript:openai"
    assert transcribe_server.transcription_requests[-1].headers["authorization"] == f"Bearer {KEY}"
    folder = tmp_path / "whisper-small"
    folder.mkdir()
    with_folder = replace(via_llm, whisper_model_dir=folder)
    if faster_whisper_installed():
        for name in ("model.bin", "tokenizer.json"):  # looked for here, loaded only to transcribe
            (folder / name).write_bytes(b"\0")
        assert resolve_backend("auto", with_folder).backend.name == "faster-whisper"
    else:
        assert resolve_backend("auto", with_folder).backend is None
        assert "pip install 'workbench[whisper]'" in resolve_backend(
            "auto", replace(settings, whisper_model_dir=folder)).reason
    own = replace(with_folder, transcribe_base_url=transcribe_server.base_url)
    assert "已配置语音识别接口" in resolve_backend("auto", own).reason


def test_the_llm_key_is_not_sent_to_another_transcription_host(db, drama, settings,
                                                                transcribe_server):
    elsewhere = replace(settings, llm_base_url="http://127.0.0.1:9/v1", llm_api_key=KEY,
                        transcribe_base_url=transcribe_server.base_url)
    episode_lines(drama[1], elsewhere, db)
    [request] = transcribe_server.transcription_requests
    assert request.headers["authorization"] == "Bearer not-needed"


def test_explicit_openai_without_an_endpoint_is_unavailable(settings):
    with pytest.raises(BackendUnavailable, match="WORKBENCH_TRANSCRIBE_API_KEY"):
        resolve_backend("openai", settings)


def test_faster_whisper_unavailable_says_what_to_set_or_install(db, drama, settings, tmp_path):
    with pytest.raises(BackendUnavailable, match="WORKBENCH_WHISPER_MODEL_DIR"):
        episode_lines(drama[1], settings, db, backend="faster-whisper")
    missing = replace(settings, whisper_model_dir=tmp_path / "nowhere")
    with pytest.raises(BackendUnavailable, match="模型目录不存在"):
        resolve_backend("faster-whisper", missing)
    folder = tmp_path / "not-a-model"
    folder.mkdir()
    with pytest.raises(BackendUnavailable, match="没有 model.bin"):
        resolve_backend("faster-whisper", replace(settings, whisper_model_dir=folder))
    (folder / "model.bin").write_bytes(b"\0")
    with pytest.raises(BackendUnavailable, match="没有 tokenizer.json（缺了它 faster-whisper 会去网上下载"):
        resolve_backend("faster-whisper", replace(settings, whisper_model_dir=folder))
    if not faster_whisper_installed():
        (folder / "tokenizer.json").write_bytes(b"\0")
        with pytest.raises(BackendUnavailable, match=r"pip install 'workbench\[whisper\]'"):
            resolve_backend("faster-whisper", replace(settings, whisper_model_dir=folder))


# Episode ranges --------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "chosen"), [
    (None, [1, 2, 3, 4, 5]), ("2", [2]), ("1-3", [1, 2, 3]),
    ("1,3-4", [1, 3, 4]), ("4，1～2", [1, 2, 4]), (" 3 - 5 , 3 ", [3, 4, 5]),
])
def test_episode_ranges(text, chosen):
    assert parse_episode_range(text, 5) == chosen


@pytest.mark.parametrize(("text", "reason"), [
    ("0", "超出：这部剧共 5 集"), ("2-9", "超出"), ("4-2", "前大后小：应写成 2-4"),
    ("a", "看不懂"), ("1-99999999999999", "看不懂"), (",", "里没有集数"), ("1," * 150, "太长"),
    ("", "是空的"),
])
def test_bad_episode_ranges_are_clear(text, reason):
    with pytest.raises(InputError, match=reason):
        parse_episode_range(text, 5)


# The command -----------------------------------------------------------------------------
def test_cli_json_lists_each_episode_with_its_source_and_lines(drama, transcribe_server):
    env = {"WORKBENCH_TRANSCRIBE_BASE_URL": transcribe_server.base_url,
           "WORKBENCH_LLM_MAX_RETRIES": "0"}
    result = run_cli("drama", "transcribe", "--material", "1", "--json", env=env)
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert [(e["episode"], e["source"]) for e in shown] == [
        (1, "sidecar"), (2, "transcript:openai"), (3, "transcript:openai")]
    assert shown[0]["lines"][0] == {"start": 0.1, "end": 0.9, "text": "字幕第一句"}
    assert shown[1]["lines"] == [{"start": 0.2, "end": 0.9, "text": "你竟敢背叛我？"},
                                 {"start": 1.1, "end": 1.8, "text": "等着瞧！"}]
    assert "语音识别: openai" in result.stderr
    text = run_cli("drama", "transcribe", "--material", "1", "--episodes", "2-3", env=env)
    assert text.returncode == 0, text.stderr
    assert "第 2 集 逆袭 - 第2集.mp4: 语音识别（openai）2 句，来自缓存" in text.stdout
    assert "第 1 集" not in text.stdout and len(transcribe_server.transcription_requests) == 2


def test_cli_offline_says_so_and_refuses_a_novel_or_a_bad_range(drama):
    result = run_cli("drama", "transcribe", "--material", "1")
    assert result.returncode == 0, result.stderr
    assert f"注意: {OFFLINE_NOTE}" in result.stderr
    assert "第 1 集 逆袭 - 第1集.mp4: 字幕文件 2 句" in result.stdout
    assert "第 3 集 逆袭 - 第3集.mp4: 没有台词" in result.stdout
    bad = run_cli("drama", "transcribe", "--material", "1", "--episodes", "2-7")
    assert bad.returncode == 1 and "共 3 集" in bad.stderr
    novel = Path("novel.txt")
    novel.write_text("第一章 开始\n" + "她回来了。" * 200, encoding="utf-8")
    assert run_cli("material", "add", str(novel)).returncode == 0
    refused = run_cli("drama", "transcribe", "--material", "2")
    assert refused.returncode == 1 and "不是短剧" in refused.stderr


def test_the_command_runs_in_a_real_process(drama):
    result = run_subprocess("drama", "transcribe", "--material", "1", "--episodes", "1,3",
                            "--json")
    assert result.returncode == 0, result.stderr
    assert [(e["episode"], e["source"]) for e in json.loads(result.stdout)] == [
        (1, "sidecar"), (3, "none")]
    unknown = run_subprocess("drama", "transcribe", "--material", "1", "--backend", "vosk")
    assert unknown.returncode == 1 and "未知的语音识别后端: vosk" in unknown.stderr
