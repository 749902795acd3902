"""The web app's library pieces without a browser: uploads, saved settings and the key
file, login parsing, render slots, error translation, the backend badge, edited scripts."""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import replace

import gradio as gr
import pytest
from conftest import PROJECT_ROOT, SAMPLES
from PIL import Image

from workbench.config import load_settings
from workbench.errors import InputError, RenderError
from workbench.materials.library import add_material
from workbench.models import MakeJob
from workbench.pipeline import run_job
from workbench.settings_file import (
    delete_api_key,
    key_file,
    save_api_key,
    save_settings,
    settings_path,
)
from workbench.ui import choices, parse_auth, render_slots
from workbench.ui.common import backend_badge, handler
from workbench.ui.create import table_script
from workbench.uploads import inside_uploads, list_uploads, store_upload, uploads_dir
from workbench.voice.service import mark_down


# Uploads -------------------------------------------------------------------------------------
def test_uploads_are_checked_and_stored_under_home_with_our_own_name(settings, tmp_path):
    novel = tmp_path / "upload.bin"
    novel.write_bytes((SAMPLES / "night-ferry.txt").read_bytes())
    stored = store_upload(settings, "material", novel, "../../etc/passwd.txt")
    assert stored.parent == uploads_dir(settings, "material").resolve()
    assert stored.name.startswith("passwd-") and stored.suffix == ".txt"
    assert store_upload(settings, "material", novel, "again.txt").read_bytes() == (
        novel.read_bytes())
    assert len(list_uploads(settings, "material")) == 2

    with pytest.raises(InputError, match="不支持的小说素材文件类型「.exe」"):
        store_upload(settings, "material", novel, "novel.exe")
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="是空的"):
        store_upload(settings, "material", empty)
    huge = tmp_path / "huge.txt"
    with huge.open("wb") as fh:  # sparse: 31 MB on paper, nothing on disk
        fh.truncate(31 * 1024 * 1024)
    with pytest.raises(InputError, match="超过上限 30 MB"):
        store_upload(settings, "material", huge)
    assert not list(uploads_dir(settings, "material").glob(".*"))  # no partial files left


def test_a_chosen_upload_cannot_point_outside_the_uploads_folder(settings, tmp_path):
    clip = tmp_path / "bg.png"
    Image.new("RGB", (32, 48), "navy").save(clip)  # uploads are decoded: a real picture
    stored = store_upload(settings, "background", clip)
    assert inside_uploads(settings, "background", stored) == stored
    outside = tmp_path / "secret.png"
    outside.write_bytes(b"x")
    link = uploads_dir(settings, "background") / "link.png"
    link.symlink_to(outside)
    for path in (uploads_dir(settings, "background") / "../../../etc/passwd", "/etc/passwd",
                 outside, link, uploads_dir(settings, "bgm") / stored.name):
        with pytest.raises(InputError, match="只能选择已上传的背景素材"):
            inside_uploads(settings, "background", path)


# Settings saved from the app -----------------------------------------------------------------
def test_saved_settings_keep_the_files_comments_and_apply_on_the_next_read(settings):
    path = settings_path(settings)
    assert path == settings.home / "workbench.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("# studio settings\n[voice]\nrate = \"+5%\" # keep\n", encoding="utf-8")
    fresh = load_settings()
    save_settings(fresh, {"llm_base_url": "http://127.0.0.1:9/v1", "llm_model": "qwen-plus",
                          "voice_backend": "espeak", "voice": "cmn", "voice_rate": "+10%",
                          "voice_fallback": False, "render_profile": "draft"})
    text = path.read_text("utf-8")
    assert "# studio settings" in text and 'rate = "+10%"' in text and "api_key" not in text
    again = load_settings()
    assert (again.llm_base_url, again.llm_model, again.voice_rate, again.voice_fallback,
            again.render_profile) == ("http://127.0.0.1:9/v1", "qwen-plus", "+10%", False, "draft")
    assert again.sources["llm_model"] == "toml:llm.model"

    before = path.read_text("utf-8")
    with pytest.raises(InputError, match="voice_fallback"):
        save_settings(again, {"voice_fallback": "maybe"})
    with pytest.raises(InputError, match="不能在网页里修改"):
        save_settings(again, {"home": "/"})
    assert path.read_text("utf-8") == before  # a bad value changes nothing
    # refused at 保存, not at the next render: the voice plan and the endpoint are checked whole
    for values, reason in (({"voice_rate": "fast"}, "语速 rate 格式不对: 'fast'"),
                           ({"voice_rate": "+300%"}, "超出范围"),
                           ({"voice_backend": "edge", "voice": "cmn"}, "不是 edge 音色"),
                           ({"llm_base_url": "api.deepseek.com/v1"}, "不是网址")):
        with pytest.raises(InputError, match=re.escape(reason)):
            save_settings(again, values)
        assert path.read_text("utf-8") == before


