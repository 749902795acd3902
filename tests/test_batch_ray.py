"""`--executor ray`: a three-job folder on a real local Ray (num_cpus=2), files returned as
bytes to the driver, which alone writes SQLite and moves packages into place."""
# The fixtures are imported by name, so test parameters "redefine" them:
# ruff: noqa: F811

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from batch_fixtures import batch_settings, write_folder  # noqa: F401

from workbench.batch import load_plan, run_batch
from workbench.package import verify_package

ray = pytest.importorskip("ray", reason="Ray is not installed: pip install '.[ray]'")


def test_three_jobs_on_a_local_ray(tmp_path, batch_settings, db, monkeypatch):
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")
    # Ray enables token auth for a new local cluster and would write a token to ~/.ray: give it
    # one for this run instead.
    monkeypatch.setenv("RAY_AUTH_TOKEN", secrets.token_hex(32))
    folder = write_folder(tmp_path / "briefs", {
        "ray.yaml": {"variants": 2},
        "solo.yaml": {"chapters": 3, "voice": "cmn+m3"},
    })
    plan = load_plan(folder, batch_settings, db, import_materials=True)
    assert len(plan.jobs) == 3
    result = run_batch(plan, batch_settings, db, executor="ray", workers=2)
    assert not ray.is_initialized()  # the Ray started for the run is stopped again
    assert [r["status"] for r in result.rows] == ["done"] * 3, result.rows
    for row in result.rows:
        package = Path(row["package"])
        assert package.parent == batch_settings.submissions_dir and verify_package(package) == []
        make = db["jobs"].get(json.loads((package / "manifest.json").read_text("utf-8"))
                              ["jobs"]["make"])
        assert make["status"] == "done"
        worker = json.loads(make["result"])["worker"]  # "node:pid" of the Ray worker
        assert worker.split(":")[1] != str(os.getpid())
    batch = db["batches"].get(result.batch_id)
    assert (batch["executor"], batch["status"], batch["jobs_done"]) == ("ray", "done", 3)
    assert not list(batch_settings.submissions_dir.glob(".*"))
    assert result.report_csv.is_file() and db["submissions"].count == 3


def test_a_job_through_ray_client_on_a_started_cluster(tmp_path, batch_settings, db):
    """`ray start --head` as a studio would, then `ray://127.0.0.1:PORT` from the driver: the
    Ray Client path, with token authentication on and the inputs sent as bytes."""
    from app_server import free_port

    token = secrets.token_hex(32)
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_TOKEN": token,
           "RAY_AUTH_MODE": "token"}
    ray_bin = Path(sys.executable).with_name("ray")
    port, client_port = free_port(), free_port()
    temp = Path(tempfile.mkdtemp(prefix="wbray-"))  # short: Ray's sockets live under it
    started = subprocess.run(
        [str(ray_bin), "start", "--head", "--num-cpus", "2", f"--port={port}",
         f"--ray-client-server-port={client_port}", "--include-dashboard=false",
         "--disable-usage-stats", f"--temp-dir={temp}"],
        env=env, capture_output=True, text=True, timeout=120, check=False)
    assert started.returncode == 0, started.stderr[-2000:]
    try:
        folder = write_folder(tmp_path / "briefs", {"one.yaml": {"voice": "cmn+f3"}})
        # The driver in its own process, as a studio runs it (Ray keeps one token per process).
        run = subprocess.run(
            [sys.executable, "-m", "workbench", "batch", str(folder), "--executor", "ray",
             "--ray-address", f"ray://127.0.0.1:{client_port}"],
            env=env, capture_output=True, text=True, timeout=300, check=False)
        assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
        assert "完成 1，复用 0，失败 0" in run.stdout
        rows = list(db["submissions"].rows)
        assert len(rows) == 1 and verify_package(Path(rows[0]["path"])) == []
        assert [b["executor"] for b in db["batches"].rows] == ["ray"]
    finally:
        subprocess.run([str(ray_bin), "stop", "--force"], env=env, capture_output=True,
                       timeout=120, check=False)
        shutil.rmtree(temp, ignore_errors=True)
