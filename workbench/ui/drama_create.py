"""创作 for a drama: when the chosen material is a drama, the chapter picker gives way to a 片段
section — 找高光 fills an editable table of candidates (选用, 集, 开始, 结束, 得分, 理由, 台词),
a row plays as a short preview clip, and 生成视频 makes the job from the ticked rows through the
same lifecycle and package as a novel (the segments checked by the code `make --segments`
uses). The template dropdown offers the drama templates for a drama, the novel ones for a novel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import gradio as gr

from workbench.drama.highlights import find_highlights as rank_highlights
from workbench.drama.preview import preview_segment as cut_preview
from workbench.errors import InputError
from workbench.materials.drama import list_episodes
from workbench.models import MakeJob
from workbench.transcribe.service import lines_source
from workbench.ui import choices, create, create_form, render_job, subtitle_look, task_pick
from workbench.ui.common import for_web, handler, owner, row_number, session
from workbench.ui.projects import current, remember

HEADERS = ["选用", "集", "开始", "结束", "得分", "理由", "台词"]
DATATYPES = ["bool", "number", "number", "number", "number", "str", "str"]
NO_BGM = "none"
PROGRESS = gr.Progress()


@dataclass
class DramaSection:
    section: gr.Column
    table: gr.Dataframe
    bgm: gr.Dropdown
    row: gr.Number
    preview: gr.Video
    find: gr.Button
    show: gr.Button
    go: gr.Button
    note: gr.Markdown


def _drama_id(db: Any, material: Any) -> int:
    if not material or not choices.is_drama(db, material):
        raise InputError("请先在第 1 步选择一部短剧（在「素材」页上传剧集）")
    return int(material)


def table_rows(value: Any) -> list[list[Any]]:
    """The Dataframe's value (rows, the API's {"headers", "data"}, or a pandas DataFrame)."""
    if isinstance(value, dict):
        value = value.get("data", [])
    if hasattr(value, "values"):
        value = value.values.tolist()
    return [list(row) for row in value or [] if row and any(c not in (None, "") for c in row)]


def _ticked(cell: Any) -> bool:
    if isinstance(cell, str):
        return cell.strip().lower() in ("true", "1", "yes", "是", "✓", "√")
    return bool(cell)


def _number(cell: Any, n: int, what: str) -> float:
    try:
        value = float(str(cell).strip())
    except (TypeError, ValueError):
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise InputError(f"第 {n} 行的{what}应为秒数（如 12.5），现在是「{str(cell)[:20]}」")
    return value


def row_segment(row: list[Any], n: int) -> tuple[int, float, float]:
    """One table row (n: its number from 1) → (episode, start, end)."""
    if len(row) < 4:
        raise InputError(f"第 {n} 行不完整：需要 集、开始、结束 三列")
    episode = _number(row[1], n, "集数")
    if episode != int(episode) or episode < 1:
        raise InputError(f"第 {n} 行的集数应为正整数，现在是「{str(row[1])[:20]}」")
    return int(episode), _number(row[2], n, "开始"), _number(row[3], n, "结束")


def ticked_segments(value: Any) -> tuple[tuple[int, float, float], ...]:
    chosen = tuple(row_segment(row, n) for n, row in enumerate(table_rows(value), start=1)
                   if _ticked(row[0]))
    if not chosen:
        raise InputError("还没有选片段：先点「找高光」，在「选用」列勾选要用的片段")
    return chosen


def _app_words(message: str) -> str:
    """What the CLI calls --segments is the ticked rows here."""
    return (message.replace("（--segments）", "").replace("请用 --segments 指定片段", "请勾选片段")
            .replace("--segments", "所选片段"))


# Handlers ----------------------------------------------------------------------------------
@handler
def sync_kind(material: Any, template: Any) -> tuple[Any, Any, Any, Any]:
    """The chapter picker or the 片段 section, and the templates of the material's kind."""
    with session() as (settings, db):
        drama = choices.is_drama(db, material)
        options = choices.templates(settings, "drama" if drama else "novel")
        ids = [value for _, value in options]
        value = template if template in ids else (ids[0] if ids else None)
        bgm_options = [("不加（保留原声）", NO_BGM), *[(label, v) for label, v in
                                                 choices.bgms(settings) if v != NO_BGM]]
    return (gr.Dropdown(visible=not drama), gr.Column(visible=drama),
            gr.Dropdown(choices=options, value=value), gr.Dropdown(choices=bgm_options))


@handler
def find_highlights(material: Any, here: Any = None, progress: gr.Progress = PROGRESS
                    ) -> tuple[list[list[Any]], str]:
    """The drama's candidate segments, ranked, none overlapping → (table rows, note), kept in
    the page's project."""
    with session() as (settings, db):
        material_id = _drama_id(db, material)
        report = rank_highlights(db, material_id, max_seconds=None,
                                 lines_for=lines_source(settings, db),
                                 progress=lambda f, m: progress(f, desc=m))
        rows = [[False, h.episode, round(h.start, 3), round(h.end, 3), round(h.score, 2),
                 "、".join(h.reasons), h.text] for h in report.highlights]
        remember(db, here, highlights=rows)
    if not rows:
        return [], "没有找到合适的片段（剧集太短）：可以在表格里直接写 集、开始、结束 并勾选"
    found = (f"找到 {len(rows)} 段（按得分排名）：在「选用」列勾选要用的片段，开始、结束可以改，"
             "再点「生成视频」")
    notes = [found, *(f"注意：{for_web(n)}" for n in report.notes)]
    return rows, "\n\n".join(notes)


