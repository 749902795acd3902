"""Which template earns: the analytics arithmetic on tracking rows imported through the real
importer and submissions published through the real lifecycle — hand-computed shares, Wilson
bounds against the closed form and published values, a reproducible bootstrap, the
small-sample case, the filters — and the `workbench lab stats` command."""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any

import pytest

from tests.cli_runner import run_cli, run_subprocess
from tests.lab_fixtures import ACTOR, keyword, track, two_tasks_published, video
from workbench.errors import InputError
from workbench.lab.earnings import template_stats
from workbench.lab.intervals import bootstrap_mean, wilson, z_value
from workbench.platform.tasks import add_task


def stats(db, **options: Any) -> list[dict[str, Any]]:
    return template_stats(db, spike_factor=5.0, **options)


def by_name(rows: list[dict[str, Any]]) -> dict[tuple, dict[str, Any]]:
    return {(r["template_id"], r.get("template_version")): r for r in rows}


@pytest.fixture
def loop(db, tmp_path) -> dict[str, Any]:
    """Two tasks, three published videos of 悬念 v1/v2 and 情感 v1, and their tracking (see
    lab_fixtures.two_tasks_published)."""
    return two_tasks_published(db, tmp_path)


# --- the arithmetic -----------------------------------------------------------------------

def test_shares_counts_and_money_per_template_version(db, loop):
    rows = by_name(stats(db, min_videos=1))
    v1, v2, emo = rows[("悬念", "1")], rows[("悬念", "2")], rows[("情感", "1")]
    # 11-01 is s1's alone; 11-02 is split between s1 and s2; 10-31 is before any video
    assert (v1["videos"], v1["views"], v1["interactions"], v1["conversions"]) == (1, 2500, 110, 0)
    assert (v2["videos"], v2["views"], v2["interactions"]) == (1, 1500, 60)
    # CPE 0.5: s1 = (50 + 120 / 2) × 0.5 = 55, s2 = 60 × 0.5 = 30
    assert (v1["earnings"], v1["earnings_per_video"], v2["earnings"]) == ("55.00", "55.00",
                                                                         "30.00")
    # CPA activation × 2: the task's action is the conversion
    assert (emo["views"], emo["conversions"], emo["earnings"]) == (500, 7, "14.00")
    assert emo["conversion_rate"]["k"] == 7 and emo["conversion_rate"]["n"] == 500
    assert [r["rank"] for r in stats(db, min_videos=1)] == [1, 2, 3]
    assert [r["template_id"] for r in stats(db, min_videos=1)] == ["悬念", "悬念", "情感"]
    # s4 was never published: not a video
    assert sum(r["videos"] for r in rows.values()) == 3


def test_by_template_merges_versions_and_bootstraps_the_videos(db, loop):
    rows = by_name(stats(db, by="template", min_videos=1))
    suspense = rows[("悬念", None)]
    assert "template_version" not in suspense
    assert (suspense["videos"], suspense["views"], suspense["interactions"]) == (2, 4000, 170)
    assert (suspense["earnings"], suspense["earnings_per_video"]) == ("85.00", "42.50")
    # resampling two videos (55 and 30) can only give means of 30, 42.50 or 55
    low, high = suspense["earnings_per_video_low"], suspense["earnings_per_video_high"]
    assert {low, high} <= {"30.00", "42.50", "55.00"} and low <= "42.50" <= high
    assert suspense["interaction_rate"]["k"] == 170 and suspense["interaction_rate"]["n"] == 4000
    low_rate, high_rate = wilson(170, 4000)
    assert suspense["interaction_rate"]["low"] == round(low_rate, 6)
    assert suspense["interaction_rate"]["high"] == round(high_rate, 6)


@pytest.mark.parametrize("k,n,low,high", [
    (0, 10, 0.0, 0.2775), (1, 10, 0.0179, 0.4042), (5, 10, 0.2366, 0.7634),
    (81, 263, 0.2553, 0.3662),  # Newcombe (1998), Stat Med 17:857, example 1
    (10, 10, 0.7225, 1.0)])
def test_wilson_matches_published_values_and_the_closed_form(k, n, low, high):
    got = wilson(k, n)
    assert got is not None
    assert (round(got[0], 4), round(got[1], 4)) == (low, high)
    z, p = 1.959963984540054, k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    assert got == pytest.approx((max(0, centre - half), min(1, centre + half)), abs=1e-12)
    assert z_value() == pytest.approx(z, abs=1e-12)


