# ruff: noqa: F811  (pytest fixtures imported from drama_fixtures are parameters here)
"""The `faster-whisper` backend run for real: the faster-whisper package (PyAV decoding, its
voice activity filter, CTranslate2 inference, its tokenizer and timestamp rules) on episodes
of the sample drama, through `episode_lines` and `workbench drama transcribe`.

No model can be downloaded here, so the model is a tiny one built at test time
(whisper_model.py): random weights biased to write the same two segments, 0.0–0.5 s and
0.5–1.0 s, after the start of the sound it is given. Where those lines land on the episode is
the backend's and the service's doing: the voice activity filter moves them to where speech
starts, chunk offsets move them into their chunk. The tests skip without the `whisper` extra
(`make test` installs it).
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from cli_runner import run_cli
from drama_fixtures import SampleDrama, sample_drama  # noqa: F401

from workbench.errors import BackendError
from workbench.materials.drama import add_drama, list_episodes
from workbench.materials.sidecar import read_sidecar
from workbench.transcribe import audio, faster_whisper_backend
from workbench.transcribe.registry import faster_whisper_installed
from workbench.transcribe.service import episode_lines

pytestmark = pytest.mark.skipif(not faster_whisper_installed(),
                                reason="faster-whisper is not installed (pip install "
                                       "'workbench[whisper]'; make test does)")
MODEL = "faster-whisper-synthetic"


@pytest.fixture(scope="session")
def whisper_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from whisper_model import build_model

    return build_model(tmp_path_factory.mktemp("whisper") / MODEL)


@pytest.fixture(scope="module")
def unsubtitled(sample_drama: SampleDrama, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Episodes 1 and 2 of the sample drama without their subtitles: recognition must run."""
    folder = tmp_path_factory.mktemp("unsubtitled") / "夜渡"
    folder.mkdir()
    for episode in sample_drama.episodes[:2]:
        shutil.copyfile(episode, folder / episode.name)
    return folder


@pytest.fixture
def episodes(db, unsubtitled) -> list[dict]:
    return list_episodes(db, add_drama(db, [unsubtitled]).material["id"])


@pytest.fixture
def local(settings, whisper_model_dir):
    return replace(settings, whisper_model_dir=whisper_model_dir)


def first_speech(sample_drama: SampleDrama, n: int) -> float:
    """When the first line of episode `n` is spoken (its SRT, which the voice timed)."""
    return read_sidecar(sample_drama.episodes[n - 1].with_suffix(".srt")).lines[0].start


def test_an_episode_is_transcribed_by_the_real_model_then_served_from_the_cache(
        db, episodes, local, sample_drama, monkeypatch):
    from whisper_model import WORDS

    first = episode_lines(episodes[0], local, db, backend="faster-whisper")
    assert first.source == "transcript:faster-whisper" and not first.cached
    assert first.requests == 1 and f"语音识别: faster-whisper，模型 {MODEL}" in first.note
    assert [line.text for line in first.lines] == list(WORDS)
    a, b = first.lines
    # the silence before the first line was cut, and the times put back onto the episode
    speech = first_speech(sample_drama, 1)
    assert speech > 1.0 and speech - 0.6 < a.start < speech
    assert (a.end, round(b.end - a.start, 2)) == (b.start, 1.0)
    assert all(0 <= line.start < line.end <= episodes[0]["duration"] for line in first.lines)

    detected = episode_lines(episodes[0], replace(local, transcribe_language="auto"), db,
                             backend="faster-whisper")  # language detection, another key
    assert not detected.cached and detected.lines == first.lines

    def ran_again(*args: object, **kwargs: object) -> None:
        raise AssertionError("the model ran for a cached transcript")

    from faster_whisper import WhisperModel

    monkeypatch.setattr(WhisperModel, "transcribe", ran_again)
    again = episode_lines(episodes[0], local, db, backend="faster-whisper")
    assert again.cached and again.requests == 0 and again.lines == first.lines


