"""`workbench platform …`, `workbench postback …`, `workbench serve` and a task's
`--settle-source`: secrets shown once and kept only in the 0600 file, event map files checked
with their line, and the real `workbench serve` process answering a signed postback."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time

import httpx
import pytest
from app_server import free_port

from tests.cli_runner import run_cli
from workbench.postback.secrets_file import secrets_path
from workbench.postback.verify import sign
from workbench.store import open_db


def test_platform_add_shows_the_secret_once_and_keeps_it_out_of_the_database(home):
    added = run_cli("platform", "add", "oe", "--event-map", "oceanengine")
    assert added.returncode == 0, added.stderr
    lines = added.stdout.strip().splitlines()
    assert lines[-1] == "oe" and "http://127.0.0.1:8787/api/postback/oe" in added.stdout
    secret = next(line for line in lines if line.startswith("whsec_"))
    path = secrets_path(home)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert secret in path.read_text(encoding="utf-8")
    database = (home / "workbench.db").read_bytes() + b"".join(
        p.read_bytes() for p in home.glob("workbench.db-*"))
    assert secret.encode() not in database and secret[6:].encode() not in database
    listed = run_cli("platform", "list", "--json")
    assert secret not in listed.stdout
    row = json.loads(listed.stdout)[0]
    assert (row["name"], row["event_map_source"], row["secrets_count"], row["events"]) == (
        "oe", "oceanengine", 1, 0)
    assert row["event_map"]["0"] == "activation"
    again = run_cli("platform", "add", "oe")
    assert again.returncode == 1 and "已经登记过" in again.stderr


def test_platform_add_json_gives_name_and_secret_for_scripts(home):
    shown = json.loads(run_cli("platform", "add", "ks", "--event-map", "kuaishou",
                               "--json").stdout)
    assert shown["name"] == "ks" and shown["secret"].startswith("whsec_")
    assert shown["event_map"] == {"1": "activation", "2": "registration", "3": "order",
                                  "7": "retention_1d"}


@pytest.mark.parametrize("name", ["Ocean", "a/b", "", "x" * 41, "中文"])
def test_a_platform_name_must_fit_in_the_url(home, name):
    result = run_cli("platform", "add", name)
    assert result.returncode == 1 and "平台名" in result.stderr
    assert not secrets_path(home).exists()


def test_rotate_and_retire_and_their_history(home):
    run_cli("platform", "add", "oe")
    rotated = run_cli("platform", "rotate", "oe")
    assert rotated.returncode == 0 and rotated.stdout.strip().splitlines()[-1].startswith("whsec_")
    assert "--retire" in rotated.stdout
    data = json.loads(secrets_path(home).read_text(encoding="utf-8"))
    assert len(data["platforms"]["oe"]) == 2
    retired = json.loads(run_cli("platform", "rotate", "oe", "--retire", "--json").stdout)
    assert (retired["retired"], retired["secrets"]) == (1, 1)
    data = json.loads(secrets_path(home).read_text(encoding="utf-8"))
    assert data["platforms"]["oe"][0]["secret"] == rotated.stdout.strip().splitlines()[-1]
    db = open_db(home / "workbench.db")
    try:
        actions = [r["action"] for r in db["history"].rows_where(
            "entity = 'postback_platform'", order_by="id")]
        logged = json.dumps([dict(r) for r in db["history"].rows])
    finally:
        db.close()
    assert actions == ["add", "rotate", "retire"] and "whsec_" not in logged
    unknown = run_cli("platform", "rotate", "nobody")
    assert unknown.returncode == 1 and "没有名为 nobody 的回传平台" in unknown.stderr


def test_an_event_map_file_in_toml_or_json(home, tmp_path):
    toml = tmp_path / "map.toml"
    toml.write_text('[events]\n10 = "activation"\n"pay" = "order"\n', encoding="utf-8")
    added = json.loads(run_cli("platform", "add", "mine", "--event-map", str(toml),
                               "--json").stdout)
    assert added["event_map"] == {"10": "activation", "pay": "order"}
    as_json = tmp_path / "map.json"
    as_json.write_text('{\n  "5": "registration",\n  "6": "retention_1d"\n}\n', encoding="utf-8")
    shown = json.loads(run_cli("platform", "add", "other", "--event-map", str(as_json),
                               "--json").stdout)
    assert shown["event_map"] == {"5": "registration", "6": "retention_1d"}


@pytest.mark.parametrize(("name", "text", "expected"), [
    ("bad.toml", '[events]\n0 = "activation"\n1 = "payment"\n', "bad.toml:3: 代码 1 对应的「payment」"),
    ("bad.json", '{\n  "0": "activation",\n  "2": 7\n}\n', "bad.json:3: 代码 2"),
    ("broken.json", '{\n  "0": "activation",\n', "broken.json:3: JSON 格式错误"),
    ("broken.toml", '0 = "activation"\n1 = \n', "broken.toml: TOML 格式错误"),
    ("empty.toml", "", "empty.toml:1: 应是「代码 = 事件名」的映射"),
    ("map.yaml", "0: activation\n", "应为 .toml 或 .json"),
])
def test_a_bad_event_map_file_names_its_line(home, tmp_path, name, text, expected):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    result = run_cli("platform", "add", "p", "--event-map", str(path))
    assert result.returncode == 1 and expected in result.stderr, result.stderr
    assert json.loads(run_cli("platform", "list", "--json").stdout) == []


def test_an_unknown_preset_is_named(home):
    result = run_cli("platform", "add", "p", "--event-map", "tencent")
    assert result.returncode == 1
    assert "既不是预设（oceanengine|kuaishou）也不是存在的文件" in result.stderr


def test_a_task_says_where_it_settles_from(home):
    made = run_cli("task", "add", "--platform", "p", "--app", "番茄小说", "--title", "书",
                   "--kind", "novel", "--model", "CPA", "--price", "1", "--action",
                   "activation", "--settle-source", "postback")
    task = made.stdout.strip().splitlines()[-1]
    assert "结算数据来源: postback" in run_cli("task", "show", task).stdout
    run_cli("task", "edit", task, "--settle-source", "import")
    shown = json.loads(run_cli("task", "show", task, "--json").stdout)
    assert shown["settle_source"] == "import"
    assert shown["history"][-1]["data"] and "postback" in shown["history"][-1]["data"]
    wrong = run_cli("task", "edit", task, "--settle-source", "both")
    assert wrong.returncode == 1 and "结算数据来源「both」无效：可选 import|postback" in wrong.stderr


def test_tracking_import_may_not_use_the_postback_source(home, tmp_path):
    export = tmp_path / "e.csv"
    export.write_text("日期,口令,激活\n2026-03-01,x,1\n", encoding="utf-8")
    result = run_cli("tracking", "import", str(export), "--source", "postback")
    assert result.returncode == 1 and "HTTP 回传专用" in result.stderr


def test_postback_list_and_stats_when_nothing_came(home):
    assert json.loads(run_cli("postback", "list", "--json").stdout) == []
    assert json.loads(run_cli("postback", "stats", "--json").stdout) == []
    assert "没有被拒绝的回传请求" in run_cli("postback", "stats").stdout


def test_serve_refuses_a_taken_port(home):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        result = run_cli("serve", "--port", str(taken.getsockname()[1]))
    assert result.returncode == 1 and "无法监听 127.0.0.1:" in result.stderr


def test_workbench_serve_answers_a_signed_postback_until_ctrl_c(home):
    """The real command in its own process: the URL it prints, a stored event, Ctrl-C."""
    secret = json.loads(run_cli("platform", "add", "oe", "--event-map", "oceanengine",
                                "--json").stdout)["secret"]
    task = run_cli("task", "add", "--platform", "p", "--app", "番茄小说", "--title", "书",
                   "--kind", "novel").stdout.strip().splitlines()[-1]
    account = run_cli("account", "add", "--channel", "抖音", "--handle", "h").stdout.split()[-1]
    run_cli("keyword", "apply", "夜航口令", "--task", task, "--account", account)
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "workbench", "serve", "--port", str(port)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        first = process.stdout.readline()  # printed once the port is bound
        assert f"http://127.0.0.1:{port}/api/postback/" in first
        body = json.dumps({"event_type": 0, "keyword": "夜航口令",
                           "event_time": int(time.time() * 1000)}).encode()
        now = int(time.time())
        answer = httpx.post(f"http://127.0.0.1:{port}/api/postback/oe", content=body, headers={
            "webhook-id": "msg_1", "webhook-timestamp": str(now),
            "webhook-signature": sign(secret, "msg_1", now, body)}, timeout=10)
        assert (answer.status_code, answer.json()) == (200, {"status": "stored"})
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=20)
    assert process.returncode == 0 and "回传服务已停止" in stderr
    assert secret not in stderr
    events = json.loads(run_cli("postback", "list", "--json").stdout)
    assert [(e["webhook_id"], e["event_type"], e["keyword"]) for e in events] == [
        ("msg_1", "activation", "夜航口令")]


def test_a_damaged_secrets_file_is_one_clear_error(home):
    run_cli("platform", "add", "oe")
    secrets_path(home).write_text("{not json", encoding="utf-8")
    result = run_cli("platform", "rotate", "oe")
    assert result.returncode == 1 and "回传密钥文件无法读取" in result.stderr
    assert secrets_path(home).read_text(encoding="utf-8") == "{not json"  # left as it was


def test_the_library_view_for_the_app(home, settings):
    from workbench.postback import example_request, list_events, list_platforms, rejection_stats

    secret = json.loads(run_cli("platform", "add", "oe", "--event-map", "oceanengine",
                                "--json").stdout)["secret"]
    db = open_db(settings.db_path)
    try:
        platforms = list_platforms(db)  # the secrets file found beside the database
        assert [(p["name"], p["secrets_count"], p["events"]) for p in platforms] == [
            ("oe", 1, 0)]
        assert list_events(db) == [] and rejection_stats(db) == []
    finally:
        db.close()
    example = example_request(settings, "oe")
    assert "http://127.0.0.1:8787/api/postback/oe" in example and secret not in example
    assert 'SECRET = "whsec_<' in example
    compile(example, "example.py", "exec")  # it is Python