@handler
def preview_segment(material: Any, table: Any, row: Any) -> str:
    """A short clip of the table's row `row` (from 1), draft size, cached."""
    rows = table_rows(table)
    n = row_number(rows, row, empty="表格是空的：先点「找高光」", unit="行", whole="表格")
    segment = row_segment(rows[n - 1], n)
    with session() as (settings, db):
        try:
            return str(cut_preview(settings, db, _drama_id(db, material), segment))
        except InputError as exc:
            raise InputError(_app_words(str(exc))) from None


def pick_row(evt: gr.SelectData) -> int:
    index = evt.index[0] if isinstance(evt.index, list | tuple) else evt.index
    return int(index) + 1


@handler
def render_drama(material: Any, template: str, keyword: str, app: str, table: Any, voice: str,
                 rate: float, bgm: str, profile: str, subtitle_style: str,
                 request: gr.Request, pitch: float = 0, volume: float = 0,
                 bgm_level: float | None = None, task: Any = None, here: Any = None,
                 progress: gr.Progress = PROGRESS) -> tuple[str, str, str, str, str]:
    """The ticked segments made into a video with the drama template → the same outputs as
    the novel render (video, cover, caption, package zip, checks); with a task, bound to it."""
    segments = ticked_segments(table)
    if not (keyword or "").strip():
        raise InputError("请填写口令（任务平台给的搜索词）")
    where = current(here)
    user = where[0] if where else owner(request)
    with session() as (settings, db):
        material_id = _drama_id(db, material)
        if not list_episodes(db, material_id):
            raise InputError("这部剧没有剧集：请在「素材」页重新上传")
        template = choices.known_template(settings, template, kind="drama")
        task_id, app = task_pick.bound(db, task, app)
        job = MakeJob(material_id=material_id, chapter=None, template=template,
                      keyword=keyword.strip(), app=None if task_id else app, task_id=task_id,
                      voice=voice or None, rate=create._rate(rate),
                      bgm=choices.bgm_spec(settings, bgm) if bgm and bgm != NO_BGM else None,
                      profile=profile or "draft", segments=segments,
                      subtitles=subtitle_look.job_subtitles(subtitle_style),
                      **create.sound(pitch, volume, bgm_level))
        form = {"material": material_id, "template": template, "keyword": keyword.strip(),
                "app": app or "", "task": task_id, "highlights": table_rows(table),
                "voice": voice or "", "rate": rate, "pitch": pitch, "volume": volume,
                "bgm_level": bgm_level, "drama_bgm": bgm, "profile": profile or "draft",
                "subtitle_style": subtitle_style or ""}
        try:
            return render_job.run_and_package(job, settings, db, user, progress,
                                              project=where[1] if where else None, form=form)
        except InputError as exc:
            raise InputError(_app_words(str(exc))) from None


# Layout ------------------------------------------------------------------------------------
def build() -> DramaSection:
    """The 片段 section, hidden until a drama is chosen (placed under step 1)."""
    with gr.Column(visible=False, elem_id="drama-section") as section:
        gr.Markdown("#### 片段（短剧）\n点「找高光」按台词、镜头和音量给片段打分；勾选要用的片段，"
                    "开始、结束（秒）可以直接改，边界落在台词中间会自动移到台词间隙。")
        with gr.Row():
            find = gr.Button("找高光", variant="primary", elem_id="find-highlights")
            bgm = gr.Dropdown(label="背景音乐（短剧默认保留原声）", choices=[(
                "不加（保留原声）", NO_BGM)], value=NO_BGM, allow_custom_value=True,
                elem_id="drama-bgm")
        note = gr.Markdown(elem_id="highlights-note")
        table = gr.Dataframe(headers=HEADERS, datatype=DATATYPES, type="array",
                             interactive=True, static_columns=[1, 4, 5, 6], wrap=True,
                             column_widths=["7%", "6%", "9%", "9%", "8%", "21%", "40%"],
                             elem_id="highlights")
        with gr.Row():
            row = gr.Number(label="预览第几行", value=1, precision=0, minimum=1,
                            elem_id="preview-row")
            show = gr.Button("预览片段", elem_id="preview-segment")
            go = gr.Button("生成视频", variant="primary", elem_id="render-drama")
        preview = gr.Video(label="片段预览", height=360, interactive=False,
                           elem_id="segment-preview")
    return DramaSection(section, table, bgm, row, preview, find, show, go, note)


def wire(drama: DramaSection, *, opened: list[Any], material: Any, chapter: Any,
         template: Any, keyword: Any, app: Any, voice: Any, rate: Any, profile: Any,
         sub_style: Any, outputs: list[Any], render_slots: int, sound: list[Any], task: Any,
         here: Any) -> Any:
    """Wire the 片段 section; returns its render event (取消 cancels it)."""
    kind_outputs = [chapter, drama.section, template, drama.bgm]
    for event in opened:  # a material picked, uploaded or restored: the section follows it
        event.then(sync_kind, [material, template], kind_outputs, api_visibility="private"
                   ).then(create_form.sync_template, [here, template], None,
                          api_visibility="private")
    drama.find.click(find_highlights, [material, here], [drama.table, drama.note],
                     api_name="find_highlights", concurrency_id="highlights",
                     concurrency_limit=2)
    drama.show.click(preview_segment, [material, drama.table, drama.row], [drama.preview],
                     api_name="preview_segment", concurrency_id="preview",
                     concurrency_limit=2)
    drama.table.select(pick_row, None, [drama.row], api_visibility="private")
    return drama.go.click(
        render_drama, [material, template, keyword, app, drama.table, voice, rate, drama.bgm,
                       profile, sub_style, *sound, task, here], outputs, api_name="render_drama",
        concurrency_id="render", concurrency_limit=render_slots)
