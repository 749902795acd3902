"""Postbacks over real HTTP: a uvicorn server on a loopback port receives signed requests and
gives every answer of the contract (stored, duplicate, 401, 400, 404, 413), keeps events once,
counts rejections, honours secret rotation, and rolls events up into settlement."""

from __future__ import annotations

import datetime
import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
import pytest
from postback_server import PostbackServer, running_server

from tests.cli_runner import run_cli
from workbench.platform.accounts import add_account
from workbench.platform.dates import CHINA
from workbench.platform.keywords import apply_keyword, change_status
from workbench.platform.settlement import settle
from workbench.platform.tasks import add_task
from workbench.postback.platforms import add_platform, rotate_platform
from workbench.postback.secrets_file import new_secret
from workbench.postback.stats import rejection_stats
from workbench.store import open_db

ACTOR = "test"
DAY = "2026-03-15"  # the China date most events fall on
NOON_MS = int(datetime.datetime(2026, 3, 15, 12, tzinfo=CHINA).timestamp() * 1000)


@dataclass
class World:
    server: PostbackServer
    secrets: dict[str, str]  # platform → its first secret
    keywords: dict[str, dict[str, Any]]  # label → keyword row
    tasks: dict[str, dict[str, Any]]

    def post(self, platform: str, body: dict[str, Any] | bytes, **options: Any):
        options.setdefault("secret", self.secrets.get(platform))
        return self.server.post(platform, body, **options)

    def db(self):
        return open_db(self.server.settings.db_path)

    def events(self, webhook_id: str) -> int:
        db = self.db()
        try:
            return db.execute("SELECT count(*) FROM postback_events WHERE webhook_id = ?",
                              [webhook_id]).fetchone()[0]
        finally:
            db.close()

    def tracking(self, label: str, date: str = DAY) -> dict[str, Any]:
        db = self.db()
        try:
            rows = list(db["tracking"].rows_where(
                "keyword_id = ? AND date = ? AND source = 'postback'",
                [self.keywords[label]["id"], date]))
        finally:
            db.close()
        return dict(rows[0]) if rows else {}

    def cli(self, *args: str):
        return run_cli(*args, env={"WORKBENCH_HOME": str(self.server.home)})


def _keyword(db, label: str, text: str, **terms: Any) -> tuple[dict, dict]:
    task = add_task(db, {"platform": "测试平台", "app": "番茄小说", "title": f"书{label}",
                         "kind": "novel", **terms}, ACTOR)
    account = add_account(db, "抖音", f"号{label}", None, ACTOR)
    keyword = apply_keyword(db, task["id"], account["id"], text, [], ACTOR)
    return task, change_status(db, str(keyword["id"]), "approved", ACTOR)


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("postback")
    (root / "home").mkdir()
    db = open_db(root / "home" / "workbench.db")
    tasks, keywords = {}, {}
    for label, text, terms in (
            ("post", "星河回传", {"model": "CPA", "price": "2", "action": "activation",
                                 "settle_source": "postback"}),
            ("import", "星河导入", {"model": "CPA", "price": "2", "action": "activation"}),
            ("cps", "星河分成", {"model": "CPS", "share": "0.5", "settle_source": "postback"}),
            ("stay", "星河留存", {"model": "CPA", "price": "1.5", "action": "retention_1d",
                                 "settle_source": "postback"}),
            ("misc", "星河杂项", {}),
            ("twin1", "同名口令", {}), ("twin2", "同名口令", {})):
        tasks[label], keywords[label] = _keyword(db, label, text, **terms)
    db["submissions"].insert({"id": "sub0001", "recipe_hash": "r", "path": "/tmp/x",
                              "keyword": "星河杂项", "keyword_id": keywords["misc"]["id"],
                              "task_id": tasks["misc"]["id"], "status": "ready"})
    secrets = {}
    for name, event_map in (("oe", "oceanengine"), ("ks", "kuaishou"), ("plain", None),
                            ("rot", None), ("counted", None)):
        secrets[name] = add_platform(db, root / "home", name, event_map, ACTOR)["secret"]
    db.close()
    with running_server(root) as server:
        yield World(server, secrets, keywords, tasks)


def event(keyword: str = "星河杂项", event_type: Any = "activation", **fields: Any) -> dict:
    return {"event_type": event_type, "keyword": keyword, "event_time": NOON_MS, **fields}


# --- stored, duplicate -----------------------------------------------------------------------

