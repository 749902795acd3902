"""The gate every job passes (platform/gate.py): the keyword's base rules on `workbench make`,
`workbench script`, the library the app calls and batch briefs; a job for a task needs an
approved, unexpired keyword of that task (or a pending one for a draft), and the task decides
the banner wording, the app and the length limit.

Everything is real: SQLite, the platform records made through their library, the CLI through
its entry point. One batch renders two tiny draft videos (an approved keyword and a draft);
every refusal is checked to leave no job row and no package behind.
"""
# The fixtures are imported by name, so test parameters "redefine" them:
# ruff: noqa: F811

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest
from batch_fixtures import NOVEL, batch_settings, write_folder  # noqa: F401
from cli_runner import run_cli

from workbench.batch import BriefErrors, load_plan
from workbench.errors import InputError
from workbench.materials.library import add_material
from workbench.models import MakeJob
from workbench.pipeline import ScriptJob, lifecycle, make_script, run_job
from workbench.pipeline.job_plan import plan_job
from workbench.platform.accounts import add_account
from workbench.platform.dates import today
from workbench.platform.gate import banned_words, bind_task
from workbench.platform.history import history_of
from workbench.platform.keywords import apply_keyword, change_status
from workbench.platform.tasks import add_task, close_task, edit_task

WORDING = "{app}搜【{keyword}】看全文"
YESTERDAY = (today() - datetime.timedelta(days=1)).isoformat()
# keyword → what the refusal must say (the offending character and its position)
BAD_KEYWORDS = {
    "夜渡😀迷局": "第 3 个字符「😀」是符号或表情",
    "夜渡 迷局": "第 3 个字符 ' ' 是空白或不可见字符",
    "夜渡★迷局": "第 3 个字符「★」是符号或表情",
    "夜渡，迷局": "第 3 个字符「，」是标点",
    "夜渡迷局\u200b": "第 5 个字符 '\\u200b' 是空白或不可见字符",
    "夜": "有 1 个字，应为 2–20 个字",
    "夜渡迷局" * 13: "有 52 个字，应为 2–20 个字",
    "夜渡𠀀局": "第 3 个字符「𠀀」内置字体里没有",
    "最好看的书": "第 1 个字起的「最好」是违禁词",
}
MAKE = ("make", "--material", "1", "--chapter", "2", "--template", "tiny")


def _nothing_made(db, settings) -> None:
    assert db["jobs"].count == 0 and db["submissions"].count == 0
    assert not settings.submissions_dir.exists() or not any(settings.submissions_dir.iterdir())


def _records(db, settings) -> dict:
    """A task (七猫小说, its own wording and length limit) with an approved keyword on a 抖音
    account, a pending one and a rejected one on a 快手 account."""
    task = add_task(db, {"platform": "星推", "app": "七猫小说", "title": "末班夜渡", "kind": "novel",
                         "channels": "抖音,快手", "wording": WORDING, "max_seconds": "60"},
                    actor="test")
    douyin = add_account(db, "抖音", "dy_studio", None, actor="test")
    kuaishou = add_account(db, "快手", "ks_studio", None, actor="test")
    words = banned_words(settings)
    rejected = apply_keyword(db, task["id"], kuaishou["id"], "旧渡口", words, "test")
    change_status(db, "旧渡口", "rejected", "test", task_id=task["id"], reason="与书名太像")
    pending = apply_keyword(db, task["id"], kuaishou["id"], "夜渡迷局", words, "test")
    approved = apply_keyword(db, task["id"], douyin["id"], "末班渡口", words, "test")
    change_status(db, "末班渡口", "approved", "test", task_id=task["id"])
    return {"task": task, "douyin": douyin, "kuaishou": kuaishou, "pending": pending,
            "approved": approved, "rejected": rejected}


# Base rules, with or without a task -----------------------------------------------------------
def test_each_base_rule_refuses_make_before_any_job_or_render(batch_settings, db):
    add_material(db, NOVEL)
    for keyword, says in BAD_KEYWORDS.items():
        result = run_cli(*MAKE, "--keyword", keyword)
        assert result.returncode == 1, (keyword, result.stdout)
        assert result.stderr.strip().startswith("错误: 口令「") and says in result.stderr, result.stderr
        assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
        _nothing_made(db, batch_settings)
    # the library the app's render calls refuses the same way
    with pytest.raises(InputError, match="第 3 个字符「😀」是符号或表情"):
        run_job(MakeJob(material_id=1, chapter=2, template="tiny", keyword="夜渡😀迷局"),
                batch_settings, db)
    _nothing_made(db, batch_settings)


