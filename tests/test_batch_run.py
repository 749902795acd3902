"""`workbench batch` end to end on the local process pool: real espeak, ffmpeg, SQLite, worker
processes and a real SIGKILL. The tiny template keeps each draft render to a few seconds.

The command runs in-process (`cli_runner.run_cli`) except in the kill test, whose batch is a
real `python -m workbench batch` process: that is the subprocess smoke test of `batch`."""
# The fixtures are imported by name, so test parameters "redefine" them:
# ruff: noqa: F811

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from batch_fixtures import batch_settings, write_folder  # noqa: F401
from cli_runner import run_cli
from llm_server import LLMServer, llm_server  # noqa: F401

from workbench.batch import load_plan, run_batch
from workbench.batch.fingerprint import DUPLICATE_BITS
from workbench.batch.records import INTERRUPTED
from workbench.config import load_settings
from workbench.package import verify_package


def _packages(settings) -> list[Path]:
    return sorted(p for p in settings.submissions_dir.iterdir() if not p.name.startswith("."))


def test_cli_batch_runs_reports_failures_and_a_rerun_adds_nothing(tmp_path, batch_settings, db):
    folder = write_folder(tmp_path / "briefs", {
        "good.yaml": {"variants": 2},
        "blocked.md": "---\nbanner: 全网最好看：{app}搜索【{keyword}】\n---\n",
    })
    dry = run_cli("batch", str(folder), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "共 3 个任务：0 个已有成品（跳过），3 个待生成，预计用时约" in dry.stdout
    assert db["materials"].count == 0 and db["batches"].count == 0  # a dry run writes nothing

    first = run_cli("batch", str(folder), "--workers", "2")
    assert first.returncode == 1, first.stderr  # one job failed: non-zero, the others done
    assert "完成 2，复用 0，失败 1" in first.stdout
    assert "失败  blocked.md #1：合规检查未通过" in first.stdout and "最好" in first.stdout
    assert "Traceback" not in first.stderr
    report = folder / "output" / "report.csv"
    rows = list(csv.DictReader(report.read_text("utf-8-sig").splitlines()))
    assert [(r["brief"], r["variant"], r["status"]) for r in rows] == [
        ("blocked.md", "1", "failed"), ("good.yaml", "1", "done"), ("good.yaml", "2", "done")]
    assert "最好" in rows[0]["error"] and rows[1]["voice"] == "cmn" and rows[2]["voice"] == "cmn+f3"
    for row in rows[1:]:
        assert verify_package(Path(row["package"])) == [] and float(row["duration"]) > 0
    html = (folder / "output" / "report.html").read_text("utf-8")
    assert html.count("data:image/jpeg;base64,") == 2 and "合规检查未通过" in html
    batch = next(iter(db["batches"].rows))
    assert (batch["status"], batch["jobs_done"], batch["jobs_failed"]) == ("failed", 2, 1)
    assert db["submissions"].count == 2

    makes_before = db["jobs"].count_where("kind = 'make'")
    videos = {p.name: (p / "video.mp4").stat().st_mtime_ns for p in _packages(batch_settings)}
    again = run_cli("batch", str(folder), "--workers", "2")
    assert again.returncode == 1 and "2 个已有成品（跳过），1 个待生成" in again.stdout
    assert "完成 2，复用 0，失败 1" in again.stdout  # rendered by this batch earlier: still "done"
    assert {p.name: (p / "video.mp4").stat().st_mtime_ns
            for p in _packages(batch_settings)} == videos
    assert (db["batches"].count, db["batch_jobs"].count, db["submissions"].count) == (1, 3, 2)
    assert db["jobs"].count_where("kind = 'make'") == makes_before + 1  # only the blocked retry


def test_variants_share_scripts_and_voices_and_render_in_parallel(
        tmp_path, batch_settings, db, llm_server: LLMServer, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", llm_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-batch")
    monkeypatch.setenv("WORKBENCH_LLM_MAX_RETRIES", "0")
    monkeypatch.setenv("WORKBENCH_REWRITE_BACKEND", "openai")
    settings = load_settings()
    folder = write_folder(tmp_path / "briefs", {"m.yaml": {
        "matrix": {"hooks": ["船票背面写着我的死期。", "末班船上只有我一个活人？"],
                   "voices": ["cmn", "cmn+f3"]}}})
    plan = load_plan(folder, settings, db, import_materials=True)
    result = run_batch(plan, settings, db, workers=2)
    assert result.count("done") == 4, result.rows
    # one LLM call per distinct script (hook), not per variant
    assert len(llm_server.chat_requests) == 2
    manifests = [json.loads((Path(r["package"]) / "manifest.json").read_text("utf-8"))
                 for r in result.rows]
    assert sorted(m["rewrite"]["cached"] for m in manifests) == [False, False, True, True]
    # one synthesis per distinct (segment text, voice): the rest came from the voice cache
    scripts = {r["id"]: json.loads(r["result"]) for r in db["jobs"].rows_where("kind = 'script'")}
    pairs = {(seg["text"], m["voice"]["voice"]) for m in manifests
             for seg in scripts[m["jobs"]["script"]]["segments"]}
    assert sum(m["voice"]["synthesized"] for m in manifests) == len(pairs)
    assert sum(m["voice"]["cached"] for m in manifests) == 4 * 3 - len(pairs)
    # renders ran in two worker processes (the driver never renders)
    workers = {json.loads(db["jobs"].get(m["jobs"]["make"])["result"])["worker"]
               for m in manifests}
    assert len(workers) == 2 and str(os.getpid()) not in {w.split(":")[1] for w in workers}


def test_near_identical_outputs_are_flagged(tmp_path, batch_settings, db):
    # b.yaml: the same picture as a.yaml's first variant with other music ("swapped audio only")
    folder = write_folder(tmp_path / "briefs", {
        "a.yaml": {"variants": 2},
        "b.yaml": {"voice": "cmn", "bgm": "none"},
    })
    plan = load_plan(folder, batch_settings, db, import_materials=True)
    result = run_batch(plan, batch_settings, db, workers=1)
    a1, a2, b1 = result.rows
    assert [r["status"] for r in result.rows] == ["done"] * 3
    assert a1["duplicate_of"] is None and a2["duplicate_of"] is None
    assert a2["distance"] > DUPLICATE_BITS  # a sibling: other voice and background seed
    assert b1["duplicate_of"] == a1["submission_id"] and b1["distance"] <= DUPLICATE_BITS
    flagged = db["fingerprints"].get(b1["submission_id"])
    assert flagged["duplicate_of"] == a1["submission_id"] and len(json.loads(flagged["frames"])) == 8
    assert db["batches"].get(result.batch_id)["duplicates"] == 1
    html = result.report_html.read_text("utf-8")
    assert f"与 {a1['submission_id']} 几乎相同" in html


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            child = int(stat.parent.name)
            found += [child, *_children(child)]
    return found


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:  # renamed or removed between glob and stat
        return 0


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(sys.platform != "linux", reason="uses /proc to find the worker processes")
def test_killed_mid_render_resumes_without_duplicates(tmp_path, batch_settings, db):
    folder = write_folder(tmp_path / "briefs", {"v.yaml": {"variants": 3}})
    subs = batch_settings.submissions_dir
    proc = subprocess.Popen([sys.executable, "-m", "workbench", "batch", str(folder),
                             "--workers", "1"], env={**os.environ},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        partial = None
        while time.monotonic() < deadline and proc.poll() is None:
            done = [p for p in subs.glob("*") if not p.name.startswith(".")] if subs.is_dir() else []
            parts = [p for p in subs.glob(".staging-*/.video.mp4.part") if _size(p) > 0]
            if done and parts:
                partial = parts[0]
                break
            time.sleep(0.05)
        assert partial is not None, "the batch never reached a second render"
        helpers = _children(proc.pid)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
    # the worker and its ffmpeg die with the batch: nothing keeps writing into staging
    deadline = time.monotonic() + 30
    while any(_alive(p) for p in helpers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(p) for p in helpers)
    killed_id = partial.parent.name.removeprefix(".staging-")
    assert not (subs / killed_id).exists()  # a partial render is never taken for a package
    # the job being rendered, and the next one already prepared (its script and voice), were
    # left "running" by the kill
    running = {r["submission_id"] for r in db["batch_jobs"].rows if r["status"] == "running"}
    assert killed_id in running
    finished = [p for p in _packages(batch_settings)]
    before = {p.name: (p / "video.mp4").stat().st_mtime_ns for p in finished}

    resumed = run_cli("batch", str(folder), "--workers", "1")
    assert resumed.returncode == 0, resumed.stderr
    assert f"{len(before)} 个已有成品（跳过）" in resumed.stdout
    packages = _packages(batch_settings)
    assert len(packages) == 3 and all(verify_package(p) == [] for p in packages)
    assert not list(subs.glob(".*"))  # no staging left behind
    for name, mtime in before.items():  # what was finished is not redone
        assert (subs / name / "video.mp4").stat().st_mtime_ns == mtime
    assert (db["batches"].count, db["batch_jobs"].count, db["submissions"].count) == (1, 3, 3)
    assert {r["status"] for r in db["batch_jobs"].rows} == {"done"}
    makes = list(db["jobs"].rows_where("kind = 'make'"))
    assert not [m for m in makes if m["status"] == "running"]
    interrupted = [m for m in makes if m["status"] == "failed"]
    assert {m["recipe_hash"][:12] for m in interrupted} == running
    assert {m["error"] for m in interrupted} == {INTERRUPTED}
    done = [m["recipe_hash"] for m in makes if m["status"] == "done"]
    assert len(done) == len(set(done)) == 3


def test_the_same_batch_cannot_run_twice_at_once(tmp_path, batch_settings, db):
    import fcntl

    from workbench.errors import InputError

    folder = write_folder(tmp_path / "briefs", {"one.yaml": {}})
    plan = load_plan(folder, batch_settings, db, import_materials=True)
    lock = batch_settings.home / "locks" / f"batch-{plan.batch_id}.lock"
    lock.parent.mkdir(parents=True)
    with open(lock, "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as another batch process would
        with pytest.raises(InputError, match="已经在另一个 workbench batch 进程里运行"):
            run_batch(plan, batch_settings, db)
    assert db["batches"].count == 0 and db["submissions"].count == 0


def test_a_cancelled_batch_stops_keeps_finished_packages_and_reports(tmp_path, batch_settings,
                                                                      db):
    import threading

    from workbench.batch.runner import NoDisplay

    cancel = threading.Event()

    class CancelAfterFirst(NoDisplay):  # the web tab's 取消, pressed once a package is made
        def job_finished(self, key: str, status: str, message: str) -> None:
            if status == "done":
                cancel.set()

    folder = write_folder(tmp_path / "briefs", {"v.yaml": {"variants": 3}})
    plan = load_plan(folder, batch_settings, db, import_materials=True)
    result = run_batch(plan, batch_settings, db, workers=1, display=CancelAfterFirst(),
                       cancel=cancel)
    assert result.status == "interrupted"
    statuses = [r["status"] for r in result.rows]
    # one made; the next (prepared while the first rendered) failed as 已取消; the last not run
    assert statuses == ["done", "failed", "pending"], statuses
    assert result.rows[1]["error"] == "已取消"
    packages = _packages(batch_settings)
    assert len(packages) == 1 and verify_package(packages[0]) == []
    assert not list(batch_settings.submissions_dir.glob(".*"))  # no staging left behind
    assert not list(db["jobs"].rows_where("kind = 'make' AND status = 'running'"))
    assert db["batches"].get(plan.batch_id)["status"] == "interrupted"
    rows = list(csv.DictReader(result.report_csv.read_text("utf-8-sig").splitlines()))
    assert [r["status"] for r in rows] == statuses
    assert "未运行" in result.report_html.read_text("utf-8")
