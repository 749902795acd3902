"""The gate every job passes before any work is done: the keyword obeys the base rules (and
its task's own), and a job for a task uses an approved, unexpired keyword of that task.

The task decides what goes on screen: its wording becomes the banner, its app and length
limit bind the job, so the recipe (and the package id) changes when the task's wording does.

`bind_task` runs in the job lifecycle before a job is planned (`workbench make`, the app,
batches); `task_keyword` is the one status check, run by `bind_task`, by brief validation and
again at the start of `prepare_job`, because a batch can run for hours and a keyword may
expire meanwhile. Nothing here writes: expiry is worked out from the dates (as
`keywords.expire_due` does), so a dry run leaves the store as it was.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, replace
from typing import Any

from sqlite_utils import Database

from workbench.compliance import BannedWord, load_banned_words
from workbench.config import Settings
from workbench.errors import InputError
from workbench.models import MakeJob
from workbench.platform.dates import today
from workbench.platform.keyword_rules import BASE_RULES, KeywordRules, check_keyword_text
from workbench.platform.tasks import get_task

DRAFT_FLAG = "加 --draft"  # how the command line asks for a draft (a brief: draft: true)


@dataclass(frozen=True)
class TaskKeyword:
    """A task and the keyword row a job may use for it."""

    task: dict[str, Any]
    keyword: dict[str, Any]


def banned_words(settings: Settings) -> list[BannedWord]:
    return load_banned_words(settings.banned_words_file)


def check_keyword(keyword: str, settings: Settings, task: dict[str, Any] | None = None
                  ) -> str:
    """The keyword, outer whitespace removed, when it obeys the base rules (and the task's);
    else InputError naming the offending character and its position."""
    rules = KeywordRules.of_task(task) if task else BASE_RULES
    return check_keyword_text(keyword, banned_words(settings), rules)


def _status_now(row: dict[str, Any], task: dict[str, Any], on: datetime.date) -> str:
    """The keyword's status as `keywords.expire_due` would leave it today."""
    day = on.isoformat()
    if row["status"] in ("pending", "approved") and (
            (task.get("deadline") and task["deadline"] < day)
            or (row.get("expires_at") and row["expires_at"] < day)):
        return "expired"
    return row["status"]


def _expired_because(row: dict[str, Any], task: dict[str, Any], on: datetime.date) -> str:
    day = on.isoformat()
    if task.get("deadline") and task["deadline"] < day:
        return f"任务截止日期 {task['deadline']} 已过"
    if row.get("expires_at") and row["expires_at"] < day:
        return f"口令有效期到 {row['expires_at']}"
    return row.get("reason") or "已过期"


def task_keyword(db: Database, task_id: int | str, keyword: str, *, draft: bool = False,
                 on: datetime.date | None = None, draft_flag: str = DRAFT_FLAG) -> TaskKeyword:
    """The task (open) and its keyword row named by `keyword`, when a job may use it now:
    approved and unexpired, or pending for a draft. Else InputError saying why and what to do.
    `draft_flag` is how the caller's front end asks for a draft, for the message."""
    task = get_task(db, task_id)
    where = f"任务 #{task['id']}（{task['app']}《{task['title']}》）"
    if task["status"] != "open":
        raise InputError(f"{where}已关闭：不能再为它生成视频（workbench task list 查看进行中的任务）")
    rows = list(db["keywords"].rows_where("task_id = ? AND text = ?", [task["id"], keyword],
                                          limit=1))
    if not rows:
        raise InputError(f"{where}里没有口令「{keyword}」：先用 workbench keyword apply 申请，"
                         f"审核通过后再生成（workbench keyword list --task {task['id']} "
                         "查看这个任务的口令）")
    row = dict(rows[0])
    on = on or today()
    status = _status_now(row, task, on)
    if status == "approved" or (status == "pending" and draft):
        return TaskKeyword(task, row)
    if status == "pending":
        raise InputError(f"口令「{keyword}」还在审核中（待审核）：审核通过后再生成，"
                         f"或{draft_flag} 生成草稿（不能发布）")
    if status == "rejected":
        reason = f"（原因：{row['reason']}）" if row.get("reason") else ""
        raise InputError(f"口令「{keyword}」未通过审核{reason}：不能用它生成视频，"
                         f"请为{where}申请新的口令")
    raise InputError(f"口令「{keyword}」已过期（{_expired_because(row, task, on)}）："
                     f"不能再用它生成视频，请为{where}申请新的口令")


def task_conflicts(task: dict[str, Any], *, banner: str | None, app: str | None,
                   max_seconds: float | None) -> list[tuple[str, str]]:
    """(field, message) for each explicit choice that contradicts the task: the task decides
    the on-screen wording, the app and the length limit."""
    found = []
    where = f"任务 #{task['id']}"
    if banner is not None and banner.strip() != task["wording"]:
        message = (f"{where}规定画面文字为「{task['wording']}」，与横幅文字「{banner.strip()}」"
                   "矛盾：以任务为准，去掉 --banner / banner:")
        found.append(("banner", message))
    if app is not None and app.strip() != task["app"]:
        message = (f"{where}是{task['app']}的任务，与阅读平台「{app.strip()}」矛盾："
                   "以任务为准，去掉 --app / app:")
        found.append(("app", message))
    limit = task.get("max_seconds")
    if max_seconds is not None and limit is not None and float(max_seconds) != float(limit):
        message = (f"{where}规定最长 {limit:g} 秒，与最长时长 {max_seconds:g} 秒矛盾："
                   "以任务为准，去掉 --max-seconds / max_seconds:")
        found.append(("max_seconds", message))
    return found


def needless_draft(keyword: str, flag: str) -> str:
    """Why a draft with an approved keyword is refused when a job is bound: its checklist
    would say 口令未通过审核, which is not so. (A keyword approved while a batch runs leaves
    the batch's drafts be: the re-check in `prepare_job` accepts it.)"""
    return f"口令「{keyword}」已通过审核：去掉 {flag} 直接生成可以发布的成品包"


def bind_task(job: MakeJob, settings: Settings, db: Database) -> MakeJob:
    """The job, checked and bound to its task before any work: the keyword obeys the base
    rules (and the task's); with a task, the keyword is usable (`task_keyword`) and the task's
    wording, app and length limit go into the job. Raises InputError."""
    if job.task_id is None:
        if job.draft:
            raise InputError("--draft 只用于任务的口令还在审核中的时候：请同时用 --task 指明任务")
        keyword = check_keyword(job.keyword, settings)
        return job if keyword == job.keyword else replace(job, keyword=keyword)
    task = get_task(db, job.task_id)
    keyword = check_keyword(job.keyword, settings, task)
    usable = task_keyword(db, task["id"], keyword, draft=job.draft)
    if job.draft and usable.keyword["status"] == "approved":
        raise InputError(needless_draft(keyword, "--draft"))
    conflicts = task_conflicts(task, banner=job.banner, app=job.app,
                               max_seconds=job.max_seconds)
    if conflicts:
        raise InputError(conflicts[0][1])
    return replace(job, task_id=task["id"], keyword=keyword, banner=task["wording"],
                   app=task["app"], max_seconds=task.get("max_seconds") or job.max_seconds)


def job_keyword(job: MakeJob, db: Database) -> dict[str, Any] | None:
    """The keyword row a bound job uses (checked again now), or None without a task."""
    if job.task_id is None:
        return None
    return task_keyword(db, job.task_id, job.keyword, draft=job.draft).keyword
