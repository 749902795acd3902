"""A/B templates in a batch: weights apportioned exactly (largest remainder) and interleaved,
bad weights reported with file and line, and the batch report's per-template comparison
(built from finished job records, no renders)."""
# The fixtures are imported by name, so test parameters "redefine" them:
# ruff: noqa: F811

from __future__ import annotations

import csv
import itertools
import json
from fractions import Fraction
from pathlib import Path

import pytest
from batch_fixtures import batch_settings, write_folder  # noqa: F401

from tests.lab_fixtures import keyword, track, video
from workbench.batch import BriefErrors, load_plan
from workbench.batch.ab import apportion, unused_templates, weighted_order
from workbench.batch.plan import BatchPlan
from workbench.batch.report import write_reports
from workbench.lab.earnings import batch_stats
from workbench.platform.tasks import add_task


def problems_of(folder: Path, settings, db) -> list[str]:
    with pytest.raises(BriefErrors) as caught:
        load_plan(folder, settings, db, import_materials=False)
    return [str(p) for p in caught.value.problems]


# --- apportionment ------------------------------------------------------------------------

@pytest.mark.parametrize("weights,total,counts", [
    ([2, 1], 3, [2, 1]), ([1, 1, 1], 10, [4, 3, 3]), ([5, 3, 2], 7, [4, 2, 1]),
    ([1, 2], 4, [1, 3]), ([3, 3], 5, [3, 2]), ([10, 1, 1], 3, [3, 0, 0]), ([7], 4, [4])])
def test_largest_remainder_gives_exact_counts(weights, total, counts):
    assert apportion(weights, total) == counts


def test_every_count_is_its_quota_rounded_down_or_up():
    for weights in itertools.product(range(1, 5), repeat=3):
        for total in range(12):
            counts = apportion(list(weights), total)
            assert sum(counts) == total
            for weight, count in zip(weights, counts, strict=True):
                quota = Fraction(total * weight, sum(weights))
                assert quota - 1 < count < quota + 1


def test_the_order_interleaves_the_templates():
    assert weighted_order(["a", "b"], [2, 1], 3) == ["a", "b", "a"]
    assert weighted_order(["a", "b", "c"], [1, 1, 1], 5) == ["a", "b", "c", "a", "b"]
    order = weighted_order(["a", "b"], [3, 1], 8)
    assert (order.count("a"), order.count("b")) == (6, 2) and order[:2] != ["b", "b"]
    assert unused_templates({"a": 10, "b": 1}, 2)[0][0] == "b"
    assert unused_templates({"a": 1, "b": 1}, 2) == []


# --- briefs -----------------------------------------------------------------------------

def test_brief_weights_share_the_variants_exactly(tmp_path, batch_settings, db):
    folder = write_folder(tmp_path / "briefs", {
        "ab.yaml": "chapters: [1, 2]\nvariants: 3\ntemplates:\n  tinyhook: 2\n  tiny: 1\n",
        "one.yaml": {"variants": 2, "template": "tiny", "chapters": 3},  # one template: as before
    })
    plan = load_plan(folder, batch_settings, db, import_materials=False)
    ab = [p for p in plan.jobs if p.brief.endswith("ab.yaml")]
    for chapter in (1, 2):
        assert [p.job.template for p in ab if p.job.chapter == chapter] == [
            "tinyhook", "tiny", "tinyhook"]
    assert [p.label["template"] for p in ab[:3]] == ["tinyhook", "tiny", "tinyhook"]
    # the other axes still rotate with the variant
    assert [p.job.voice for p in ab[:3]] == ["cmn", "cmn+f3", "cmn+m3"]
    assert [p.job.template for p in plan.jobs if p.brief.endswith("one.yaml")] == [
        "tiny", "tiny"]


def test_bad_weights_are_reported_with_file_and_line(tmp_path, batch_settings, db):
    folder = write_folder(tmp_path / "briefs", {
        "a-zero.yaml": "variants: 2\ntemplates:\n  tiny: 0\n  tinyhook: two\n",
        "b-unknown.yaml": "variants: 2\ntemplates:\n  tiny: 1\n  nosuch: 1\n",
        "c-starved.yaml": "variants: 2\ntemplates: {tinyhook: 10,\n  tiny: 1}\n",
        "d-empty.yaml": "variants: 2\ntemplates: {}\n",
        "e-in-matrix.yaml": "matrix:\n  templates: {tiny: 1}\n",
    })
    found = problems_of(folder, batch_settings, db)
    text = "\n".join(found)
    a, b, c, d, e = (str(folder / name) for name in (
        "a-zero.yaml", "b-unknown.yaml", "c-starved.yaml", "d-empty.yaml", "e-in-matrix.yaml"))
    assert f"{a}:3: templates.tiny 太小（0），至少 1（A/B 模板写成 模板: 权重" in text
    assert f"{a}:4: templates.tinyhook 应为整数，现在是 'two'" in text
    assert f"{b}:4: 找不到模板 'nosuch'" in text
    assert (f"{c}:3: 按权重把 2 个变体分给 2 个模板（tinyhook 2、tiny 0），模板 tiny 一个也分不到"
            in text)
    assert f"{d}:2: templates 不能为空" in text
    assert f"{e}:2: matrix.templates 应为列表" in text
    assert db["materials"].count == 0


