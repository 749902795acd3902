"""Batch briefs with a drama: a folder of episodes (imported once by the runner) or a stored
drama's id, the drama templates, `segments:`; `chapters:` refused for a drama and required for
a novel, `segments:` refused for a novel. A dry run writes nothing; a real run renders a cut."""
# ruff: noqa: F811

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
import yaml
from batch_fixtures import NOVEL
from cli_runner import run_cli
from drama_fixtures import SampleDrama, sample_drama  # noqa: F401

from workbench.batch import load_plan
from workbench.batch.briefs import BriefErrors
from workbench.materials.drama import add_drama
from workbench.package import verify_package

SEGMENT = "1:12.44-18"


def write(folder: Path, briefs: dict[str, dict], sample: SampleDrama) -> Path:
    """The briefs, with a copy of the sample drama's folder beside them (paths in a brief
    stay inside its folder)."""
    shutil.copytree(sample.folder, folder / "夜渡")
    for name, content in briefs.items():
        (folder / name).write_text(yaml.safe_dump(content, allow_unicode=True), "utf-8")
    return folder


def drama_brief(**values) -> dict:
    return {"material": "夜渡", "keyword": "夜渡迷局", "template": "cut",
            "profile": "draft", **values}


def problems(folder: Path, settings, db) -> str:
    with pytest.raises(BriefErrors) as caught:
        load_plan(folder, settings, db, import_materials=False)
    return str(caught.value)


def test_a_drama_folder_plans_and_a_real_run_renders_a_cut(tmp_path, settings, db,
                                                            sample_drama):
    folder = write(tmp_path / "briefs", {"cut.yaml": drama_brief(
        segments=[SEGMENT], max_seconds=20)}, sample_drama)
    dry = run_cli("batch", str(folder), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "共 1 个任务" in dry.stdout and "短剧" in dry.stdout
    assert db["materials"].count == 0  # a dry run imports nothing

    real = run_cli("batch", str(folder))
    assert real.returncode == 0, real.stdout + real.stderr
    assert "完成 1，复用 0，失败 0" in real.stdout
    material = next(iter(db["materials"].rows))
    assert material["kind"] == "drama" and db["episodes"].count == 3
    rows = list(csv.DictReader((folder / "output" / "report.csv").read_text(
        "utf-8-sig").splitlines()))
    assert [(r["brief"], r["status"], r["template"]) for r in rows] == [("cut.yaml", "done",
                                                                         "cut")]
    html = (folder / "output" / "report.html").read_text("utf-8")
    assert "短剧 · 模板 cut" in html and "第 短剧 章" not in html
    package = Path(rows[0]["package"])
    assert verify_package(package) == []
    manifest = json.loads((package / "manifest.json").read_text("utf-8"))
    [episode] = manifest["drama"]["episodes"]
    assert episode["episode"] == 1 and episode["ranges"][0] == pytest.approx([12.44, 18.0],
                                                                              abs=0.041)
    assert manifest["durations"]["video"] == pytest.approx(
        18 - 12.44 + manifest["drama"]["end_card_seconds"], abs=0.15)

    again = run_cli("batch", str(folder), "--dry-run")  # imported once: the same drama
    assert again.returncode == 0 and "1 个已有成品" in again.stdout, again.stdout
    assert db["materials"].count == 1


def test_a_stored_drama_by_id_without_segments_lets_the_highlights_choose(
        tmp_path, settings, db, sample_drama):
    material = add_drama(db, [sample_drama.folder]).material["id"]
    folder = write(tmp_path / "briefs", {"both.yaml": {
        "material": material, "keyword": "夜渡迷局", "matrix": {"templates": ["cut", "narrated"]},
        "min_differences": 1}}, sample_drama)
    plan = load_plan(folder, settings, db, import_materials=False)
    assert [(j.job.template, j.job.chapter, j.job.segments, j.job.material_id)
            for j in plan.jobs] == [("cut", None, None, material),
                                    ("narrated", None, None, material)]


def test_brief_problems_for_dramas_and_novels(tmp_path, settings, db, sample_drama):
    material = add_drama(db, [sample_drama.folder]).material["id"]
    folder = write(tmp_path / "briefs", {
        "chapters.yaml": drama_brief(chapters=2),
        "novel-template.yaml": drama_brief(template="suspense"),
        "past-end.yaml": {"material": material, "keyword": "夜渡迷局", "template": "cut",
                          "segments": "1:5-999"},
        "bad-text.yaml": drama_brief(segments="第一集"),
        "background.yaml": drama_brief(background="generated:1"),
        "novel-segments.yaml": {"material": str(NOVEL), "keyword": "夜渡迷局", "chapters": 1,
                                "segments": SEGMENT},
        "novel-no-chapters.yaml": {"material": str(NOVEL), "keyword": "夜渡迷局"},
        "drama-template.yaml": {"material": str(NOVEL), "keyword": "夜渡迷局", "chapters": 1,
                                "template": "narrated"},
    }, sample_drama)
    text = problems(folder, settings, db)
    assert "chapters.yaml:1: 素材是短剧，没有章节：去掉 chapters" in text
    assert "模板 suspense 是小说模板，素材是短剧：短剧请用 cut（切片）或 narrated（解说）" in text
    assert "past-end.yaml:3: 片段「1:5-999」超出了第 1 集的结尾" in text
    assert "bad-text.yaml" in text and "片段「第一集」看不懂" in text
    assert "background.yaml:1: 素材是短剧，画面就是所选片段：去掉 backgrounds" in text
    assert "novel-segments.yaml:4: segments 只用于短剧素材" in text
    assert "novel-no-chapters.yaml:1: 缺少 chapters" in text
    assert "模板 narrated 是短剧模板，素材是小说" in text
    assert "--segments" not in text
    assert db["materials"].count == 1  # nothing imported by a refused folder
