"""创作's handlers: material → script → voice → background → render, every result visible and
editable, every field kept in the page's project (ui/projects.py, store/projects.py).

Handlers are plain functions over simple values, so the same events are the HTTP API
(`api_name`s in create_page.py) that gradio_client calls; `here` (the page's project, a
gr.State the API does not see) is None for an API call, which then saves no project.
"""

from __future__ import annotations

import random
from typing import Any

import gradio as gr

from workbench.errors import InputError
from workbench.models import MakeJob
from workbench.pipeline import ScriptJob, make_script
from workbench.pipeline.preview import preview_voice as speak_preview
from workbench.render.bgm import resolve_bgm
from workbench.script.edits import edited_script
from workbench.store.projects import get_project
from workbench.ui import choices, subtitle_look, task_pick
from workbench.ui.common import for_web, handler, owner, row_number, session
from workbench.ui.create_form import hashtag_text, script_rows
from workbench.ui.materials import import_novel
from workbench.ui.projects import current, remember
from workbench.ui.render_job import run_and_package

PROGRESS = gr.Progress()  # Gradio swaps in a live tracker for each call

EDITED = ("脚本已有你的修改：再点一次会用新生成的脚本替换全部修改。要替换就点「确认覆盖」，"
          "只想换某一段就在表格里点那一段，再点「重新生成这一段」")


# Pure helpers ------------------------------------------------------------------------------
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


def _script_job(db: Any, settings: Any, material: Any, chapter: Any, template: str, prompt: str,
                keyword: str, app: str, task: Any, seed: int = 0) -> ScriptJob:
    material_id, chapter_no = _require(material, chapter, keyword)
    task_id, app = task_pick.bound(db, task, app)
    return ScriptJob(material_id=material_id, chapter=chapter_no,
                     template=choices.known_template(settings, template), keyword=keyword.strip(),
                     app=app, prompt=choices.known_prompt(settings, prompt) or "narration",
                     task_id=task_id, seed=seed)


# Handlers ----------------------------------------------------------------------------------
@handler
def pick_material(material: Any, here: Any = None) -> Any:
    with session() as (_, db):
        options = choices.chapters(db, material)
        chapter = options[0][1] if options else None
        if material:
            remember(db, here, material=int(material), chapter=chapter)
    return gr.Dropdown(choices=options, value=chapter)


@handler
def upload_to_create(file: str | None, here: Any = None) -> tuple[Any, Any, str]:
    material_id, options, note = import_novel(file)
    return gr.Dropdown(choices=options, value=material_id), pick_material(material_id, here), note


def _edited(here: Any) -> bool:
    """Whether the page's project holds a script the user changed since it was generated."""
    where = current(here)
    if where is None:
        return False
    with session() as (_, db):
        fields = get_project(db, *where)["fields"]
    script = fields.get("script")
    return bool(script) and _edits(script) != _edits(fields.get("script_base") or {})


@handler
def generate_script(material: Any, chapter: Any, template: str, prompt: str, keyword: str,
                    app: str, request: gr.Request, task: Any = None, here: Any = None,
                    confirmed: bool = False, progress: gr.Progress = PROGRESS
                    ) -> tuple[Any, ...]:
    """Template + rewrite → the script's segments, title, caption and hashtags (and whether
    to show 确认覆盖). A script the user has edited is replaced only once confirmed."""
    _require(material, chapter, keyword)
    if not confirmed and _edited(here):
        return (*[gr.skip()] * 4, EDITED, gr.Button(visible=True))
    with session() as (settings, db):
        job = _script_job(db, settings, material, chapter, template, prompt, keyword, app, task)
        outcome = make_script(job, settings, db, lambda f, m: progress(f, desc=m))
        script = outcome.script.to_dict()
        remember(db, here, material=job.material_id, chapter=job.chapter, template=job.template,
                 prompt=job.prompt, keyword=job.keyword, app=app or "", task=job.task_id,
                 script=script, script_base=script)
    note = for_web(outcome.backend_note) + ("（缓存）" if outcome.script.cached else "")
    return (script_rows(script), script["title"], script["caption"], hashtag_text(script),
            note, gr.Button(visible=False))


@handler
def overwrite_script(material: Any, chapter: Any, template: str, prompt: str, keyword: str,
                     app: str, request: gr.Request, task: Any = None, here: Any = None,
                     progress: gr.Progress = PROGRESS) -> tuple[Any, ...]:
    """确认覆盖: generate even though the script was edited."""
    return generate_script(material, chapter, template, prompt, keyword, app, request, task,
                           here, True, progress)


@handler
def regenerate_segment(material: Any, chapter: Any, template: str, prompt: str, keyword: str,
                       app: str, task: Any, segments: Any, title: str, caption: str,
                       hashtags: str, row: Any, here: Any = None,
                       progress: gr.Progress = PROGRESS) -> tuple[list[list[str]], str]:
    """A new version of one segment (row `row`, from 1), the others kept as edited."""
    rows = _rows(segments)
    n = row_number(rows, row, empty="还没有脚本：先点「生成脚本」", unit="段", whole="脚本",
                 hint="，在表格里点要换的那一段")
    name = rows[n - 1][0]
    with session() as (settings, db):
        job = _script_job(db, settings, material, chapter, template, prompt, keyword, app, task,
                          seed=random.randrange(1, 1_000_000))
        made = make_script(job, settings, db, lambda f, m: progress(f, desc=m)).script.to_dict()
        fresh = {s["name"]: s["text"] for s in made["segments"]}
        if name not in fresh:
            raise InputError(f"模板「{job.template}」没有「{name}」这一段：它可能换过模板，"
                             "请点「生成脚本」重新生成整篇")
        same = fresh[name] == rows[n - 1][1]
        rows[n - 1] = [name, fresh[name]]
        base = _stored_script(db, here) or made
        remember(db, here, script=table_script(base, rows, title, caption, hashtags))
    note = (f"第 {n} 段「{name}」由模板固定，重新生成后不变" if same
            else f"已重新生成第 {n} 段「{name}」，其他段落保留你的修改")
    return rows, note


