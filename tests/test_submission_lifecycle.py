"""The submission lifecycle (platform/submissions_lifecycle.py): ready → published → settled, or
rejected with a reason; the publish link checked against the account's channel; every change in
the append-only history; published, settled and rejected packages never overwritten; the
`workbench submissions` commands and the app's 提交记录 tab over the same library.

Rows are written the way the lifecycle writes them (record_submission + record_created), so
only one test renders (a tiny draft remake racing a publish); real SQLite, the CLI through its
entry point.
"""

# The fixtures are imported by name, so test parameters "redefine" them:
# ruff: noqa: F811

from __future__ import annotations

import json
import sqlite3

import gradio as gr
import pytest
from batch_fixtures import NOVEL, batch_settings  # noqa: F401
from cli_runner import run_cli

from workbench.errors import InputError
from workbench.files import sha256_file
from workbench.materials.library import add_material
from workbench.models import MakeJob
from workbench.package import CONTENT_FILES, MANIFEST
from workbench.pipeline import run_job
from workbench.pipeline.job_plan import plan_job
from workbench.pipeline.lifecycle import claim, find_reusable
from workbench.platform.accounts import add_account
from workbench.platform.gate import bind_task
from workbench.platform.history import history_of
from workbench.platform.submissions_lifecycle import (
    publish,
    record_created,
    reject,
    settle,
    submission_history,
)
from workbench.store.submissions import get_submission, record_submission


def _row(db, submission_id: str, *, account: int | None = None, draft: int = 0,
         recipe_hash: str | None = None, path: str = "/nowhere") -> dict:
    row = {"id": submission_id, "recipe_hash": recipe_hash or submission_id, "keyword": "夜渡迷局",
           "path": path, "status": "ready", "account_id": account, "draft": draft,
           "title": "末班夜渡", "created_at": "2026-11-20T08:00:00+00:00"}
    record_submission(db, row)
    record_created(db, row, "test")
    return get_submission(db, submission_id)


def _unchanged(db, submission_id: str, before: dict, entries: int) -> None:
    assert get_submission(db, submission_id) == before
    assert len(history_of(db, "submission", submission_id)) == entries


# The publish link ----------------------------------------------------------------------------------
def test_publish_accepts_only_links_of_the_accounts_channel(db):
    douyin = add_account(db, "抖音", "dy_studio", None, actor="test")
    _row(db, "aaaa11112222", account=douyin["id"])
    for url in ("https://www.douyin.com/video/7300000000000000001", "https://v.douyin.com/iRNBho6/",
                "https://www.iesdouyin.com/share/video/7300000000000000001/",
                "http://DOUYIN.com./video/2"):
        row = publish(db, "aaaa11112222", url, actor="test")
        assert (row["status"], row["publish_url"]) == ("published", url)
    before, entries = get_submission(db, "aaaa11112222"), 5  # create + four publishes
    refused = {
        "https://v.kuaishou.com/abc": "它是快手的链接",
        "https://douyin.com.evil.cn/video/1": "域名 douyin.com.evil.cn 不属于账号的渠道「抖音」",
        "https://douyin.com@evil.cn/x": "域名 evil.cn 不属于账号的渠道「抖音」",
        "https://xdouyin.com/video/1": "域名 xdouyin.com 不属于",
        "https://evil.cn/?next=https://www.douyin.com/": "域名 evil.cn 不属于",
        "javascript:alert(1)//douyin.com": "应以 http:// 或 https:// 开头",
        "ftp://douyin.com/video/1": "应以 http:// 或 https:// 开头",
        "douyin 123": "应以 http:// 或 https:// 开头",
    }
    for url, says in refused.items():
        with pytest.raises(InputError) as caught:
            publish(db, "aaaa11112222", url, actor="test")
        assert says in str(caught.value), (url, str(caught.value))
        _unchanged(db, "aaaa11112222", before, entries)

    # without an account, any known channel's link is accepted and nothing else
    _row(db, "bbbb11112222")
    with pytest.raises(InputError, match="域名 evil.cn 不属于任何已知发布渠道"):
        publish(db, "bbbb11112222", "https://evil.cn/video/1", actor="test")
    assert publish(db, "bbbb11112222", "https://b23.tv/BV1xx", actor="test")["status"] == (
        "published")


