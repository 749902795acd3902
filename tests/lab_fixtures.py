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
from workbench.platform.tasks import add_task
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


def two_tasks_published(db, tmp_path: Path) -> dict[str, Any]:
    """Task A (CPE 0.5 元/互动) on 抖音: keyword 甲 with s1 (悬念 v1, 11-01) and s2 (悬念 v2, 11-02).
    Task B (CPA 2 元/激活) on 快手: keyword 乙 with s3 (情感 v1, 11-01); s4 ready, never published.
    Tracking for both keywords on 11-01 and 11-02, and for 甲 on 10-31 (before any video)."""
    a = add_task(db, {"platform": "推文平台", "app": "番茄小说", "title": "原书甲", "kind": "novel",
                      "model": "CPE", "price": "0.5"}, ACTOR)
    b = add_task(db, {"platform": "推文平台", "app": "七猫", "title": "原书乙", "kind": "novel",
                      "model": "CPA", "price": "2", "action": "activation"}, ACTOR)
    k1, k2 = keyword(db, a, "星河夜渡"), keyword(db, b, "青山旧梦", "快手")
    video(db, "s1", k1, "悬念", "1", "2026-11-01")
    video(db, "s2", k1, "悬念", "2", "2026-11-02T12:00:00+08:00")
    video(db, "s3", k2, "情感", "1", "2026-11-01")
    db["submissions"].insert({"id": "s4", "recipe_hash": "s4", "path": "/p/s4",
                              "keyword": k2["text"], "keyword_id": k2["id"], "status": "ready",
                              "template_id": "情感", "template_version": "1"})
    track(db, tmp_path, [
        {"date": "2026-10-31", "keyword": "星河夜渡", "views": 99, "likes": 9},  # before s1
        {"date": "2026-11-01", "keyword": "星河夜渡", "views": 1000, "likes": 40, "comments": 10},
        {"date": "2026-11-02", "keyword": "星河夜渡", "views": 3000, "likes": 90, "shares": 30},
        {"date": "2026-11-01", "keyword": "青山旧梦", "views": 500, "likes": 5, "activations": 7},
    ])
    return {"a": a, "b": b, "k1": k1, "k2": k2}
