"""Settlement: the four models on hand-computed figures, rounding once per line, the fraud
flags (spike, ratio) holding money until a person releases it, attribution to submissions,
and the `workbench settle` command."""

from __future__ import annotations

import csv
import itertools
import json
from decimal import Decimal
from typing import Any

import pytest

from tests.cli_runner import run_cli, run_subprocess
from workbench.errors import InputError
from workbench.platform.accounts import add_account
from workbench.platform.history import history_of
from workbench.platform.keywords import apply_keyword, change_status
from workbench.platform.releases import release_day
from workbench.platform.settlement import settle
from workbench.platform.tasks import add_task

ACTOR = "test"
_handles = itertools.count(1)
_texts = itertools.count(1)


def make_keyword(db, model: str | None, text: str | None = None, **terms: Any) -> dict:
    """An approved keyword on a new task with these terms, on a new 抖音 account."""
    task = add_task(db, {"platform": "测试平台", "app": "番茄小说", "title": "原书名",
                         "kind": "novel", "model": model, **terms}, ACTOR)
    account = add_account(db, "抖音", f"号{next(_handles)}", None, ACTOR)
    keyword = apply_keyword(db, task["id"], account["id"], text or f"星河口令{next(_texts)}",
                            [], ACTOR)
    return change_status(db, str(keyword["id"]), "approved", ACTOR)


def track(db, keyword: dict, date: str, source: str = "导出",
          updated_at: str = "2026-12-01T00:00:00+00:00", **counts: Any) -> None:
    """One tracking row, as the importer stores it (revenue as Decimal text)."""
    db["tracking"].insert({"keyword_id": keyword["id"], "date": date, "source": source,
                           "created_at": updated_at, "updated_at": updated_at, **counts})


def report(db, by: str = "keyword", factor: float = 5.0, **options: Any) -> list[dict]:
    return settle(db, spike_factor=factor, by=by, **options)


def flags(line: dict) -> list[tuple[str | None, str]]:
    return [(flag["date"], flag["reason"]) for flag in line["flags"]]


def one(lines: list[dict]) -> dict:
    assert len(lines) == 1, lines
    return lines[0]


# --- the four models ----------------------------------------------------------------------

def test_cpa_counts_the_tasks_action_times_price(db):
    keyword = make_keyword(db, "CPA", price="1.005", action="激活")
    track(db, keyword, "2026-11-01", activations=1, registrations=50, orders=9)
    track(db, keyword, "2026-11-02", activations=2, registrations=50)
    line = one(report(db))
    # 3 activations × 1.005 = 3.015 → 3.02 (half up); registrations and orders do not count
    assert (line["model"], line["amount"], line["held"]) == ("CPA", "3.02", "0.00")
    assert (line["keyword"], line["keyword_id"], line["task_id"]) == (
        keyword["text"], keyword["id"], keyword["task_id"])
    assert line["activations"] == 3 and line["days"] == 2 and line["flags"] == []


def test_cpa_on_orders_and_a_day_without_the_count(db):
    keyword = make_keyword(db, "CPA", price="12.5", action="order")
    track(db, keyword, "2026-11-01", orders=3)
    track(db, keyword, "2026-11-02", views=1000)  # orders not reported: 0 in money
    line = one(report(db))
    assert line["amount"] == "37.50" and line["orders"] == 3


def test_cps_is_revenue_times_share_rounded_half_up(db):
    keyword = make_keyword(db, "CPS", share="30%")
    track(db, keyword, "2026-11-01", revenue="10.05")
    line = one(report(db))
    assert (line["model"], line["amount"], line["revenue"]) == ("CPS", "3.02", "10.05")


def test_cpe_is_interactions_times_price_rounded_half_up(db):
    keyword = make_keyword(db, "CPE", price="0.005")
    track(db, keyword, "2026-11-01", views=900, likes=10, comments=5, shares=5, favorites=5,
          clicks=400)
    line = one(report(db))
    # 25 interactions × 0.005 = 0.125 → 0.13
    assert (line["model"], line["amount"], line["interactions"]) == ("CPE", "0.13", 25)


