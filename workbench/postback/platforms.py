"""The platforms allowed to send postbacks: registered with a name (the last part of their
URL) and an event map; their signing secrets go to the secrets file (secrets_file.py), never
to the database. Registering, rotating and retiring are kept in history (without secrets).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from workbench.config import Settings
from workbench.errors import InputError
from workbench.platform import history
from workbench.postback import secrets_file
from workbench.postback.event_maps import load_event_map
from workbench.store import utcnow, write_transaction

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
ENTITY = "postback_platform"


def check_name(name: str) -> str:
    text = (name or "").strip()
    if not _NAME.match(text):
        raise InputError(f"平台名「{text[:40]}」无效：用 1–40 个小写字母、数字、- 或 _（它是回传地址 "
                         "/api/postback/平台名 的最后一段），如 oceanengine")
    return text


def get_platform(db: Database, name: str) -> dict[str, Any] | None:
    row = db.execute("SELECT name, event_map, event_map_source, created_at FROM "
                     "postback_platforms WHERE name = ?", [name]).fetchone()
    if row is None:
        return None
    return {"name": row[0], "event_map": json.loads(row[1]), "event_map_source": row[2],
            "created_at": row[3]}


def _require(db: Database, name: str) -> dict[str, Any]:
    found = get_platform(db, check_name(name))
    if found is None:
        raise InputError(f"没有名为 {name} 的回传平台（workbench platform list 查看；"
                         "workbench platform add 登记）")
    return found


def add_platform(db: Database, home: Path, name: str, event_map: str | None, actor: str
                 ) -> dict[str, Any]:
    """Register `name` with its event map (a preset, a file or None) and a first secret:
    {name, event_map, event_map_source, secret}. The secret is returned only here."""
    name = check_name(name)
    mapping, source = load_event_map(event_map)
    if get_platform(db, name) is not None:
        raise InputError(f"回传平台 {name} 已经登记过（要换密钥用 workbench platform rotate {name}）")
    with write_transaction(db):  # the row is committed only once its secret is on disk
        db["postback_platforms"].insert({"name": name, "event_map": json.dumps(mapping),
                                         "event_map_source": source, "created_at": utcnow()})
        history.record(db, ENTITY, name, "add", actor=actor,
                       data={"event_map": source} if source else None)
        secret = secrets_file.add_secret(home, name)
    return {"name": name, "event_map": mapping, "event_map_source": source, "secret": secret}


def rotate_platform(db: Database, home: Path, name: str, actor: str, *, retire: bool = False
                    ) -> dict[str, Any]:
    """Without `retire`: a new secret, the older ones still verifying: {name, secret,
    secrets}. With `retire`: only the newest secret is kept: {name, retired, secrets}."""
    platform = _require(db, name)["name"]
    with write_transaction(db):
        if retire:
            retired = secrets_file.retire_older(home, platform)
            history.record(db, ENTITY, platform, "retire", actor=actor,
                           data={"retired": retired})
            result: dict[str, Any] = {"name": platform, "retired": retired}
        else:
            result = {"name": platform, "secret": secrets_file.add_secret(home, platform)}
            history.record(db, ENTITY, platform, "rotate", actor=actor)
    result["secrets"] = len(secrets_file.platform_secrets(home, platform))
    return result


def _home_of(db: Database) -> Path:
    """WORKBENCH_HOME of an open store (the database file lives directly in it)."""
    row = db.execute("PRAGMA database_list").fetchone()
    return Path(row[2]).parent


def list_platforms(db: Database, home: Path | None = None) -> list[dict[str, Any]]:
    """[{name, event_map, event_map_source, secrets_count, created, events, last_event}]."""
    home = home or _home_of(db)
    rows = db.query(
        "SELECT p.name, p.event_map, p.event_map_source, p.created_at, count(e.id) AS events, "
        "max(e.received_at) AS last_event FROM postback_platforms p LEFT JOIN postback_events e "
        "ON e.platform = p.name GROUP BY p.name ORDER BY p.name")
    return [{"name": r["name"], "event_map": json.loads(r["event_map"]),
             "event_map_source": r["event_map_source"],
             "secrets_count": len(secrets_file.platform_secrets(home, r["name"])),
             "created": r["created_at"], "events": r["events"], "last_event": r["last_event"]}
            for r in rows]


def postback_url(settings: Settings, name: str) -> str:
    host = settings.serve_host
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    return f"http://{shown}:{settings.serve_port}/api/postback/{name}"


def example_request(settings: Settings, name: str) -> str:
    """A copyable Python example that signs and sends one event to `name` (with a placeholder
    where the secret goes: the real one is shown only when it is made)."""
    return f'''import json
import time
import uuid
from datetime import datetime, timezone

import httpx
from standardwebhooks import Webhook

SECRET = "whsec_<平台 {name} 的密钥>"  # workbench platform add / rotate 显示的密钥
body = json.dumps({{"event_type": "activation", "keyword": "<口令>",
                   "event_time": int(time.time() * 1000), "click_id": "<点击 ID>"}})
webhook_id, now = str(uuid.uuid4()), datetime.now(timezone.utc)
signature = Webhook(SECRET).sign(webhook_id, now, body)
answer = httpx.post("{postback_url(settings, name)}", content=body, headers={{
    "content-type": "application/json", "webhook-id": webhook_id,
    "webhook-timestamp": str(int(now.timestamp())), "webhook-signature": signature}})
print(answer.status_code, answer.text)  # 200 {{"status": "stored"}}
'''
