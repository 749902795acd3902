"""Records for the lab tests, made through the real library: approved keywords on new
accounts, packages published through the lifecycle (回填), and tracking imported from a real
export file."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from workbench.platform.accounts import add_account
from workbench.platform.keywords import apply_keyword, change_status
from workbench.platform.submissions_lifecycle import publish
from workbench.platform.tracking import import_tracking

ACTOR = "test"
URLS = {"抖音": "https://www.douyin.com/video/{}", "快手": "https://www.kuaishou.com/short-video/{}"}
_handles = itertools.count(1)


def keyword(db, task: dict, text: str, channel: str = "抖音") -> dict:
    account = add_account(db, channel, f"号{next(_handles)}", None, ACTOR)
    row = apply_keyword(db, task["id"], account["id"], text, [], ACTOR)
    return {**change_status(db, str(row["id"]), "approved", ACTOR), "channel": channel}


def video(db, sid: str, kw: dict, template: str | None, version: str | None,
          published: str) -> None:
    """A package made for the keyword, then published through the lifecycle (回填)."""
    db["submissions"].insert({"id": sid, "recipe_hash": sid, "path": f"/p/{sid}",
                              "keyword": kw["text"], "keyword_id": kw["id"],
                              "task_id": kw["task_id"], "account_id": kw["account_id"],
                              "status": "ready", "template_id": template,
                              "template_version": version})
    publish(db, sid, URLS[kw["channel"]].format(sid), published, actor=ACTOR)


def track(db, tmp_path: Path, rows: list[dict[str, Any]]) -> None:
    """The rows as a platform export (canonical column names), imported for real."""
    columns = ["date", "keyword", "views", "likes", "comments", "shares", "activations"]
    lines = [",".join(columns)] + [",".join(str(r.get(c, "")) for c in columns) for r in rows]
    path = tmp_path / f"export{next(_handles)}.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = import_tracking(db, path, actor=ACTOR)
    assert not result.rejected, result.rejected