def test_cpm_is_views_over_a_thousand_times_price(db):
    keyword = make_keyword(db, "CPM", price="8.00")
    track(db, keyword, "2026-11-01", views=1005, likes=3)
    line = one(report(db))
    assert (line["model"], line["amount"], line["views"]) == ("CPM", "8.04", 1005)


def test_a_line_is_rounded_once_not_day_by_day(db):
    keyword = make_keyword(db, "CPE", price="0.005")
    for date in ("2026-11-01", "2026-11-02"):
        track(db, keyword, date, likes=25)  # 0.125 a day
    assert one(report(db))["amount"] == "0.25"  # not 0.13 + 0.13 = 0.26
    assert [(d["date"], d["amount"]) for d in report(db, by="day")] == [
        ("2026-11-01", "0.13"), ("2026-11-02", "0.13")]


def test_several_sources_merge_field_by_field_latest_reported_wins(db):
    keyword = make_keyword(db, "CPE", price="1")
    track(db, keyword, "2026-11-01", source="抖音导出", updated_at="2026-11-02T01:00:00+00:00",
          views=100, likes=10, comments=4)
    track(db, keyword, "2026-11-01", source="平台导出", updated_at="2026-11-03T01:00:00+00:00",
          views=200, likes=None, comments=6)
    line = one(report(db))
    # likes from the only source that reported them, views and comments from the later one
    assert (line["views"], line["likes"], line["comments"], line["amount"]) == (
        200, 10, 6, "16.00")
    assert line["shares"] is None and line["revenue"] is None  # never reported: not invented


def test_a_task_without_terms_gives_no_amount_and_says_what_it_lacks(db):
    no_model = make_keyword(db, None)
    no_action = make_keyword(db, "CPA", price="3")
    track(db, no_model, "2026-11-01", views=100)
    track(db, no_action, "2026-11-01", activations=7)
    first, second = report(db)
    assert first["amount"] is None and first["model"] is None
    assert first["flags"] == [{"date": None, "keyword_id": None, "keyword": None,
                               "reason": f"任务 #{no_model['task_id']} "
                               "没有结算方式（任务平台未给出），无法计算金额"}]
    assert second["amount"] is None and second["model"] == "CPA"
    assert "没有转化行为" in second["flags"][0]["reason"]


# --- fraud: spike, ratio, release ---------------------------------------------------------

def spiky_cpm(db) -> dict:
    keyword = make_keyword(db, "CPM", price="2")
    for date, views in (("2026-11-01", 1000), ("2026-11-02", 900), ("2026-11-03", 1100),
                        ("2026-11-04", 1000), ("2026-11-05", 50000)):
        track(db, keyword, date, views=views)
    return keyword


def test_a_spike_after_enough_days_is_held_with_its_reason(db):
    keyword = spiky_cpm(db)
    line = one(report(db))
    # 4000 views paid (8.00); the spike day's 50000 views (100.00) held
    assert (line["amount"], line["held"]) == ("8.00", "100.00")
    assert line["flags"] == [{"date": "2026-11-05", "keyword_id": keyword["id"],
                              "keyword": keyword["text"],
                              "reason": "播放量 50000 超过此前 4 天中位数 1000 的 5 倍"}]


def test_the_spike_factor_is_the_setting(db):
    spiky_cpm(db)
    line = one(report(db, factor=60))
    assert (line["amount"], line["held"], line["flags"]) == ("108.00", "0.00", [])


def test_no_spike_check_with_fewer_than_three_earlier_days(db):
    keyword = make_keyword(db, "CPE", price="1")
    for date, likes in (("2026-11-01", 100), ("2026-11-02", 100), ("2026-11-03", 100000),
                        ("2026-11-04", 600)):
        track(db, keyword, date, likes=likes)
    line = one(report(db))
    # day 3 has only 2 earlier days: not checked; day 4 has 3 (median 100): 600 > 500
    assert flags(line) == [("2026-11-04", "互动量 600 超过此前 3 天中位数 100 的 5 倍")]
    assert (line["amount"], line["held"]) == ("100200.00", "600.00")


