"""The app's platform tabs without a browser: the tracking preview (library), the held days of a
range, the plot data, and the handlers of 任务与口令, 回传与结算, 创作's task pick and 提交记录's
lifecycle, over a real SQLite store and real files. The browser test is
tests/test_browser_platform.py."""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import pytest
from conftest import SAMPLES
from test_submission_lifecycle import _row

from workbench.config import load_settings
from workbench.errors import InputError
from workbench.materials.library import add_material
from workbench.platform.accounts import add_account
from workbench.platform.history import history_of
from workbench.platform.keywords import apply_keyword, change_status
from workbench.platform.releases import held_days, release_day
from workbench.platform.tasks import add_task
from workbench.platform.tracking import import_tracking
from workbench.platform.tracking_preview import preview_tracking
from workbench.store.projects import create_project, get_project
from workbench.ui import create_form, plots, task_pick, tasks_tab, tracking_tab
from workbench.ui import submissions as submissions_tab

KEYWORD = "星河夜渡"
ROWS = ["日期,口令,播放量,点赞,评论,备注",
        f"2026-11-01,{KEYWORD},1000,10,1,首日",
        "",
        f"2026-11-02,{KEYWORD},1200,12,2,",
        f"2026-11-03,{KEYWORD},900,2000,2,互动多于播放",
        "2026-11-04,没登记的口令,5,1,1,",
        f"2026-11-05,{KEYWORD},很多,1,1,"]


@pytest.fixture
def keyword(db) -> dict:
    """An approved keyword of a CPE task (0.10 元/互动) on a 抖音 account."""
    task = add_task(db, {"platform": "推文平台", "app": "番茄小说", "title": "夜航船",
                         "kind": "novel", "model": "CPE", "price": "0.10",
                         "channels": ["抖音"]}, "test")
    account = add_account(db, "抖音", "studio_night", None, "test")
    row = apply_keyword(db, task["id"], account["id"], KEYWORD, [], "test")
    return change_status(db, str(row["id"]), "approved", "test")


def export(folder: Path, lines: list[str] = ROWS, encoding: str = "gbk") -> Path:
    path = folder / "回传.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


def nothing_stored(db) -> bool:
    return db["tracking"].count == 0 and db["tracking_imports"].count == 0


# The preview (library) -----------------------------------------------------------------------
def test_preview_shows_the_detected_mapping_and_the_first_rows_and_stores_nothing(
        db, keyword, tmp_path):
    found = preview_tracking(db, export(tmp_path))
    assert found.preset == "generic-cn" and found.source == "generic-cn"
    assert found.columns == {"date": "日期", "keyword": "口令", "views": "播放量",
                             "likes": "点赞", "comments": "评论"}
    assert found.unmapped == ["备注"]
    assert [(r.line, r.values["views"]) for r in found.rows] == [
        (2, "1000"), (4, "1200"), (5, "900"), (6, "5"), (7, "很多")]  # the blank line 3 skipped
    assert [r.problem for r in found.rows[:3]] == [None, None, None]
    assert "口令「没登记的口令」未登记" in found.rows[3].problem
    assert "「播放量」列应为不小于 0 的整数" in found.rows[4].problem
    assert not found.more and nothing_stored(db)

    # the import then does what the preview showed
    result = import_tracking(db, export(tmp_path), actor="test")
    assert (result.inserted, [r.line for r in result.rejected]) == (3, [6, 7])


def test_preview_with_a_map_a_row_limit_and_its_refusals(db, keyword, tmp_path):
    lines = ["统计日,推广词,播放", f"2026-11-01,{KEYWORD},10", f"2026-11-02,{KEYWORD},20",
             f"2026-11-03,{KEYWORD},30"]
    path = export(tmp_path, lines, "utf-8-sig")
    with pytest.raises(InputError, match="没有哪个预设认得"):  # the import's own message
        preview_tracking(db, path)
    found = preview_tracking(db, path, mapping="统计日=date,推广词=keyword,播放=views",
                             source="番茄后台", rows=2)
    assert found.preset is None and found.source == "番茄后台" and found.more
    assert [r.values for r in found.rows] == [
        {"date": "2026-11-01", "keyword": KEYWORD, "views": "10"},
        {"date": "2026-11-02", "keyword": KEYWORD, "views": "20"}]
    with pytest.raises(InputError, match="只能用一个"):
        preview_tracking(db, path, preset="canonical", mapping="统计日=date,推广词=keyword")
    with pytest.raises(InputError, match="预览行数"):
        preview_tracking(db, path, rows=0)
    assert nothing_stored(db)


