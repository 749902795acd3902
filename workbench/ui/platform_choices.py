"""Dropdown choices and table cells for the platform records (tasks, accounts, keywords), shared
by 任务与口令, 回传与结算 and 创作. Values are ids as text ("" for none), labels Chinese."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from workbench.errors import InputError
from workbench.platform.accounts import list_accounts
from workbench.platform.keywords import STATUS_NAMES, list_keywords
from workbench.platform.tasks import list_tasks

Choices = list[tuple[str, str]]
# A keyword's status as a badge (the same words as the CLI's keywords.STATUS_NAMES): label,
# text colour, background. Gradio strips inline styles from table cells: BADGE_CSS colours them.
BADGES = {status: (STATUS_NAMES[status], color, background) for status, color, background in (
    ("pending", "#92400e", "#fef3c7"), ("approved", "#166534", "#dcfce7"),
    ("rejected", "#991b1b", "#fee2e2"), ("expired", "#374151", "#e5e7eb"))}
BADGE_CSS = ".kw-badge { border-radius: 999px; padding: 1px 10px; white-space: nowrap; }\n" + "".join(
    f".kw-{status} {{ color: {color}; background: {background}; }}\n"
    for status, (_, color, background) in BADGES.items())


def badge(status: str) -> str:
    """The status as an HTML badge for a Dataframe column of datatype "html"."""
    label = BADGES.get(status, (status,))[0]
    return f'<span class="kw-badge kw-{html.escape(status)}">{html.escape(label)}</span>'


def task_label(task: dict[str, Any]) -> str:
    return f"#{task['id']} {task['app']}《{task['title']}》"


def task_choices(db: Database, *, open_only: bool = False, none: str | None = None) -> Choices:
    """Tasks, newest first; `none` labels a first "no task" choice (value "")."""
    tasks = list_tasks(db, "open" if open_only else None)
    return ([(none, "")] if none else []) + [(task_label(t), str(t["id"])) for t in tasks]


def account_choices(db: Database) -> Choices:
    return [(f"#{a['id']} {a['channel']} {a['handle']}" + (f"（{a['name']}）" if a["name"] else ""),
             str(a["id"])) for a in list_accounts(db)]


def keyword_label(row: dict[str, Any]) -> str:
    return (f"#{row['id']}「{row['text']}」{BADGES[row['status']][0]} · 任务 #{row['task_id']}"
            f" · {row['channel']} {row['handle']}")


def keyword_choices(db: Database, task: str | None = None, status: str | None = None
                    ) -> Choices:
    return [(keyword_label(k), str(k["id"]))
            for k in list_keywords(db, record_id(task, "任务"), status)]


def record_id(value: Any, what: str) -> int | None:
    """A dropdown's value as an id; None for no choice."""
    text = "" if value is None else str(value).strip().lstrip("#")
    if not text:
        return None
    try:
        return int(float(text))
    except ValueError:
        raise InputError(f"{what}编号无效：{str(value)[:20]!r}（请从列表里选择）") from None


def without_path(message: str, path: str | Path | None) -> str:
    """An error about an uploaded file, naming the file as the user knows it rather than by
    its place on the server."""
    if not path:
        return message
    return message.replace(str(path), Path(path).name)
