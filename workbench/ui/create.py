"""创作: material → script → voice → background → render, every result visible and editable.

Each finished step is saved as the user's draft (store/drafts.py), so a reload or a second tab
resumes from it. Handlers are plain functions over simple values, so the same events are the
HTTP API (`api_name`s below) that gradio_client calls.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr

from workbench.errors import InputError
from workbench.models import MakeJob
from workbench.pipeline import ScriptJob, make_script
from workbench.pipeline.preview import preview_voice as speak_preview
from workbench.render.bgm import resolve_bgm
from workbench.script.edits import edited_script
from workbench.store.drafts import load_draft, save_draft
from workbench.ui import choices, subtitle_look, task_pick
from workbench.ui.common import current_settings, handler, owner, session
from workbench.ui.materials import import_novel
from workbench.ui.render_job import cancel_render, run_and_package, start

PROGRESS = gr.Progress()  # Gradio swaps in a live tracker for each call

SEGMENT_HEADERS = ["段落", "文案（可直接修改）"]
PROFILES = [("草稿 720×1280（快，先看效果）", "draft"), ("成片 1080×1920（发布用）", "final")]
STEP_NAMES = {"material": "选择素材", "script": "生成脚本", "voice": "配音试听",
              "background": "背景与音乐", "render": "渲染成品"}


# Pure helpers ------------------------------------------------------------------------------
def script_rows(script: dict[str, Any]) -> list[list[str]]:
    return [[s["name"], s["text"]] for s in script.get("segments", [])]


def _rows(segments: Any) -> list[list[str]]:
    """Dataframe value (list of rows, or the API's {"headers", "data"}) → [[name, text]]."""
    if isinstance(segments, dict):
        segments = segments.get("data", [])
    if hasattr(segments, "values"):  # a pandas DataFrame
        segments = segments.values.tolist()
    rows = []
    for row in segments or []:
        if len(row) < 2:
            continue
        name, text = str(row[0] or "").strip(), str(row[1] or "").strip()
        if name or text:
            rows.append([name or f"段落{len(rows) + 1}", text])
    return rows


def table_script(base: dict[str, Any], segments: Any, title: str, caption: str,
                 hashtags: str) -> dict[str, Any]:
    """The generated script with the table's edits applied (as MakeJob.script takes it)."""
    return edited_script(base, _rows(segments), title=title or "", caption=caption or "",
                         hashtags=hashtags or "").to_dict()


def _rate(value: Any) -> str:
    try:
        return f"{int(float(value or 0)):+d}%"
    except (TypeError, ValueError):
        raise InputError(f"语速无效: {value}（-50 到 100 之间的整数）") from None


def sound(pitch: Any, volume: Any, bgm_level: Any) -> dict[str, Any]:
    """The 配音 and 音乐 sliders as MakeJob fields: pitch in Hz, voice volume and the music's
    level in percent (the music slider starts at the settings' level; None: that level)."""
    try:
        fields: dict[str, Any] = {"pitch": f"{int(float(pitch or 0)):+d}Hz",
                                  "volume": f"{int(float(volume or 0)):+d}%"}
        if bgm_level is not None:
            fields["bgm_volume"] = round(float(bgm_level) / 100, 3)
    except (TypeError, ValueError):
        raise InputError(f"音高、音量或背景音乐音量无效：{pitch}, {volume}, {bgm_level}") from None
    return fields


def _require(material: Any, chapter: Any, keyword: str | None = None) -> tuple[int, int]:
    if not material:
        raise InputError("请先在第 1 步选择或上传小说素材")
    if not chapter:
        with session() as (_, db):
            if choices.is_drama(db, material):
                raise InputError("这是短剧，没有章节：请在「片段」里点「找高光」、勾选片段，"
                                 "再点「生成视频」")
        raise InputError("请先在第 1 步选择章节")
    if keyword is not None and not keyword.strip():
        raise InputError("请填写口令（任务平台给的搜索词）")
    try:
        return int(material), int(chapter)
    except (TypeError, ValueError):
        raise InputError(f"素材或章节无效: {material} / {chapter}") from None


# Handlers ----------------------------------------------------------------------------------
@handler
def pick_material(material: Any, request: gr.Request) -> Any:
    with session() as (_, db):
        options = choices.chapters(db, material)
        chapter = options[0][1] if options else None
        if material:
            save_draft(db, owner(request), "material", material=int(material), chapter=chapter)
    return gr.Dropdown(choices=options, value=chapter)


@handler
def pick_chapter(material: Any, chapter: Any, request: gr.Request) -> None:
    if material and chapter:
        with session() as (_, db):
            save_draft(db, owner(request), "material", material=int(material),
                       chapter=int(chapter))


@handler
def upload_to_create(file: str | None, request: gr.Request) -> tuple[Any, Any, str]:
    material_id, options, note = import_novel(file)
    return gr.Dropdown(choices=options, value=material_id), pick_material(material_id, request), note


@handler
def generate_script(material: Any, chapter: Any, template: str, prompt: str, keyword: str,
                    app: str, request: gr.Request, task: Any = None,
                    progress: gr.Progress = PROGRESS
                    ) -> tuple[list[list[str]], str, str, str, str]:
    """Template + rewrite → the script's segments, title, caption and hashtags."""
    material_id, chapter_no = _require(material, chapter, keyword)
    with session() as (settings, db):
        template, prompt = (choices.known_template(settings, template),
                            choices.known_prompt(settings, prompt))
        task_id, app = task_pick.bound(db, task, app)
        outcome = make_script(ScriptJob(
            material_id=material_id, chapter=chapter_no, template=template, keyword=keyword.strip(),
            app=app, prompt=prompt or "narration", task_id=task_id,
        ), settings, db, lambda f, m: progress(f, desc=m))
        script = outcome.script.to_dict()
        save_draft(db, owner(request), "script", material=material_id, chapter=chapter_no,
                   template=template, prompt=prompt or "narration", keyword=keyword.strip(),
                   app=app or "", task=task_id, script=script)
    note = f"{outcome.backend_note}" + ("（缓存）" if outcome.script.cached else "")
    return (script_rows(script), script["title"], script["caption"],
            " ".join(f"#{t}" for t in script["hashtags"]), note)


@handler
def pick_template(template: str) -> tuple[Any, Any]:
    """A template that asks for a voice (front matter `voice:`) sets the 配音 controls to it;
    the user can still change them before rendering. Other templates leave them alone."""
    with session() as (settings, _):
        if not template or template not in [t for _, t in choices.templates(settings)]:
            return gr.skip(), gr.skip()
        voice, rate = choices.template_voice(settings, template)
    return (gr.skip() if voice is None else gr.Dropdown(value=voice),
            gr.skip() if rate is None else rate)


@handler
def save_edits(segments: Any, title: str, caption: str, hashtags: str,
               request: gr.Request) -> None:
    """Keep the user's edits in the draft (so a reload shows them). Unchanged text is not
    saved: saving the script step drops the later steps (voice, background, render)."""
    with session() as (_, db):
        draft = load_draft(db, owner(request))
        if "script" not in draft or not _rows(segments):
            return
        stored = draft["script"].get("script", {})
        script = table_script(stored, segments, title, caption, hashtags)
        if _edits(script) == _edits(stored):
            return
        save_draft(db, owner(request), "script", script=script)


def _edits(script: dict[str, Any]) -> tuple[Any, ...]:
    return (script_rows(script), script.get("title", ""), script.get("caption", ""),
            list(script.get("hashtags", [])))


@handler
def preview_voice(segments: Any, voice: str, rate: float, request: gr.Request) -> tuple[str, str]:
    """Speak the first segment (the hook) with the chosen voice and rate."""
    rows = _rows(segments)
    if not rows:
        raise InputError("还没有脚本：先在第 3 步生成脚本")
    with session() as (settings, db):
        preview = speak_preview(settings, db, rows[0][1], voice=voice or None, rate=_rate(rate))
        save_draft(db, owner(request), "voice", voice=voice or "", rate=rate,
                   preview=str(preview.path))
    return str(preview.path), f"{preview.reason} · 开头 {preview.seconds:.1f} 秒"


@handler
def pick_background(background: str, bgm: str, request: gr.Request) -> str | None:
    with session() as (settings, db):
        choices.background_spec(settings, background)
        spec = choices.bgm_spec(settings, bgm)
        save_draft(db, owner(request), "background", background=background, bgm=bgm)
        bgm_file = resolve_bgm(spec, settings.cache_dir)  # made on first use for a preview
        return str(bgm_file) if bgm_file else None


def gallery_select(evt: gr.SelectData) -> str:
    with session() as (settings, _):
        return str(choices.backgrounds(settings)[evt.index][1])


@handler
def render(material: Any, chapter: Any, template: str, prompt: str, keyword: str, app: str,
           segments: Any, title: str, caption: str, hashtags: str, voice: str, rate: float,
           background: str, bgm: str, profile: str, subtitle_style: str, request: gr.Request,
           pitch: float = 0, volume: float = 0, bgm_level: float | None = None,
           task: Any = None, progress: gr.Progress = PROGRESS
           ) -> tuple[str, str, str, str, str]:
    """The whole job with the edited script → video, cover, caption, package zip, checks;
    with a task, bound to it (its approved keyword, app, wording and length limit)."""
    material_id, chapter_no = _require(material, chapter, keyword)
    user = owner(request)
    cancel = start(user)
    with session() as (settings, db):
        template, prompt = (choices.known_template(settings, template),
                            choices.known_prompt(settings, prompt))
        draft = load_draft(db, user)
        base = (draft.get("script") or {}).get("script") or {}
        script = table_script(base, segments, title, caption, hashtags)
        spec, seed = choices.background_spec(settings, background)
        task_id, app = task_pick.bound(db, task, app)
        job = MakeJob(material_id=material_id, chapter=chapter_no, template=template,
                      prompt=prompt or "narration", keyword=keyword.strip(), task_id=task_id,
                      app=None if task_id else app, seed=seed, voice=voice or None,
                      rate=_rate(rate), background=spec, bgm=choices.bgm_spec(settings, bgm),
                      profile=profile or "draft", script=script,
                      subtitles=subtitle_look.job_subtitles(subtitle_style),
                      **sound(pitch, volume, bgm_level))
        return run_and_package(job, settings, db, user, cancel, progress,
                               background=background, bgm=bgm)


@handler
def restore(request: gr.Request) -> tuple[Any, ...]:
    """Fill the tab from the user's draft: the page resumes after the last finished step.

    Quick, and it leaves alone what it has nothing for: a novel uploaded while the page was
    still loading must not be blanked by an empty draft arriving after it. The background
    gallery (thumbnails can take seconds to draw) comes with `refresh_choices`."""
    with session() as (settings, db):
        draft = load_draft(db, owner(request))
        mat = {**draft.get("material", {}), **draft.get("script", {})}
        material = mat.get("material")
        script = (draft.get("script") or {}).get("script") or {}
        voice = draft.get("voice", {})
        bg = {**draft.get("background", {}), **draft.get("render", {})}
        done = draft.get("render", {})
        video = cover = zipped = None
        if done.get("submission"):
            folder = settings.submissions_dir / done["submission"]
            if (folder / "video.mp4").is_file():
                video, cover = str(folder / "video.mp4"), str(folder / "cover.jpg")
                zipped = done.get("zip") if Path(done.get("zip", "")).is_file() else None
        caption_text = ""
        if video:
            caption_text = (Path(video).parent / "caption.txt").read_text(encoding="utf-8")
        step = draft.get("step")
        status = f"已恢复：上次完成到「{STEP_NAMES[step]}」" if step in STEP_NAMES else ""
        return (
            gr.Dropdown(choices=choices.materials(db), value=material) if material is not None
            else gr.Dropdown(choices=choices.materials(db)),
            gr.Dropdown(choices=choices.chapters(db, material), value=mat.get("chapter"))
            if material is not None else gr.skip(),
            gr.Dropdown(choices=choices.templates(settings),
                        value=mat.get("template") or _first(choices.templates(settings))),
            gr.Dropdown(choices=choices.prompts(settings), value=mat.get("prompt", "narration")),
            mat.get("keyword", ""), mat.get("app") or settings.app_name,
            script_rows(script) or None, script.get("title", ""), script.get("caption", ""),
            " ".join(f"#{t}" for t in script.get("hashtags", [])),
            gr.Dropdown(choices=[(label, str(v)) for label, v in choices.voices(settings)],
                        value=voice.get("voice") or choices.default_voice(settings)),
            voice.get("rate", 0),
            voice.get("preview") if Path(voice.get("preview", "")).is_file() else None,
            gr.Dropdown(choices=choices.backgrounds(settings),
                        value=bg.get("background", "page:paper")),
            gr.skip(),  # the gallery: refresh_choices draws it
            gr.Dropdown(choices=choices.bgms(settings), value=bg.get("bgm", "generated")),
            done.get("profile", "draft"), video, cover, caption_text, zipped,
            done.get("report", ""), status or gr.skip(), bg.get("subtitle_style", ""),
        )


@handler
def refresh_choices() -> tuple[Any, ...]:
    """Back from 素材: newly uploaded novels, footage and music become choices here. Choices
    only, no values: the tab's select also fires on page load, racing `restore`, and sending
    back the values it saw then would blank what `restore` filled in."""
    with session() as (settings, db):
        return (gr.Dropdown(choices=choices.materials(db)),
                gr.Dropdown(choices=choices.backgrounds(settings)),
                choices.background_gallery(settings),
                gr.Dropdown(choices=choices.bgms(settings)))


def _first(options: list[tuple[str, Any]]) -> Any:
    return options[0][1] if options else None


# Layout ------------------------------------------------------------------------------------
def build(blocks: gr.Blocks, render_slots: int) -> None:
    from workbench.ui import drama_create  # it builds on this module's render

    with gr.Tab("创作", id="create") as tab:
        status = gr.Markdown(elem_id="create-status")
        gr.Markdown("#### 1 · 素材与章节")
        with gr.Row():
            material = gr.Dropdown(label="素材（小说或短剧）", choices=[], scale=3, allow_custom_value=True, elem_id="material")
            chapter = gr.Dropdown(label="章节", choices=[], scale=3, allow_custom_value=True, elem_id="chapter")
            upload = gr.File(label="上传小说（TXT / EPUB）", file_types=[".txt", ".epub"],
                             type="filepath", scale=2, height=120, elem_id="create-upload")
        drama = drama_create.build()  # shown instead of the chapter when a drama is chosen
        gr.Markdown("#### 2 · 模板、提示词与口令")
        with gr.Row():
            template = gr.Dropdown(label="脚本模板", choices=[], allow_custom_value=True, elem_id="template")
            prompt = gr.Dropdown(label="改写提示词", choices=[], allow_custom_value=True, elem_id="prompt")
            keyword = gr.Textbox(label="口令（任务给的搜索词）", placeholder="如：夜渡迷局",
                                 elem_id="keyword")
            app = gr.Textbox(label="阅读平台", elem_id="app-name")
        task, task_keyword, keyword_hint = task_pick.build()
        generate = gr.Button("生成脚本", variant="primary", elem_id="generate")
        gr.Markdown("#### 3 · 脚本（每段都可以直接修改）")
        script_note = gr.Markdown()
        segments = gr.Dataframe(headers=SEGMENT_HEADERS, datatype=["str", "str"],
                                type="array", interactive=True, static_columns=[0], wrap=True,
                                column_widths=["14%", "86%"], elem_id="segments")
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
            background = gr.Dropdown(label="已选背景", choices=[], allow_custom_value=True, elem_id="background")
            bgm = gr.Dropdown(label="背景音乐", choices=[], allow_custom_value=True,
                              elem_id="bgm")
        bgm_level = gr.Slider(0, 100, step=5, label="背景音乐音量（%）", elem_id="bgm-volume",
                              value=lambda: round(current_settings().bgm_volume * 100))
        bgm_audio = gr.Audio(label="背景音乐试听", type="filepath", interactive=False)
        sub_style, sub_look, sub_still = subtitle_look.build()
        gr.Markdown("#### 6 · 渲染")
        with gr.Row():
            profile = gr.Radio(PROFILES, value="draft", label="输出规格", elem_id="profile")
            go = gr.Button("渲染成品", variant="primary", elem_id="render")
            stop = gr.Button("取消", variant="stop", elem_id="cancel")
        report = gr.Markdown(elem_id="render-report")
        with gr.Row():
            video = gr.Video(label="成品预览", height=480, elem_id="video")
            cover = gr.Image(label="封面", type="filepath", height=480, elem_id="cover")
        caption_out = gr.Textbox(label="发布文案（一键复制）", lines=4, buttons=["copy"],
                                 elem_id="caption-out")
        package = gr.File(label="下载成品包（zip）", elem_id="package")

    picked = material.input(pick_material, [material], [chapter], api_visibility="private")
    chapter.input(pick_chapter, [material, chapter], None, api_visibility="private")
    template.input(pick_template, [template], [voice, rate], api_visibility="private")
    uploaded = upload.upload(upload_to_create, [upload], [material, chapter, status],
                  api_visibility="private")
    generate.click(generate_script, [material, chapter, template, prompt, keyword, app, task],
                   [segments, title, caption, hashtags, script_note], api_name="generate_script",
                   concurrency_id="llm", concurrency_limit=4)
    edits = [segments, title, caption, hashtags]
    # A textbox's `input` fires on key presses only; pasted text, deletions and what an input
    # method composes (how Chinese is typed) arrive when the box loses focus.
    for trigger in [*(box.input for box in edits), *(box.blur for box in edits[1:])]:
        trigger(save_edits, edits, None, api_visibility="private", trigger_mode="always_last")
    listen.click(preview_voice, [segments, voice, rate], [hook_audio, voice_note],
                 api_name="preview_voice", concurrency_id="voice", concurrency_limit=2)
    gallery.select(gallery_select, None, [background], api_visibility="private").then(
        pick_background, [background, bgm], [bgm_audio], api_visibility="private")
    background.input(pick_background, [background, bgm], [bgm_audio], api_visibility="private")
    bgm.input(pick_background, [background, bgm], [bgm_audio], api_visibility="private")
    rendering = go.click(
        render, [material, chapter, template, prompt, keyword, app, segments, title, caption,
                 hashtags, voice, rate, background, bgm, profile, sub_style, pitch, volume,
                 bgm_level, task],
        [video, cover, caption_out, package, report], api_name="render",
        concurrency_id="render", concurrency_limit=render_slots)
    stop.click(cancel_render, None, None, api_visibility="private", cancels=[rendering],
               queue=False)
    tab.select(refresh_choices, None, [material, background, gallery, bgm],
               api_visibility="private")
    loaded = blocks.load(restore, None, [material, chapter, template, prompt, keyword, app, segments,
                                title, caption, hashtags, voice, rate, hook_audio, background,
                                gallery, bgm, profile, video, cover, caption_out, package,
                                report, status, sub_style], api_visibility="private")
    subtitle_look.wire(sub_style, sub_look, sub_still, template, keyword, app, background)
    task_pick.wire(blocks, tab, task, task_keyword, keyword_hint, keyword, app)
    drama_create.wire(drama, picked=picked, loaded=loaded, uploaded=uploaded, material=material,
                      chapter=chapter, template=template, keyword=keyword, app=app, voice=voice,
                      rate=rate, profile=profile, sub_style=sub_style, stop=stop,
                      sound=[pitch, volume, bgm_level], task=task,
                      outputs=[video, cover, caption_out, package, report],
                      render_slots=render_slots)
