"""Drama material: episode files in, in order, each probed; bad files refused by name and
reason (all or nothing unless --skip-bad); sidecar subtitles read and checked."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from cli_runner import run_cli
from media_fixtures import make_episode

from workbench.errors import InputError
from workbench.ffmpeg import ffmpeg_exe
from workbench.materials.drama import add_drama, list_episodes
from workbench.materials.episodes import episode_number, order_episodes
from workbench.materials.sidecar import read_sidecar


@pytest.fixture(scope="module")
def episodes(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("drama") / "重生之逆袭"
    folder.mkdir()
    for n in (1, 2, 10):
        make_episode(folder / f"重生之逆袭 - 第{n}集.mp4", 1.5)
    (folder / "重生之逆袭 - 第1集.srt").write_bytes(
        "1\n00:00:00,100 --> 00:00:00,900\n你竟敢背叛我？\n\n2\n00:00:01,000 --> "
        "00:00:01,400\n等着瞧！\n".encode("gbk"))
    (folder / "notes.txt").write_text("not an episode", encoding="utf-8")
    return folder


@pytest.mark.parametrize(("name", "number"), [
    ("剧名 - 第12集.mp4", 12), ("第十二集.mkv", 12), ("EP12.mov", 12), ("ep2.webm", 2),
    ("12.mp4", 12), ("剧名_03.mp4", 3), ("S01E05.mp4", 5), ("第一百零三话.mp4", 103),
    ("花絮.mp4", None),
])
def test_episode_numbers_from_names(name, number):
    assert episode_number(name) == number


def test_numbers_compare_as_numbers_and_order_overrides(tmp_path):
    files = [tmp_path / n for n in ("EP10.mp4", "EP2.mp4", "EP1.mp4")]
    assert [f.name for f in order_episodes(files)] == ["EP1.mp4", "EP2.mp4", "EP10.mp4"]
    assert [f.name for f in order_episodes(files, ["EP2", "EP10.mp4", "EP1"])] == [
        "EP2.mp4", "EP10.mp4", "EP1.mp4"]
    with pytest.raises(InputError, match="恰好列一次"):
        order_episodes(files, ["EP2", "EP1"])
    with pytest.raises(InputError, match="都是第 2 集"):
        order_episodes([tmp_path / "EP2.mp4", tmp_path / "第2集.mp4"])
    with pytest.raises(InputError, match="无法从文件名识别集数：花絮.mp4"):
        order_episodes([tmp_path / "EP2.mp4", tmp_path / "花絮.mp4"])


def test_a_folder_imports_in_order_with_probe_facts_and_subtitles(db, episodes):
    result = add_drama(db, [episodes])
    assert result.created and result.material["kind"] == "drama"
    assert result.material["title"] == "重生之逆袭"
    rows = list_episodes(db, result.material["id"])
    assert [(r["idx"], r["number"]) for r in rows] == [(1, 1), (2, 2), (3, 10)]
    first = rows[0]
    assert abs(first["duration"] - 1.5) < 0.1 and (first["width"], first["height"]) == (180, 320)
    assert first["fps"] == 25 and first["audio_codec"] == "aac" and len(first["sha256"]) == 64
    assert first["subtitle_format"] == "srt" and first["subtitle_encoding"] in ("gb18030", "gbk")
    assert json.loads(first["subtitles"])[0] == [0.1, 0.9, "你竟敢背叛我？"]
    assert rows[1]["subtitles"] is None
    again = add_drama(db, [episodes])
    assert not again.created and again.material["id"] == result.material["id"]


def test_cli_prints_the_material_id_last_and_json(episodes):
    result = run_cli("material", "add-drama", str(episodes))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "1"
    assert "3 集" in result.stdout and "1 集有字幕" in result.stdout
    shown = json.loads(run_cli("material", "add-drama", str(episodes), "--json").stdout)
    assert shown["id"] == 1 and not shown["created"] and len(shown["episodes"]) == 3


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bad")
    good = make_episode(folder / "EP1.mp4", 1.5)
    audio_only = folder / "EP2.mp4"
    subprocess.run([ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "sine=duration=1",
                    "-c:a", "aac", str(audio_only)], check=True)
    not_video = folder / "EP3.mp4"
    not_video.write_text("这不是视频" * 100, encoding="utf-8")
    cut = folder / "EP4.mp4"  # moov at the end: cut in half, nothing can be read
    data = make_episode(folder / "full4.mp4", 2.0).read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    faststart = make_episode(folder / "full5.mp4", 3.0, extra=("-movflags", "+faststart"))
    tail_cut = folder / "EP5.mp4"  # moov first: the header reads, the end is missing
    data = faststart.read_bytes()
    tail_cut.write_bytes(data[: int(len(data) * 0.6)])
    return {"good": good, "audio": audio_only, "text": not_video, "cut": cut,
            "tail": tail_cut}


@pytest.mark.parametrize(("kind", "reason"), [
    ("audio", "没有视频画面"), ("text", "不是视频文件"), ("cut", "不是视频文件"),
    ("tail", "文件不完整"),
])
def test_each_bad_file_is_refused_by_name_and_nothing_is_stored(db, bad_files, kind, reason):
    with pytest.raises(InputError) as caught:
        add_drama(db, [bad_files["good"], bad_files[kind]])
    message = str(caught.value)
    assert f"{bad_files[kind].name}: " in message and reason in message
    assert "没有保存任何内容" in message and "\n" not in message
    assert db["materials"].count == 0 and db["episodes"].count == 0


def test_every_bad_file_is_listed_and_skip_bad_imports_the_rest(db, bad_files):
    files = [bad_files[k] for k in ("good", "audio", "text", "cut", "tail")]
    result = run_cli("material", "add-drama", *map(str, files))
    assert result.returncode == 1 and "4 个文件不能导入" in result.stderr
    for name in ("EP2.mp4", "EP3.mp4", "EP4.mp4", "EP5.mp4"):
        assert name in result.stderr
    skipped = run_cli("material", "add-drama", *map(str, files), "--skip-bad", "--title", "测试剧")
    assert skipped.returncode == 0, skipped.stderr
    assert skipped.stderr.count("已跳过") == 4 and "《测试剧》 1 集" in skipped.stdout
    assert [e["filename"] for e in list_episodes(db, 1)] == ["EP1.mp4"]


def test_other_containers_are_accepted(db, tmp_path):
    files = [make_episode(tmp_path / "第1集.mkv", 1.0), make_episode(tmp_path / "第2集.mov", 1.0),
             make_episode(tmp_path / "第3集.webm", 1.0, size="160x284")]
    result = add_drama(db, files)
    assert [e["filename"] for e in list_episodes(db, result.material["id"])] == [
        "第1集.mkv", "第2集.mov", "第3集.webm"]


@pytest.mark.parametrize(("suffix", "body", "line"), [
    (".srt", "1\n00:00:01,000 --> 00:00:02,000\n好\n\n2\n00:00:03,000 -> 00:00:04,000\n坏\n", 6),
    (".srt", "1\n00:00:01,000 --> 00:00:02,000\n好\n\n2\n00:00:03,000 --> 00:0x:04,000\n坏\n",
     6),
    (".srt", "1\n00:00:05,000 --> 00:00:02,000\n倒\n", 2),
    (".srt", "1\n00:00:01,000 --> 00:00:02,000\n好\n\n2\n第二句没有时间轴\n", 6),
    (".vtt", "WEBVTT\n\n00:01.000 --> 00:02.000\n好\n\n00:03.000 --> 00:02.000\n倒\n", 6),
    (".ass", ("[Events]\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, "
             "Effect, Text\nDialogue: 0,0:00:01.00,0:00:02.00,Default,,0,0,0,,好\n"
             "Dialogue: 0,0:00:0x.00,0:00:04.00,Default,,0,0,0,,坏\n"), 4),
])
def test_broken_subtitles_are_refused_with_their_line(tmp_path, suffix, body, line):
    path = tmp_path / f"第1集{suffix}"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(InputError, match=f"{path}:{line}: "):
        read_sidecar(path)


def test_a_broken_sidecar_refuses_its_episode(db, tmp_path):
    make_episode(tmp_path / "第1集.mp4", 1.0)
    (tmp_path / "第1集.srt").write_text("1\n00:00:05,000 --> 00:00:02,000\n倒\n", "utf-8")
    with pytest.raises(InputError, match=r"第1集.mp4: .*第1集.srt:2: 结束时间早于开始时间"):
        add_drama(db, [tmp_path])