def test_wilson_is_none_when_the_counts_are_not_a_proportion():
    assert wilson(0, 0) is None and wilson(11, 10) is None and wilson(-1, 5) is None


def test_bootstrap_is_reproducible_with_its_seed_and_contains_the_mean():
    cents = [0, 150, 990, 1200, 37, 5000, 820, 415, 0, 2600]
    mean = Decimal(sum(cents)) / len(cents) / 100  # 11.212
    first = bootstrap_mean(cents, seed=7)
    assert first == bootstrap_mean(cents, seed=7)
    assert first != bootstrap_mean(cents, seed=8)
    assert first is not None and first[0] < mean < first[1]
    assert all(isinstance(b, Decimal) and b == b.quantize(Decimal("0.01")) for b in first)
    assert bootstrap_mean([], seed=7) is None
    assert bootstrap_mean([1234], seed=7) == (Decimal("12.34"), Decimal("12.34"))
    # exact integer cents even where an int64 sum would overflow
    huge = [10**17, 3 * 10**17]
    low, high = bootstrap_mean(huge, resamples=200)  # type: ignore[misc]
    assert Decimal(10**15) <= low <= high <= Decimal(3 * 10**15)


def test_three_lucky_videos_are_not_crowned_over_three_hundred_steady_ones(db, tmp_path):
    """300 videos averaging 10.00 yuan against 3 averaging 12.00 (0, 0, 36: one viral video)
    and 3 averaging 12.00 steadily (11, 12, 13)."""
    task = add_task(db, {"platform": "推文平台", "app": "番茄小说", "title": "原书",
                         "kind": "novel", "model": "CPA", "price": "1",
                         "action": "activation"}, "test")
    rows = []
    for j in range(30):  # 30 keywords × 10 videos: 9.50, 10.00 or 10.50 yuan each
        kw = keyword(db, task, f"稳定口令{j:02d}")
        for i in range(10):
            video(db, f"big{j:02d}{i}", kw, "稳定", "1", "2026-11-01")
        rows.append({"date": "2026-11-01", "keyword": kw["text"], "views": 1000,
                     "activations": 100 + 5 * (j % 3 - 1)})
    for name, earnings in (("侥幸", (0, 0, 36)), ("紧凑", (11, 12, 13))):
        for i, amount in enumerate(earnings):
            kw = keyword(db, task, f"{name}口令{i}")
            video(db, f"{name}{i}", kw, name, "1", "2026-11-01")
            rows.append({"date": "2026-11-01", "keyword": kw["text"], "views": 1000,
                         "activations": amount})
    track(db, tmp_path, rows)
    ranked = stats(db, by="template")
    big, lucky, tight = (by_name(ranked)[(n, None)] for n in ("稳定", "侥幸", "紧凑"))
    assert (big["videos"], big["earnings_per_video"]) == (300, "10.00")
    assert (lucky["earnings_per_video"], tight["earnings_per_video"]) == ("12.00", "12.00")
    # by the lower bound alone, the viral trio already ranks below the steady 300
    assert Decimal(lucky["earnings_per_video_low"]) < Decimal(big["earnings_per_video_low"])
    assert Decimal("9.80") < Decimal(big["earnings_per_video_low"]) < Decimal("10.00")
    # the tight trio's bootstrap cannot see the spread it was not drawn from: the threshold
    # flags both trios and ranks them after the 300
    assert [r["template_id"] for r in ranked] == ["稳定", "紧凑", "侥幸"]
    assert (big["small_sample"], lucky["small_sample"], tight["small_sample"]) == (
        False, True, True)
    assert [r["template_id"] for r in stats(db, by="template", min_videos=3)] == [
        "紧凑", "稳定", "侥幸"]


# --- filters --------------------------------------------------------------------------------

