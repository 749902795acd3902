"""A job run from the app: its lifecycle with the page's progress and cancel button, the
package zipped for download, the checks as Markdown, and the render kept with the project.
Shared by 创作's novel and drama renders.

A render runs in the server whatever the page does: a page reloaded mid-render finds it here
(`progress_of`) and follows it with a timer (`poll`) until it ends. Its state is kept with the
project (running, done with the job id and the form hash it was made from, failed, cancelled),
so a page opened later shows the video only while the form still matches it.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr
from sqlite_utils import Database

from workbench.config import Settings
from workbench.errors import Cancelled, InputError
from workbench.models import MakeJob
from workbench.package import package_zip
from workbench.pipeline import run_job
from workbench.store.projects import form_hash, get_project, save_fields, set_render
from workbench.ui.common import LEVELS, session
from workbench.ui.projects import current

log = logging.getLogger(__name__)
CANCELLED = "已取消渲染，没有留下半成品"
EMPTY = (None, None, "", None)  # video, cover, caption, zip


@dataclass
class Running:
    cancel: threading.Event
    fraction: float = 0.0
    message: str = "排队完成，开始制作"


_running: dict[str, Running] = {}
_lock = threading.Lock()


def _key(owner: str, project: int | None) -> str:
    return f"{owner}#{project}" if project is not None else owner


def begin(owner: str, project: int | None) -> Running:
    """Register a render of `owner`'s `project` (None: an API call); one at a time each."""
    with _lock:
        if project is not None and _key(owner, project) in _running:
            raise InputError("这个项目正在渲染：等它完成，或先点「取消」")
        run = _running[_key(owner, project)] = Running(threading.Event())
    return run


def progress_of(owner: str, project: int) -> Running | None:
    return _running.get(_key(owner, project))


def report_markdown(outcome_manifest: dict[str, Any], reused: bool, notes: list[str]) -> str:
    findings = outcome_manifest.get("compliance", {}).get("findings", [])
    render, (width, height) = outcome_manifest["render"], outcome_manifest["render"]["size"]
    seconds = outcome_manifest["durations"]["video"]
    lines = [f"**成品包 {outcome_manifest['id']}**" + ("（复用已有成品）" if reused else ""),
             f"时长 {seconds:.1f} 秒 · {render['profile']} · {width}×{height}"]
    lines += [f"- 注意：{n}" for n in notes]
    # words, not emoji: many Linux browsers have no emoji font
    lines += [f"- {LEVELS.get(f['level'], '')} {f['message']}" for f in findings]
    return "\n".join(lines)


def run_and_package(job: MakeJob, settings: Settings, db: Database, owner: str,
                    progress: gr.Progress, project: int | None = None,
                    form: dict[str, Any] | None = None) -> tuple[str, str, str, str, str]:
    """Run the job's lifecycle → (video, cover, caption, zip, report). With a project, the
    form's values (`form`) are saved into it first and the render is kept with their hash."""
    made_from = None
    if project is not None:
        made_from = form_hash(save_fields(db, owner, project, **(form or {})))
    run = begin(owner, project)

    def report(fraction: float, message: str) -> None:
        run.fraction, run.message = fraction, message
        progress(fraction, desc=f"{message}（{fraction:.0%}）")

    try:
        if project is not None:
            set_render(db, owner, project, "running")
        report(0.0, run.message)
        outcome = run_job(job, settings, db, report, cancel=run.cancel, actor=f"app:{owner}")
        if run.cancel.is_set():  # finished just as 取消 was clicked: the page said 已取消
            raise Cancelled(CANCELLED)
        zipped = package_zip(outcome.package, settings.home / "ui" / "zips")
        text = report_markdown(outcome.manifest, outcome.reused, outcome.notes)
    except Cancelled:
        _ended(db, owner, project, "cancelled")
        raise InputError(CANCELLED) from None
    except Exception as exc:
        _ended(db, owner, project, "failed", error=str(exc))
        raise
    finally:
        with _lock:
            _running.pop(_key(owner, project), None)
    if project is not None:
        set_render(db, owner, project, "done", job=outcome.job_id,
                   submission=outcome.submission_id, zip=str(zipped), report=text,
                   form_hash=made_from)
    caption = (outcome.package / "caption.txt").read_text(encoding="utf-8")
    return (str(outcome.package / "video.mp4"), str(outcome.package / "cover.jpg"), caption,
            str(zipped), text)


