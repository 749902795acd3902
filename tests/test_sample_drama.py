"""The sample drama 《夜渡》: real episodes that import as a drama, SRTs that say what the script
says when the voice says it, dialogue burned into the lower band, clear scene cuts, one
landscape episode, and a cache that serves the same bytes the second time."""

from __future__ import annotations

import itertools
import re
import shlex
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest
from cli_runner import run_cli
from drama_fixtures import sample_drama  # noqa: F401
from media_fixtures import gray_frame, rms, sound

from workbench.errors import InputError
from workbench.ffmpeg import ffmpeg_exe
from workbench.files import sha256_file
from workbench.materials import sample_drama as generator
from workbench.materials.drama import add_drama, list_episodes
from workbench.materials.sample_drama_script import Line, load_script
from workbench.materials.sample_episode import (
    FPS,
    GAP_SECONDS,
    TAIL_SECONDS,
    TITLE_SECONDS,
    VoicedLine,
    lay_out,
)
from workbench.materials.sidecar import read_sidecar
from workbench.render.probe import probe


def test_the_script_is_three_episodes_each_ending_on_a_cliffhanger():
    script = load_script()
    assert script.title == "夜渡" and [e.number for e in script.episodes] == [1, 2, 3]
    for episode in script.episodes:
        texts = [line.text for line in episode.lines]
        assert any("？" in t for t in texts), f"第{episode.number}集 has no question"
        assert len({line.who for line in episode.lines}) >= 2  # a conflict takes two
        assert texts[-1][-1] in "。！？", texts[-1]


def test_lay_out_cuts_between_lines_and_never_inside_one():
    lines = [Line("沈青禾", "一"), Line("马东", "二"), Line("沈青禾", "三")]
    seconds = (2.0, 1.37, 3.1)  # each voice with a little silence before and after its words
    voiced = [VoicedLine(line, b"\0\0" * round(22050 * s), 22050, 0.1, s - 0.2)
              for line, s in zip(lines, seconds, strict=True)]
    timeline = lay_out(voiced)
    assert timeline.shots[0].who == "" and timeline.shots[0].end == TITLE_SECONDS
    assert sum(s.frames for s in timeline.shots) == timeline.frames
    assert [s.who for s in timeline.shots[1:]] == ["沈青禾", "马东", "沈青禾"]
    for shot, line in zip(timeline.shots[1:], timeline.lines, strict=True):
        assert shot.start < line.start and line.end < shot.end  # the line inside its shot
    for before, after, spoken in zip(timeline.lines, timeline.lines[1:], seconds):
        assert after.audio_start - before.audio_start == pytest.approx(spoken + GAP_SECONDS,
                                                                       abs=0.002)
        assert (before.start, before.end) == (round(before.audio_start + 0.1, 3),
                                              round(before.audio_start + spoken - 0.2, 3))
    assert timeline.duration >= timeline.lines[-1].end + TAIL_SECONDS
    assert timeline.frames == round(timeline.duration * FPS)


def test_the_episodes_import_in_order_with_their_subtitles(db, sample_drama):  # noqa: F811
    assert [p.name for p in sample_drama.episodes] == [
        "夜渡 - 第1集.mp4", "夜渡 - 第2集.mp4", "夜渡 - 第3集.mp4"]
    result = add_drama(db, [sample_drama.folder])
    assert result.created and result.material["title"] == "夜渡" and not result.skipped
    rows = list_episodes(db, result.material["id"])
    assert [(r["idx"], r["number"]) for r in rows] == [(1, 1), (2, 2), (3, 3)]
    for row in rows:
        assert row["subtitle_format"] == "srt" and row["subtitles"]
        assert row["video_codec"] == "h264" and row["audio_codec"] == "aac"
        assert 15 <= row["duration"] <= 25, row
    assert [(r["width"], r["height"]) for r in rows] == [(720, 1280), (1280, 720), (720, 1280)]
    total = sum(p.stat().st_size for p in sample_drama.folder.iterdir())
    assert total < 8 * 1024 * 1024  # a few MB: nothing large, even in the cache


def test_each_srt_says_the_script_and_ends_before_its_episode(sample_drama):  # noqa: F811
    for path, episode in zip(sample_drama.episodes, sample_drama.script.episodes, strict=True):
        lines = read_sidecar(path.with_suffix(".srt")).lines
        assert [line.text for line in lines] == [line.text for line in episode.lines]
        duration = probe(path).duration
        assert lines[0].start >= TITLE_SECONDS  # after the title card
        for before, after in itertools.pairwise(lines):
            assert before.end < after.start  # one line at a time
        # the episode is its lines plus the pause after the last one, not more
        assert lines[-1].end + TAIL_SECONDS <= duration + 0.05 <= lines[-1].end + 3.0


def test_the_voice_speaks_when_the_srt_says(sample_drama):  # noqa: F811
    for path in sample_drama.episodes:
        track = sound(path)
        lines = read_sidecar(path.with_suffix(".srt")).lines
        gaps = [(a.end + 0.05, b.start - 0.05) for a, b in itertools.pairwise(lines)]
        quiet = max(rms(track, *gap) for gap in [(0.1, lines[0].start - 0.1), *gaps])
        for line in lines:
            assert rms(track, line.start, line.end) > 3 * quiet, (path.name, line.text)


