"""Dramas in the web app over HTTP with gradio_client, against the real app process: the
sample drama's episodes and subtitles uploaded, highlights found, a segment previewed, a cut
package rendered from a ticked row; a bad time range and a bad episode file refused in
Chinese, without server paths."""
# ruff: noqa: F811

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from app_server import start_app
from drama_fixtures import SampleDrama, sample_drama  # noqa: F401
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from workbench.drama.uploads import clean_name, drama_uploads_dir, store_drama_upload
from workbench.errors import InputError
from workbench.render.probe import probe
from workbench.ui.drama_create import HEADERS, ticked_segments

KEYWORD = "夜渡迷局"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    app = start_app(tmp_path_factory.mktemp("drama-app"), extra_env={
        "WORKBENCH_RENDER_SLOTS": "1", "WORKBENCH_REWRITE_BACKEND": "rules",
        "WORKBENCH_END_CARD_SECONDS": "1"})
    yield app
    app.stop()


@pytest.fixture(scope="module")
def client(server):
    return Client(server.url, verbose=False)


def episode_files(sample: SampleDrama) -> list[Path]:
    return [p for e in sample.episodes for p in (e, e.with_suffix(".srt"))]


@pytest.fixture(scope="module")
def drama(client, sample_drama) -> int:
    choice, note, table = client.predict(
        [handle_file(str(p)) for p in episode_files(sample_drama)], False,
        api_name="/upload_drama")
    assert note.startswith("已导入短剧《夜渡》：3 集"), note
    row = next(r for r in table["data"] if r[0] == choice["value"])
    assert row[1:3] == ["夜渡", "短剧"] and row[5] == 3
    return int(choice["value"])


def highlights(client, drama: int) -> dict:
    table, note = client.predict(drama, api_name="/find_highlights")
    assert "按得分排名" in note
    return table


def test_upload_find_preview_and_render_a_cut(client, server, drama, sample_drama, tmp_path):
    table = highlights(client, drama)
    rows = table["data"]
    assert len(rows) >= 3 and all(len(r) == 7 for r in rows)
    assert all(r[0] is False for r in rows)  # nothing ticked until the user ticks
    scores = [r[4] for r in rows]
    assert scores == sorted(scores, reverse=True) and scores[0] > 0
    assert any(r[5] for r in rows) and any(r[6] for r in rows)  # reasons and lines shown
    assert {r[1] for r in rows} <= {1, 2, 3}

    first = rows[0]
    clip = Path(client.predict(drama, table, 1, api_name="/preview_segment"))
    info = probe(clip)
    assert info.height == 640 and info.duration == pytest.approx(first[3] - first[2], abs=0.2)
    cached = server.home / "cache" / "previews" / "segments"
    made = {p: p.stat().st_mtime_ns for p in cached.glob("*.mp4")}
    assert len(made) == 1
    client.predict(drama, table, 1, api_name="/preview_segment")
    assert {p: p.stat().st_mtime_ns for p in cached.glob("*.mp4")} == made  # cached, not remade

    # the shortest candidate ticked: that range, and only it, is the video
    pick = min(range(len(rows)), key=lambda i: rows[i][3] - rows[i][2])
    rows[pick][0] = True
    video, cover, caption, package, report = client.predict(
        drama, "cut", KEYWORD, "番茄小说", table, "cmn", 0, "none", "draft",
        api_name="/render_drama")
    seconds = rows[pick][3] - rows[pick][2]
    info = probe(Path(video))
    assert (info.width, info.height) == (720, 1280)
    assert info.duration == pytest.approx(seconds + 1, abs=0.15)  # segment + 1 s end card
    assert Path(cover).stat().st_size > 5_000 and KEYWORD in caption
    assert "720×1280" in report
    with zipfile.ZipFile(package) as zipped:
        manifest = json.loads(zipped.read(f"{Path(package).stem}/manifest.json"))
    [used] = manifest["drama"]["episodes"]
    assert used["episode"] == rows[pick][1]
    # the range as ticked; the render rounds each segment to whole frames of the profile
    assert used["ranges"] == [pytest.approx([rows[pick][2], rows[pick][3]], abs=0.041)]


def test_a_bad_time_range_and_no_ticked_row_are_refused_in_chinese(client, server, drama):
    table = highlights(client, drama)
    row = table["data"][0]
    row[0], row[1], row[2], row[3] = True, 1, 5, 999
    with pytest.raises(AppError) as past_end:
        client.predict(drama, "cut", KEYWORD, "", table, "cmn", 0, "none", "draft",
                       api_name="/render_drama")
    assert "片段「1:5-999」超出了第 1 集的结尾" in str(past_end.value)
    with pytest.raises(AppError) as preview:
        client.predict(drama, table, 1, api_name="/preview_segment")
    assert "超出了第 1 集的结尾" in str(preview.value)
    row[2], row[3] = 8, 4
    with pytest.raises(AppError) as backwards:
        client.predict(drama, "cut", KEYWORD, "", table, "cmn", 0, "none", "draft",
                       api_name="/render_drama")
    assert "结束不晚于开始" in str(backwards.value)
    row[2] = "八秒"
    with pytest.raises(AppError) as words:
        client.predict(drama, "cut", KEYWORD, "", table, "cmn", 0, "none", "draft",
                       api_name="/render_drama")
    assert "第 1 行的开始应为秒数" in str(words.value)
    for r in table["data"]:
        r[0] = False
    with pytest.raises(AppError) as none_ticked:
        client.predict(drama, "cut", KEYWORD, "", table, "cmn", 0, "none", "draft",
                       api_name="/render_drama")
    assert "还没有选片段" in str(none_ticked.value)
    with pytest.raises(AppError) as novel_template:
        row[0], row[2], row[3] = True, 0, 4
        client.predict(drama, "tiny", KEYWORD, "", table, "cmn", 0, "none", "draft",
                       api_name="/render_drama")
    assert "请选择脚本模板（可选：" in str(novel_template.value)
    with pytest.raises(AppError) as novel_step:  # the novel's script step with a drama
        client.predict(drama, None, "tiny", "narration", KEYWORD, "",
                       api_name="/generate_script")
    assert "这是短剧，没有章节" in str(novel_step.value)
    for exc in (past_end, preview, backwards, words, none_ticked, novel_template, novel_step):
        text = str(exc.value)
        assert "--segments" not in text and str(server.home) not in text
        assert "Traceback" not in text
    assert "Traceback" not in server.log.read_text("utf-8", "replace")