def _ended(db: Database, owner: str, project: int | None, status: str, **values: Any) -> None:
    if project is None:
        return
    try:
        set_render(db, owner, project, status, **values)
    except Exception:  # noqa: BLE001 - the project may be gone; the render's error matters
        log.warning("project %s: could not record its render as %s", project, status)


def shown(db: Database, settings: Settings, project: dict[str, Any]) -> dict[str, Any]:
    """What the render part of the page shows for `project`: its running render's progress
    (the timer then follows it), or its last video while the form still matches it."""
    render, owner = project["render"], project["owner"]
    nothing = {"video": None, "cover": None, "caption_out": "", "package": None,
               "report": "", "status": "", "timer": gr.Timer(active=False)}
    status = render.get("status")
    if status == "running":
        run = progress_of(owner, project["id"])
        if run is not None:
            return {**nothing, "report": running_text(run), "timer": gr.Timer(active=True)}
        set_render(db, owner, project["id"], "interrupted")  # the app stopped under it
        return {**nothing, "report": "上次渲染被中断（应用重启了）：请重新点「渲染成品」"}
    if status == "cancelled":
        return {**nothing, "report": "已取消"}
    if status != "done":
        return nothing
    if render.get("form_hash") is None:  # carried over from the old draft: made from it
        kept = {k: v for k, v in render.items() if k not in ("status", "at")}
        render = set_render(db, owner, project["id"], "done",
                            **{**kept, "form_hash": form_hash(project["fields"])})
    if render.get("form_hash") != form_hash(project["fields"]):
        return {**nothing, "status": "表单已改动，上次的成品不再对应：改好后重新渲染"}
    folder = settings.submissions_dir / str(render.get("submission"))
    if not (folder / "video.mp4").is_file():
        return {**nothing, "status": "上次的成品已不在（可能被删除）：请重新渲染"}
    zipped = render.get("zip")
    return {**nothing, "video": str(folder / "video.mp4"), "cover": str(folder / "cover.jpg"),
            "caption_out": (folder / "caption.txt").read_text(encoding="utf-8"),
            "package": zipped if zipped and Path(zipped).is_file() else None,
            "report": render.get("report", ""), "status": "已恢复上次的成品"}


def running_text(run: Running) -> str:
    return f"**渲染中**：{run.message}（{run.fraction:.0%}）"


POLLED = ("video", "cover", "caption_out", "package", "report", "timer")


def poll(here: Any) -> tuple[Any, ...]:
    """The timer's tick on a page that reattached to a render: its progress, then its end."""
    where = _where(here)
    if where is None:
        return (*[gr.skip()] * 5, gr.Timer(active=False))
    run = progress_of(*where)
    if run is not None:
        return (*[gr.skip()] * 4, running_text(run), gr.skip())
    with session() as (settings, db):
        result = shown(db, settings, get_project(db, *where))
    if result["report"] == "" and not result["video"]:
        result["report"] = result["status"] or "渲染已结束"
    return tuple(result[name] for name in POLLED)


def cancel_render(here: Any) -> tuple[Any, ...]:
    """取消: stop the page's render (the one this page started, or the one it reattached to),
    and clear the result it showed; the project remembers that it was cancelled."""
    where = _where(here)
    if where is not None:
        run = progress_of(*where)
        if run is not None:
            run.cancel.set()
        with session() as (_, db):
            _ended(db, *where, "cancelled")
    return (*EMPTY, "已取消", gr.Timer(active=False))


def _where(here: Any) -> tuple[str, int] | None:
    return current(here)