# Held days (library) -------------------------------------------------------------------------
def test_held_days_lists_what_is_held_in_the_range_until_it_is_released(db, keyword, tmp_path):
    import_tracking(db, export(tmp_path), actor="test")
    held = held_days(db, spike_factor=5.0)
    assert held == [{"keyword_id": keyword["id"], "keyword": KEYWORD,
                     "task_id": keyword["task_id"], "date": "2026-11-03", "amount": "200.20",
                     "reasons": ["互动量 2002 多于播放量 900"]}]
    assert held_days(db, spike_factor=5.0, date_from="2026-11-04") == []
    assert held_days(db, spike_factor=5.0, date_to="2026-11-02") == []
    release_day(db, KEYWORD, "2026-11-03", actor="test", spike_factor=5.0)
    assert held_days(db, spike_factor=5.0) == []


# Plot data -----------------------------------------------------------------------------------
def test_plot_frames_follow_the_tracking_days_and_the_settlement(db, keyword, tmp_path):
    import_tracking(db, export(tmp_path), actor="test")
    frame, note = plots.daily_frame(db, "interactions", date_from="2026-11-02")
    assert frame.values.tolist() == [["2026-11-02", KEYWORD, 14], ["2026-11-03", KEYWORD, 2002]]
    assert note == ""
    with pytest.raises(InputError, match="未知的指标"):
        plots.daily_frame(db, "money")
    from workbench.platform.settlement import settle

    lines = settle(db, spike_factor=5.0, by="task")
    assert plots.earnings_frame(lines, "task").values.tolist() == [
        ["#1 番茄小说《夜航船》", 2.5, "应结"], ["#1 番茄小说《夜航船》", 200.2, "暂扣"]]


# 任务与口令 -----------------------------------------------------------------------------------
def test_tasks_tab_adds_a_task_refuses_bad_terms_and_runs_the_keyword_actions(db):
    note, rows = tasks_tab.create_task("推文平台", "", "七猫", "原书", "novel", "CPS", "", "30%",
                                       "", ["快手"], "", None, None, None, "", "", "", None)
    assert note.startswith("已登记任务 #1") and "CPS 分成" in note
    assert rows[0][:4] == [1, "推文平台", "七猫", "原书"]
    with pytest.raises(gr.Error, match="单价不适用于 CPS"):
        tasks_tab.create_task("推文平台", "", "七猫", "原书二", "novel", "CPS", "3", "30%", "",
                              [], "", None, None, None, "", "", "", None)
    assert tasks_tab.create_account("快手", "ks_studio", "", None)[0].startswith("已登记快手账号 #1")
    with pytest.raises(gr.Error, match="第 3 个字符"):
        tasks_tab.apply("1", "1", "星河 夜渡", "", None)
    note, picked = tasks_tab.apply("1", "1", KEYWORD, "", None)
    assert "待审核" in note and picked == "1"
    assert 'class="kw-badge kw-pending"' in tasks_tab.keyword_rows()[0][2]
    with pytest.raises(gr.Error, match="请写明拒绝的原因"):
        tasks_tab.reject(picked, " ", None)
    assert tasks_tab.approve(picked, None).endswith("已通过")
    assert tasks_tab.keyword_rows(status="pending") == []
    assert tasks_tab.expire(picked, "活动结束", None).endswith("已过期")
    actions = [(e["action"], e["actor"]) for e in history_of(db, "keyword", 1)]
    assert actions == [("apply", "app:local"), ("approve", "app:local"), ("expire", "app:local")]


def test_a_task_file_with_problems_lists_every_one_by_name_and_stores_nothing(db, tmp_path):
    bad = tmp_path / "tasks.csv"
    bad.write_text("platform,app,title,kind,model,price\n推文平台,番茄小说,书一,novel,CPA,abc\n"
                   "推文平台,番茄小说,书二,film,,\n", encoding="utf-8")
    note, rows = tasks_tab.import_task_file(str(bad), False, None)
    assert note.startswith("**2 个问题，没有导入任何任务")
    assert "- tasks.csv:2: " in note and "- tasks.csv:3: " in note
    assert str(tmp_path) not in note  # the file by its name, not its place on the server
    assert rows == [] and db["tasks"].count == 0
    good = tmp_path / "good.csv"
    good.write_text("任务平台,应用,原名,类型\n推文平台,番茄小说,书一,小说\n", encoding="utf-8")
    assert tasks_tab.import_task_file(str(good), True, None)[0].startswith("试运行")
    assert db["tasks"].count == 0
    note, rows = tasks_tab.import_task_file(str(good), False, None)
    assert note == "已导入：新增 1 个任务，更新 0 个，未变 0 个" and len(rows) == 1