# Transitions and history -----------------------------------------------------------------------
def test_transitions_follow_the_rules_and_every_change_is_in_history(db):
    _row(db, "cccc11112222")
    with pytest.raises(InputError, match="是待发布状态，不能改为已结算：先回填发布链接"):
        settle(db, "cccc11112222", actor="cli:ann")
    with pytest.raises(InputError, match="请用 --reason 写明退回的原因"):
        reject(db, "cccc11112222", "  ", actor="cli:ann")
    with pytest.raises(InputError, match="退回原因太长"):
        reject(db, "cccc11112222", "长" * 501, actor="cli:ann")
    first = publish(db, "cccc", "https://www.douyin.com/video/1", "2026-11-22", actor="cli:ann")
    assert (first["status"], first["published_at"]) == ("published", "2026-11-22")
    fixed = publish(db, "cccc", "https://www.douyin.com/video/2", "2026-11-22T20:00",
                    actor="app:bob")  # correcting the link: the old one stays in history
    assert (fixed["publish_url"], fixed["published_at"]) == (
        "https://www.douyin.com/video/2", "2026-11-22T20:00")
    settled = settle(db, "cccc", actor="cli:ann")
    assert settled["status"] == "settled" and settled["settled_at"]
    for move in (lambda: publish(db, "cccc", "https://www.douyin.com/video/3", actor="x"),
                 lambda: reject(db, "cccc", "晚了", actor="x"),
                 lambda: settle(db, "cccc", actor="x")):
        with pytest.raises(InputError, match="已结算"):
            move()
    entries = submission_history(db, "cccc")
    assert [(e["action"], e["old_status"], e["new_status"], e["actor"]) for e in entries] == [
        ("create", None, "ready", "test"),
        ("publish", "ready", "published", "cli:ann"),
        ("relink", "published", "published", "app:bob"),
        ("settle", "published", "settled", "cli:ann")]
    relink = json.loads(entries[2]["data"])
    assert relink["old_url"] == "https://www.douyin.com/video/1"
    assert relink["url"] == "https://www.douyin.com/video/2"

    # ready → rejected (and published → rejected), with the reason; then nothing moves it
    _row(db, "dddd11112222")
    rejected = reject(db, "dddd", "平台审核未通过：画面含外部水印", actor="cli:ann")
    assert (rejected["status"], rejected["reason"]) == ("rejected", "平台审核未通过：画面含外部水印")
    with pytest.raises(InputError, match="是已退回状态，不能改为已发布"):
        publish(db, "dddd", "https://www.douyin.com/video/9", actor="x")
    with pytest.raises(InputError, match="已经是已退回状态"):
        reject(db, "dddd", "again", actor="x")
    _row(db, "eeee11112222")
    publish(db, "eeee", "https://www.douyin.com/video/5", actor="x")
    assert reject(db, "eeee", "链接失效", actor="x")["status"] == "rejected"
    last = history_of(db, "submission", "dddd11112222")[-1]
    assert (last["action"], last["reason"]) == ("reject", "平台审核未通过：画面含外部水印")
    # the history itself cannot be rewritten
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("UPDATE history SET actor = 'someone' WHERE entity = 'submission'")


def test_a_draft_is_never_published(db):
    _row(db, "ffff11112222", draft=1)
    with pytest.raises(InputError, match="是草稿（生成时口令「夜渡迷局」还没通过审核），不能发布"):
        publish(db, "ffff", "https://www.douyin.com/video/1", actor="x")
    assert get_submission(db, "ffff")["status"] == "ready"
    assert reject(db, "ffff", "口令被拒", actor="x")["status"] == "rejected"  # may be withdrawn


# Never overwritten --------------------------------------------------------------------------------
def _fake_package(settings, submission_id: str) -> None:
    folder = settings.submissions_dir / submission_id
    folder.mkdir(parents=True)
    for name in CONTENT_FILES:
        (folder / name).write_bytes(name.encode())
    files = {name: {"sha256": sha256_file(folder / name)} for name in CONTENT_FILES}
    (folder / MANIFEST).write_text(json.dumps({"files": files, "compliance": {"findings": []}}),
                                   encoding="utf-8")


def test_published_settled_and_rejected_packages_are_never_overwritten(settings, db):
    plan = plan_job(MakeJob(material_id=1, chapter=1, template="suspense", keyword="夜渡迷局"),
                    settings)
    own = plan.recipe_hash[:12]
    _fake_package(settings, own)
    _row(db, own, recipe_hash=plan.recipe_hash, path=str(settings.submissions_dir / own))
    assert claim(plan, settings, db).submission_id == own  # a ready package is remade in place
    assert find_reusable(plan, settings, db).submission_id == own
    publish(db, own, "https://www.douyin.com/video/1", actor="x")
    taken = claim(plan, settings, db)
    assert taken.submission_id != own and any("已发布，不会被覆盖" in n for n in taken.notes)
    settle(db, own, actor="x")
    taken = claim(plan, settings, db)
    assert taken.submission_id != own and any("已结算，不会被覆盖" in n for n in taken.notes)
    assert find_reusable(plan, settings, db).submission_id == own  # still the one that went out

    other = plan_job(MakeJob(material_id=1, chapter=2, template="suspense", keyword="夜渡迷局"),
                     settings)
    second = other.recipe_hash[:12]
    _fake_package(settings, second)
    _row(db, second, recipe_hash=other.recipe_hash, path=str(settings.submissions_dir / second))
    reject(db, second, "平台审核未通过", actor="x")
    taken = claim(other, settings, db)
    assert taken.submission_id != second and any("已退回，不会被覆盖" in n for n in taken.notes)
    assert find_reusable(other, settings, db) is None  # a rejected package is not handed out


