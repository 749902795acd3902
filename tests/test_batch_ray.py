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


@pytest.mark.timeout(360)  # ~50 s idle; starts and stops a whole cluster
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
        assert run.returncode == 0, (run.stdout[-2000:] + run.stderr[-2000:]
                                     + _client_server_logs(temp))
        assert "完成 1，复用 0，失败 0" in run.stdout
        rows = list(db["submissions"].rows)
        assert len(rows) == 1 and verify_package(Path(rows[0]["path"])) == []
        assert [b["executor"] for b in db["batches"].rows] == ["ray"]
    finally:
        subprocess.run([str(ray_bin), "stop", "--force"], env=env, capture_output=True,
                       timeout=120, check=False)
        shutil.rmtree(temp, ignore_errors=True)


class _FlakyClientCluster:
    """Stands in for the far side of `ray.init("ray://…")` only: the cluster whose
    per-connection server dies at birth `deaths` times (ray-project/ray#63202)."""

    def __init__(self, deaths: int, error: Exception | None = None):
        self.deaths, self.calls, self.connected = deaths, 0, False
        self.error = error or ConnectionAbortedError(
            "Initialization failure from server:\nTraceback (most recent call last):\n"
            "  File \"proxier.py\", line 772, in Datapath\nRuntimeError: Starting Ray client "
            "server failed. See ray_client_server_23000.err for detailed logs.")

    def init(self, **options):
        self.calls += 1
        if self.calls <= self.deaths:
            raise self.error
        self.connected = True

    def is_initialized(self):
        return self.connected

    def shutdown(self):
        self.connected = False


def test_a_client_server_that_dies_at_start_is_retried(caplog):
    from workbench.batch.executors import _init_ray

    cluster = _FlakyClientCluster(deaths=2)
    waited: list[float] = []  # the backoff, recorded instead of slept
    _init_ray(cluster, {"address": "ray://head:10001"}, sleep=waited.append)
    assert cluster.calls == 3 and cluster.connected
    assert waited == [1, 2]
    assert "attempt 2/4" in caplog.text
    # The same death, seen by the proxy as a zombie child instead (both happened in CI).
    zombie = _FlakyClientCluster(deaths=1, error=ConnectionAbortedError(
        "Initialization failure from server:\nTraceback (most recent call last):\n"
        "psutil.ZombieProcess: PID still exists but it's a zombie (pid=1958)"))
    _init_ray(zombie, {"address": "ray://head:10001"}, sleep=waited.append)
    assert zombie.calls == 2 and zombie.connected


def test_other_connection_failures_are_not_retried_and_read_in_one_line():
    from workbench.batch.executors import RAY_CLIENT_ATTEMPTS, _init_ray, _last_line

    waited: list[float] = []
    refused = _FlakyClientCluster(deaths=9, error=ConnectionError("ray client connection timeout"))
    with pytest.raises(ConnectionError):
        _init_ray(refused, {"address": "ray://head:10001"}, sleep=waited.append)
    assert refused.calls == 1 and waited == []
    dying = _FlakyClientCluster(deaths=9)
    with pytest.raises(ConnectionAbortedError) as raised:
        _init_ray(dying, {"address": "ray://head:10001"}, sleep=waited.append)
    assert dying.calls == RAY_CLIENT_ATTEMPTS and waited == [1, 2, 4]
    assert _last_line(raised.value).startswith("RuntimeError: Starting Ray client server failed")
    assert _last_line(ConnectionError("no cluster\nhint")) == "no cluster\nhint"


def _client_server_logs(temp: Path) -> str:
    """The Ray Client server's own logs, which a failed connection only names."""
    parts = []
    for log in sorted(temp.glob("session_*/logs/ray_client_server*")):
        text = log.read_text("utf-8", "replace")[-3000:]
        if text.strip():
            parts.append(f"\n--- {log.name} ---\n{text}")
    return "".join(parts)