def test_the_script_stage_checks_the_keyword_it_puts_on_screen(batch_settings, db):
    add_material(db, NOVEL)
    result = run_cli("script", "--material", "1", "--chapter", "2", "--template", "tiny",
                     "--keyword", "夜渡 迷局")
    assert result.returncode == 1 and "第 3 个字符 ' ' 是空白或不可见字符" in result.stderr
    with pytest.raises(InputError, match="有 52 个字"):  # what the app's 生成脚本 calls
        make_script(ScriptJob(material_id=1, chapter=2, template="tiny",
                              keyword="夜渡迷局" * 13), batch_settings, db)
    assert db["jobs"].count == 0
    # a task may allow longer keywords than the base rules: its rules apply with --task
    task = add_task(db, {"platform": "星推", "app": "七猫小说", "title": "末班夜渡",
                         "kind": "novel", "keyword_max": "30"}, actor="test")
    long = "夜渡迷局" * 6  # 24 characters
    assert run_cli("script", "--material", "1", "--chapter", "2", "--template", "tiny",
                   "--keyword", long).returncode == 1
    result = run_cli("script", "--material", "1", "--chapter", "2", "--template", "tiny",
                     "--keyword", f" {long} ", "--task", str(task["id"]))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["keyword"] == long  # outer spaces removed


# Jobs for a task ---------------------------------------------------------------------------------
def test_a_job_for_a_task_needs_an_approved_unexpired_keyword(batch_settings, db):
    add_material(db, NOVEL)
    records = _records(db, batch_settings)
    task = str(records["task"]["id"])

    def refused(*args: str) -> str:
        result = run_cli(*MAKE, "--task", task, *args)
        assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
        _nothing_made(db, batch_settings)
        return result.stderr

    assert ("口令「夜渡迷局」还在审核中（待审核）：审核通过后再生成，或加 --draft 生成草稿（不能发布）"
            in refused("--keyword", "夜渡迷局"))
    assert "口令「旧渡口」未通过审核（原因：与书名太像）" in refused("--keyword", "旧渡口")
    assert "里没有口令「别人的口令」" in refused("--keyword", "别人的口令")
    assert "第 3 个字符「😀」" in refused("--keyword", "末班😀渡口")  # base rules, with a task too
    # the task decides the wording, the app and the length limit
    assert "规定画面文字为「{app}搜【{keyword}】看全文」" in refused(
        "--keyword", "末班渡口", "--banner", "全网都在搜【{keyword}】")
    assert "是七猫小说的任务，与阅读平台「番茄小说」矛盾" in refused(
        "--keyword", "末班渡口", "--app", "番茄小说")
    assert "规定最长 60 秒，与最长时长 90 秒矛盾" in refused(
        "--keyword", "末班渡口", "--max-seconds", "90")
    assert "口令「末班渡口」已通过审核：去掉 --draft 直接生成" in refused(
        "--keyword", "末班渡口", "--draft")
    no_task = run_cli(*MAKE, "--keyword", "末班渡口", "--draft")
    assert no_task.returncode == 1 and "--draft 只用于任务的口令还在审核中的时候" in no_task.stderr
    assert "没有编号为 99 的任务" in run_cli(*MAKE, "--task", "99", "--keyword", "末班渡口").stderr

    # an approved keyword past its own date is expired when read, and nothing is written
    db["keywords"].update(records["approved"]["id"], {"expires_at": YESTERDAY})
    assert f"口令「末班渡口」已过期（口令有效期到 {YESTERDAY}）" in refused("--keyword", "末班渡口")
    assert db["keywords"].get(records["approved"]["id"])["status"] == "approved"
    db["keywords"].update(records["approved"]["id"], {"expires_at": None})
    edit_task(db, task, {"deadline": YESTERDAY}, "test")  # or past its task's deadline
    assert f"任务截止日期 {YESTERDAY} 已过" in refused("--keyword", "末班渡口")
    edit_task(db, task, {"deadline": ""}, "test")
    close_task(db, task, "test")
    assert "已关闭：不能再为它生成视频" in refused("--keyword", "末班渡口")