def test_a_package_published_while_its_remake_renders_is_kept(batch_settings, db):
    """Claimed as ready, published by another process during the render: the remake is
    refused at the last step and the published package and row stay as they were."""
    add_material(db, NOVEL)
    job = MakeJob(material_id=1, chapter=2, template="tiny", keyword="夜渡迷局", bgm="none")
    plan = plan_job(bind_task(job, batch_settings, db), batch_settings)
    own = plan.recipe_hash[:12]
    _fake_package(batch_settings, own)
    _row(db, own, recipe_hash=plan.recipe_hash, path=str(batch_settings.submissions_dir / own))

    def progress(fraction: float, message: str) -> None:
        if message == "打包" and get_submission(db, own)["status"] == "ready":
            publish(db, own, "https://www.douyin.com/video/1", actor="cli:other")

    with pytest.raises(InputError, match=f"成品包 {own} 在这次生成期间已被标记为已发布"):
        run_job(job, batch_settings, db, progress, force=True)
    row = get_submission(db, own)
    assert (row["status"], row["publish_url"], row["path"]) == (
        "published", "https://www.douyin.com/video/1", str(batch_settings.submissions_dir / own))
    assert (batch_settings.submissions_dir / own / "video.mp4").read_bytes() == b"video.mp4"
    assert [p.name for p in batch_settings.submissions_dir.iterdir()] == [own]  # no staging
    assert [h["action"] for h in history_of(db, "submission", own)] == ["create", "publish"]


# The command line and the app ----------------------------------------------------------------------
def test_submissions_commands(db):
    account = add_account(db, "快手", "ks_studio", None, actor="test")
    _row(db, "1111aaaa2222", account=account["id"])
    _row(db, "2222aaaa3333")
    _row(db, "3333aaaa4444", draft=1)

    wrong = run_cli("submissions", "publish", "1111", "--url", "https://www.douyin.com/video/1")
    assert wrong.returncode == 1 and "不属于账号的渠道「快手」" in wrong.stderr
    assert "Traceback" not in wrong.stderr
    done = run_cli("submissions", "publish", "1111", "--url", "https://v.kuaishou.com/x1",
                   "--date", "2026-11-22")
    assert done.returncode == 0 and "发布于 2026-11-22" in done.stdout, done.stderr
    assert run_cli("submissions", "settle", "1111").returncode == 0
    no_reason = run_cli("submissions", "reject", "2222")
    assert no_reason.returncode == 2 and "--reason" in no_reason.stderr
    rejected = run_cli("submissions", "reject", "2222", "--reason", "画面违规")
    assert rejected.returncode == 0 and "已退回 2222aaaa3333：画面违规" in rejected.stdout
    draft = run_cli("submissions", "publish", "3333", "--url", "https://v.kuaishou.com/x2")
    assert draft.returncode == 1 and "去掉 --draft 重新生成" in draft.stderr

    listed = run_cli("submissions", "list")
    assert listed.returncode == 0
    assert all(word in listed.stdout for word in ("已结算", "已退回", "待发布·草稿"))
    shown = run_cli("submissions", "show", "2222")
    assert "reason: 画面违规" in shown.stdout and "status: rejected" in shown.stdout

    table = run_cli("submissions", "history", "1111")
    assert table.returncode == 0
    assert all(word in table.stdout for word in ("生成", "发布", "结算", "待发布→已发布",
                                                 "已发布→已结算", "https://v.kuaishou"))
    as_json = run_cli("submissions", "history", "1111", "--json")
    entries = json.loads(as_json.stdout)  # JSON and nothing else on stdout
    assert [e["action"] for e in entries] == ["create", "publish", "settle"]
    assert entries[1]["data"]["url"] == "https://v.kuaishou.com/x1"
    assert entries[1]["actor"].startswith("cli")
    missing = run_cli("submissions", "history", "9999")
    assert missing.returncode == 1 and "没有编号为 9999 的提交记录" in missing.stderr


def test_the_apps_submissions_tab_shows_and_checks_the_same(db):
    from workbench.ui import submissions as tab

    account = add_account(db, "B站", "bili_studio", None, actor="test")
    _row(db, "4444bbbb5555", account=account["id"])
    _row(db, "5555bbbb6666", draft=1)
    shown = {r[0]: r[6] for r in tab.rows()}
    assert shown == {"4444bbbb5555": "待发布", "5555bbbb6666": "待发布·草稿"}
    with pytest.raises(gr.Error, match="不属于账号的渠道「B站」"):
        tab.publish("4444bbbb5555", "https://www.douyin.com/video/1", None)
    note, rows = tab.publish("4444bbbb5555", "https://b23.tv/BV1", None)
    assert note.startswith("已记录 4444bbbb5555")
    assert {r[0]: r[6] for r in rows}["4444bbbb5555"] == "已发布"
    assert history_of(db, "submission", "4444bbbb5555")[-1]["actor"] == "app:local"
