"""The web app over HTTP with gradio_client, as another Python program would use it: the real
app process, real uploads, a real draft render, the package fetched as a zip."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest
from app_server import start_app
from conftest import SAMPLES
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from gradio_client.utils import Status
from llm_server import LLMServer

from workbench.package import CONTENT_FILES
from workbench.render.probe import probe
from workbench.settings_file import save_api_key

AUTH = ("alice", "pw1")
KEYWORD = "夜渡迷局"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("app")
    save_api_key(root / "home", "sk-test-secret-0123456789")  # must never be served
    app = start_app(root, auth="alice:pw1,bob:pw2", extra_env={
        "WORKBENCH_RENDER_SLOTS": "1", "WORKBENCH_REWRITE_BACKEND": "rules"})
    yield app
    app.stop()


@pytest.fixture(scope="module")
def client(server):
    return Client(server.url, auth=AUTH, verbose=False)


@pytest.fixture(scope="module")
def material(client) -> int:
    choice, note, table = client.predict(handle_file(str(SAMPLES / "night-ferry.gbk.txt")),
                                         api_name="/upload_material")
    assert "gb18030" in note and "7 章" in note
    assert table["data"][0][1] == "末班夜渡"
    return int(choice["value"])


def _script(client, material: int, keyword: str = KEYWORD):
    return client.predict(material, 2, "tiny", "narration", keyword, "番茄小说",
                          api_name="/generate_script")


def test_upload_generate_edit_render_and_fetch_the_package(client, server, material, tmp_path):
    segments, title, caption, hashtags, note = _script(client, material)
    assert [row[0] for row in segments["data"]] == ["hook", "body", "cta"]
    assert KEYWORD in segments["data"][2][1] and title and "#" in hashtags
    assert "rules" in note
    segments["data"][0][1] = "渡口的灯，在午夜十二点准时熄灭。"  # the user's own hook

    audio, voice_note = client.predict(segments, "cmn", 10, api_name="/preview_voice")
    assert Path(audio).stat().st_size > 10_000 and "espeak" in voice_note

    video, cover, caption_out, package, report = client.predict(
        material, 2, "tiny", "narration", KEYWORD, "番茄小说", segments, "我改过的标题",
        caption, hashtags, "cmn", 0, "generated:2", "generated", "draft", api_name="/render")
    info = probe(Path(video))
    assert (info.width, info.height) == (720, 1280) and info.duration > 2
    assert Path(cover).stat().st_size > 10_000
    assert caption_out.startswith("我改过的标题") and KEYWORD in caption_out
    assert "AIGC 元数据完整" in report

    with zipfile.ZipFile(package) as zipped:
        names = zipped.namelist()
        submission_id = Path(package).stem
        assert sorted(Path(n).name for n in names if not n.endswith("/")) == sorted(
            [*CONTENT_FILES, "manifest.json"])
        manifest = json.loads(zipped.read(f"{submission_id}/manifest.json"))
        srt = zipped.read(f"{submission_id}/subtitles.srt").decode("utf-8")
    assert manifest["title"] == "我改过的标题" and manifest["script_edited"] is True
    assert manifest["recipe"]["seed"] == 2 and manifest["render"]["profile"] == "draft"
    assert "渡口的灯" in srt  # the edited hook was spoken and subtitled

    # The package stored by the server is the one the zip came from; stored under HOME.
    assert (server.home / "submissions" / submission_id / "video.mp4").is_file()
    assert list((server.home / "uploads" / "materials").glob("night-ferry_gbk-*.txt"))

    table = client.predict("", api_name="/list_submissions")
    assert submission_id in [row[0] for row in table["data"]]
    again = client.predict(submission_id[:6], api_name="/download_package")
    assert Path(again).name == f"{submission_id}.zip" and zipfile.is_zipfile(again)
    *_, detail = client.predict(submission_id[:6], api_name="/open_submission")
    assert submission_id in detail and "通过" in detail


def test_the_readmes_endpoints_are_the_apps(client):
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    start = readme.index("The main actions are API endpoints")
    end = readme.index("From another Python program", start)
    documented = set(re.findall(r"`(/[a-z_]+)`", readme[start:end]))
    named = set(client.view_api(return_format="dict", print_info=False)["named_endpoints"])
    assert documented == named, (documented - named, named - documented)  # every one, no other


def test_errors_come_back_as_the_clis_text_without_a_traceback(client, material, tmp_path):
    with pytest.raises(AppError) as missing_keyword:
        _script(client, material, keyword="  ")
    assert str(missing_keyword.value) == "请填写口令（任务平台给的搜索词）"
    with pytest.raises(AppError) as emoji:  # the keyword rules `make` and `script` apply
        _script(client, material, keyword="夜渡😀迷局")
    assert str(emoji.value) == ("口令「夜渡😀迷局」第 3 个字符「😀」是符号或表情："
                                "口令只能由汉字、英文字母和数字组成")
    with pytest.raises(AppError) as spaced:  # the render checks it too, before any work
        client.predict(material, 2, "tiny", "narration", "夜渡 迷局", "", {"headers": ["a", "b"],
                       "data": [["hook", "一句话"]]}, "t", "c", "", "cmn", 0, "generated:0",
                       "generated", "draft", api_name="/render")
    assert "口令「夜渡 迷局」第 3 个字符" in str(spaced.value)
    assert "是空白或不可见字符" in str(spaced.value)

    with pytest.raises(AppError) as unknown:
        client.predict(999, 1, "tiny", "narration", KEYWORD, "", api_name="/generate_script")
    assert "找不到素材 #999" in str(unknown.value) and "#1 末班夜渡" in str(unknown.value)

    answers = set()  # a path instead of a template id: refused alike, existing or not
    for path in ("/etc/hostname", "/no/such/file.j2", "../../templates/suspense.j2"):
        with pytest.raises(AppError) as outside:
            client.predict(material, 2, path, "narration", KEYWORD, "", api_name="/generate_script")
        answers.add(str(outside.value))
    assert len(answers) == 1 and answers.pop().startswith("请选择脚本模板（可选：")

    bad = tmp_path / "novel.exe"
    bad.write_bytes(b"MZ not a novel")
    with pytest.raises(AppError) as wrong_type:
        client.predict(handle_file(str(bad)), api_name="/upload_material")
    # Gradio's own file-type check answers first (the browser's picker uses the same list)
    assert "['.epub', '.txt']" in str(wrong_type.value)

    with pytest.raises(AppError) as escape:  # a background outside the uploads folder
        client.predict(material, 2, "tiny", "narration", KEYWORD, "", {"headers": ["a", "b"],
                       "data": [["hook", "一句话"]]}, "t", "c", "", "cmn", 0,
                       "upload:../../../etc/passwd", "generated", "draft", api_name="/render")
    assert "只能选择已上传的背景素材" in str(escape.value)
    for exc in (missing_keyword, emoji, spaced, unknown, wrong_type, escape):
        assert "Traceback" not in str(exc.value) and "File \"" not in str(exc.value)


def test_login_is_required_and_secrets_are_not_served(server):
    with pytest.raises(ValueError, match="Could not login"):
        Client(server.url, auth=("alice", "wrong"), verbose=False)
    with pytest.raises(ValueError):  # no credentials at all: the API is closed
        Client(server.url, verbose=False)
    Client(server.url, auth=("bob", "pw2"), verbose=False)  # a second account works
    key_file = server.home / "secrets" / "llm_api_key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    for path in (key_file, server.home / "workbench.db"):
        request = urllib.request.Request(f"{server.url}gradio_api/file={path}")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=5)
        assert refused.value.code in (401, 403, 404)
    assert "sk-test-secret" not in server.log.read_text("utf-8", "replace")


def test_renders_queue_one_at_a_time_and_report_the_queue_position(client, material):
    segments, _title, caption, hashtags, _ = _script(client, material)
    jobs = [client.submit(material, 2, "tiny", "narration", KEYWORD, "番茄小说", segments,
                          f"排队测试 {n}", caption, hashtags, "cmn", 0, f"generated:{n}",
                          "none", "draft", api_name="/render") for n in (0, 1)]
    seen: list[set[tuple[Status, int | None]]] = [set(), set()]
    while not all(job.done() for job in jobs):
        for job, statuses in zip(jobs, seen, strict=True):
            status = job.status()
            statuses.add((status.code, status.rank))
        time.sleep(0.02)
    results = [job.result() for job in jobs]
    assert all(Path(r[0]).is_file() for r in results)
    assert Path(results[0][3]).name != Path(results[1][3]).name  # two different packages
    # With one render slot, one of the two waited in the queue and was told its place.
    waited = [any(code == Status.IN_QUEUE and rank is not None for code, rank in statuses)
              for statuses in seen]
    assert any(waited), seen
    assert all(any(code == Status.PROGRESS for code, _ in statuses) for statuses in seen), seen


def test_the_llm_set_in_the_app_is_used_and_its_key_never_shown(tmp_path):
    """设置 saves an endpoint and key; 测试连接 and 生成脚本 then talk to a real local
    OpenAI-protocol server, and the key appears in no answer, log, file or database row."""
    with LLMServer() as llm:
        app = start_app(tmp_path, extra_env={"WORKBENCH_REWRITE_BACKEND": "auto"})
        try:
            client = Client(app.url, verbose=False)
            with pytest.raises(AppError, match="请先填写接口地址（本地模型）或 API Key"):
                client.predict("", "", "", api_name="/test_connection")
            # what is typed is tested, before anything is saved
            answer = client.predict(llm.base_url, "typed-model", "sk-typed-888888",
                                    api_name="/test_connection")
            assert answer.startswith("连接正常") and "typed-model" in answer
            assert llm.requests[-1].headers["authorization"] == "Bearer sk-typed-888888"
            with pytest.raises(AppError, match="不是网址") as refused:
                client.predict("api.deepseek.com", "m", "k", api_name="/test_connection")
            assert "OPENAI_" not in str(refused.value)
            from workbench.config import load_settings
            from workbench.settings_file import save_settings

            settings = load_settings({"WORKBENCH_HOME": str(app.home)}, cwd=tmp_path)
            save_settings(settings, {"llm_base_url": llm.base_url, "llm_model": "test-model"})
            save_api_key(app.home, "sk-app-secret-777777")
            answer = client.predict(llm.base_url, "test-model", "", api_name="/test_connection")
            assert answer.startswith("连接正常") and "test-model" in answer
            assert llm.requests[-1].headers["authorization"] == "Bearer sk-app-secret-777777"

            choice, *_ = client.predict(handle_file(str(SAMPLES / "night-ferry.txt")),
                                        api_name="/upload_material")
            *_, note = _script(client, int(choice["value"]))
            assert "openai" in note and "test-model" in note
            assert len(llm.chat_requests) == 3  # two connection tests and the rewrite
        finally:
            app.stop()
    leaked = [p for p in app.home.rglob("*") if p.is_file() and p.name != "llm_api_key"
              and b"sk-app-secret" in p.read_bytes()]
    assert leaked == [] and "sk-app-secret" not in app.log.read_text("utf-8", "replace")


def test_footage_is_tagged_into_the_library_from_the_app(client, tmp_path):
    from media_fixtures import make_episode

    clip = make_episode(tmp_path / "跑酷.mp4", 2.0)
    broken = tmp_path / "坏的.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 200)
    with pytest.raises(AppError, match="请先填写标签"):
        client.predict([handle_file(str(clip))], "", api_name="/add_to_library")
    note, table, gallery = client.predict([handle_file(str(clip)), handle_file(str(broken))],
                                          "解压 跑酷", api_name="/add_to_library")
    assert "加入素材库 1 个" in note and "跳过：" in note and "坏的" in note
    assert "/tmp" not in note and "home" not in note  # no server path
    assert [row[5] for row in table["data"]] == ["解压、跑酷"] and len(gallery) == 1


def test_subtitle_style_preview_is_one_frame_before_rendering(client):
    """创作's style dropdown: a still with the background, the banner and a sample line in the
    chosen style (karaoke caught half-way: said words yellow, the rest white)."""
    from PIL import Image

    still = client.predict("karaoke", "tiny", KEYWORD, "番茄小说", "generated:1",
                           api_name="/preview_subtitles")
    img = Image.open(still).convert("RGB")
    assert img.size == (1080, 1920)
    band = img.crop((0, 1250, 1080, 1460))
    colours = band.getcolors(1080 * 210) or []
    yellowish = sum(n for n, (r, g, b) in colours if r > 215 and 175 < g < 235 and b < 90)
    whitish = sum(n for n, (r, g, b) in colours if min(r, g, b) > 225)
    assert yellowish > 500 and whitish > 500
    with pytest.raises(AppError, match="neon"):  # not one of the dropdown's choices
        client.predict("neon", "tiny", KEYWORD, "番茄小说", "generated:1",
                       api_name="/preview_subtitles")


def test_the_app_sets_pitch_voice_volume_and_music_level(client, material):
    segments, title, caption, hashtags, _ = _script(client, material)
    *_, package, _report = client.predict(
        material, 2, "tiny", "narration", KEYWORD, "番茄小说", segments, title, caption,
        hashtags, "cmn", 0, "generated:1", "generated", "draft", None, 10, -10, 60,
        api_name="/render")
    with zipfile.ZipFile(package) as zipped:
        manifest = json.loads(zipped.read(next(n for n in zipped.namelist()
                                                if n.endswith("manifest.json"))))
    recipe = manifest["recipe"]
    assert (recipe["pitch"], recipe["volume"], recipe["bgm_volume"]) == ("+10Hz", "-10%", 0.6)