def test_an_event_is_stored_once_and_its_retry_is_acknowledged(world):
    before = world.tracking("misc").get("registrations") or 0
    first = world.post("plain", event(event_type="registration", click_id="c1"),
                       webhook_id="msg_retry")
    assert (first.status_code, first.json()) == (200, {"status": "stored"})
    again = world.post("plain", event(event_type="registration", click_id="c1"),
                       webhook_id="msg_retry")
    assert (again.status_code, again.json()) == (200, {"status": "duplicate"})
    assert world.events("msg_retry") == 1
    assert world.tracking("misc")["registrations"] == before + 1
    # the same id from another platform is another event
    other = world.post("counted", event(event_type="retention_1d"), webhook_id="msg_retry")
    assert other.json() == {"status": "stored"} and world.events("msg_retry") == 2


def test_the_event_is_committed_before_the_answer(world):
    answer = world.post("plain", event(), webhook_id="msg_committed")
    assert answer.json() == {"status": "stored"}
    db = open_db(world.server.settings.db_path)  # another connection sees it at once
    try:
        row = next(db["postback_events"].rows_where("webhook_id = 'msg_committed'"))
    finally:
        db.close()
    assert (row["event_type"], row["date"], row["keyword_id"]) == (
        "activation", DAY, world.keywords["misc"]["id"])


def test_an_event_named_by_its_submission(world):
    answer = world.post("plain", {"event_type": "order", "submission_id": "sub0001",
                                  "event_time": NOON_MS, "amount": "9.90",
                                  "extra": {"device": "ios", "n": 1.5}}, webhook_id="msg_sub")
    assert answer.json() == {"status": "stored"}
    listed = json.loads(world.cli("postback", "list", "--platform", "plain", "--json").stdout)
    row = next(e for e in listed if e["webhook_id"] == "msg_sub")
    assert (row["keyword"], row["submission_id"], row["amount"], row["extra"]) == (
        "星河杂项", "sub0001", "9.90", {"device": "ios", "n": 1.5})


# --- signatures --------------------------------------------------------------------------------

@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_a_missing_signature_header_is_401(world, missing):
    answer = world.post("plain", event(), webhook_id=f"msg_missing_{missing}", omit=(missing,))
    assert answer.status_code == 401 and answer.json()["reason"] == "missing_signature"
    assert world.events(f"msg_missing_{missing}") == 0


def test_a_tampered_body_or_an_unknown_secret_is_401(world):
    body = json.dumps(event()).encode()
    signed_for_other = world.server.post(
        "plain", body.replace(b"activation", b"registration"), webhook_id="msg_tamper",
        signature=_signature(world, "plain", body, "msg_tamper"))
    assert signed_for_other.status_code == 401
    assert signed_for_other.json()["reason"] == "bad_signature"
    stranger = world.post("plain", event(), webhook_id="msg_stranger", secret=new_secret())
    assert stranger.status_code == 401 and stranger.json()["reason"] == "bad_signature"
    garbage = world.post("plain", event(), webhook_id="msg_garbage", signature="v1,@@not-b64")
    assert garbage.status_code == 401
    assert world.events("msg_tamper") + world.events("msg_stranger") + world.events(
        "msg_garbage") == 0


def _signature(world: World, platform: str, body: bytes, webhook_id: str,
               timestamp: int | None = None) -> str:
    import time

    from workbench.postback.verify import sign

    return sign(world.secrets[platform], webhook_id, timestamp or int(time.time()), body)


def test_any_valid_signature_among_several_is_accepted(world):
    import time

    body = json.dumps(event()).encode()
    now = int(time.time())
    good = _signature(world, "plain", body, "msg_several", now)
    forged = "v1," + good[3:][::-1]
    header = f"v1a,ignored {forged} {good}"
    answer = world.server.post("plain", body, webhook_id="msg_several", timestamp=now,
                               signature=header)
    assert answer.json() == {"status": "stored"}


def test_rotation_keeps_the_old_secret_until_retired(world):
    old = world.secrets["rot"]
    rotated = json.loads(world.cli("platform", "rotate", "rot", "--json").stdout)
    new = rotated["secret"]
    assert new.startswith("whsec_") and new != old and rotated["secrets"] == 2
    assert world.post("rot", event(), secret=old).json() == {"status": "stored"}
    assert world.post("rot", event(), secret=new).json() == {"status": "stored"}
    retired = world.cli("platform", "rotate", "rot", "--retire")
    assert retired.returncode == 0 and "1 个旧密钥" in retired.stdout
    refused = world.post("rot", event(), secret=old)
    assert refused.status_code == 401 and refused.json()["reason"] == "bad_signature"
    assert world.post("rot", event(), secret=new).json() == {"status": "stored"}


@pytest.mark.parametrize(("offset", "reason"), [(-301, "stale_timestamp"),
                                                 (400, "stale_timestamp")])