def test_the_task_binds_the_job_and_its_wording_is_in_the_recipe(batch_settings, db):
    records = _records(db, batch_settings)
    job = MakeJob(material_id=1, chapter=2, template="tiny", keyword=" 末班渡口 ",
                  task_id=records["task"]["id"])
    bound = bind_task(job, batch_settings, db)
    assert (bound.keyword, bound.banner, bound.app, bound.max_seconds) == (
        "末班渡口", WORDING, "七猫小说", 60.0)
    # saying what the task says is no contradiction
    same = bind_task(MakeJob(material_id=1, chapter=2, template="tiny", keyword="末班渡口",
                             task_id=records["task"]["id"], app="七猫小说", banner=WORDING),
                     batch_settings, db)
    assert same == bound
    first = plan_job(bound, batch_settings).recipe_hash
    edit_task(db, records["task"]["id"], {"wording": "七猫搜【{keyword}】"}, "test")
    rebound = bind_task(job, batch_settings, db)
    assert rebound.banner == "七猫搜【{keyword}】"
    assert plan_job(rebound, batch_settings).recipe_hash != first  # a new package id
    # a draft is its own package; an ordinary job keeps the id it always had
    plain = MakeJob(material_id=1, chapter=2, template="tiny", keyword="夜渡迷局")
    assert "draft" not in plain.recipe(batch_settings)
    drafted = MakeJob(material_id=1, chapter=2, template="tiny", keyword="夜渡迷局",
                      task_id=records["task"]["id"], draft=True)
    assert bind_task(drafted, batch_settings, db).recipe(batch_settings)["draft"] is True


def test_prepare_checks_the_keyword_again(batch_settings, db):
    """A batch can run for hours: a keyword rejected after the job was planned stops the job
    at the start of `prepare_job`, before any script or voice, and the job row says why."""
    add_material(db, NOVEL)
    records = _records(db, batch_settings)
    job = MakeJob(material_id=1, chapter=2, template="tiny", keyword="末班渡口",
                  task_id=records["task"]["id"])
    plan = plan_job(bind_task(job, batch_settings, db), batch_settings)
    change_status(db, "末班渡口", "rejected", "test", task_id=records["task"]["id"],
                  reason="平台收回")
    make_id = lifecycle.start(plan, db)
    with pytest.raises(InputError, match="口令「末班渡口」未通过审核（原因：平台收回）"):
        lifecycle.prepare(plan, make_id, batch_settings, db)
    row = db["jobs"].get(make_id)
    assert row["status"] == "failed" and "未通过审核" in row["error"]
    assert db["jobs"].count == 1  # no script or voice job was started


# Briefs ------------------------------------------------------------------------------------------
def _problems(folder: Path, settings, db) -> str:
    with pytest.raises(BriefErrors) as caught:
        load_plan(folder, settings, db, import_materials=False)
    return "\n".join(str(p) for p in caught.value.problems)


def test_briefs_report_keyword_and_task_problems_with_file_and_line(tmp_path, batch_settings,
                                                                     db):
    records = _records(db, batch_settings)
    task = records["task"]["id"]
    folder = write_folder(tmp_path / "briefs", {
        "a-emoji.yaml": "chapters: 2\nkeyword: 夜渡😀迷局\n",
        "b-pending.yaml": f"task: {task}\nkeyword: 夜渡迷局\n",
        "c-banner.yaml": f"task: {task}\nkeyword: 末班渡口\nbanner: 搜【{{keyword}}】\n",
        "d-draft.yaml": "chapters: 2\ndraft: true\n",
        "e-rejected.yaml": f"task: {task}\n\nkeyword: 旧渡口\n",
        "f-needless-draft.yaml": f"task: {task}\nkeyword: 末班渡口\ndraft: true\n",
    })
    text = _problems(folder, batch_settings, db)
    assert f"{folder / 'a-emoji.yaml'}:2: 口令「夜渡😀迷局」第 3 个字符「😀」是符号或表情" in text
    assert (f"{folder / 'b-pending.yaml'}:2: 口令「夜渡迷局」还在审核中（待审核）：审核通过后再生成，"
            "或写 draft: true 生成草稿（不能发布）") in text
    assert f"{folder / 'c-banner.yaml'}:3: 任务 #{task}规定画面文字为" in text
    assert f"{folder / 'd-draft.yaml'}:2: draft: true 只用于任务的口令还在审核中的时候" in text
    assert f"{folder / 'e-rejected.yaml'}:3: 口令「旧渡口」未通过审核" in text
    assert (f"{folder / 'f-needless-draft.yaml'}:3: 口令「末班渡口」已通过审核：去掉 draft: true "
            "直接生成") in text
    # the dry run reports it too, and writes nothing
    dry = run_cli("batch", str(folder), "--dry-run")
    assert dry.returncode == 1 and "b-pending.yaml:2: 口令「夜渡迷局」还在审核中" in dry.stderr
    assert db["materials"].count == 0 and db["batches"].count == 0

    ok = write_folder(tmp_path / "ok", {
        "approved.yaml": f"task: {task}\nkeyword: 末班渡口\n",
        "draft.yaml": f"task: {task}\nkeyword: 夜渡迷局\ndraft: true\n"})
    plan = load_plan(ok, batch_settings, db, import_materials=False)
    drafts = {Path(p.brief).name: p.job.draft for p in plan.jobs}
    assert drafts == {"approved.yaml": False, "draft.yaml": True}