# 回传与结算 -----------------------------------------------------------------------------------
def test_tracking_tab_previews_imports_settles_and_releases(db, keyword, tmp_path):
    path = str(export(tmp_path))
    mapping, sample = tracking_tab.preview(path, "", "", "", "")
    assert "generic-cn" in mapping and "不导入的列：备注" in mapping
    assert sample["检查"].tolist()[:3] == ["可导入"] * 3 and nothing_stored(db)
    with pytest.raises(gr.Error) as refused:
        tracking_tab.preview(path, "oceanengine-report", "", "", "")
    assert "回传.csv" in str(refused.value) and str(tmp_path) not in str(refused.value)

    summary, rejected = tracking_tab.run_import(path, "", "", "", "", None)
    assert summary.startswith("导入完成：新增 3 行") and [r[0] for r in rejected] == [6, 7]
    out = tracking_tab.run_settlement("2026-11-01", "2026-11-30", "", "keyword", "views")
    text, table, download, held, pick = out[:5]
    assert "应结 2.50 元" in text and "暂扣 200.20 元" in text
    assert table.values.tolist()[0][:5] == [f"{KEYWORD}（#1）", "CPE", 3, "2.50", "200.20"]
    csv = Path(download).read_bytes()
    assert csv.startswith(b"\xef\xbb\xbf") and KEYWORD.encode() in csv
    assert held.values.tolist()[0][0] == "2026-11-03"
    choice = pick.choices[0][1]
    with pytest.raises(gr.Error, match="请先点「结算」"):
        tracking_tab.release("", "", None)
    assert tracking_tab.release(choice, "核对过", None).startswith("已放行")
    with pytest.raises(gr.Error, match="已经放行过"):
        tracking_tab.release(choice, "", None)
    assert "应结 202.70 元" in tracking_tab.run_settlement("", "", "", "task", "views")[0]
    with pytest.raises(gr.Error, match="晚于"):
        tracking_tab.run_settlement("2026-12-01", "2026-11-01", "", "keyword", "views")


# 创作's task pick ------------------------------------------------------------------------------
def test_create_binds_the_chosen_task_and_checks_a_free_keyword_as_typed(db, keyword, tmp_path,
                                                                        monkeypatch):
    from tiny_templates import write_templates

    from workbench.ui import create

    assert "第 3 个字符" in task_pick.keyword_hint("星河 夜渡", "")
    assert task_pick.keyword_hint("夜渡迷局", "") == "口令「夜渡迷局」符合基本规则"
    assert "任务 #1 的规则" in task_pick.keyword_hint(KEYWORD, "1")
    choices, text, app, note = task_pick.pick_task("1")
    assert choices.choices == [(f"「{KEYWORD}」 · 抖音 studio_night", "1")] and app == "番茄小说"
    assert choices.value == "1" and text == KEYWORD and "符合任务 #1 的规则" in note
    assert task_pick.pick_keyword("1") == KEYWORD
    add_task(db, {"platform": "推文平台", "app": "七猫", "title": "空任务", "kind": "novel"}, "t")
    choices, _, app, note = task_pick.pick_task("2")
    assert choices.choices == [] and app == "七猫" and "还没有已通过的口令" in note
    assert task_pick.bound(db, "", " 七猫 ") == (None, "七猫")
    assert task_pick.bound(db, "1", "七猫") == (1, "番茄小说")  # the task decides

    monkeypatch.setenv("WORKBENCH_TEMPLATES_DIR", str(write_templates(tmp_path / "tpl")))
    material, _ = add_material(db, SAMPLES / "night-ferry.txt")
    project = create_project(db, "alice")
    here = {"owner": "alice", "project": project}
    rows, *_ = create.generate_script(material["id"], 2, "tiny", "narration", KEYWORD, "七猫",
                                      None, "1", here, progress=lambda *a, **k: None)
    assert any("番茄小说搜索" in text for _, text in rows)
    fields = get_project(db, "alice", project)["fields"]
    assert fields["task"] == 1 and fields["keyword"] == KEYWORD
    assert create_form.restore(db, load_settings(), get_project(db, "alice", project))[
        "task"].value == "1"


# 提交记录's lifecycle --------------------------------------------------------------------------
def test_submissions_tab_publishes_with_a_date_rejects_with_a_reason_and_shows_history(db):
    _row(db, "7777aaaa8888")
    _row(db, "8888aaaa9999")
    note, _ = submissions_tab.publish("7777aaaa8888", "https://v.douyin.com/abc", None,
                                      "2026-11-22T20:00")
    assert note.startswith("已记录 7777aaaa8888 发布于 2026-11-22T20:00")
    with pytest.raises(gr.Error, match="请写明退回的原因"):
        submissions_tab.reject("8888aaaa9999", "", None)
    note, rows = submissions_tab.reject("8888aaaa9999", "画面含外部水印", None)
    assert note == "已退回 8888aaaa9999：画面含外部水印"
    assert {r[0]: r[6] for r in rows}["8888aaaa9999"] == "已退回"
    with pytest.raises(gr.Error, match="已退回状态"):
        submissions_tab.publish("8888aaaa9999", "https://v.douyin.com/x", None)
    changes = submissions_tab.history("8888aaaa9999")
    assert [(c[2], c[3], c[4]) for c in changes] == [("生成", "待发布", ""),
                                                     ("退回", "待发布→已退回", "画面含外部水印")]
    assert submissions_tab.history("7777aaaa8888")[-1][5] == "https://v.douyin.com/abc"
    assert submissions_tab.history("") == []
