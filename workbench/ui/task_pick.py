"""创作's task and keyword: a task picked from the open ones and one of its approved keywords
(the job is then bound to the task as `make --task` binds it: its app, wording and length
limit), or no task and a free-text keyword for a draft, checked by the base rules as it is
typed.

Kept apart from create.py like subtitle_look: `build` lays the controls out, `wire` connects
them to the keyword and app boxes of step 2; create's handlers take the task's value and
call `bound` for the ids and app they pass into the job.
"""

from __future__ import annotations

import html
from typing import Any

import gradio as gr
from sqlite_utils import Database

from workbench.errors import InputError
from workbench.platform.gate import check_keyword
from workbench.platform.keywords import get_keyword, list_keywords
from workbench.platform.tasks import get_task
from workbench.ui.common import handler, session
from workbench.ui.platform_choices import record_id, task_choices
from workbench.ui.projects import remember

NO_TASK = "不绑定任务（自由口令，做草稿）"


def bound(db: Database, task: Any, app: str | None) -> tuple[int | None, str | None]:
    """(task id, app) for the job: with a task, its app (the task decides, as `make --task`);
    without, the app box's text (None when empty)."""
    task_id = record_id(task, "任务")
    if task_id is None:
        return None, (app or "").strip() or None
    return task_id, get_task(db, task_id)["app"]


def approved(db: Database, task_id: int | None) -> list[tuple[str, str]]:
    """The task's approved keywords as (label, id) choices."""
    if task_id is None:
        return []
    return [(f"「{k['text']}」 · {k['channel']} {k['handle']}", str(k["id"]))
            for k in list_keywords(db, task_id, "approved")]


@handler
def pick_task(task: Any, here: Any = None) -> tuple[Any, Any, Any, str]:
    """A task chosen: its approved keywords to choose from (the only one filled in), its app
    in the app box, and what to do when it has none yet (all kept in the page's project)."""
    with session() as (_, db):
        task_id = record_id(task, "任务")
        remember(db, here, task=task_id)
        if task_id is None:
            return gr.Dropdown(choices=[], value=None), gr.skip(), gr.skip(), ""
        found = get_task(db, task_id)
        options = approved(db, task_id)
        if len(options) != 1:
            note = ("" if options else f"任务 #{task_id} 还没有已通过的口令："
                    "先在「任务与口令」里申请并通过审核")
            remember(db, here, app=found["app"])
            return gr.Dropdown(choices=options, value=None), gr.skip(), found["app"], note
        text = get_keyword(db, int(options[0][1]))["text"]
        remember(db, here, keyword=text, app=found["app"])
    return (gr.Dropdown(choices=options, value=options[0][1]), text, found["app"],
            keyword_hint(text, task))


@handler
def pick_keyword(keyword: Any, here: Any = None) -> Any:
    """An approved keyword chosen: its text into the keyword box (and the page's project)."""
    keyword_id = record_id(keyword, "口令")
    if keyword_id is None:
        return gr.skip()
    with session() as (_, db):
        text = get_keyword(db, keyword_id)["text"]
        remember(db, here, keyword=text)
        return text


@handler
def keyword_hint(keyword: str | None, task: Any) -> str:
    """Why the typed keyword cannot be used, or that it can (base rules, and the task's)."""
    text = (keyword or "").strip()
    if not text:
        return ""
    with session() as (settings, db):
        task_id = record_id(task, "任务")
        found = get_task(db, task_id) if task_id is not None else None
        try:
            check_keyword(text, settings, found)
        except InputError as exc:
            return f"**口令不能用**：{html.escape(str(exc))}"
    rules = f"任务 #{task_id} 的" if task_id is not None else "基本"
    return f"口令「{html.escape(text)}」符合{rules}规则"


@handler
def refresh() -> Any:
    with session() as (_, db):
        return gr.Dropdown(choices=task_choices(db, open_only=True, none=NO_TASK))


def build() -> tuple[gr.Dropdown, gr.Dropdown, gr.Markdown]:
    with gr.Row():
        task = gr.Dropdown([(NO_TASK, "")], value="", label="任务", scale=3,
                           elem_id="create-task")
        keyword = gr.Dropdown([], label="已通过的口令（选了就填入口令框）", scale=3,
                              elem_id="create-task-keyword")
    hint = gr.Markdown(elem_id="keyword-hint")
    return task, keyword, hint


def wire(tab: Any, task: Any, approved_keyword: Any, hint: Any, keyword_box: Any, app_box: Any,
         here: Any) -> None:
    """The task and its keywords are restored with the rest of the page's project."""
    task.input(pick_task, [task, here], [approved_keyword, keyword_box, app_box, hint],
               api_visibility="private")
    approved_keyword.input(pick_keyword, [approved_keyword, here], [keyword_box],
                           api_visibility="private").then(
        keyword_hint, [keyword_box, task], [hint], api_visibility="private")
    keyword_box.input(keyword_hint, [keyword_box, task], [hint], api_visibility="private",
                      trigger_mode="always_last")
    keyword_box.blur(keyword_hint, [keyword_box, task], [hint], api_visibility="private")
    tab.select(refresh, None, [task], api_visibility="private")
