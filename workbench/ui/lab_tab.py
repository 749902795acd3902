"""模板实验室: the lab's sections as sub-tabs — 编辑 (a template or prompt linted as it is typed,
saved as a new version), 试用, 对比, 版本 and 收益. Layout and wiring only; the handlers are in
lab_editor.py, lab_trials.py and lab_earnings.py, over workbench/lab.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from workbench.lab.compare import MAX_TRIALS
from workbench.lab.preview import DEFAULT_SECONDS, MAX_SECONDS
from workbench.ui import choices, lab_earnings, lab_editor, lab_trials
from workbench.ui.common import handler, owner, session

PRIVATE: dict[str, Any] = {"api_visibility": "private"}


@handler
def open_first(source: str | None, text: str | None, request: gr.Request) -> tuple[Any, ...]:
    """The first time the lab opens with nothing in the editor: the first template, loaded,
    so there is something to edit and try at once. Otherwise nothing changes."""
    with session() as (settings, _):
        sources = lab_editor.source_choices(settings)
    if source or (text or "").strip() or not sources:
        return (gr.skip(),) * 6
    first = sources[0][1]
    version = lab_editor.pick_source(first)
    return (gr.Dropdown(choices=sources, value=first), version,
            *lab_editor.load_source(first, lab_editor.CURRENT, request))


@handler
def refresh(request: gr.Request) -> tuple[Any, ...]:
    """Every list the lab shows, read again (templates saved or imported meanwhile, new
    materials, versions)."""
    with session() as (settings, db):
        sources = lab_editor.source_choices(settings)
        refs = lab_editor.ref_choices(settings, db, f"app:{owner(request)}")
        ids = lab_editor.template_choices(settings)
        materials = choices.materials(db)
        prompts = choices.prompts(settings)
    try_refs = [("编辑器里的内容（未保存）", lab_trials.EDITOR), *refs]
    material = [gr.Dropdown(choices=materials)] * 2
    return (gr.Dropdown(choices=sources), gr.Dropdown(choices=try_refs),
            gr.Dropdown(choices=try_refs), gr.Dropdown(choices=ids), *material,
            *[gr.Dropdown(choices=prompts)] * 2)


def material_inputs(prefix: str) -> list[Any]:
    """素材, 章节 (novels), 片段 (dramas), 口令, 改写方式, 提示词 — one set per section."""
    with gr.Row():
        material = gr.Dropdown(label="素材（小说或短剧）", choices=[], scale=3,
                               elem_id=f"{prefix}-material")
        chapter = gr.Dropdown(label="章节", choices=[], scale=3, elem_id=f"{prefix}-chapter")
        segments = gr.Textbox(label="短剧片段（集:开始秒-结束秒，逗号分隔；不填自动选高光）",
                              placeholder="如 1:12.5-25.0,2:3-18", visible=False, scale=3,
                              elem_id=f"{prefix}-segments")
        keyword = gr.Textbox(label="口令", value=lab_trials.DEFAULT_KEYWORD, scale=2,
                             elem_id=f"{prefix}-keyword")
    with gr.Row():
        backend = gr.Radio(lab_trials.BACKENDS, value="rules", label="改写", scale=3,
                           elem_id=f"{prefix}-backend")
        prompt = gr.Dropdown(label="改写提示词", choices=[("narration", "narration")],
                             value="narration", scale=2, elem_id=f"{prefix}-prompt")
    material.input(lab_trials.pick_material, [material], [chapter, segments], **PRIVATE)
    return [material, chapter, segments, keyword, backend, prompt]


def build(blocks: gr.Blocks) -> None:
    with gr.Tab("模板实验室", id="lab") as tab, gr.Tabs(elem_id="lab-sections") as sections:
        with gr.Tab("编辑", id="lab-edit"):
            with gr.Row():
                source = gr.Dropdown(label="模板或提示词", choices=[], scale=3,
                                     elem_id="lab-source")
                version = gr.Dropdown(label="版本", choices=[], scale=2, elem_id="lab-version")
                load = gr.Button("载入", scale=1, elem_id="lab-load")
            status = gr.Markdown(elem_id="lab-status")
            kind = gr.State(lab_editor.TEMPLATE)
            with gr.Row(equal_height=False):
                with gr.Column(scale=3):
                    editor = gr.Code(language="jinja2", lines=24, max_lines=40,
                                     label="内容（边写边检查）", elem_id="lab-editor")
                with gr.Column(scale=2):
                    lint_note = gr.Markdown(elem_id="lab-lint-summary")
                    findings = gr.Dataframe(headers=lab_editor.LINT_HEADERS, interactive=False,
                                            wrap=True, column_widths=["9%", "16%", "11%", "64%"],
                                            label="检查结果", elem_id="lab-findings")
                    note = gr.Textbox(label="版本说明（可不填）", elem_id="lab-note")
                    save = gr.Button("保存为新版本", variant="primary", elem_id="lab-save")
                    saved = gr.Markdown(elem_id="lab-saved")
        with gr.Tab("试用", id="lab-try"):
            try_ref = gr.Dropdown(label="模板", choices=[("编辑器里的内容（未保存）", lab_trials.EDITOR)],
                                  value=lab_trials.EDITOR,
                                  elem_id="lab-try-template")
            try_inputs = material_inputs("lab-try")
            go = gr.Button("试用", variant="primary", elem_id="lab-try-run")
            summary = gr.Markdown(elem_id="lab-try-summary")
            segments = gr.Dataframe(headers=lab_trials.SEGMENT_HEADERS, interactive=False,
                                    wrap=True, label="各段文案与估计时长",
                                    column_widths=["10%", "54%", "8%", "10%", "8%", "10%"],
                                    elem_id="lab-try-segments")
            checks = gr.Dataframe(headers=lab_trials.CHECK_HEADERS, interactive=False,
                                  wrap=True, label="检查", column_widths=["10%", "14%", "76%"],
                                  elem_id="lab-try-checks")
            with gr.Row():
                seconds = gr.Number(DEFAULT_SECONDS, label=f"预览秒数（最多 {MAX_SECONDS:g}）",
                                    minimum=1, maximum=MAX_SECONDS, scale=1,
                                    elem_id="lab-try-seconds")
                look = gr.Button("预览前 N 秒（真实渲染 draft）", scale=2, elem_id="lab-try-preview")
            clip_note = gr.Markdown(elem_id="lab-try-clip-note")
            clip = gr.Video(label="预览", height=360, elem_id="lab-try-clip")
        with gr.Tab("对比", id="lab-compare"):
            refs = gr.Dropdown(label=f"2 到 {MAX_TRIALS} 个模板或版本（第一个是基准）", choices=[],
                               multiselect=True, max_choices=MAX_TRIALS, elem_id="lab-compare-refs")
            compare_inputs = material_inputs("lab-compare")
            run = gr.Button("对比", variant="primary", elem_id="lab-compare-run")
            table = gr.HTML(elem_id="lab-compare-table")
            with gr.Row():
                compare_seconds = gr.Number(DEFAULT_SECONDS, minimum=1, maximum=MAX_SECONDS,
                                            label="预览秒数", scale=1, elem_id="lab-compare-seconds")
                looks = gr.Button("每列预览前 N 秒（逐个渲染）", scale=2,
                                  elem_id="lab-compare-preview")
            with gr.Row():
                clips = [gr.Video(visible=False, height=300, elem_id=f"lab-compare-clip-{i}")
                         for i in range(MAX_TRIALS)]
        with gr.Tab("版本", id="lab-versions"):
            with gr.Row():
                template = gr.Dropdown(label="模板", choices=[], scale=3, elem_id="lab-ver-template")
                show = gr.Button("查看版本", scale=1, elem_id="lab-ver-show")
            versions_note = gr.Markdown(elem_id="lab-ver-note")
            versions = gr.Dataframe(headers=lab_editor.VERSION_HEADERS, interactive=False,
                                    wrap=True, elem_id="lab-ver-table")
            with gr.Row():
                picked = gr.Dropdown(label="版本", choices=[], scale=2, elem_id="lab-ver-pick")
                to_editor = gr.Button("载入到编辑器", scale=1, elem_id="lab-ver-load")
                download = gr.DownloadButton("下载这个版本", value=None, scale=1,
                                             elem_id="lab-ver-download")
            made = gr.Dataframe(headers=lab_editor.MADE_HEADERS, interactive=False, wrap=True,
                                label="用这个版本做的成品", elem_id="lab-ver-made")
            with gr.Row():
                upload = gr.File(label="导入模板文件（.j2，成为新版本）", file_types=[".j2"],
                                 type="filepath", height=110, scale=3, elem_id="lab-ver-upload")
                with gr.Column(scale=2):
                    import_note = gr.Textbox(label="导入说明（可不填）", elem_id="lab-ver-import-note")
                    do_import = gr.Button("导入", elem_id="lab-ver-import")
            imported = gr.Markdown(elem_id="lab-ver-imported")
        with gr.Tab("收益", id="lab-earnings"):
            with gr.Row():
                task = gr.Dropdown([("全部任务", "")], value="", label="任务", elem_id="lab-earn-task")
                channel = gr.Dropdown(lab_earnings.channel_choices(), value="", label="渠道",
                                      elem_id="lab-earn-channel")
                account = gr.Dropdown([("全部账号", "")], value="", label="账号",
                                      elem_id="lab-earn-account")
            with gr.Row():
                date_from = gr.Textbox(label="起始日期（含，可不填）", placeholder="2026-11-01",
                                       elem_id="lab-earn-from")
                date_to = gr.Textbox(label="结束日期（含，可不填）", placeholder="2026-11-30",
                                     elem_id="lab-earn-to")
                by = gr.Radio([(name, key) for key, name in lab_earnings.BY_NAMES.items()],
                              value="version", label="分组", elem_id="lab-earn-by")
                threshold = gr.Number(lab_earnings.MIN_VIDEOS, label="样本门槛（视频数）",
                                      minimum=1, precision=0, elem_id="lab-earn-min")
            count = gr.Button("统计", variant="primary", elem_id="lab-earn-run")
            chart = gr.HTML(elem_id="lab-earn-chart")
            stats = gr.Dataframe(headers=lab_earnings.HEADERS, interactive=False, wrap=True,
                                 elem_id="lab-earn-table")
            stats_note = gr.Markdown(elem_id="lab-earn-notes")

    # 编辑: lint as the text changes (typed or loaded); only the newest text waits its turn
    source.input(lab_editor.pick_source, [source], [version], **PRIVATE)
    # the editor is never the output of a click that can be refused: Gradio would cover it
    # with the error mark until the next update
    loaded = [editor, kind, status, save]
    load.click(lab_editor.load_source, [source, version], loaded, api_name="lab_load",
               show_progress_on=[status])
    editor.change(lab_editor.lint_editor, [editor, kind], [lint_note, findings],
                  api_name="lab_lint", trigger_mode="always_last", show_progress="hidden")
    saving = save.click(lab_editor.save_editor, [editor, kind, note], [saved, source, version],
                        api_name="lab_save")
    saving.success(lab_editor.load_source, [source, version], loaded, **PRIVATE)
    # 试用 and 对比
    editor_text = [editor, kind]
    go.click(lab_trials.try_template, [try_ref, *editor_text, *try_inputs],
             [summary, segments, checks], api_name="lab_try")
    look.click(lab_trials.preview_one, [try_ref, *editor_text, *try_inputs, seconds],
               [clip, clip_note], api_name="lab_preview", concurrency_id="render")
    run.click(lab_trials.compare, [refs, *editor_text, *compare_inputs], [table],
              api_name="lab_compare")
    looks.click(lab_trials.preview_many, [refs, *editor_text, *compare_inputs, compare_seconds],
                clips, api_name="lab_compare_preview", concurrency_id="render")
    # 版本
    listed = show.click(lab_editor.show_versions, [template], [versions, versions_note, picked],
                        api_name="lab_versions")
    listed.success(lab_editor.pick_version, [template, picked], [made, download], **PRIVATE)
    picked.input(lab_editor.pick_version, [template, picked], [made, download], **PRIVATE)
    to_editor.click(lab_editor.version_to_editor, [template, picked],
                    [source, version, editor, kind, status, save, sections], **PRIVATE)
    importing = do_import.click(lab_editor.import_version, [upload, import_note],
                                [imported, template], api_name="lab_import")
    importing.success(lab_editor.show_versions, [template], [versions, versions_note, picked],
                      **PRIVATE)
    # 收益
    count.click(lab_earnings.run_stats,
                [task, channel, account, date_from, date_to, by, threshold],
                [chart, stats, stats_note], api_name="lab_stats")
    lists = [source, try_ref, refs, template, try_inputs[0], compare_inputs[0],
             try_inputs[5], compare_inputs[5]]
    # read when the tab is opened, not on every page load (other tabs come first), and again
    # when a save or an import made a version
    tab.select(refresh, None, lists, **PRIVATE).then(
        lab_earnings.refresh_filters, None, [task, account], **PRIVATE).then(
        open_first, [source, editor], [source, version, *loaded], **PRIVATE)
    for made in (saving, importing):
        made.success(refresh, None, lists, **PRIVATE)