# --- the report's comparison --------------------------------------------------------------

def job_row(n: int, template: str, status: str, package: Path | None, duration: float | None
            ) -> dict:
    return {"brief": "/f/ab.yaml", "variant": n, "recipe_hash": f"h{n}",
            "label": json.dumps({"chapter": 1, "template": template, "voice": "cmn",
                                 "background": "内置", "bgm": "内置", "hook": "", "seed": n},
                                ensure_ascii=False),
            "status": status, "error": "渲染失败" if status == "failed" else None,
            "duration": duration, "package": str(package) if package else None,
            "duplicate_of": None, "distance": None, "submission_id": f"s{n}"}


def package(root: Path, name: str, size: int) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "video.mp4").write_bytes(b"\0" * size)
    return folder


def test_the_report_compares_templates_and_shows_their_earnings(db, tmp_path):
    packages = tmp_path / "packages"
    rows = [job_row(1, "suspense", "done", package(packages, "p1", 2_000_000), 10.0),
            job_row(2, "emotional", "done", package(packages, "p2", 1_000_000), 20.0),
            job_row(3, "suspense", "cached", package(packages, "p3", 4_000_000), None),
            job_row(4, "suspense", "failed", None, 3.0),
            job_row(5, "emotional", "pending", None, None)]
    # the batch's videos, published and tracked: s1 (suspense) and s2 (emotional)
    db["batches"].insert({"id": "batch1", "folder": "/f", "status": "done"})
    for row in rows:
        db["batch_jobs"].insert({"batch_id": "batch1", "job_key": row["recipe_hash"],
                                 "submission_id": row["submission_id"], "status": row["status"]})
    task = add_task(db, {"platform": "推文平台", "app": "番茄小说", "title": "原书", "kind": "novel",
                         "model": "CPM", "price": "8"}, "test")
    for sid, template, views in (("s1", "suspense", 2500), ("s2", "emotional", 1000)):
        kw = keyword(db, task, f"{template}口令")
        video(db, sid, kw, template, "1", "2026-11-01")
        track(db, tmp_path, [{"date": "2026-11-01", "keyword": kw["text"], "views": views}])
    lab = batch_stats(db, "batch1", 5.0)
    assert [(r["template_id"], r["earnings"]) for r in lab] == [("suspense", "20.00"),
                                                               ("emotional", "8.00")]
    output = tmp_path / "out"
    output.mkdir()
    plan = BatchPlan(folder=tmp_path / "f", output_dir=output, jobs=[])
    csv_path, html_path = write_reports(plan, rows, "batch1", lab)
    compared = list(csv.DictReader(
        (output / "report-templates.csv").read_text("utf-8-sig").splitlines()))
    assert [(r["template"], r["jobs"], r["done"], r["cached"], r["failed"], r["not_run"])
            for r in compared] == [("suspense", "3", "1", "1", "1", "0"),
                                   ("emotional", "2", "1", "0", "0", "1")]
    # render seconds count the jobs rendered (done) only; sizes every video made or reused
    assert (compared[0]["render_seconds"], compared[0]["video_bytes"],
            compared[0]["mb_per_video"]) == ("10.0", "6000000", "3.00")
    assert (compared[1]["seconds_per_job"], compared[1]["mb_per_video"]) == ("20.0", "1.00")
    jobs = list(csv.DictReader(csv_path.read_text("utf-8-sig").splitlines()))
    assert len(jobs) == 5  # report.csv keeps one row per job
    html = html_path.read_text("utf-8")
    assert "模板对比" in html and "workbench lab stats --batch batch1 --by template" in html
    assert "发布后的收益" in html and "20.00" in html and "<svg" in html
    bare = write_reports(plan, rows, "batch1")[1].read_text("utf-8")
    assert "模板对比" in bare and "发布后的收益" not in bare and "--batch batch1" in bare
