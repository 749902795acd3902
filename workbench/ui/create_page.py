"""创作's page: the project bar, the six steps laid out, and every event wired (the public
`api_name`s are here). Handlers live in create.py, the form's restore and saves in
create_form.py, the project bar in projects.py.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from workbench.store.projects import get_project
from workbench.ui import (
    create,
    create_form,
    drama_create,
    projects,
    render_job,
    subtitle_look,
    task_pick,
)
from workbench.ui.common import current_settings, handler, session

SEGMENT_HEADERS = ["段落", "文案（可直接修改）"]
PROFILES = [("草稿 720×1280（快，先看效果）", "draft"), ("成片 1080×1920（发布用）", "final")]
BAR = ("here", "project", "project_name")


def _page(db: Any, settings: Any, owner: str, project: dict[str, Any]) -> tuple[Any, ...]:
    """The project bar and every restored component, in BAR + RESTORED order."""
    values = create_form.restore(db, settings, project)
    return (*projects.bar_values(db, owner, project),
            *(values[name] for name in create_form.RESTORED))


def ready_for_files() -> Any:
    return gr.File(interactive=True)


@handler
def open_page(browser_id: Any, request: gr.Request) -> tuple[Any, ...]:
    """Page load: whose projects, the one to resume (a first one made when there is none),
    and the form exactly as it was left."""
    owner, browser_id = projects.page_owner(request, browser_id)
    with session() as (settings, db):
        project = projects.open_for(db, owner)
        return (browser_id, *_page(db, settings, owner, project))


@handler
def switch_project(choice: Any, here: Any) -> tuple[Any, ...]:
    owner = projects.current(here)
    if owner is None:
        raise gr.Error("页面还没有打开项目：请刷新页面")
    with session() as (settings, db):
        return _page(db, settings, owner[0], projects.open_for(db, owner[0], choice))


@handler
def new_project(name: str, here: Any) -> tuple[Any, ...]:
    where = projects.current(here)
    if where is None:
        raise gr.Error("页面还没有打开项目：请刷新页面")
    with session() as (settings, db):
        shown = get_project(db, *where)["name"]  # the box still names the page's project
        project = projects.new_project(db, where[0], None if name == shown else name)
        return _page(db, settings, where[0], project)


@handler
def delete_project(here: Any) -> tuple[Any, ...]:
    with session() as (settings, db):
        name, project = projects.deleted(db, here)
        page = _page(db, settings, project["owner"], project)
    gr.Info(f"已删除项目「{name}」（做好的成品仍在「提交记录」里）")
    return page


@handler
def rename_project(here: Any, name: str) -> tuple[Any, str]:
    return projects.renamed(here, name)


def build(blocks: gr.Blocks, render_slots: int) -> None:
    with gr.Tab("创作", id="create", elem_id="create-tab") as tab:
        bar = projects.build()
        status = gr.Markdown(elem_id="create-status")
        gr.Markdown("#### 1 · 素材与章节")
        with gr.Row():
            material = gr.Dropdown(label="素材（小说或短剧）", choices=[], scale=3,
                                   allow_custom_value=True, elem_id="material")
            chapter = gr.Dropdown(label="章节", choices=[], scale=3, allow_custom_value=True,
                                  elem_id="chapter")
            # usable once the page has opened its project (open_page), so a file given in the
            # first instant cannot race the page's own load
            upload = gr.File(label="上传小说（TXT / EPUB）", file_types=[".txt", ".epub"],
                             interactive=False,
                             type="filepath", scale=2, height=120, elem_id="create-upload")
        drama = drama_create.build()  # shown instead of the chapter when a drama is chosen
        gr.Markdown("#### 2 · 模板、提示词与口令")
        with gr.Row():
            template = gr.Dropdown(label="脚本模板", choices=[], allow_custom_value=True,
                                   elem_id="template")
            prompt = gr.Dropdown(label="改写提示词", choices=[], allow_custom_value=True,
                                 elem_id="prompt")
            keyword = gr.Textbox(label="口令（任务给的搜索词）", placeholder="如：夜渡迷局",
                                 elem_id="keyword")
            app = gr.Textbox(label="阅读平台", elem_id="app-name")
        task, task_keyword, keyword_hint = task_pick.build()
        with gr.Row():
            generate = gr.Button("生成脚本", variant="primary", elem_id="generate")
            overwrite = gr.Button("确认覆盖（丢弃我的修改）", variant="stop", visible=False,
                                  elem_id="generate-overwrite")
        gr.Markdown("#### 3 · 脚本（每段都可以直接修改）")
        script_note = gr.Markdown(elem_id="script-note")
        segments = gr.Dataframe(headers=SEGMENT_HEADERS, datatype=["str", "str"],
                                type="array", interactive=True, static_columns=[0], wrap=True,
                                column_widths=["22%", "78%"], elem_id="segments")
        with gr.Row(equal_height=True):
            segment_row = gr.Number(label="第几段（在表格里点一段）", value=1, precision=0,
                                    minimum=1, scale=1, elem_id="segment-row")
            regenerate = gr.Button("重新生成这一段", scale=1, elem_id="regen-segment")
        with gr.Row():
            title = gr.Textbox(label="标题", elem_id="title")
            hashtags = gr.Textbox(label="话题标签（空格分隔）", elem_id="hashtags")
        caption = gr.Textbox(label="发布文案", lines=2, elem_id="caption")
        gr.Markdown("#### 4 · 配音")
        with gr.Row():
            voice = gr.Dropdown(label="音色", choices=[], allow_custom_value=True, scale=3,
                                elem_id="voice")
            rate = gr.Slider(-50, 100, value=0, step=5, label="语速（%）", scale=2,
                             elem_id="rate")
            listen = gr.Button("试听开头", scale=1, elem_id="listen")
        with gr.Row():
            pitch = gr.Slider(-50, 50, value=0, step=5, label="音高（Hz）", elem_id="pitch")
            volume = gr.Slider(-50, 50, value=0, step=5, label="配音音量（%）",
                               elem_id="voice-volume")
        voice_note = gr.Markdown()
        hook_audio = gr.Audio(label="开头试听", type="filepath", interactive=False,
                              elem_id="hook-audio")
        gr.Markdown("#### 5 · 背景与音乐")
        gallery = gr.Gallery(label="背景（点选一个）", columns=8, height=230,
                             allow_preview=False, object_fit="contain", elem_id="bg-gallery")
        with gr.Row():
            background = gr.Dropdown(label="已选背景", choices=[], allow_custom_value=True,
                                     elem_id="background")
            bgm = gr.Dropdown(label="背景音乐", choices=[], allow_custom_value=True,
                              elem_id="bgm")
        # the page's load restores the project's level (or the setting's): no callable value
        # here, which Gradio would publish as an API endpoint of its own
        bgm_level = gr.Slider(0, 100, step=5, label="背景音乐音量（%）", elem_id="bgm-volume",
                              value=round(current_settings().bgm_volume * 100))
        bgm_audio = gr.Audio(label="背景音乐试听", type="filepath", interactive=False)
        sub_style, sub_look, sub_still = subtitle_look.build()
        gr.Markdown("#### 6 · 渲染")
        with gr.Row():
            profile = gr.Radio(PROFILES, value="draft", label="输出规格", elem_id="profile")
            go = gr.Button("渲染成品", variant="primary", elem_id="render")
            stop = gr.Button("取消", variant="stop", elem_id="cancel")
        report = gr.Markdown(elem_id="render-report")
        timer = gr.Timer(1.0, active=False)
        with gr.Row():
            video = gr.Video(label="成品预览", height=480, elem_id="video")
            cover = gr.Image(label="封面", type="filepath", height=480, elem_id="cover")
        caption_out = gr.Textbox(label="发布文案（一键复制）", lines=4, buttons=["copy"],
                                 elem_id="caption-out")
        package = gr.File(label="下载成品包（zip）", elem_id="package")

    here = bar.here
    parts = {"material": material, "chapter": chapter, "template": template, "prompt": prompt,
             "keyword": keyword, "app": app, "task": task, "task_keyword": task_keyword,
             "segments": segments, "title": title, "caption": caption, "hashtags": hashtags,
             "voice": voice, "rate": rate, "pitch": pitch, "volume": volume,
             "hook_audio": hook_audio, "background": background, "bgm": bgm,
             "bgm_level": bgm_level, "sub_style": sub_style, "profile": profile,
             "drama_bgm": drama.bgm, "highlights": drama.table, "video": video,
             "cover": cover, "caption_out": caption_out, "package": package, "report": report,
             "status": status, "timer": timer, "overwrite": overwrite}
    page = [here, bar.choice, bar.name, *(parts[name] for name in create_form.RESTORED)]
    private: dict[str, Any] = {"api_visibility": "private"}

    # Projects: opened on load, switched, made, renamed, deleted; each fills the whole form.
    loaded = blocks.load(open_page, [bar.browser], [bar.browser, *page], **private)
    loaded.then(ready_for_files, None, [upload], **private)
    switched = bar.choice.input(switch_project, [bar.choice, here], page, **private)
    made = bar.new.click(new_project, [bar.name, here], page, **private)
    gone = bar.delete.click(delete_project, [here], page, **private)
    bar.rename.click(rename_project, [here, bar.name], [bar.choice, bar.note], **private)
    bar.name.submit(rename_project, [here, bar.name], [bar.choice, bar.note], **private)

    picked = material.input(create.pick_material, [material, here], [chapter], **private)
    template.input(create.pick_template, [template, here], [voice, rate], **private)
    uploaded = upload.upload(create.upload_to_create, [upload, here], [material, chapter, status],
                             show_progress_on=[status], **private)
    script_outputs = [segments, title, caption, hashtags, script_note, overwrite]
    script_inputs = [material, chapter, template, prompt, keyword, app, task, here]
    generate.click(create.generate_script, script_inputs, script_outputs,
                   api_name="generate_script", show_progress_on=[script_note],
                   concurrency_id="llm", concurrency_limit=4)
    overwrite.click(create.overwrite_script, script_inputs, script_outputs,
                    show_progress_on=[script_note], concurrency_id="llm", **private)
    segments.select(create.pick_segment, None, [segment_row], **private)
    regenerate.click(create.regenerate_segment,
                     [material, chapter, template, prompt, keyword, app, task, segments, title,
                      caption, hashtags, segment_row, here], [segments, script_note],
                     show_progress_on=[script_note], concurrency_id="llm", **private)
    edits = [segments, title, caption, hashtags]
    # A textbox's `input` fires on key presses only; pasted text, deletions and what an input
    # method composes (how Chinese is typed) arrive when the box loses focus.
    for trigger in [*(box.input for box in edits), *(box.blur for box in edits[1:])]:
        trigger(create.save_edits, [here, *edits], None, trigger_mode="always_last",
                show_progress="hidden", **private)
    listen.click(create.preview_voice, [segments, voice, rate, here], [hook_audio, voice_note],
                 api_name="preview_voice", concurrency_id="voice", concurrency_limit=2)
    gallery.select(create.gallery_select, None, [background], **private).then(
        create.pick_background, [background, bgm, here], [bgm_audio], **private)
    background.input(create.pick_background, [background, bgm, here], [bgm_audio], **private)
    bgm.input(create.pick_background, [background, bgm, here], [bgm_audio], **private)
    create_form.wire_saves(here, parts)
    outputs = [video, cover, caption_out, package, report]
    rendering = go.click(
        create.render, [material, chapter, template, prompt, keyword, app, segments, title,
                        caption, hashtags, voice, rate, background, bgm, profile, sub_style,
                        pitch, volume, bgm_level, task, here],
        outputs, api_name="render", concurrency_id="render", concurrency_limit=render_slots)
    timer.tick(render_job.poll, [here], [*outputs, timer], show_progress="hidden", **private)
    tab.select(create.refresh_choices, None, [material, background, gallery, bgm], **private)
    subtitle_look.wire(sub_style, sub_look, sub_still, template, keyword, app, background)
    task_pick.wire(tab, task, task_keyword, keyword_hint, keyword, app, here)
    drama_rendering = drama_create.wire(
        drama, opened=[picked, loaded, uploaded, switched, made, gone], material=material,
        chapter=chapter, template=template, keyword=keyword, app=app, voice=voice, rate=rate,
        profile=profile, sub_style=sub_style, sound=[pitch, volume, bgm_level], task=task,
        here=here, outputs=outputs, render_slots=render_slots)
    stop.click(render_job.cancel_render, [here], [*outputs, timer], **private,
               cancels=[rendering, drama_rendering], queue=False)