def _stored_script(db: Any, here: Any) -> dict[str, Any]:
    where = current(here)
    if where is None:
        return {}
    fields = get_project(db, *where)["fields"]
    return fields.get("script") or fields.get("script_base") or {}


def pick_segment(evt: gr.SelectData) -> int:
    index = evt.index[0] if isinstance(evt.index, list | tuple) else evt.index
    return int(index) + 1


@handler
def pick_template(template: str, here: Any = None) -> tuple[Any, Any]:
    """A template that asks for a voice (front matter `voice:`) sets the 配音 controls to it;
    the user can still change them before rendering. Other templates leave them alone."""
    with session() as (settings, db):
        if not template or template not in [t for _, t in choices.templates(settings)]:
            return gr.skip(), gr.skip()
        voice, rate = choices.template_voice(settings, template)
        remember(db, here, template=template,
                 **({} if voice is None else {"voice": voice}),
                 **({} if rate is None else {"rate": rate}))
    return (gr.skip() if voice is None else gr.Dropdown(value=voice),
            gr.skip() if rate is None else rate)


@handler
def save_edits(here: Any, segments: Any, title: str, caption: str, hashtags: str) -> None:
    """Keep the user's edits in the project (so a reload shows them)."""
    if not _rows(segments):
        return
    with session() as (_, db):
        base = _stored_script(db, here)
        if not base:
            return
        script = table_script(base, segments, title, caption, hashtags)
        if _edits(script) != _edits(base):
            remember(db, here, script=script)


def _edits(script: dict[str, Any]) -> tuple[Any, ...]:
    return (script_rows(script), script.get("title", ""), script.get("caption", ""),
            list(script.get("hashtags", [])))


@handler
def preview_voice(segments: Any, voice: str, rate: float, here: Any = None) -> tuple[str, str]:
    """Speak the first segment (the hook) with the chosen voice and rate."""
    rows = _rows(segments)
    if not rows:
        raise InputError("还没有脚本：先在第 3 步生成脚本")
    with session() as (settings, db):
        preview = speak_preview(settings, db, rows[0][1], voice=voice or None, rate=_rate(rate))
        remember(db, here, voice=voice or "", rate=rate, preview=str(preview.path))
    return str(preview.path), f"{preview.reason} · 开头 {preview.seconds:.1f} 秒"


@handler
def pick_background(background: str, bgm: str, here: Any = None) -> str | None:
    with session() as (settings, db):
        choices.background_spec(settings, background)
        spec = choices.bgm_spec(settings, bgm)
        remember(db, here, background=background, bgm=bgm)
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
           task: Any = None, here: Any = None, progress: gr.Progress = PROGRESS
           ) -> tuple[str, str, str, str, str]:
    """The whole job with the edited script → video, cover, caption, package zip, checks;
    with a task, bound to it (its approved keyword, app, wording and length limit)."""
    material_id, chapter_no = _require(material, chapter, keyword)
    where = current(here)
    user = where[0] if where else owner(request)
    with session() as (settings, db):
        template, prompt = (choices.known_template(settings, template),
                            choices.known_prompt(settings, prompt))
        script = table_script(_stored_script(db, here), segments, title, caption, hashtags)
        spec, seed = choices.background_spec(settings, background)
        task_id, app_name = task_pick.bound(db, task, app)
        job = MakeJob(material_id=material_id, chapter=chapter_no, template=template,
                      prompt=prompt or "narration", keyword=keyword.strip(), task_id=task_id,
                      app=None if task_id else app_name, seed=seed, voice=voice or None,
                      rate=_rate(rate), background=spec, bgm=choices.bgm_spec(settings, bgm),
                      profile=profile or "draft", script=script,
                      subtitles=subtitle_look.job_subtitles(subtitle_style),
                      **sound(pitch, volume, bgm_level))
        form = {"material": material_id, "chapter": chapter_no, "template": template,
                "prompt": prompt, "keyword": keyword.strip(), "app": app or "", "task": task_id,
                "script": script, "voice": voice or "", "rate": rate, "pitch": pitch,
                "volume": volume, "bgm_level": bgm_level, "background": background, "bgm": bgm,
                "profile": profile or "draft", "subtitle_style": subtitle_style or ""}
        return run_and_package(job, settings, db, user, progress,
                               project=where[1] if where else None, form=form)


@handler
def refresh_choices() -> tuple[Any, ...]:
    """Back from 素材: newly uploaded novels, footage and music become choices here. Choices
    only, no values: the tab's select also fires on page load, racing the project's restore,
    and sending back the values it saw then would blank what the restore filled in."""
    with session() as (settings, db):
        return (gr.Dropdown(choices=choices.materials(db)),
                gr.Dropdown(choices=choices.backgrounds(settings)),
                choices.background_gallery(settings),
                gr.Dropdown(choices=choices.bgms(settings)))
