"""创作's project bar: whose projects these are, which one the page is on, and new, rename,
delete.

Whose: the logged-in user (the login decides; nothing the browser sends can change it), or,
without login, this browser: a random id kept in its localStorage (gr.BrowserState). A call
through the HTTP API has neither and saves no project, so it never changes what a browser
shows. The page's current project lives in a gr.State (kept on the server, per page).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

import gradio as gr
from sqlite_utils import Database

from workbench.errors import InputError
from workbench.store.projects import (
    claim_shared,
    create_project,
    delete_project,
    get_project,
    list_projects,
    rename_project,
    save_fields,
)
from workbench.ui.common import session

# The browser's id is no secret worth guarding (without login anyone reaching the app can use
# it): the key only has to stay the same across restarts, or every browser would lose its id.
BROWSER_KEY = "workbench-browser-id"
BROWSER_SECRET = "workbench-projects"
_BROWSER_ID = re.compile(r"[0-9a-f]{32}")


@dataclass
class ProjectBar:
    browser: gr.BrowserState
    here: gr.State  # {"owner": …, "project": id} of this page, or None (the HTTP API)
    choice: gr.Dropdown
    name: gr.Textbox
    new: gr.Button
    rename: gr.Button
    delete: gr.Button
    note: gr.Markdown


def page_owner(request: gr.Request | None, browser_id: Any) -> tuple[str, str | None]:
    """(owner, browser id to keep): the logged-in user, else this browser (a new id when it
    has none or sent something that is not one of ours)."""
    user = getattr(request, "username", None) if request else None
    if user:
        return str(user), browser_id if isinstance(browser_id, str) else None
    if not (isinstance(browser_id, str) and _BROWSER_ID.fullmatch(browser_id)):
        browser_id = uuid.uuid4().hex
    return f"browser:{browser_id}", browser_id


def actor(owner: str) -> str:
    return f"app:{owner}"


def current(here: Any) -> tuple[str, int] | None:
    """(owner, project id) of the page, or None for a call without a page (the HTTP API)."""
    if isinstance(here, dict) and here.get("owner") and here.get("project") is not None:
        return str(here["owner"]), int(here["project"])
    return None


def remember(db: Database, here: Any, **values: Any) -> None:
    """Save `values` into the page's project (nothing for an API call)."""
    where = current(here)
    if where is not None:
        save_fields(db, where[0], where[1], **values)


def choices(db: Database, owner: str) -> list[tuple[str, int]]:
    return [(f"{p['name']} · #{p['id']}", p["id"]) for p in list_projects(db, owner)]


def open_for(db: Database, owner: str, wanted: Any = None) -> dict[str, Any]:
    """The project a page of `owner` opens: `wanted` if it is theirs, else the last changed
    one; a first visit takes over the old shared draft's project, or starts an empty one."""
    if wanted is not None:
        try:
            return get_project(db, owner, wanted)
        except InputError:
            pass
    found = list_projects(db, owner)
    if not found and claim_shared(db, owner):
        found = list_projects(db, owner)
    if not found:
        return get_project(db, owner, create_project(db, owner, actor=actor(owner)))
    return found[0]


def bar_values(db: Database, owner: str, project: dict[str, Any]) -> tuple[Any, Any, Any]:
    """(here, the project dropdown, the name box) for `project`."""
    return ({"owner": owner, "project": project["id"]},
            gr.Dropdown(choices=choices(db, owner), value=project["id"]), project["name"])


def new_project(db: Database, owner: str, name: str | None) -> dict[str, Any]:
    return get_project(db, owner, create_project(db, owner, name, actor=actor(owner)))


def renamed(here: Any, name: str) -> tuple[Any, str]:
    where = _needed(here)
    with session() as (_, db):
        rename_project(db, *where, name, actor=actor(where[0]))
        project = get_project(db, *where)
        return gr.Dropdown(choices=choices(db, where[0]), value=project["id"]), (
            f"已改名为「{project['name']}」")


def deleted(db: Database, here: Any) -> tuple[str, dict[str, Any]]:
    """Delete the page's project → (what was deleted, the project the page goes to)."""
    owner, project_id = _needed(here)
    name = get_project(db, owner, project_id)["name"]
    delete_project(db, owner, project_id, actor=actor(owner))
    return name, open_for(db, owner)


def _needed(here: Any) -> tuple[str, int]:
    where = current(here)
    if where is None:
        raise InputError("页面还没有打开项目：请刷新页面")
    return where


def build() -> ProjectBar:
    browser = gr.BrowserState(None, storage_key=BROWSER_KEY, secret=BROWSER_SECRET)
    here = gr.State(None)
    with gr.Row(elem_id="project-bar"):
        choice = gr.Dropdown(label="项目（换一个就接着做那一个）", choices=[], scale=3,
                             elem_id="project")
        name = gr.Textbox(label="项目名", scale=2, max_length=40, elem_id="project-name")
        with gr.Column(scale=2, min_width=160), gr.Row():
            new = gr.Button("新建项目", size="sm", elem_id="project-new")
            rename = gr.Button("改名", size="sm", elem_id="project-rename")
            delete = gr.Button("删除项目", size="sm", variant="stop",
                               elem_id="project-delete")
    note = gr.Markdown(elem_id="project-note")
    return ProjectBar(browser, here, choice, name, new, rename, delete, note)