def test_an_odd_interaction_to_view_ratio_is_flagged(db):
    keyword = make_keyword(db, "CPE", price="0.1")
    for date in ("2026-11-01", "2026-11-02", "2026-11-03"):
        track(db, keyword, date, views=1000, likes=20)  # 2 %
    track(db, keyword, "2026-11-04", views=100, likes=20)  # 20 %: same interactions, no spike
    track(db, keyword, "2026-11-05", views=100000, likes=30)  # 0.03 %
    track(db, keyword, "2026-11-06", views=10, likes=20)  # more interactions than views
    line = one(report(db))
    reasons = set(flags(line))
    assert ("2026-11-04", "互动率 20.00%（互动 20 / 播放 100）高于此前 3 天中位数 2.00% 的 5 倍"
            ) in reasons
    assert ("2026-11-05", "互动率 0.03%（互动 30 / 播放 100000）低于此前 4 天中位数 2.00% 的 1/5"
            ) in reasons
    assert ("2026-11-06", "互动量 20 多于播放量 10") in reasons
    assert {date for date, _ in reasons} == {"2026-11-04", "2026-11-05", "2026-11-06"}
    assert (line["amount"], line["held"]) == ("6.00", "7.00")


def test_cpa_and_cps_days_are_not_checked_for_fraud(db):
    keyword = make_keyword(db, "CPA", price="1", action="activation")
    for date, views in (("2026-11-01", 10), ("2026-11-02", 10), ("2026-11-03", 10),
                        ("2026-11-04", 10**6)):
        track(db, keyword, date, views=views, likes=10**7, activations=1)
    line = one(report(db))
    assert (line["amount"], line["held"], line["flags"]) == ("4.00", "0.00", [])


def test_release_moves_held_money_to_amount_and_is_kept_in_history(db):
    keyword = spiky_cpm(db)
    done = release_day(db, keyword["text"], "2026/11/05", actor="cli:小王", spike_factor=5.0,
                       reason="人工核对：当天上了热门")
    assert (done["date"], done["amount"]) == ("2026-11-05", "100.00")
    line = one(report(db))
    assert (line["amount"], line["held"]) == ("108.00", "0.00")
    assert flags(line) == [("2026-11-05", "播放量 50000 超过此前 4 天中位数 1000 的 5 倍（已放行）")]
    [entry] = history_of(db, "settlement", f"{keyword['id']}/2026-11-05")
    assert (entry["action"], entry["actor"], entry["reason"]) == (
        "release", "cli:小王", "人工核对：当天上了热门")
    assert "播放量 50000" in json.loads(entry["data"])["flags"][0]


def test_a_second_release_is_refused_naming_who_and_when(db):
    keyword = spiky_cpm(db)
    release_day(db, f"#{keyword['id']}", "2026-11-05", actor="cli:小王", spike_factor=5.0)
    with pytest.raises(InputError, match=r"2026-11-05 已经放行过（cli:小王 于 \d{4}-"):
        release_day(db, keyword["text"], "2026-11-05", actor="cli:小李", spike_factor=5.0)
    assert db["settlement_releases"].count == 1
    assert len(history_of(db, "settlement", f"{keyword['id']}/2026-11-05")) == 1


def test_releasing_a_day_that_is_not_held_is_refused(db):
    keyword = spiky_cpm(db)
    with pytest.raises(InputError, match="2026-11-04 没有被暂扣的金额"):
        release_day(db, keyword["text"], "2026-11-04", actor=ACTOR, spike_factor=5.0)
    with pytest.raises(InputError, match="也没有回传数据"):
        release_day(db, keyword["text"], "2026-12-25", actor=ACTOR, spike_factor=5.0)
    assert db["settlement_releases"].count == 0 and not history_of(
        db, "settlement", f"{keyword['id']}/2026-11-04")


# --- grouping and filters -----------------------------------------------------------------

def add_submission(db, sid: str, keyword: dict, published_at: str | None,
                   status: str = "published", template: str = "悬念开场") -> None:
    db["submissions"].insert({"id": sid, "recipe_hash": sid, "path": f"/p/{sid}",
                              "keyword": keyword["text"], "keyword_id": keyword["id"],
                              "task_id": keyword["task_id"], "status": status,
                              "published_at": published_at, "template_id": template,
                              "template_version": "1"})