def test_a_timestamp_outside_five_minutes_is_refused(world, offset, reason):
    import time

    webhook_id = f"msg_time_{offset}"
    answer = world.post("plain", event(), webhook_id=webhook_id,
                        timestamp=int(time.time()) + offset)
    assert answer.status_code == 401 and answer.json()["reason"] == reason
    assert world.events(webhook_id) == 0


def test_a_timestamp_that_is_not_seconds_is_refused(world):
    answer = world.post("plain", event(), webhook_id="msg_ts_text", timestamp="1.7e9",
                        signature="v1,AAAA")
    assert answer.status_code == 401 and answer.json()["reason"] == "bad_timestamp"


# --- bodies ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("body", "reason"), [
    (b"{not json", "malformed_json"),
    (b"[1, 2]", "malformed_json"),
    (b'{"event_type": NaN}', "malformed_json"),
    (json.dumps(event(event_type="purchase")).encode(), "unknown_event_type"),
    (json.dumps(event(event_type=3)).encode(), "unknown_event_type"),  # no map: codes unknown
    (json.dumps(event(keyword="没有这个口令")).encode(), "unknown_keyword"),
    (json.dumps(event(keyword="同名口令")).encode(), "ambiguous_keyword"),
    (json.dumps({"event_type": "order", "submission_id": "nope", "event_time": NOON_MS}
                ).encode(), "unknown_submission"),
    (json.dumps(event(amount=-1)).encode(), "negative_amount"),
    (json.dumps(event(amount="-0.01")).encode(), "negative_amount"),
    (json.dumps(event(amount="十块")).encode(), "invalid_amount"),
    (json.dumps({"event_type": "order", "event_time": NOON_MS}).encode(), "invalid_event"),
    (json.dumps(event(event_time=1_700_000_000)).encode(), "invalid_event"),  # seconds
    (json.dumps(event(extra=[1])).encode(), "invalid_event"),
], ids=lambda v: v if isinstance(v, str) else None)
def test_a_bad_body_is_400_with_its_reason(world, body, reason):
    webhook_id = f"msg_bad_{reason}_{abs(hash(body))}"
    answer = world.server.post("plain", body, secret=world.secrets["plain"],
                               webhook_id=webhook_id)
    assert answer.status_code == 400, answer.text
    assert answer.json()["reason"] == reason and answer.json()["message"]
    assert world.events(webhook_id) == 0


def test_a_body_that_is_not_utf8_is_400(world):
    answer = world.server.post("plain", "{\"keyword\": \"星河\"}".encode("gbk"),
                               secret=None, signature="v1,AAAA", webhook_id="msg_gbk")
    assert answer.status_code == 400 and answer.json()["reason"] == "malformed_json"


def test_amounts_add_up_exactly(world):
    before = world.tracking("cps", "2026-03-16")
    assert before == {}
    day = NOON_MS + 24 * 3600 * 1000
    for amount in (0.1, "0.2", 3):
        answer = world.post("plain", event("星河分成", "order", amount=amount, event_time=day))
        assert answer.json() == {"status": "stored"}
    row = world.tracking("cps", "2026-03-16")
    assert (row["orders"], Decimal(row["revenue"])) == (3, Decimal("3.3"))
    assert row["revenue"] == "3.3"


# --- size and platform -------------------------------------------------------------------------

def test_a_body_over_64_kb_is_413(world):
    big = event(extra={"pad": "x" * 70_000})
    answer = world.post("plain", big, webhook_id="msg_big")
    assert answer.status_code == 413 and answer.json()["reason"] == "too_large"

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while streaming
        for _ in range(20):
            yield b"x" * 8192

    streamed = world.server.client.post(f"{world.server.url}/api/postback/plain",
                                        content=chunks())
    assert streamed.status_code == 413
    assert world.events("msg_big") == 0


def test_a_large_declared_body_is_refused_without_reading_it(world):
    host, port = world.server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(b"POST /api/postback/plain HTTP/1.1\r\nHost: x\r\n"
                     b"Content-Type: application/json\r\nContent-Length: 100000000\r\n\r\n"
                     + b"{" * 1000)  # 100 MB announced, 1 KB sent: the answer comes anyway
        answer = sock.recv(65536).decode("utf-8", "replace")
    assert answer.startswith("HTTP/1.1 413")


def test_an_unknown_platform_is_404(world):
    answer = world.post("nobody", event(), secret=world.secrets["plain"])
    assert answer.status_code == 404 and answer.json()["reason"] == "unknown_platform"


# --- event maps --------------------------------------------------------------------------------

