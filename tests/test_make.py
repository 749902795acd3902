"""`run_job` / `workbench make` end to end: real script, espeak, ffmpeg, SQLite and package files.

A short template keeps each render to a few seconds of draft video; the tests of one finished
package share a single render (`made_once`), each on its own fresh copy of it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cli_runner import run_cli, run_subprocess
from conftest import PreparedHome, isolate
from sqlite_utils import Database
from tiny_templates import write_templates

from workbench.compliance import check_aigc_metadata
from workbench.config import Settings, load_settings
from workbench.errors import Cancelled, ComplianceBlocked, InputError
from workbench.materials.library import add_material
from workbench.models import MakeJob
from workbench.package import CONTENT_FILES, verify_package
from workbench.pipeline import MakeOutcome, run_job
from workbench.platform.submissions_lifecycle import publish
from workbench.render.probe import probe, read_tags
from workbench.store import open_db
from workbench.store.submissions import get_submission, list_submissions

SAMPLES = Path(__file__).resolve().parent.parent / "assets" / "samples"


def _use_tiny_templates(monkeypatch: pytest.MonkeyPatch, templates: Path) -> None:
    monkeypatch.setenv("WORKBENCH_TEMPLATES_DIR", str(templates))
    monkeypatch.setenv("WORKBENCH_RENDER_PROFILE", "draft")


@pytest.fixture
def tiny_settings(home: Path, monkeypatch: pytest.MonkeyPatch):
    _use_tiny_templates(monkeypatch, write_templates(home.parent / "tpl"))
    return load_settings()


@dataclass(frozen=True)
class Made:
    job: MakeJob
    outcome: MakeOutcome
    seen: list[tuple[float, str]]
    settings: Settings
    db: Database


@pytest.fixture(scope="module")
def made_once(tmp_path_factory: pytest.TempPathFactory):
    """One package for the module: the same job rendered once, not once per test."""
    root = tmp_path_factory.mktemp("made")
    with pytest.MonkeyPatch.context() as mp:  # undone before any test runs
        isolate(mp, root)
        _use_tiny_templates(mp, write_templates(root / "tpl"))
        settings = load_settings()
        db = open_db(settings.db_path)
        try:
            material, _ = add_material(db, SAMPLES / "night-ferry.txt")
            job = MakeJob(material_id=material["id"], chapter=2, template="tiny",
                          keyword="夜渡迷局", rewrite_backend="rules")
            seen: list[tuple[float, str]] = []
            outcome = run_job(job, settings, db, lambda f, m: seen.append((f, m)))
        finally:
            db.close()
    return PreparedHome.freeze(root), job, outcome, seen


@pytest.fixture
def made(made_once, monkeypatch: pytest.MonkeyPatch) -> Iterator[Made]:
    """This test's own copy of `made_once`'s home, as it was right after the render."""
    prepared, job, outcome, seen = made_once
    prepared.restore(monkeypatch)
    _use_tiny_templates(monkeypatch, prepared.root / "tpl")
    settings = load_settings()
    db = open_db(settings.db_path)
    yield Made(job, outcome, list(seen), settings, db)
    db.close()


def test_package_has_every_file_and_a_verified_manifest(made):
    outcome, seen, tiny_settings, db = made.outcome, made.seen, made.settings, made.db
    folder = outcome.package
    assert folder == tiny_settings.submissions_dir / outcome.submission_id
    assert sorted(p.name for p in folder.iterdir()) == sorted([*CONTENT_FILES, "manifest.json"])
    assert verify_package(folder) == []
    manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
    assert manifest["template"]["id"] == "tiny" and manifest["template"]["hash"]
    assert manifest["rewrite"]["backend"] == "rules"
    assert manifest["voice"]["backend"] == "espeak"
    assert manifest["recipe"]["keyword"] == "夜渡迷局" and manifest["recipe"]["profile"] == "draft"
    assert manifest["compliance"]["blocked"] is False
    assert manifest["render"]["end_card"] == ["番茄小说里搜", "【夜渡迷局】"]  # template wording
    assert manifest["render"]["banner"] == "番茄小说搜索【夜渡迷局】"  # settings default
    info = probe(folder / "video.mp4")
    assert (info.width, info.height) == (720, 1280)
    assert abs(info.duration - manifest["durations"]["narration"]) <= 0.1
    # the AIGC tag in the finished file names this package
    tags = read_tags(folder / "video.mp4")
    assert check_aigc_metadata(tags, outcome.submission_id).level == "pass"
    caption = (folder / "caption.txt").read_text("utf-8")
    assert "番茄小说搜索【夜渡迷局】" in caption and "#" in caption
    checklist = (folder / "checklist.md").read_text("utf-8")
    assert "AI" in checklist and f"submissions publish {outcome.submission_id}" in checklist
    # progress goes forward and ends at 1.0, naming the stages
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any("渲染视频" in m for _, m in seen)
    # nothing half-made is left beside the package
    assert [p.name for p in tiny_settings.submissions_dir.iterdir()] == [outcome.submission_id]

    # rows link the package to its job, stage jobs and keyword
    row = get_submission(db, outcome.submission_id[:6])  # a prefix is enough
    assert row["keyword"] == "夜渡迷局" and row["status"] == "ready"
    assert row["job_id"] == outcome.job_id
    make = db["jobs"].get(outcome.job_id)
    assert make["kind"] == "make" and make["status"] == "done"
    children = {r["kind"] for r in db["jobs"].rows_where("parent_id = ?", [outcome.job_id])}
    assert children == {"script", "voice"}
    published = publish(db, row["id"], "https://www.douyin.com/video/123", actor="test")
    assert published["status"] == "published" and published["published_at"]
    with pytest.raises(InputError, match="http"):
        publish(db, row["id"], "douyin 123", actor="test")

    # verify_package notices tampering
    (folder / "caption.txt").write_text("改过了", encoding="utf-8")
    assert any("caption.txt" in p for p in verify_package(folder))


def test_same_job_reuses_the_package_and_force_remakes(made):
    job, outcome, tiny_settings, db = made.job, made.outcome, made.settings, made.db
    video = outcome.package / "video.mp4"
    before = video.stat().st_mtime_ns
    again = run_job(job, tiny_settings, db)
    assert again.reused and again.package == outcome.package
    assert video.stat().st_mtime_ns == before
    assert len(list_submissions(db)) == 1
    # a damaged package is not trusted: it is made again
    (outcome.package / "cover.jpg").write_bytes(b"not a jpeg")
    remade = run_job(job, tiny_settings, db)
    assert not remade.reused and verify_package(remade.package) == []
    forced = run_job(job, tiny_settings, db, force=True)
    assert not forced.reused and len(list_submissions(db)) == 1


def test_a_banned_word_blocks_before_rendering(tiny_settings, db):
    material, _ = add_material(db, SAMPLES / "night-ferry.txt")
    job = MakeJob(material_id=material["id"], chapter=2, template="tiny", keyword="夜渡迷局",
                  rewrite_backend="rules", banner="全网最好看：{app}搜索【{keyword}】")
    with pytest.raises(ComplianceBlocked, match="最好"):
        run_job(job, tiny_settings, db)
    assert list_submissions(db) == []
    assert not any(tiny_settings.submissions_dir.iterdir())
    failed = list(db["jobs"].rows_where("kind = 'make'"))[-1]
    assert failed["status"] == "failed" and "最好" in failed["error"]


def test_cancelled_make_leaves_no_package(tiny_settings, db):
    material, _ = add_material(db, SAMPLES / "night-ferry.txt")
    job = MakeJob(material_id=material["id"], chapter=2, template="tiny", keyword="夜渡迷局",
                  rewrite_backend="rules")
    stop = threading.Event()

    def progress(fraction: float, message: str) -> None:
        if "渲染视频" in message and fraction > 0.4:
            stop.set()

    with pytest.raises(Cancelled):
        run_job(job, tiny_settings, db, progress, cancel=stop)
    assert list(tiny_settings.submissions_dir.iterdir()) == []  # no staging folder either
    assert list_submissions(db) == []
    failed = list(db["jobs"].rows_where("kind = 'make'"))[-1]
    assert failed["status"] == "failed" and "取消" in failed["error"]


def test_too_long_for_the_task_is_blocked(tiny_settings, db):
    material, _ = add_material(db, SAMPLES / "night-ferry.txt")
    job = MakeJob(material_id=material["id"], chapter=2, template="tiny", keyword="夜渡迷局",
                  rewrite_backend="rules", max_seconds=1.0)
    with pytest.raises(ComplianceBlocked, match="1"):
        run_job(job, tiny_settings, db)
    assert list_submissions(db) == []


def test_cli_make_prints_the_package_and_lists_it(tiny_settings, home, tmp_path):
    """Subprocess smoke test of `make` and `submissions show`; the other calls run in-process."""
    added = run_cli("material", "add", str(SAMPLES / "night-ferry.gbk.txt"))
    assert added.returncode == 0, added.stderr
    made = run_subprocess("make", "--material", "1", "--chapter", "2", "--template", "tiny",
                          "--keyword", "夜渡迷局", "--backend", "rules", "--profile", "draft")
    assert made.returncode == 0, made.stderr
    line = next(x for x in made.stdout.splitlines() if x.startswith("成品包: "))
    package = Path(line.removeprefix("成品包: "))
    assert (package / "video.mp4").is_file() and verify_package(package) == []
    listed = run_cli("submissions", "list")
    assert package.name[:6] in listed.stdout
    shown = run_subprocess("submissions", "show", package.name)
    assert "文件校验: 全部与清单一致" in shown.stdout and "AIGC" in shown.stdout
    missing = run_cli("submissions", "show", "nope")
    assert missing.returncode == 1 and "没有编号为 nope 的提交记录" in missing.stderr
    bad = run_cli("make", "--material", "1", "--chapter", "2", "--template", "tiny",
                  "--keyword", "夜渡迷局", "--background", str(tmp_path / "nowhere"))
    assert bad.returncode == 1 and "背景不存在" in bad.stderr
    assert "Traceback" not in bad.stderr