def test_by_submission_splits_a_keyword_day_among_its_published_submissions(db):
    keyword = make_keyword(db, "CPE", price="1")
    add_submission(db, "aaa", keyword, "2026-11-02")
    add_submission(db, "bbb", keyword, "2026-11-03T20:00")
    add_submission(db, "ccc", keyword, "2026-11-02T17:00:00+00:00")  # 11-03 01:00 in China
    add_submission(db, "ddd", keyword, None, status="ready")  # not published: no share
    track(db, keyword, "2026-11-01", likes=7)  # before any publishing
    track(db, keyword, "2026-11-02", likes=10)  # aaa alone
    track(db, keyword, "2026-11-03", likes=10)  # aaa, bbb, ccc: 3.333… each
    lines = report(db, by="submission")
    assert [(x["submission_id"], x["amount"], x["days"]) for x in lines] == [
        ("aaa", "13.33", 2), ("bbb", "3.33", 1), ("ccc", "3.33", 1), (None, "7.00", 1)]
    assert "views" not in lines[0]  # split counts would be fractions: not shown
    # the same shares summed by template are rounded once: 10 + 10, not 13.33 + 3.33 + 3.33
    [linked, unlinked] = report(db, by="template")
    assert (linked["template_id"], linked["template_version"], linked["amount"]) == (
        "悬念开场", "1", "20.00")
    assert (unlinked["template_id"], unlinked["amount"]) == (None, "7.00")


def test_from_and_to_are_inclusive_and_flags_still_see_earlier_days(db):
    spiky_cpm(db)
    line = one(report(db, date_from="2026-11-05", date_to="2026-11-05"))
    assert (line["amount"], line["held"], line["days"]) == ("0.00", "100.00", 1)
    line = one(report(db, date_from="20261102", date_to="2026年11月4日"))
    assert (line["amount"], line["days"], line["views"]) == ("6.00", 3, 3000)
    assert report(db, date_from="2026-12-01") == []
    with pytest.raises(InputError, match="--from 2026-11-05 晚于 --to 2026-11-01"):
        report(db, date_from="2026-11-05", date_to="2026-11-01")


def test_task_filter_and_groupings_by_task_account_and_day(db):
    cpe = make_keyword(db, "CPE", price="0.5")
    cpm = make_keyword(db, "CPM", price="10")
    track(db, cpe, "2026-11-01", likes=4)
    track(db, cpm, "2026-11-01", views=300)
    assert one(report(db, task_id=cpe["task_id"]))["keyword_id"] == cpe["id"]
    [day] = report(db, by="day")
    assert (day["date"], day["model"], day["amount"], day["days"]) == (
        "2026-11-01", "CPE+CPM", "5.00", 2)
    accounts = report(db, by="account")
    assert [(a["account_id"], a["channel"], a["amount"]) for a in accounts] == [
        (cpe["account_id"], "抖音", "2.00"), (cpm["account_id"], "抖音", "3.00")]
    with pytest.raises(InputError, match="没有编号为 999 的任务"):
        report(db, task_id=999)
    with pytest.raises(InputError, match="不认识的分组 --by week"):
        report(db, by="week")


def test_a_report_reads_a_bounded_number_of_rows(db, monkeypatch):
    from workbench.platform import daily

    keyword = make_keyword(db, "CPM", price="1")
    for date in ("2026-11-01", "2026-11-02", "2026-11-03"):
        track(db, keyword, date, views=1000)
    monkeypatch.setattr(daily, "MAX_ROWS", 2)
    with pytest.raises(InputError, match="回传数据有 3 行，超过一次最多 2 行：请用 --task 或 --to"):
        report(db)
    assert one(report(db, date_to="2026-11-02"))["amount"] == "2.00"


