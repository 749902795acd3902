"""创作's projects (store/projects.py): per owner, every field saved, a render valid only for the
form it was made from, the old single draft carried over by m012."""

from __future__ import annotations

import json
import threading

import pytest
from sqlite_utils import Database

from workbench.errors import InputError
from workbench.platform.history import history_of
from workbench.store import open_db
from workbench.store.migrations import migrations
from workbench.store.projects import (
    MAX_NAME,
    claim_shared,
    create_project,
    delete_project,
    form_hash,
    get_project,
    list_projects,
    rename_project,
    save_fields,
    set_render,
)


def test_projects_are_per_owner_and_keep_every_field(db):
    first = create_project(db, "alice", "夜渡 第二章", actor="app:alice")
    second = create_project(db, "alice", "  ")
    other = create_project(db, "bob", "bob 的")
    assert get_project(db, "alice", second)["name"] == "项目 2"
    save_fields(db, "alice", first, material=1, chapter=2, rate=20.0, keyword="夜渡迷局")
    fields = save_fields(db, "alice", first, voice="cmn", pitch=-5, profile="final")
    assert fields == {"material": 1, "chapter": 2, "rate": 20, "keyword": "夜渡迷局",
                      "voice": "cmn", "pitch": -5, "profile": "final"}
    assert get_project(db, "alice", second)["fields"] == {}
    assert [p["id"] for p in list_projects(db, "alice")] == [first, second]  # last changed first
    assert [p["id"] for p in list_projects(db, "bob")] == [other]
    with pytest.raises(InputError, match=f"没有项目 {other}"):  # another owner's is unknown
        get_project(db, "alice", other)
    with pytest.raises(InputError, match="没有项目"):
        save_fields(db, "alice", other, keyword="偷改")
    assert get_project(db, "bob", other)["fields"] == {}
    with pytest.raises(ValueError, match="unknown project fields"):
        save_fields(db, "alice", first, colour="red")

    rename_project(db, "alice", first, "夜渡 终稿", actor="app:alice")
    with pytest.raises(InputError, match=f"最多 {MAX_NAME} 个"):
        rename_project(db, "alice", first, "长" * (MAX_NAME + 1))
    assert get_project(db, "alice", first)["name"] == "夜渡 终稿"
    delete_project(db, "alice", second)
    assert [p["id"] for p in list_projects(db, "alice")] == [first]
    actions = [h["action"] for h in history_of(db, "project", first)]
    assert actions == ["create", "rename"] and history_of(db, "project", second)[-1]["action"] == (
        "delete")


def test_a_render_belongs_to_the_form_it_was_made_from(db):
    project = create_project(db, "alice")
    fields = save_fields(db, "alice", project, material=1, chapter=2, rate=20, keyword="夜渡迷局")
    made = form_hash(fields)
    assert made == form_hash({**fields, "rate": 20.0, "preview": "/tmp/x.wav"})  # not the form
    set_render(db, "alice", project, "running", started="now")
    with pytest.raises(InputError, match="正在渲染"):
        delete_project(db, "alice", project)
    set_render(db, "alice", project, "done", job=7, submission="abc", form_hash=made)
    render = get_project(db, "alice", project)["render"]
    assert render["status"] == "done" and render["job"] == 7 and render["form_hash"] == made
    changed = save_fields(db, "alice", project, rate=25)
    assert form_hash(changed) != made
    assert form_hash(save_fields(db, "alice", project, rate=20)) == made  # changed back
    with pytest.raises(ValueError):
        set_render(db, "alice", project, "paused")


def test_fields_saved_at_the_same_moment_keep_every_update(tmp_path):
    path = tmp_path / "w.db"
    db = open_db(path)
    project = create_project(db, "alice")
    names = ["material", "chapter", "template", "prompt", "keyword", "app"]
    errors: list[BaseException] = []

    def save(name: str) -> None:
        try:
            mine = open_db(path)
            for n in range(5):
                save_fields(mine, "alice", project, **{name: n})
            mine.close()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=save, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert get_project(db, "alice", project)["fields"] == {n: 4 for n in names}


def test_a_project_that_grows_too_big_is_refused_and_the_stored_one_kept(db):
    project = create_project(db, "alice")
    save_fields(db, "alice", project, keyword="夜渡迷局")
    with pytest.raises(InputError, match="项目内容太大"):
        save_fields(db, "alice", project, highlights=[["x" * 1000]] * 3000)
    assert get_project(db, "alice", project)["fields"] == {"keyword": "夜渡迷局"}