def test_a_bad_episode_is_named_and_skip_bad_imports_the_rest(client, server, sample_drama,
                                                               tmp_path):
    bad = tmp_path / "夜渡 - 第9集.mp4"
    bad.write_bytes(b"not a video at all" * 100)
    good = sample_drama.episodes[0]
    files = [handle_file(str(good)), handle_file(str(bad))]
    with pytest.raises(AppError) as refused:
        client.predict(files, False, api_name="/upload_drama")
    text = str(refused.value)
    assert "夜渡 - 第9集.mp4: 不是视频文件" in text and "勾选「跳过坏文件」" in text
    assert str(server.home) not in text and "--skip-bad" not in text
    _, note, _ = client.predict(files, True, api_name="/upload_drama")
    assert "：1 集" in note and "跳过 夜渡 - 第9集.mp4" in note


def test_a_zip_of_the_folder_imports_the_same_drama(client, drama, sample_drama, tmp_path):
    archive = tmp_path / "夜渡.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in episode_files(sample_drama):
            zipped.write(path, f"夜渡/{path.name}")
        zipped.writestr("../../escape.srt", "1\n00:00:01,000 --> 00:00:02,000\n无主字幕\n")
        zipped.writestr("notes.txt", "ignored")
    choice, note, _ = client.predict([handle_file(str(archive))], False,
                                     api_name="/upload_drama")
    assert int(choice["value"]) == drama and "已在素材库中" in note


def test_episode_names_from_a_chinese_windows_zip_keep_their_numbers(tmp_path, settings):
    """Windows writes GBK names without the UTF-8 flag: 第12集 must not arrive as mojibake,
    or the episodes lose their order."""
    names = ["夜渡 - 第2集.mp4", "夜渡 - 第12集.mp4"]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zipped:  # ASCII stand-ins of the same byte length
        for i, name in enumerate(names):
            zipped.writestr(f"{i}".ljust(len(name.encode("gbk")), "_"), b"x")
    raw = buffer.getvalue()
    for i, name in enumerate(names):
        raw = raw.replace(f"{i}".ljust(len(name.encode("gbk")), "_").encode(), name.encode("gbk"))
    archive = tmp_path / "剧.zip"
    archive.write_bytes(raw)
    folder = store_drama_upload(settings, [(archive, archive.name)])
    assert sorted(p.name for p in folder.iterdir()) == sorted(names)


def test_uploads_stay_in_their_folder_and_are_bounded(tmp_path, settings):
    archive = tmp_path / "剧.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("../../第1集.mp4", b"x")
        zipped.writestr("a/b/第1集.srt", b"y")
        zipped.writestr("__MACOSX/._第1集.mp4", b"z")
    folder = store_drama_upload(settings, [(archive, archive.name)])
    assert folder.parent == drama_uploads_dir(settings)
    assert sorted(p.name for p in folder.iterdir()) == ["第1集.mp4", "第1集.srt"]
    assert clean_name("..\\..\\evil name?.MKV") == "evil name.mkv"
    text = tmp_path / "notes.txt"
    text.write_text("x", "utf-8")
    with pytest.raises(InputError, match="不支持的文件类型「notes.txt」"):
        store_drama_upload(settings, [(text, text.name)])
    srt = tmp_path / "第1集.srt"
    srt.write_text("x", "utf-8")
    with pytest.raises(InputError, match="没有收到剧集视频"):
        store_drama_upload(settings, [(srt, srt.name)])
    with pytest.raises(InputError, match="有同名文件：第1集.srt"):
        store_drama_upload(settings, [(srt, srt.name), (archive, archive.name)])


def test_table_rows_become_segments():
    table = {"headers": HEADERS, "data": [
        [True, 1, 2.5, 8, 3.1, "", ""], ["false", 2, 1, 4, 1, "", ""],
        ["true", "3", "6.28", "17.88", 1, "", ""], [None, None, None, None, None, None, None]]}
    assert ticked_segments(table) == ((1, 2.5, 8.0), (3, 6.28, 17.88))
    with pytest.raises(InputError, match="第 1 行的集数应为正整数"):
        ticked_segments([[True, 1.5, 1, 2]])
    with pytest.raises(InputError, match="第 2 行的结束应为秒数"):
        ticked_segments([[False, 1, 1, 2], [True, 1, 1, "inf"]])