def test_bad_dates_and_an_overlong_reason_are_refused(db):
    keyword = spiky_cpm(db)
    with pytest.raises(InputError, match="--from不是日期：'11月5日'"):
        report(db, date_from="11月5日")
    with pytest.raises(InputError, match="放行日期不是日期"):
        release_day(db, keyword["text"], "昨天", actor=ACTOR, spike_factor=5.0)
    with pytest.raises(InputError, match="放行原因太长（501 个字符，最多 500）"):
        release_day(db, keyword["text"], "2026-11-05", actor=ACTOR, spike_factor=5.0,
                    reason="核" * 501)
    assert db["settlement_releases"].count == 0


# --- the command --------------------------------------------------------------------------

def test_cli_report_json_table_csv_and_release(db, tmp_path):
    keyword = spiky_cpm(db)
    help_text = run_cli("settle", "--help")
    assert help_text.returncode == 0 and "release" in help_text.stdout
    assert "--by" in help_text.stdout

    result = run_cli("settle", "--by", "task", "--json")
    assert result.returncode == 0, result.stderr
    [line] = json.loads(result.stdout)
    assert {k: line[k] for k in ("task_id", "app", "title", "model", "amount", "held")} == {
        "task_id": keyword["task_id"], "app": "番茄小说", "title": "原书名", "model": "CPM",
        "amount": "8.00", "held": "100.00"}
    assert line["flags"] == [{"date": "2026-11-05", "keyword_id": keyword["id"],
                              "keyword": keyword["text"],
                              "reason": "播放量 50000 超过此前 4 天中位数 1000 的 5 倍"}]

    table = run_cli("settle", "--csv", str(tmp_path / "结算.csv"))
    assert table.returncode == 0, table.stderr
    assert keyword["text"] in table.stdout and "合计" in table.stdout
    assert f"口令「{keyword['text']}」 2026-11-05 播放量 50000" in table.stdout
    raw = (tmp_path / "结算.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(raw.decode("utf-8-sig").splitlines()))
    assert (rows[0]["keyword"], rows[0]["amount"], rows[0]["held"]) == (
        keyword["text"], "8.00", "100.00")
    assert rows[0]["flags"] == "2026-11-05 播放量 50000 超过此前 4 天中位数 1000 的 5 倍"

    lenient = run_cli("settle", "--json", env={"WORKBENCH_SPIKE_FACTOR": "60"})
    assert json.loads(lenient.stdout)[0]["held"] == "0.00"

    released = run_cli("settle", "release", keyword["text"], "2026-11-05",
                       "--task", str(keyword["task_id"]), "--reason", "核对无误")
    assert released.returncode == 0, released.stderr
    release_id = released.stdout.strip().splitlines()[-1]
    assert release_id == str(db["settlement_releases"].get(int(release_id))["id"])
    assert "金额 100.00" in released.stdout
    [line] = json.loads(run_cli("settle", "--json").stdout)
    assert (line["amount"], line["held"]) == ("108.00", "0.00")

    again = run_cli("settle", "release", keyword["text"], "2026-11-05")
    assert again.returncode == 1 and again.stderr.startswith("错误: ")
    assert "已经放行过" in again.stderr and again.stdout == ""
    bad = run_cli("settle", "--by", "week")
    assert bad.returncode == 1 and "可选 keyword|task|account|submission|template|day" in bad.stderr


def test_cli_with_no_tracking_says_so(db):
    assert json.loads(run_cli("settle", "--json").stdout) == []
    assert "没有符合条件的回传数据" in run_cli("settle").stdout


def test_settle_runs_as_a_real_process(db):
    keyword = make_keyword(db, "CPM", price="8.00")
    track(db, keyword, "2026-11-01", views=1005)
    result = run_subprocess("settle", "--by", "day", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [{
        "date": "2026-11-01", "model": "CPM", "amount": "8.04", "held": "0.00", "flags": [],
        "days": 1, "views": 1005, "likes": None, "comments": None, "shares": None,
        "favorites": None, "clicks": None, "searches": None, "activations": None,
        "registrations": None, "orders": None, "retentions": None, "interactions": None,
        "revenue": None}]
    assert Decimal(json.loads(result.stdout)[0]["amount"]) == Decimal("8.04")