def test_web_errors_name_the_settings_page_not_environment_variables():
    from workbench.ui.common import for_web

    told = for_web("未配置大模型；请设置 OPENAI_API_KEY（本地模型只需设置 OPENAI_BASE_URL），"
                   "可调大 WORKBENCH_LLM_DEADLINE")
    assert told == ("未配置大模型；请在设置页填写「API Key」（本地模型只需在设置页填写「接口地址」），"
                    "可调大配置文件 workbench.toml 的 llm.deadline")
    assert for_web("读不了 /srv/wb/home/materials/3/夜渡.txt：权限不够；/tmp/a b 也不行") == (
        "读不了 夜渡.txt：权限不够；a b 也不行")
    assert for_web("无法连接 http://127.0.0.1:9/v1/chat，见 ~/x") == "无法连接 http://127.0.0.1:9/v1/chat，见 ~/x"


def test_the_api_key_lives_in_a_0600_file_and_is_never_shown(settings, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    path = save_api_key(settings.home, "  sk-live-abcdef123456  ")
    assert path == key_file(settings.home)
    assert path.read_text() == "sk-live-abcdef123456"
    assert path.stat().st_mode & 0o777 == 0o600 and path.parent.stat().st_mode & 0o777 == 0o700
    loaded = load_settings()
    assert loaded.llm_api_key == "sk-live-abcdef123456"
    assert loaded.sources["llm_api_key"] == "file:secrets/llm_api_key"
    assert "sk-live" not in repr(loaded) and "abcdef" not in json.dumps(loaded.masked(),
                                                                        default=str)
    assert "在线模式" in backend_badge(loaded) and "abcdef" not in backend_badge(loaded)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env-999999")
    assert load_settings().llm_api_key == "sk-from-env-999999"  # the environment wins
    with pytest.raises(InputError, match="不能为空"):
        save_api_key(settings.home, "two words")
    delete_api_key(settings.home)
    monkeypatch.delenv("OPENAI_API_KEY")
    assert load_settings().llm_api_key is None
    assert "sk-live" not in caplog.text


def test_the_badge_names_the_active_backends(settings, monkeypatch):
    assert backend_badge(settings) == "离线模式: 规则改写 + espeak（cmn）"
    monkeypatch.setenv("WORKBENCH_VOICE_BACKEND", "auto")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    badge = backend_badge(load_settings())
    assert badge.startswith("在线模式: LLM 改写（gpt-4o-mini） + edge 配音（zh-CN-XiaoxiaoNeural）")
    assert "回退到 espeak" in badge
    mark_down("edge", "DNS")  # what the start-up probe records on an offline machine
    assert backend_badge(load_settings()) == (
        "在线模式: LLM 改写（gpt-4o-mini） + espeak 配音（cmn）")
    monkeypatch.delenv("OPENAI_BASE_URL")
    assert backend_badge(load_settings()) == (
        "离线模式: 规则改写 + espeak（cmn）（edge 连不上，已自动改用离线配音）")
    monkeypatch.setenv("WORKBENCH_VOICE_FALLBACK", "false")  # no fallback: edge it is, or fail
    assert backend_badge(load_settings()) == (
        "在线模式: 规则改写 + edge 配音（zh-CN-XiaoxiaoNeural）")


def test_the_start_up_probe_marks_edge_down_when_its_host_does_not_resolve(settings,
                                                                          monkeypatch):
    from workbench.ui import app
    from workbench.voice import reach
    from workbench.voice.service import down_reason

    assert app.probe_edge(settings) is None  # espeak configured: nothing to probe
    monkeypatch.setenv("WORKBENCH_VOICE_BACKEND", "auto")
    monkeypatch.setattr(reach, "EDGE_HOST", "edge.invalid")  # RFC 2606: never resolves
    app.probe_edge(load_settings()).join(10)
    assert "edge.invalid" in down_reason("edge")


def test_the_badge_checks_edge_again_when_its_down_mark_runs_out(settings, monkeypatch):
    """An expired mark does not mean edge is back: the badge asks again before it says 在线."""
    import time

    from workbench.voice import reach, service

    monkeypatch.setenv("WORKBENCH_VOICE_BACKEND", "auto")
    monkeypatch.setattr(reach, "EDGE_HOST", "edge.invalid")
    monkeypatch.setitem(service._down, "edge", (time.monotonic() - 1, "旧的记录"))
    assert backend_badge(load_settings()) == (
        "离线模式: 规则改写 + espeak（cmn）（edge 连不上，已自动改用离线配音）")
    assert "再次检查：连不上 edge.invalid" in service.down_reason("edge")
    # the host answers again: the mark goes and the badge says edge
    monkeypatch.setattr(reach, "EDGE_HOST", "localhost")
    monkeypatch.setitem(service._down, "edge", (time.monotonic() - 1, "旧的记录"))
    assert backend_badge(load_settings()).startswith("在线模式: 规则改写 + edge 配音")
    assert "edge" not in service._down


# Launch options ------------------------------------------------------------------------------
def test_login_pairs_and_render_slots(monkeypatch):
    assert parse_auth(None) is None and parse_auth("  ") is None
    assert parse_auth("alice:pw1, bob:p:w2") == [("alice", "pw1"), ("bob", "p:w2")]
    for bad in ("alice", "alice:", ":pw", "alice:pw,bob"):
        with pytest.raises(InputError, match="WORKBENCH_AUTH"):
            parse_auth(bad)
    assert [render_slots(n) for n in (1, 2, 3, 8)] == [1, 1, 1, 4]
    monkeypatch.setenv("WORKBENCH_RENDER_SLOTS", "3")
    assert render_slots(2) == 3
    monkeypatch.setenv("WORKBENCH_RENDER_SLOTS", "many")
    with pytest.raises(InputError, match="正整数"):
        render_slots()


def test_handler_turns_errors_into_one_clear_line(caplog):
    @handler
    def clear() -> None:
        raise RenderError("渲染失败: <tail of ffmpeg> 'x.mp4' \"y\"")

    @handler
    def broken() -> None:
        raise KeyError("x")

    with pytest.raises(gr.Error) as shown:
        clear()
    # HTML-escaped for the modal, quotes left as they are (an API client reads them too)
    assert shown.value.message == "渲染失败: &lt;tail of ffmpeg&gt; 'x.mp4' \"y\""
    with pytest.raises(gr.Error) as hidden:
        broken()
    assert "内部错误（KeyError）" in hidden.value.message and "Traceback" not in (
        hidden.value.message)
    assert "Traceback" in caplog.text  # the server log keeps the details


# Edited scripts ------------------------------------------------------------------------------
def test_edited_script_rows_and_tags():
    script = table_script({"template_id": "tiny"},
                           {"headers": ["段落", "文案"], "data": [["hook", " 钩子 "], ["", ""],
                                                                 ["", "无名段"]]},
                           " 标题 ", "文案", "#小说推文 追更，#书荒")
    assert script["segments"] == [{"name": "hook", "text": "钩子"},
                                  {"name": "段落2", "text": "无名段"}]
    assert script["hashtags"] == ["小说推文", "追更", "书荒"] and script["title"] == "标题"
    assert script["template_id"] == "tiny"
    with pytest.raises(InputError, match="脚本是空的"):
        table_script({}, [["hook", "  "]], "", "", "")


def test_run_job_uses_the_edited_script_and_makes_a_separate_package(settings, db, tmp_path,
                                                                     monkeypatch):
    from tiny_templates import write_templates

    monkeypatch.setenv("WORKBENCH_TEMPLATES_DIR", str(write_templates(tmp_path / "tpl")))
    settings = load_settings()
    material, _ = add_material(db, SAMPLES / "night-ferry.txt")
    base = MakeJob(material_id=material["id"], chapter=2, template="tiny", keyword="夜渡迷局",
                   profile="draft", bgm="none")
    plain = run_job(base, settings, db)
    script = json.loads((settings.outputs_dir / "jobs" / plain.submission_id / "script.json")
                        .read_text("utf-8"))
    script["segments"][0]["text"] = "午夜的渡船，只载一个人。"
    script["title"] = "编辑后的标题"
    edited = run_job(replace(base, script=script), settings, db)
    assert edited.submission_id != plain.submission_id
    assert "午夜的渡船" in (edited.package / "subtitles.srt").read_text("utf-8")
    assert edited.manifest["title"] == "编辑后的标题" and edited.manifest["script_edited"]
    assert edited.manifest["jobs"]["script"] is None  # no template/rewrite run for it
    with pytest.raises(InputError, match="没有任何文字"):
        run_job(replace(base, script={"segments": [{"name": "hook", "text": " "}]}), settings, db)
    with pytest.raises(InputError, match="格式不对"):
        run_job(replace(base, script={"segments": [{"bad": 1}]}), settings, db)
    # neither failure left a package (or a staging folder) behind
    assert set(os.listdir(settings.submissions_dir)) == {plain.submission_id,
                                                         edited.submission_id}


def test_picking_a_template_sets_the_voice_it_asks_for(settings):
    """The bundled templates ask for a voice (front matter `voice:`); the 配音 controls follow
    unless the user set their own in the settings."""
    assert choices.template_voice(settings, "suspense") == ("cmn", 20)  # male, +20%
    assert choices.template_voice(settings, "emotional") == ("cmn+f3", 10)  # female, +10%
    assert choices.template_voice(settings, "comeback") == ("cmn", 25)
    (settings.home / "templates").mkdir(parents=True)
    plain = (PROJECT_ROOT / "templates" / "suspense.j2").read_text("utf-8").replace(
        "voice:\n  rate: \"+20%\"\n  gender: male\n", "").replace("id: suspense", "id: plain")
    (settings.home / "templates" / "plain.j2").write_text(plain, "utf-8")
    assert choices.template_voice(settings, "plain") == (None, None)  # controls left alone


def test_a_refused_novel_upload_leaves_no_copy(settings, tmp_path):
    from workbench.ui.materials import import_novel

    binary = tmp_path / "novel.txt"
    binary.write_bytes(bytes(range(256)) * 64)  # not text in any encoding
    with pytest.raises(InputError):
        import_novel(str(binary))
    assert list_uploads(settings, "material") == []
    assert not any(uploads_dir(settings, "material").glob("*"))


def test_a_built_in_animation_choice_names_the_animation(settings):
    """No background means the reading page now: the gallery's 内置动画 must say generated."""
    from workbench.render.backgrounds import resolve_background
    from workbench.ui.choices import background_spec

    spec, seed = background_spec(settings, "generated:2")
    assert (spec, seed) == ("generated", 2)
    assert resolve_background(spec, seed=seed).kind == "generated"


def test_the_locale_script_goes_first_in_the_head_and_nowhere_else():
    from workbench.ui.locale import SCRIPT, with_script

    page = b'<!doctype html><html><head lang="x"><script type="module" src="a.js"></script>'
    shown = with_script(page)
    assert shown.startswith(b'<!doctype html><html><head lang="x">' + SCRIPT + b"<script type")
    assert with_script(b'{"not": "a page"}') == b'{"not": "a page"}'