@pytest.mark.parametrize(("platform", "code", "column"), [
    ("oe", 0, "activations"), ("oe", "1", "registrations"), ("oe", 2, "orders"),
    ("oe", "active_pay", "orders"), ("ks", 1, "activations"), ("ks", 3, "orders"),
    ("ks", "2", "registrations")])
def test_a_platforms_codes_are_translated_by_its_event_map(world, platform, code, column):
    date = f"2026-04-{10 + hash((platform, str(code))) % 15:02d}"
    moment = int(datetime.datetime.fromisoformat(f"{date}T09:00+08:00").timestamp() * 1000)
    before = world.tracking("misc", date).get(column) or 0
    answer = world.post(platform, event(event_type=code, event_time=moment))
    assert answer.json() == {"status": "stored"}, answer.text
    assert world.tracking("misc", date)[column] == before + 1


def test_a_code_outside_the_map_is_unknown(world):
    answer = world.post("ks", event(event_type=0))  # Ocean Engine's activation, not Kuaishou's
    assert answer.status_code == 400 and answer.json()["reason"] == "unknown_event_type"


# --- counted rejections ------------------------------------------------------------------------

def test_rejections_are_counted_by_platform_and_reason(world):
    for _ in range(3):
        world.post("counted", event(), secret=new_secret())
    world.post("counted", event(), omit=("webhook-signature",))
    world.post("counted", event(keyword="没有这个口令"))
    accepted = world.post("counted", event())
    assert accepted.json() == {"status": "stored"}
    db = world.db()
    try:
        counts = {r["reason"]: r["count"] for r in rejection_stats(db)
                  if r["platform"] == "counted"}
        body_saved = db.execute("SELECT count(*) FROM postback_events e JOIN keywords k ON "
                                "k.id = e.keyword_id WHERE k.text = '没有这个口令'").fetchone()[0]
    finally:
        db.close()
    assert counts == {"bad_signature": 3, "missing_signature": 1, "unknown_keyword": 1}
    assert body_saved == 0
    shown = json.loads(world.cli("postback", "stats", "--json").stdout)
    row = next(r for r in shown if r["platform"] == "counted" and r["reason"] == "bad_signature")
    assert (row["count"], row["status"]) == (3, 401)


# --- settlement --------------------------------------------------------------------------------

def test_postbacks_settle_only_the_tasks_that_settle_from_them(world):
    date = "2026-05-02"
    moment = int(datetime.datetime.fromisoformat(f"{date}T23:59:59+08:00").timestamp() * 1000)
    for label in ("post", "import"):
        for _ in range(3):  # three activations each, by postback
            text = world.keywords[label]["text"]
            answer = world.post("plain", event(text, event_time=moment))
            assert answer.json() == {"status": "stored"}
    db = world.db()
    try:
        for label in ("post", "import"):  # and an imported export saying 100
            db["tracking"].insert({"keyword_id": world.keywords[label]["id"], "date": date,
                                   "source": "番茄后台", "activations": 100,
                                   "created_at": "2026-05-03T00:00:00+00:00",
                                   "updated_at": "2099-01-01T00:00:00+00:00"})
        post = settle(db, spike_factor=5, task_id=world.tasks["post"]["id"], date_from=date,
                      date_to=date)
        imported = settle(db, spike_factor=5, task_id=world.tasks["import"]["id"],
                          date_from=date, date_to=date)
    finally:
        db.close()
    assert (post[0]["activations"], post[0]["amount"]) == (3, "6.00")  # 3 × 2, not 100
    assert (imported[0]["activations"], imported[0]["amount"]) == (100, "200.00")
    shown = json.loads(world.cli("settle", "--task", str(world.tasks["post"]["id"]), "--from",
                                 date, "--to", date, "--json").stdout)
    assert shown[0]["amount"] == "6.00"


def test_next_day_retention_rolls_up_and_a_cpa_task_can_pay_for_it(world):
    date = "2026-05-09"
    moment = int(datetime.datetime.fromisoformat(f"{date}T12:00:00+08:00").timestamp() * 1000)
    text = world.keywords["stay"]["text"]
    for code in (7, 7, 1):  # kuaishou: 7 next-day retention, 1 activation
        answer = world.post("ks", event(text, event_type=code, event_time=moment))
        assert answer.json() == {"status": "stored"}
    row = world.tracking("stay", date)
    assert (row["retentions"], row["activations"]) == (2, 1)
    db = world.db()
    try:
        lines = settle(db, spike_factor=5, task_id=world.tasks["stay"]["id"], date_from=date,
                       date_to=date)
    finally:
        db.close()
    assert lines[0]["amount"] == "3.00"  # 2 retentions × 1.5; the activation pays nothing here