def test_the_dialogue_is_burned_into_the_lower_band(sample_drama):  # noqa: F811
    """A frame while a line is spoken against one just after it, in the same shot: they differ
    only where the subtitle is, in the lower band, as the SRT says."""
    for path in sample_drama.episodes:
        lines = read_sidecar(path.with_suffix(".srt")).lines
        for line in (lines[1], lines[-2]):
            shown = gray_frame(path, (line.start + line.end) / 2).astype(int)
            after = gray_frame(path, line.end + 0.12).astype(int)
            height = shown.shape[0]
            changed = (np.abs(shown - after) > 60).mean(axis=1)  # per row: share of pixels
            rows = np.flatnonzero(changed > 0.01)
            assert len(rows) > height * 0.02, (path.name, line.text)  # text, not a speck
            assert rows.min() > height * 0.75 and rows.max() < height * 0.97, (
                path.name, rows.min() / height, rows.max() / height)
            assert changed[: int(height * 0.7)].max() < 0.002  # the rest of the shot is the same


def test_every_cut_falls_between_two_lines(sample_drama):  # noqa: F811
    """ffmpeg's scene score finds the title card's end and one cut between every two lines,
    and nothing else: the shots are clearly cut, as scene detection expects."""
    path = sample_drama.episodes[0]
    log = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-i", str(path), "-an", "-vf",
         "select='gt(scene,0.1)',metadata=print", "-f", "null", "-"],
        capture_output=True, text=True, check=True).stderr
    cuts = [float(t) for t in re.findall(r"pts_time:([0-9.]+)", log)]
    lines = read_sidecar(path.with_suffix(".srt")).lines
    assert len(cuts) == len(lines), cuts
    assert cuts[0] == pytest.approx(TITLE_SECONDS, abs=0.05)
    for cut, before, after in zip(cuts[1:], lines[:-1], lines[1:], strict=True):
        assert before.end < cut < after.start


def test_a_second_generation_is_served_from_the_cache(sample_drama, tmp_path,  # noqa: F811
                                                      monkeypatch):
    settings = sample_drama.settings(monkeypatch)
    messages: list[str] = []
    started = time.monotonic()
    again = generator.generate_sample_drama(tmp_path / "again", settings,
                                            lambda fraction, message: messages.append(message))
    assert time.monotonic() - started < 5  # making them takes several seconds and ffmpeg
    assert messages == ["样片来自缓存"]
    for first, second in zip(sample_drama.episodes, again, strict=True):
        assert second.name == first.name
        assert second.read_bytes() == first.read_bytes()
        assert second.with_suffix(".srt").read_bytes() == first.with_suffix(".srt").read_bytes()


def test_a_damaged_cache_entry_is_not_served(sample_drama, tmp_path, monkeypatch):  # noqa: F811
    settings = sample_drama.settings(monkeypatch)
    cached = generator.cached_sample(settings, sample_drama.script, lambda f, m: None)
    copy = shutil.copytree(cached, tmp_path / "copy")
    assert generator._intact(copy)
    episode = copy / sample_drama.episodes[1].name
    data = bytearray(episode.read_bytes())
    data[len(data) // 2] ^= 0xFF
    episode.write_bytes(bytes(data))
    assert not generator._intact(copy)
    (copy / generator.MANIFEST).unlink()
    episode.write_bytes(sample_drama.episodes[1].read_bytes())
    assert not generator._intact(copy)  # no manifest: never taken for a finished sample


def test_a_folder_with_other_videos_is_refused(tmp_path, settings):
    (tmp_path / "花絮.mp4").write_bytes(b"not ours")
    with pytest.raises(InputError, match="已有其他视频（花絮.mp4）"):
        generator.generate_sample_drama(tmp_path, settings)
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="是一个文件"):
        generator.generate_sample_drama(tmp_path / "file", settings)


def test_cli_prints_the_folder_last_for_add_drama(sample_drama, tmp_path):  # noqa: F811
    out = tmp_path / "样片"
    made = run_cli("drama", "sample", "--out", str(out),
                   env={"WORKBENCH_HOME": str(sample_drama.home)})
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip().splitlines()[-1] == str(out)
    assert "夜渡 - 第2集.mp4" in made.stdout
    assert sha256_file(out / "夜渡 - 第2集.mp4") == sha256_file(sample_drama.episodes[1])


def test_the_shell_pipeline_of_make_demo_drama(sample_drama, home):  # noqa: F811
    """`workbench material add-drama "$(workbench drama sample | tail -1)"`, in real processes
    (the sample from the session's cache, the import into this test's home)."""
    workbench = f"{shlex.quote(sys.executable)} -m workbench"
    sample_home = shlex.quote(str(sample_drama.home))
    out = shlex.quote(str(home.parent / "样片"))
    line = (f'{workbench} material add-drama "$(WORKBENCH_HOME={sample_home} {workbench} drama '
            f'sample --out {out} | tail -1)"')
    done = subprocess.run(["sh", "-c", line], capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert "《夜渡》 3 集" in done.stdout and "3 集有字幕" in done.stdout
    assert done.stdout.strip().splitlines()[-1] == "1"
    assert (home.parent / "样片" / "夜渡 - 第3集.srt").is_file()