def test_filters_by_task_channel_account_dates_and_batch(db, loop):
    def ids(**options: Any) -> set[tuple]:
        return {(r["template_id"], r["template_version"]) for r in stats(db, **options)}

    assert ids(task=loop["b"]["id"]) == {("情感", "1")}
    assert ids(channel="快手") == {("情感", "1")} and ids(channel="抖音") == {
        ("悬念", "1"), ("悬念", "2")}
    assert ids(account=loop["k1"]["account_id"]) == {("悬念", "1"), ("悬念", "2")}
    # up to 11-01: s2 (published 11-02) is not a video yet
    assert ids(date_to="2026-11-01") == {("悬念", "1"), ("情感", "1")}
    # from 11-02: s1 keeps only its half of 11-02 (60 interactions × 0.5 = 30.00)
    later = by_name(stats(db, date_from="2026-11-02"))
    assert (later[("悬念", "1")]["interactions"], later[("悬念", "1")]["earnings"]) == (
        60, "30.00")
    assert (later[("情感", "1")]["videos"], later[("情感", "1")]["tracked"],
            later[("情感", "1")]["earnings"]) == (1, 0, "0.00")
    db["batches"].insert({"id": "b1", "folder": "/f", "status": "done"})
    db["batch_jobs"].insert({"batch_id": "b1", "job_key": "k", "submission_id": "s2",
                             "status": "done"})
    # only s2 is the batch's, yet the 11-02 split still counts s1: s2 keeps its half
    [only] = stats(db, batch="b1")
    assert (only["template_version"], only["interactions"], only["earnings"]) == (
        "2", 60, "30.00")
    with pytest.raises(InputError, match="没有编号为 nosuch 的批次"):
        stats(db, batch="nosuch")
    with pytest.raises(InputError, match="没有编号为 99 的任务"):
        stats(db, task=99)
    with pytest.raises(InputError, match="未知的发布渠道「油管」"):
        stats(db, channel="油管")
    with pytest.raises(InputError, match="--from 2026-11-03 晚于 --to 2026-11-01"):
        stats(db, date_from="2026-11-03", date_to="2026-11-01")
    with pytest.raises(InputError, match="不认识的分组 --by week"):
        stats(db, by="week")


def test_a_task_without_terms_leaves_its_videos_money_unknown(db, tmp_path):
    task = add_task(db, {"platform": "推文平台", "app": "番茄小说", "title": "原书",
                         "kind": "novel"}, ACTOR)  # the platform gave no model
    kw = keyword(db, task, "无条款口令")
    video(db, "u1", kw, "悬念", "1", "2026-11-01")
    track(db, tmp_path, [{"date": "2026-11-01", "keyword": kw["text"], "views": 10}])
    [row] = stats(db)
    assert (row["views"], row["earnings"], row["money_unknown"]) == (10, None, 1)
    assert row["earnings_per_video"] is None and row["earnings_per_video_low"] is None


# --- the command ----------------------------------------------------------------------------

def test_lab_stats_prints_a_table_json_and_an_html_chart(db, loop, tmp_path):
    shown = run_cli("lab", "stats")
    assert shown.returncode == 0, shown.stderr
    assert "悬念" in shown.stdout and "55.00" in shown.stdout and "样本太少" in shown.stdout
    as_json = run_cli("lab", "stats", "--by", "template", "--channel", "抖音", "--json")
    assert as_json.returncode == 0, as_json.stderr
    [row] = json.loads(as_json.stdout)
    assert (row["template_id"], row["earnings"], row["videos"]) == ("悬念", "85.00", 2)
    page = tmp_path / "out" / "lab.html"
    page.parent.mkdir()
    with_html = run_cli("lab", "stats", "--html", str(page), "--json", "--min-videos", "1")
    assert with_html.returncode == 0 and json.loads(with_html.stdout)[0]["rank"] == 1
    html = page.read_text("utf-8")
    assert "<svg" in html and "55.00" in html and "情感" in html
    assert html.count("<rect") == 3  # one bar per template version
    empty = run_cli("lab", "stats", "--task", str(loop["b"]["id"]), "--to", "2026-10-01")
    assert empty.returncode == 0 and "没有符合条件的已发布成品" in empty.stdout


def test_lab_stats_errors_are_one_chinese_line():
    bad = run_subprocess("lab", "stats", "--from", "明天")
    assert bad.returncode == 1 and bad.stderr.strip() == (
        "错误: --from不是日期：'明天'（写成 2026-11-30）")
    assert run_cli("lab", "stats", "--by", "week").stderr.strip().startswith(
        "错误: 不认识的分组 --by week")
