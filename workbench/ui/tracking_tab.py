"""回传与结算: import a platform's tracking export (a preview of the mapping and the first rows
before anything is stored, then the summary and the rejected rows), the settlement of a range
by a grouping with its held days and their release, a CSV download, and plots.

Each part is one gr.Accordion; the postback platforms are ui/postback_section.py. A thin shell over workbench/platform: the functions `workbench tracking import`,
`workbench settle` and `workbench settle release` call.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd

from workbench.errors import InputError
from workbench.platform.releases import held_days, release_day
from workbench.platform.settlement import BY_CHOICES, flag_text, settle, total_text, write_csv
from workbench.platform.tracking import import_tracking
from workbench.platform.tracking_mapping import FIELD_NAMES, presets
from workbench.platform.tracking_preview import preview_tracking
from workbench.ui import plots, postback_section
from workbench.ui.common import handler, owner, session
from workbench.ui.platform_choices import record_id, task_choices, without_path

AUTO = ""
BY_NAMES = {"keyword": "口令", "task": "任务", "account": "账号", "submission": "成品",
            "template": "模板", "day": "日期"}
SHOWN_REJECTED = 500
EXPORTS = ("ui", "exports")  # under WORKBENCH_HOME: served by the app (see app.launch)
IMPORT_FORMATS = [".csv", ".tsv", ".txt", ".json", ".xlsx"]
EARNING_COLORS = dict(zip(plots.EARNING_KINDS, ("#f97316", "#94a3b8"), strict=True))


def preset_choices() -> list[tuple[str, str]]:
    return [("自动识别（按表头）", AUTO)] + [(f"{p.name}：{p.description}", p.name)
                                         for p in presets().values()]


def _options(file: str | None, preset: str | None, map_spec: str | None, source: str | None,
             task: str | None) -> dict[str, Any]:
    if not file:
        raise InputError("请先选择要导入的回传文件（CSV、TSV、JSON 或 XLSX）")
    spec = (map_spec or "").strip() or None
    return {"preset": None if spec else (preset or None), "mapping": spec,
            "source": (source or "").strip() or None, "task": record_id(task, "任务")}


# Import ------------------------------------------------------------------------------------
@handler
def preview(file: str | None, preset: str | None, map_spec: str | None, source: str | None,
            task: str | None) -> tuple[str, pd.DataFrame]:
    """The mapping and the first rows as the import would read them; nothing is stored."""
    options = _options(file, preset, map_spec, source, task)
    with session() as (_, db):
        try:
            found = preview_tracking(db, Path(file), **options)  # type: ignore[arg-type]
        except InputError as exc:
            raise InputError(without_path(str(exc), file)) from None
    how = f"预设 **{found.preset}**" if found.preset else "自定义列映射"
    lines = [f"按{how}读取（来源记为「{found.source}」）。还没有保存任何数据：核对无误后点「导入」。",
             "", "| 字段 | 文件里的列 |", "|---|---|"]
    lines += [f"| {FIELD_NAMES[name]}（{name}） | {column} |"
              for name, column in found.columns.items()]
    if found.unmapped:
        lines.append(f"\n不导入的列：{'、'.join(found.unmapped)}")
    if found.more:
        lines.append(f"\n下表是前 {len(found.rows)} 行。")
    names = [FIELD_NAMES[name] for name in found.columns]
    rows = [[row.line, *(row.values[name] for name in found.columns),
             f"拒绝：{row.problem}" if row.problem else "可导入"] for row in found.rows]
    return "\n".join(lines), pd.DataFrame(rows, columns=["行号", *names, "检查"])


@handler
def run_import(file: str | None, preset: str | None, map_spec: str | None, source: str | None,
               task: str | None, request: gr.Request) -> tuple[str, list[list[Any]]]:
    options = _options(file, preset, map_spec, source, task)
    with session() as (_, db):
        try:
            result = import_tracking(db, Path(file), actor=f"app:{owner(request)}",  # type: ignore[arg-type]
                                     **options)
        except InputError as exc:
            raise InputError(without_path(str(exc), file)) from None
    text = f"导入完成：{result.summary_line()}（来源 {result.source}）"
    rejected = [[r.line, without_path(r.reason, file)] for r in result.rejected]
    if len(rejected) > SHOWN_REJECTED:
        text += f"；被拒绝的行只列出前 {SHOWN_REJECTED} 行"
    return text, rejected[:SHOWN_REJECTED]


# Settlement --------------------------------------------------------------------------------
def _range(date_from: str | None, date_to: str | None) -> tuple[str | None, str | None]:
    return (date_from or "").strip() or None, (date_to or "").strip() or None


def settlement_table(lines: list[dict[str, Any]], by: str) -> pd.DataFrame:
    rows = [[plots.group_label(line, by), line["model"] or "", line["days"],
             line["amount"] if line["amount"] is not None else "无法计算",
             line["held"] if line["held"] is not None else "无法计算",
             "；".join(flag_text(flag, by) for flag in line["flags"])] for line in lines]
    return pd.DataFrame(rows, columns=[BY_NAMES[by], "结算方式", "天数", "金额（元）",
                                       "暂扣（元）", "标记"])


@handler
def run_settlement(date_from: str | None, date_to: str | None, task: str | None, by: str,
                   metric: str) -> tuple[Any, ...]:
    """The report, its CSV, the held days and every plot for the chosen range."""
    if by not in BY_CHOICES:
        raise InputError(f"请选择分组方式（{'、'.join(BY_NAMES.values())}）")
    start, end = _range(date_from, date_to)
    task_id = record_id(task, "任务")
    with session() as (settings, db):
        factor = settings.spike_factor
        lines = settle(db, spike_factor=factor, task_id=task_id, date_from=start, date_to=end,
                       by=by)
        held = held_days(db, spike_factor=factor, task_id=task_id, date_from=start,
                         date_to=end)
        bars = [plots.earnings_frame(settle(db, spike_factor=factor, task_id=task_id,
                                            date_from=start, date_to=end, by=group), group)
                for group in ("task", "template", "account")]
        daily, note = plots.daily_frame(db, metric or "views", task_id=task_id,
                                        date_from=start, date_to=end)
        folder = settings.home.joinpath(*EXPORTS)
        folder.mkdir(parents=True, exist_ok=True)
        csv_path = folder / f"settlement-{by}-{start or 'all'}-{end or 'all'}.csv"
        write_csv(lines, by, csv_path)
    span = f"{start or '最早'} 至 {end or '最近'}"
    summary = (f"{span}，按{BY_NAMES[by]}：{len(lines)} 行，应结 {total_text(lines, 'amount')} 元，"
               f"暂扣 {total_text(lines, 'held')} 元（{len(held)} 个口令日待核对）" if lines
               else f"{span} 没有回传数据：先在上面导入平台的回传文件")
    return (summary, settlement_table(lines, by), str(csv_path),
            held_table(held), gr.Dropdown(choices=held_choices(held), value=None),
            daily, note, *bars)


def held_table(held: list[dict[str, Any]]) -> pd.DataFrame:
    rows = [[h["date"], f"{h['keyword']}（#{h['keyword_id']}）", f"#{h['task_id']}",
             h["amount"] if h["amount"] is not None else "无法计算", "；".join(h["reasons"])]
            for h in held]
    return pd.DataFrame(rows, columns=["日期", "口令", "任务", "暂扣（元）", "原因"])


def held_choices(held: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(f"{h['date']} 口令「{h['keyword']}」 暂扣 {h['amount'] or '无法计算'} 元",
             f"{h['keyword_id']}|{h['date']}") for h in held]


@handler
def release(choice: str | None, reason: str | None, request: gr.Request) -> str:
    keyword_id, _, date = (choice or "").partition("|")
    if not keyword_id or not date:
        raise InputError("请先点「结算」，再从暂扣列表里选择要放行的一天")
    with session() as (settings, db):
        done = release_day(db, f"#{record_id(keyword_id, '口令')}", date,
                           actor=f"app:{owner(request)}", spike_factor=settings.spike_factor,
                           reason=reason)
    amount = done["amount"] if done["amount"] is not None else "无法计算（任务缺少结算条款）"
    return f"已放行 口令「{done['keyword']}」{done['date']}，金额 {amount} 元"


@handler
def redraw_daily(date_from: str | None, date_to: str | None, task: str | None, metric: str
                 ) -> tuple[pd.DataFrame, str]:
    start, end = _range(date_from, date_to)
    with session() as (_, db):
        return plots.daily_frame(db, metric or "views", task_id=record_id(task, "任务"),
                                 date_from=start, date_to=end)


@handler
def refresh_tasks() -> tuple[Any, Any]:
    with session() as (_, db):
        tasks = task_choices(db, none="全部任务")
    return gr.Dropdown(choices=tasks), gr.Dropdown(choices=tasks)


# Layout ------------------------------------------------------------------------------------
def _bar(by: str, elem_id: str) -> gr.BarPlot:
    return gr.BarPlot(x="group", y="amount", color="kind", x_title=BY_NAMES[by],
                      y_title="金额（元）", color_title="", label=f"收益 · 按{BY_NAMES[by]}",
                      color_map=EARNING_COLORS, x_label_angle=-20, elem_id=elem_id)


def build(blocks: gr.Blocks) -> None:
    with gr.Tab("回传与结算", id="tracking") as tab:
        with gr.Accordion("导入回传文件", open=True, elem_id="tracking-import-section"):
            with gr.Row():
                file = gr.File(label="平台导出的回传文件", file_types=IMPORT_FORMATS,
                               type="filepath", height=120, scale=2, elem_id="tracking-file")
                with gr.Column(scale=3):
                    preset = gr.Dropdown(preset_choices(), value=AUTO, label="列名预设",
                                         elem_id="tracking-preset")
                    map_spec = gr.Textbox(label="或自己指定列（列名=字段,…，填了就不用预设）",
                                          placeholder="如 日期=date,推广词=keyword,播放=views",
                                          elem_id="tracking-map")
                    with gr.Row():
                        source = gr.Textbox(label="数据来源名（可不填）", elem_id="tracking-source")
                        task = gr.Dropdown([("全部任务", "")], value="",
                                           label="只认这个任务的口令", elem_id="tracking-task")
            with gr.Row():
                look = gr.Button("预览（不保存）", elem_id="tracking-preview-button")
                store = gr.Button("导入", variant="primary", elem_id="tracking-import")
            mapping = gr.Markdown(elem_id="tracking-mapping")
            sample = gr.Dataframe(headers=["行号", "日期", "口令", "检查"], interactive=False,
                                  wrap=True, elem_id="tracking-preview")
            summary = gr.Markdown(elem_id="tracking-summary")
            rejected = gr.Dataframe(headers=["行号", "原因"], interactive=False, wrap=True,
                                    label="被拒绝的行", elem_id="tracking-rejected")
        postback_section.build(tab)
        with gr.Accordion("结算", open=True, elem_id="settle-section"):
            with gr.Row():
                date_from = gr.Textbox(label="起始日期（含，可不填）", placeholder="2026-11-01",
                                       elem_id="settle-from")
                date_to = gr.Textbox(label="结束日期（含，可不填）", placeholder="2026-11-30",
                                     elem_id="settle-to")
                settle_task = gr.Dropdown([("全部任务", "")], value="", label="任务",
                                          elem_id="settle-task")
                by = gr.Dropdown([(name, key) for key, name in BY_NAMES.items()],
                                 value="keyword", label="分组", elem_id="settle-by")
                go = gr.Button("结算", variant="primary", elem_id="settle-run")
            totals = gr.Markdown(elem_id="settle-summary")
            table = gr.Dataframe(headers=["口令", "结算方式", "天数", "金额（元）", "暂扣（元）", "标记"],
                                 interactive=False, wrap=True, elem_id="settle-table")
            download = gr.DownloadButton("下载 CSV", value=None, elem_id="settle-csv")
            gr.Markdown("##### 暂扣（异常的日期：核对后放行，金额计入应结）")
            held = gr.Dataframe(headers=["日期", "口令", "任务", "暂扣（元）", "原因"],
                                interactive=False, wrap=True, elem_id="held-table")
            with gr.Row():
                held_pick = gr.Dropdown([], label="要放行的一天", scale=3, elem_id="held-pick")
                reason = gr.Textbox(label="放行原因（记入历史）", scale=2,
                                    elem_id="release-reason")
                free = gr.Button("放行", scale=1, elem_id="release")
            release_note = gr.Markdown(elem_id="release-note")
        with gr.Accordion("图表", open=True, elem_id="plots-section"):
            metric = gr.Radio([(name, key) for key, name in plots.METRICS.items()],
                              value="views", label="每日指标（按口令）", elem_id="plot-metric")
            daily = gr.LinePlot(x="date", y="value", color="keyword", x_title="日期",
                                y_title="当天的数", color_title="口令", label="每日走势",
                                elem_id="plot-daily")
            daily_note = gr.Markdown(elem_id="plot-note")
            with gr.Row():
                by_task = _bar("task", "plot-task")
                by_template = _bar("template", "plot-template")
                by_account = _bar("account", "plot-account")

    source_inputs = [file, preset, map_spec, source, task]
    look.click(preview, source_inputs, [mapping, sample], api_name="preview_tracking")
    file.upload(preview, source_inputs, [mapping, sample], api_visibility="private")
    settle_inputs = [date_from, date_to, settle_task, by, metric]
    settle_outputs = [totals, table, download, held, held_pick, daily, daily_note, by_task,
                      by_template, by_account]
    store.click(run_import, source_inputs, [summary, rejected], api_name="import_tracking"
                ).success(run_settlement, settle_inputs, settle_outputs,
                          api_visibility="private")
    go.click(run_settlement, settle_inputs, settle_outputs, api_name="settle")
    free.click(release, [held_pick, reason], [release_note], api_name="release_held").success(
        run_settlement, settle_inputs, settle_outputs, api_visibility="private")
    metric.input(redraw_daily, [date_from, date_to, settle_task, metric], [daily, daily_note],
                 api_visibility="private")
    tab.select(refresh_tasks, None, [task, settle_task], api_visibility="private")
    blocks.load(refresh_tasks, None, [task, settle_task], api_visibility="private")
