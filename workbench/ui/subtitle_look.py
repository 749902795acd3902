"""创作's subtitle look: a style dropdown and a preview still rendered before the video is.

Kept apart from create.py so that tab stays a list of steps; `build` lays the controls out
inside the tab, `wire` connects them once every input they read exists.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from workbench.errors import InputError
from workbench.pipeline.preview import preview_subtitles
from workbench.subtitle_styles import PRESETS, preset_choices
from workbench.ui import choices
from workbench.ui.common import handler, session

FROM_SETTINGS = ""  # no choice of the job's own: the template's, else the settings' style
STYLE_CHOICES = [("按模板与设置", FROM_SETTINGS), *preset_choices()]


def job_subtitles(style: str | None) -> dict[str, Any] | None:
    """The dropdown's value as MakeJob.subtitles."""
    if not style:
        return None
    if style not in PRESETS:
        raise InputError(f"未知的字幕样式: {style}（可选 {'、'.join(PRESETS)}）")
    return {"style": style}


@handler
def preview(style: str, template: str, keyword: str, app: str, background: str) -> str:
    """One still with the chosen background, a sample line in the style, banner and label."""
    subtitles = job_subtitles(style)
    with session() as (settings, _):
        known = [t for _, t in choices.templates(settings)]
        spec, seed = choices.background_spec(settings, background)
        path = preview_subtitles(settings, keyword=keyword or "", app=(app or "").strip() or None,
                                 template=template if template in known else None,
                                 subtitles=subtitles, background=spec, seed=seed)
    return str(path)


def build() -> tuple[gr.Dropdown, gr.Button, gr.Image]:
    with gr.Row():
        style = gr.Dropdown(label="字幕样式", choices=STYLE_CHOICES, value=FROM_SETTINGS,
                            scale=3, elem_id="subtitle-style")
        look = gr.Button("预览画面", scale=1, elem_id="subtitle-preview-button")
    still = gr.Image(label="字幕预览（渲染前的一帧）", type="filepath", height=420,
                     interactive=False, elem_id="subtitle-preview")
    return style, look, still


def wire(style: gr.Dropdown, look: gr.Button, still: gr.Image, template: Any, keyword: Any,
         app: Any, background: Any) -> None:
    inputs = [style, template, keyword, app, background]
    look.click(preview, inputs, [still], api_name="preview_subtitles",
               concurrency_id="preview", concurrency_limit=2)
    style.input(preview, inputs, [still], api_visibility="private",
                concurrency_id="preview", concurrency_limit=2)