# The end to end: one batch, an approved keyword and a draft ------------------------------------
def test_a_batch_for_a_task_makes_a_package_and_a_draft(tmp_path, batch_settings, db):
    from workbench.platform.submissions_lifecycle import publish

    records = _records(db, batch_settings)
    task = records["task"]["id"]
    folder = write_folder(tmp_path / "briefs", {
        "approved.yaml": f"task: {task}\nkeyword: 末班渡口\n",
        "draft.yaml": f"task: {task}\nkeyword: 夜渡迷局\ndraft: true\n"})
    result = run_cli("batch", str(folder), "--workers", "2")
    assert result.returncode == 0 and "完成 2" in result.stdout, result.stdout + result.stderr
    rows = {r["keyword"]: r for r in db["submissions"].rows}
    made, draft = rows["末班渡口"], rows["夜渡迷局"]

    # the task's wording is the banner, in the manifest and the caption
    manifest = json.loads((Path(made["path"]) / "manifest.json").read_text("utf-8"))
    assert manifest["render"]["banner"] == "七猫小说搜【末班渡口】看全文"
    assert manifest["recipe"]["banner"] == WORDING and manifest["draft"] is False
    assert "七猫小说搜【末班渡口】看全文" in (Path(made["path"]) / "caption.txt").read_text("utf-8")
    # the row records task, keyword, account and template
    assert (made["task_id"], made["keyword_id"], made["account_id"], made["draft"]) == (
        task, records["approved"]["id"], records["douyin"]["id"], 0)
    assert made["template_id"] == "tinyhook" and made["template_hash"] == manifest[
        "template"]["hash"] and made["template_version"] == "1"
    created = history_of(db, "submission", made["id"])
    assert [(h["action"], h["new_status"]) for h in created] == [("create", "ready")]
    assert created[0]["actor"].startswith("cli")

    # the draft: marked in the manifest, the checklist, the row and the list; never published
    manifest = json.loads((Path(draft["path"]) / "manifest.json").read_text("utf-8"))
    assert manifest["draft"] is True and manifest["recipe"]["draft"] is True
    checklist = (Path(draft["path"]) / "checklist.md").read_text("utf-8")
    assert checklist.splitlines()[0] == "# 草稿：口令未通过审核，勿发布"
    assert (draft["draft"], draft["keyword_id"], draft["account_id"]) == (
        1, records["pending"]["id"], records["kuaishou"]["id"])
    listed = run_cli("submissions", "list")
    assert listed.returncode == 0 and "待发布·草稿" in listed.stdout
    with pytest.raises(InputError, match="是草稿.*去掉 --draft 重新生成"):
        publish(db, draft["id"], "https://v.kuaishou.com/abc", actor="test")
    assert history_of(db, "submission", draft["id"])[-1]["action"] == "create"

    # the approved one is published on its account's channel only
    with pytest.raises(InputError, match="不属于账号的渠道「抖音」"):
        publish(db, made["id"], "https://v.kuaishou.com/abc", actor="test")
    assert publish(db, made["id"], "https://v.douyin.com/abc", actor="test")["status"] == (
        "published")
