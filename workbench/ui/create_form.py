"""创作's form as a project: every field restored exactly when a page opens or switches
project, and saved the moment the user changes it.

`restore` gives one value per name in RESTORED (the page wires the components in that order);
`wire_saves` connects each field's user events to a save of just that field. Handlers that set
fields themselves (a template's voice, a task's keyword, a generated script) save what they set.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr
from sqlite_utils import Database

from workbench.config import Settings
from workbench.ui import choices, render_job, task_pick
from workbench.ui.common import handler, session
from workbench.ui.platform_choices import record_id, task_choices
from workbench.ui.projects import remember

# The components restore fills, in this order.
RESTORED = ("material", "chapter", "template", "prompt", "keyword", "app", "task",
            "task_keyword", "segments", "title", "caption", "hashtags", "voice", "rate",
            "pitch", "volume", "hook_audio", "background", "bgm", "bgm_level", "sub_style",
            "profile", "drama_bgm", "highlights", "video", "cover", "caption_out", "package",
            "report", "status", "timer", "overwrite")
# Fields saved as they are, from the component of the same name (or the one given).
PLAIN = {"chapter": "chapter", "prompt": "prompt", "keyword": "keyword", "app": "app",
         "voice": "voice", "rate": "rate", "pitch": "pitch", "volume": "volume",
         "bgm_level": "bgm_level", "subtitle_style": "sub_style", "profile": "profile",
         "drama_bgm": "drama_bgm", "highlights": "highlights"}
TYPED = ("keyword", "app")  # text boxes: saved as typed, and when they lose focus
SLIDERS = ("rate", "pitch", "volume", "bgm_level")
DEFAULT_BACKGROUND, DEFAULT_BGM, NO_DRAMA_BGM = "page:paper", "generated", "none"


def script_rows(script: dict[str, Any]) -> list[list[str]]:
    return [[s["name"], s["text"]] for s in script.get("segments", [])]


def hashtag_text(script: dict[str, Any]) -> str:
    return " ".join(f"#{t}" for t in script.get("hashtags", []))


def _first(options: list[tuple[str, Any]]) -> Any:
    return options[0][1] if options else None


def _file(path: Any) -> str | None:
    return str(path) if path and Path(str(path)).is_file() else None


def restore(db: Database, settings: Settings, project: dict[str, Any]) -> dict[str, Any]:
    """Every component of the form as `project` left it (defaults for what it has not set),
    with its last render only while it matches the form."""
    fields = project["fields"]
    material = fields.get("material")
    kind = "drama" if choices.is_drama(db, material) else "novel"
    templates = choices.templates(settings, kind)
    task = str(fields.get("task") or "")
    tasks = task_choices(db, open_only=True, none=task_pick.NO_TASK)
    if task not in [value for _, value in tasks]:
        task = ""
    script = fields.get("script") or {}
    shown = render_job.shown(db, settings, project)
    return {
        "material": gr.Dropdown(choices=choices.materials(db), value=material),
        "chapter": gr.Dropdown(choices=choices.chapters(db, material) if material else [],
                               value=fields.get("chapter")),
        "template": gr.Dropdown(choices=templates,
                                value=fields.get("template") or _first(templates)),
        "prompt": gr.Dropdown(choices=choices.prompts(settings),
                              value=fields.get("prompt") or "narration"),
        "keyword": fields.get("keyword") or "",
        "app": fields.get("app") if fields.get("app") is not None else settings.app_name,
        "task": gr.Dropdown(choices=tasks, value=task),
        "task_keyword": gr.Dropdown(choices=task_pick.approved(db, record_id(task, "任务")),
                                    value=None),
        "segments": script_rows(script),
        "title": script.get("title", ""), "caption": script.get("caption", ""),
        "hashtags": hashtag_text(script),
        "voice": gr.Dropdown(choices=[(label, str(v)) for label, v in choices.voices(settings)],
                             value=fields.get("voice") or choices.default_voice(settings)),
        "rate": fields.get("rate", 0), "pitch": fields.get("pitch", 0),
        "volume": fields.get("volume", 0),
        "bgm_level": fields.get("bgm_level", round(settings.bgm_volume * 100)),
        "hook_audio": _file(fields.get("preview")),
        "background": gr.Dropdown(choices=choices.backgrounds(settings),
                                  value=fields.get("background") or DEFAULT_BACKGROUND),
        "bgm": gr.Dropdown(choices=choices.bgms(settings),
                           value=fields.get("bgm") or DEFAULT_BGM),
        "sub_style": fields.get("subtitle_style") or "",
        "profile": fields.get("profile") or "draft",
        "drama_bgm": fields.get("drama_bgm") or NO_DRAMA_BGM,
        "highlights": fields.get("highlights") or [],
        **shown,
        "overwrite": gr.Button(visible=False),
    }


def saver(name: str) -> Any:
    """A handler that saves one field of the page's project."""

    @handler
    def save(here: Any, value: Any) -> None:
        with session() as (_, db):
            remember(db, here, **{name: value})

    save.__name__ = f"save_{name}"
    return save


def wire_saves(here: Any, parts: dict[str, Any]) -> None:
    """Each plain field saved when the user changes it (always the last value: a field typed
    fast saves once it settles, never an older value after a newer one)."""
    for field, part in PLAIN.items():
        component = parts[part]
        save = saver(field)
        kwargs = {"api_visibility": "private", "trigger_mode": "always_last",
                  "show_progress": "hidden"}
        component.input(save, [here, component], None, **kwargs)
        if field in TYPED:  # pasted text and what an input method composed come on blur
            component.blur(save, [here, component], None, **kwargs)
        if field in SLIDERS:
            component.release(save, [here, component], None, **kwargs)


@handler
def sync_template(here: Any, template: Any) -> None:
    """The template a material's kind chose (drama or novel) is the project's too."""
    with session() as (_, db):
        remember(db, here, template=template)
