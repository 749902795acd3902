"""A job run from the app: its lifecycle with the page's progress and cancel button, the
package zipped for download, the checks as Markdown, and the render step of the user's draft.
Shared by 创作's novel and drama renders."""

from __future__ import annotations

import threading
from typing import Any

import gradio as gr

from workbench.errors import Cancelled, InputError
from workbench.models import MakeJob
from workbench.package import package_zip
from workbench.pipeline import run_job
from workbench.store.drafts import save_draft
from workbench.ui.common import LEVELS, owner

_cancels: dict[str, threading.Event] = {}


def start(user: str) -> threading.Event:
    """The cancel event of the user's render (the 取消 button sets it)."""
    event = _cancels[user] = threading.Event()
    return event


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


def run_and_package(job: MakeJob, settings: Any, db: Any, user: str, cancel: threading.Event,
                    progress: gr.Progress, **draft: Any) -> tuple[str, str, str, str, str]:
    """Run the job's lifecycle → (video, cover, caption, zip, report), saved as the render
    step of the user's draft. Shared by the novel and the drama render."""
    progress(0.0, desc="排队完成，开始制作")
    try:
        outcome = run_job(job, settings, db,
                          lambda f, m: progress(f, desc=f"{m}（{f:.0%}）"), cancel=cancel,
                          actor=f"app:{user}")
    except Cancelled:
        raise InputError("已取消渲染，没有留下半成品") from None
    finally:
        _cancels.pop(user, None)
    zipped = package_zip(outcome.package, settings.home / "ui" / "zips")
    caption_text = (outcome.package / "caption.txt").read_text(encoding="utf-8")
    report = report_markdown(outcome.manifest, outcome.reused, outcome.notes)
    save_draft(db, user, "render", submission=outcome.submission_id, profile=job.profile,
               zip=str(zipped), report=report, **draft)
    return (str(outcome.package / "video.mp4"), str(outcome.package / "cover.jpg"),
            caption_text, str(zipped), report)


def cancel_render(request: gr.Request) -> None:
    event = _cancels.get(owner(request))
    if event:
        event.set()