def test_a_late_evening_event_counts_on_its_china_date(world):
    # 2026-06-01 23:30 in China is still 2026-06-01 15:30 UTC; 00:30 is the next China day
    late = int(datetime.datetime(2026, 6, 1, 23, 30, tzinfo=CHINA).timestamp() * 1000)
    early = int(datetime.datetime(2026, 6, 2, 0, 30, tzinfo=CHINA).timestamp() * 1000)
    for moment in (late, early):
        assert world.post("plain", event(event_time=moment)).json() == {"status": "stored"}
    assert world.tracking("misc", "2026-06-01")["activations"] == 1
    assert world.tracking("misc", "2026-06-02")["activations"] == 1


def test_a_platform_added_while_serving_is_served_and_rotated(world):
    db = world.db()
    try:
        first = add_platform(db, world.server.home, "later", "kuaishou", ACTOR)["secret"]
        assert world.post("later", event(event_type=1), secret=first).json() == {
            "status": "stored"}
        done = rotate_platform(db, world.server.home, "later", ACTOR)
        retired = rotate_platform(db, world.server.home, "later", ACTOR, retire=True)
    finally:
        db.close()
    assert done["secrets"] == 2 and (retired["retired"], retired["secrets"]) == (1, 1)
    assert world.post("later", event(event_type=1), secret=first).status_code == 401
    assert world.post("later", event(event_type=1), secret=done["secret"]).json() == {
        "status": "stored"}


# --- the web app -------------------------------------------------------------------------------

def test_the_web_app_serves_the_postback_route_outside_its_login(tmp_path):
    from app_server import start_app
    from postback_server import PostbackServer

    home = tmp_path / "home"
    home.mkdir()
    db = open_db(home / "workbench.db")
    _keyword(db, "app", "网页口令")
    secret = add_platform(db, home, "oe", "oceanengine", ACTOR)["secret"]
    db.close()
    app = start_app(tmp_path, auth="boss:secret-pw")
    try:
        with httpx.Client(timeout=10) as client:
            login_needed = client.get(f"{app.url}gradio_api/info")
            sender = PostbackServer(app.url.rstrip("/"), None, client)  # type: ignore[arg-type]
            stored = sender.post("oe", event("网页口令", 0), secret=secret)
            unsigned = sender.post("oe", event("网页口令", 0), omit=("webhook-signature",))
    finally:
        app.stop()
    assert login_needed.status_code == 401  # the app's own API is behind its login
    assert (stored.status_code, stored.json()) == (200, {"status": "stored"})
    assert unsigned.status_code == 401 and unsigned.json()["reason"] == "missing_signature"
    db = open_db(home / "workbench.db")
    try:
        assert db["postback_events"].count == 1
    finally:
        db.close()


def test_a_damaged_secrets_file_refuses_every_request_without_failing(tmp_path):
    (tmp_path / "home").mkdir()
    db = open_db(tmp_path / "home" / "workbench.db")
    _keyword(db, "solo", "独立口令")
    secret = add_platform(db, tmp_path / "home", "oe", None, ACTOR)["secret"]
    db.close()
    with running_server(tmp_path) as server:
        assert server.post("oe", event("独立口令"), secret=secret).json() == {"status": "stored"}
        (tmp_path / "home" / "secrets" / "postback_secrets.json").write_text("{", "utf-8")
        refused = server.post("oe", event("独立口令"), secret=secret)
    assert refused.status_code == 401 and refused.json()["reason"] == "no_secret"


def test_a_database_kept_busy_answers_503_and_the_retry_is_stored(tmp_path, monkeypatch):
    import sqlite3

    import workbench.store

    (tmp_path / "home").mkdir()
    db = open_db(tmp_path / "home" / "workbench.db")
    _keyword(db, "busy", "忙碌口令")
    secret = add_platform(db, tmp_path / "home", "oe", None, ACTOR)["secret"]
    db.close()
    monkeypatch.setattr(workbench.store, "BUSY_TIMEOUT_MS", 200)  # the server's wait
    with running_server(tmp_path) as server:
        holder = sqlite3.connect(tmp_path / "home" / "workbench.db", isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # another process writing, for longer than the wait
        try:
            busy = server.post("oe", event("忙碌口令"), secret=secret, webhook_id="msg_busy")
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        retried = server.post("oe", event("忙碌口令"), secret=secret, webhook_id="msg_busy")
    assert busy.status_code == 503 and "数据库正忙" in busy.json()["message"]
    assert retried.json() == {"status": "stored"}