def test_m012_turns_each_old_draft_into_a_first_project(tmp_path):
    db = Database(tmp_path / "old.db")
    migrations.apply(db, stop_before="m012_projects")
    script = {"title": "末班夜渡", "segments": [{"name": "hook", "text": "开头"}]}
    state = {"material": {"material": 1, "chapter": 2},
             "script": {"material": 1, "chapter": 2, "template": "tiny", "keyword": "夜渡迷局",
                        "app": "番茄小说", "task": None, "script": script},
             "voice": {"voice": "cmn", "rate": 20, "preview": "/x/hook.wav"},
             "background": {"background": "generated:3", "bgm": "none",
                            "subtitle_style": "karaoke"},
             "render": {"submission": "abc123", "profile": "draft", "zip": "/x/a.zip",
                        "report": "**成品包 abc123**"}}
    db["drafts"].insert_all([
        {"owner": "local", "step": "render", "state": json.dumps(state), "updated_at": "t1"},
        {"owner": "alice", "step": "material", "state": json.dumps(
            {"material": {"material": 3, "chapter": 1}}), "updated_at": "t2"},
        {"owner": "carol", "step": "script", "state": "{not json", "updated_at": "t3"}])
    migrations.apply(db)

    (shared,) = list_projects(db, "local")
    assert shared["name"] == "草稿（升级前）"
    assert shared["fields"] == {
        "material": 1, "chapter": 2, "template": "tiny", "keyword": "夜渡迷局", "app": "番茄小说",
        "task": None, "script": script, "script_base": script, "voice": "cmn", "rate": 20,
        "preview": "/x/hook.wav", "background": "generated:3", "bgm": "none",
        "subtitle_style": "karaoke", "profile": "draft"}
    assert shared["render"]["submission"] == "abc123" and shared["render"]["status"] == "done"
    assert list_projects(db, "alice")[0]["fields"] == {"material": 3, "chapter": 1}
    assert list_projects(db, "carol") == []  # unreadable: nothing to carry over

    # without login, the first browser to open the app takes the shared draft's project
    assert claim_shared(db, "browser:1f2e") == 1
    assert list_projects(db, "local") == [] and list_projects(db, "browser:1f2e")
    assert claim_shared(db, "browser:other") == 0


# The page's side (ui/projects.py, ui/render_job.py), without a browser -------------------------
def test_a_login_decides_the_owner_and_a_browser_id_must_be_ours():
    from types import SimpleNamespace

    from workbench.ui.projects import page_owner

    alice = SimpleNamespace(username="alice")
    assert page_owner(alice, "f" * 32) == ("alice", "f" * 32)  # the browser cannot switch user
    assert page_owner(alice, "bob")[0] == "alice"
    assert page_owner(None, "a" * 32) == ("browser:" + "a" * 32, "a" * 32)
    owner, fresh = page_owner(SimpleNamespace(username=None), "../alice")
    assert owner == f"browser:{fresh}" and len(fresh) == 32 and fresh != "../alice"


def test_the_page_shows_a_render_only_for_its_form_and_cancel_clears_it(db, settings):
    from workbench.ui import render_job

    project = create_project(db, "alice")
    here = {"owner": "alice", "project": project}
    fields = save_fields(db, "alice", project, material=1, keyword="夜渡迷局")
    folder = settings.submissions_dir / "abc123"
    folder.mkdir(parents=True)
    for name in ("video.mp4", "cover.jpg"):
        (folder / name).write_bytes(b"x")
    (folder / "caption.txt").write_text("文案", encoding="utf-8")
    set_render(db, "alice", project, "done", submission="abc123", report="**成品包 abc123**",
               form_hash=form_hash(fields))
    shown = render_job.shown(db, settings, get_project(db, "alice", project))
    assert shown["video"] == str(folder / "video.mp4") and shown["caption_out"] == "文案"

    save_fields(db, "alice", project, keyword="别的口令")
    shown = render_job.shown(db, settings, get_project(db, "alice", project))
    assert shown["video"] is None and "不再对应" in shown["status"]

    set_render(db, "alice", project, "running")  # left running by an app that has stopped
    shown = render_job.shown(db, settings, get_project(db, "alice", project))
    assert "中断" in shown["report"]
    assert get_project(db, "alice", project)["render"]["status"] == "interrupted"

    run = render_job.begin("alice", project)
    with pytest.raises(InputError, match="正在渲染"):
        render_job.begin("alice", project)
    try:
        video, cover, caption, zipped, report, _ = render_job.cancel_render(here)
    finally:
        render_job._running.clear()
    assert run.cancel.is_set() and (video, cover, caption, zipped, report) == (
        None, None, "", None, "已取消")
    assert get_project(db, "alice", project)["render"]["status"] == "cancelled"