def test_chunks_are_transcribed_one_by_one_with_their_offsets_added_back(
        db, episodes, local, monkeypatch):
    monkeypatch.setattr(audio, "CHUNK_SECONDS", 8.0)
    episode = episodes[1]
    chunks = audio.plan_chunks(float(episode["duration"]))
    assert len(chunks) == 3
    loads = faster_whisper_backend._load_model.cache_info().misses
    result = episode_lines(episode, local, db, backend="faster-whisper")
    assert result.requests == 3
    assert faster_whisper_backend._load_model.cache_info().misses - loads <= 1  # once a process
    pairs = [result.lines[i:i + 2] for i in range(0, len(result.lines), 2)]
    assert len(pairs) == 3  # every chunk has speech
    for chunk, (a, b) in zip(chunks, pairs, strict=True):
        assert chunk.offset <= a.start < a.end == b.start < b.end <= chunk.offset + chunk.length
    assert episode_lines(episode, local, db, backend="faster-whisper").cached


def test_the_deadline_ends_a_run_and_nothing_is_cached(db, episodes, local):
    with pytest.raises(BackendError, match=r"超过时限 0\.001 秒；可调大 WORKBENCH_TRANSCRIBE_DEADLINE"):
        episode_lines(episodes[0], replace(local, transcribe_deadline=0.001), db,
                      backend="faster-whisper")
    after = episode_lines(episodes[0], local, db, backend="faster-whisper")
    assert not after.cached and after.requests == 1 and len(after.lines) == 2


def test_too_many_segments_is_a_clear_error(db, episodes, local, monkeypatch):
    monkeypatch.setattr(faster_whisper_backend, "MAX_SEGMENTS", 1)
    with pytest.raises(BackendError, match="faster-whisper 给出超过 1 段，已停止"):
        episode_lines(episodes[0], local, db, backend="faster-whisper")


def test_a_broken_model_file_is_a_clear_error(db, episodes, settings, whisper_model_dir,
                                             tmp_path):
    broken = tmp_path / "broken-model"
    shutil.copytree(whisper_model_dir, broken)
    (broken / "model.bin").write_bytes(b"not a model")
    with pytest.raises(BackendError, match=r"faster-whisper 无法加载模型 .*broken-model.*"
                                           r"请检查 WORKBENCH_WHISPER_MODEL_DIR") as caught:
        episode_lines(episodes[0], replace(settings, whisper_model_dir=broken), db,
                      backend="faster-whisper")
    assert "\n" not in str(caught.value)


def test_a_real_model_you_have(db, episodes, settings):
    """Set WORKBENCH_TEST_WHISPER_MODEL_DIR to a real faster-whisper model folder (e.g.
    faster-whisper-base) to hear the sample drama's espeak voice recognised."""
    folder = os.environ.get("WORKBENCH_TEST_WHISPER_MODEL_DIR")
    if not folder:
        pytest.skip("set WORKBENCH_TEST_WHISPER_MODEL_DIR to a faster-whisper model folder")
    real = replace(settings, whisper_model_dir=Path(folder), transcribe_deadline=600.0)
    result = episode_lines(episodes[0], real, db, backend="faster-whisper")
    assert result.source == "transcript:faster-whisper" and len(result.lines) >= 3
    assert all(0 <= line.start < line.end <= episodes[0]["duration"] for line in result.lines)
    assert any("\u4e00" <= char <= "\u9fff" for line in result.lines for char in line.text)
    assert episode_lines(episodes[0], real, db, backend="faster-whisper").cached


def test_the_command_transcribes_with_the_model_folder_and_then_reads_the_cache(
        episodes, whisper_model_dir):
    env = {"WORKBENCH_WHISPER_MODEL_DIR": str(whisper_model_dir)}
    shown = run_cli("drama", "transcribe", "--material", "1", "--json", env=env)  # auto
    assert shown.returncode == 0, shown.stderr
    assert f"语音识别: faster-whisper（auto：本地模型 {MODEL}）" in shown.stderr
    listed = json.loads(shown.stdout)
    assert [(e["episode"], e["source"], len(e["lines"])) for e in listed] == [
        (1, "transcript:faster-whisper", 2), (2, "transcript:faster-whisper", 2)]
    line = listed[0]["lines"][0]
    assert line["text"] == "合成模型甲" and 0.5 < line["start"] < line["end"]
    text = run_cli("drama", "transcribe", "--material", "1", "--episodes", "2", "--backend",
                   "faster-whisper", env=env)
    assert text.returncode == 0, text.stderr
    assert "第 2 集 夜渡 - 第2集.mp4: 语音识别（faster-whisper）2 句，来自缓存" in text.stdout
