"""批量: a prompt folder (uploaded as a zip, or one already known) checked, planned and run with
the same library calls as `workbench batch` — problems and plan first, then per-job progress,
取消, and the report (CSV + HTML) to download or read in the page.

The batch runs in a thread of its own with its own database connection; the event's generator
only watches it, so a closed page does not stop a batch (run it again to see where it is: the
finished jobs are skipped). One batch per folder at a time: a second 运行 is told so here, and a
`workbench batch` process on the same batch is kept out by the runner's lock.
"""

from __future__ import annotations

import html
import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gradio as gr

from workbench.batch import BatchResult, BriefErrors, load_plan, run_batch
from workbench.batch.brief_zip import briefs_dir, store_brief_zip, uploaded_folders
from workbench.batch.display import TableDisplay
from workbench.batch.plan import BatchPlan
from workbench.batch.runner import survey
from workbench.batch.summary import done_keys, plan_summary, result_lines
from workbench.config import PROJECT_ROOT, Settings
from workbench.errors import InputError
from workbench.fonts import default_font_file
from workbench.ui.common import handler, owner, session

PROGRESS = gr.Progress()
EXAMPLES = PROJECT_ROOT / "examples" / "briefs"
EXAMPLE_CHOICE = "examples"
UPLOAD_PREFIX = "upload:"
PROBLEM_HEADERS = ["文件", "行", "问题"]
PLAN_HEADERS = ["简报", "变体", "章节", "模板", "开头", "音色", "背景·种子", "音乐", "口令", "状态"]
JOB_HEADERS = ["任务", "状态", "进度", "说明"]
POLL_SECONDS = 0.5
MAX_INLINE_REPORT = 3 * 1024 * 1024  # bytes of report.html shown in the page (thumbnails in it)


def reports_dir(settings: Settings) -> Path:
    """Where the app keeps a copy of each batch's report to serve (launch's allowed_paths)."""
    return settings.home / "ui" / "batch-reports"


def max_workers(slots: int) -> int:
    """Like the CLI's default (half the cores), but never more than the app's render slots."""
    return max(1, min(slots, (os.cpu_count() or 2) // 2))


def chosen_workers(value: float | None) -> int:
    """The page's number, kept within 1…max_workers (a browser may send anything)."""
    from workbench.ui.app import render_slots  # app builds this tab: imported when used

    most = max_workers(render_slots())
    try:
        return min(most, max(1, int(value or most)))
    except (TypeError, ValueError, OverflowError):
        return most


# Folders -------------------------------------------------------------------------------------
def folder_choices(settings: Settings) -> list[tuple[str, str]]:
    """(label, id) of every known prompt folder: uploads (newest first), then the example."""
    found = [(f"上传：{p.name}", UPLOAD_PREFIX + p.name) for p in uploaded_folders(settings)]
    if EXAMPLES.is_dir():
        found.append(("示例：examples/briefs（夜渡，草稿规格）", EXAMPLE_CHOICE))
    return found


def resolve_folder(settings: Settings, choice: str | None) -> Path:
    """The folder a choice names; only known folders (a browser may send anything)."""
    choice = (choice or "").strip()
    if not choice:
        raise InputError("请先上传简报文件夹的 zip，或在「简报文件夹」里选择一个")
    if choice == EXAMPLE_CHOICE and EXAMPLES.is_dir():
        return EXAMPLES
    name = choice.removeprefix(UPLOAD_PREFIX)
    if choice.startswith(UPLOAD_PREFIX) and "/" not in name and "\\" not in name:
        folder = briefs_dir(settings) / name
        if name and not name.startswith(".") and folder.is_dir():
            return folder
    raise InputError("这个简报文件夹不存在了：请重新上传 zip，或选择列表里的文件夹")


def for_page(text: str, folder: Path, settings: Settings) -> str:
    """A library message without server paths: files relative to the folder."""
    for path, words in ((folder, "简报文件夹"), (settings.home, "WORKBENCH_HOME"),
                        (PROJECT_ROOT, "项目")):
        text = text.replace(f"{path}/", "").replace(str(path), words)
    return text


@handler
def upload_zip(file: str | None) -> tuple[Any, str, None]:
    """Unpack an uploaded zip of a prompt folder → (the folder chosen, a note, the upload box
    emptied for the next zip)."""
    if not file:
        raise InputError("没有收到文件，请重新上传")
    with session() as (settings, _):
        stored = store_brief_zip(settings, Path(file), Path(file).name)
        choice = UPLOAD_PREFIX + stored.folder.name
        options = folder_choices(settings)
    note = "已解压，点「检查」查看计划" if stored.created else "这个 zip 之前上传过，沿用原来的文件夹"
    if stored.skipped:
        shown = "、".join(Path(s).name for s in stored.skipped[:5])
        more = f" 等 {len(stored.skipped)} 个" if len(stored.skipped) > 5 else ""
        note += f"；跳过不认识的文件：{shown}{more}"
    return gr.Dropdown(choices=options, value=choice), note, None


def clear_results() -> tuple[Any, ...]:
    """Another folder chosen: what the page showed was about the previous one."""
    hidden = gr.Dataframe(value=[], visible=False)
    return (hidden, hidden, "", hidden, "", gr.File(value=None, visible=False),
            gr.HTML(value="", visible=False))


def refresh_folders(choice: str | None) -> Any:
    with session() as (settings, _):
        options = folder_choices(settings)
    known = {value for _, value in options}
    return gr.Dropdown(choices=options, value=choice if choice in known else
                       (options[0][1] if options else None))


# 检查 ------------------------------------------------------------------------------------------
def plan_rows(plan: BatchPlan, done: set[str]) -> list[list[Any]]:
    """The CLI's plan table (`workbench batch --dry-run`), plus the keyword."""
    rows = []
    for p in plan.jobs:
        label = p.label
        hook = label["hook"] if len(label["hook"]) <= 12 else label["hook"][:11] + "…"
        rows.append([Path(p.brief).name, p.variant, str(label["chapter"]), label["template"],
                     hook, label["voice"], f"{label['background']}·{label['seed']}",
                     label["bgm"], p.job.keyword, "已有成品" if p.key in done else "待生成"])
    return rows


def problem_rows(errors: BriefErrors, folder: Path, settings: Settings) -> list[list[Any]]:
    return [[for_page(p.file, folder, settings) or "简报文件夹", p.line,
             for_page(p.message, folder, settings)] for p in errors.problems]


@handler
def check(choice: str | None, workers: float | None, force: bool
          ) -> tuple[Any, list[list[Any]], str]:
    """Read and check every brief, expand the plan, nothing written (like --dry-run) →
    (problems table, plan table, summary)."""
    with session() as (settings, db):
        folder = resolve_folder(settings, choice)
        try:
            plan = load_plan(folder, settings, db, import_materials=False)
        except BriefErrors as exc:
            problems = problem_rows(exc, folder, settings)
            return (gr.Dataframe(value=problems, visible=True),
                    gr.Dataframe(value=[], visible=False), f"**发现 {len(problems)} 个问题**：按表格逐条修改简报，重新打包上传后再检查。")
        done = done_keys(survey(plan, settings, db, force=bool(force)))
        summary = plan_summary(plan, done, settings, db, chosen_workers(workers))
        lines = [for_page(summary, folder, settings)]
        lines += [f"- 注意：{for_page(note, folder, settings)}" for note in plan.notes]
    return (gr.Dataframe(value=[], visible=False),
            gr.Dataframe(value=plan_rows(plan, done), visible=True), "\n".join(lines))


# 运行 ------------------------------------------------------------------------------------------
@dataclass
class BatchRun:
    """One batch running in its thread; the page's generator reads it."""

    folder: Path
    cancel: threading.Event = field(default_factory=threading.Event)
    display: TableDisplay | None = None
    result: BatchResult | None = None
    error: BaseException | None = None
    finished: threading.Event = field(default_factory=threading.Event)


_runs: dict[Path, BatchRun] = {}  # folder → its running batch (one per folder)
_runs_lock = threading.Lock()


def _claim(folder: Path) -> BatchRun:
    with _runs_lock:
        if folder in _runs:
            raise InputError("这个简报文件夹的批量正在运行：等它结束，或先点「取消」再运行")
        run = _runs[folder] = BatchRun(folder)
    return run


def _work(run: BatchRun, workers: int, force: bool, actor: str) -> None:
    """The batch thread: plan (materials imported), survey, run — `workbench batch`'s calls."""
    try:
        with session() as (settings, db):
            plan = load_plan(run.folder, settings, db, import_materials=True)
            surveyed = survey(plan, settings, db, force=force)
            run.display = TableDisplay(plan.jobs, done_keys(surveyed))
            if not run.cancel.is_set():
                run.result = run_batch(plan, settings, db, workers=workers,
                                       display=run.display, force=force, surveyed=surveyed,
                                       actor=actor, cancel=run.cancel)
    except BaseException as exc:  # noqa: BLE001 - handed to the page's generator
        run.error = exc
    finally:
        with _runs_lock:
            _runs.pop(run.folder, None)
        run.finished.set()


def _report(result: BatchResult, folder: Path, settings: Settings) -> tuple[list[str], str]:
    """The report files copied where the app serves them, and the HTML for the page."""
    served = reports_dir(settings) / result.batch_id
    served.mkdir(parents=True, exist_ok=True)
    files = []
    for source in (result.report_html, result.report_csv):
        target = served / source.name
        shutil.copyfile(source, target)
        files.append(str(target))
    if result.report_html.stat().st_size > MAX_INLINE_REPORT:
        return files, "<p>报告较大，请下载 report.html 后用浏览器打开。</p>"
    # The page's bundled-font fallback, fetched from the app (the file names this machine's
    # copy). No scripts run in the frame; same origin lets it load that font.
    # Shown in the page without server paths (the downloaded files keep them, as the CLI's).
    font = "\x00font\x00"
    page = result.report_html.read_text(encoding="utf-8").replace(
        default_font_file().as_uri(), font)
    page = for_page(page, folder, settings).replace(
        font, f"/gradio_api/file={default_font_file()}")
    return files, (f'<iframe title="批量生成报告" sandbox="allow-same-origin" '
                   f'srcdoc="{html.escape(page, quote=True)}" style="width:100%;height:560px;'
                   'border:1px solid #ddd;border-radius:6px;background:#fff"></iframe>')


def _closing(run: BatchRun, settings: Settings) -> str:
    result = run.result
    assert result is not None
    lines = [for_page(line, run.folder, settings) for line in result_lines(result)
             if not line.startswith("报告:") and not line.endswith("：已取消")]
    if result.status == "interrupted":
        stopped = sum(r["error"] == "已取消" for r in result.rows)
        lines[0] = (f"**已取消**：进行中的 {stopped} 个已停下，{result.count('pending')} 个未运行；"
                    f"完成的成品包都保留了，再点「运行」会从这里继续。{lines[0]}")
    else:
        lines[0] = f"**批量结束**。{lines[0]}"
    return "\n\n".join(lines)


@handler
def run(choice: str | None, workers: float | None, force: bool, request: gr.Request,
        progress: gr.Progress = PROGRESS) -> Iterator[tuple[Any, ...]]:
    """Run the folder's batch → streams (job table, status, report files, report page)."""
    with session() as (settings, _):
        folder = resolve_folder(settings, choice)
    batch = _claim(folder)
    thread = threading.Thread(target=_work, name=f"batch-{folder.name}", daemon=True,
                              args=(batch, chosen_workers(workers), bool(force),
                                    f"app:{owner(request)}"))
    thread.start()
    progress(0.0, desc="检查简报、准备任务")
    yield _table([]), "正在检查简报、准备任务…", _files(None), _page("")
    while not batch.finished.wait(POLL_SECONDS):
        if batch.display is not None:
            rows, fraction, text = batch.display.snapshot()
            stopping = "（正在取消…）" if batch.cancel.is_set() else ""
            progress(fraction, desc=text)
            yield _table(rows), f"运行中：{text}{stopping}", _files(None), _page("")
    if batch.error is not None:
        if isinstance(batch.error, BriefErrors):
            raise InputError(f"简报有 {len(batch.error.problems)} 个问题：先点「检查」查看并修改")
        if isinstance(batch.error, InputError):
            raise InputError(for_page(str(batch.error), folder, settings))
        raise batch.error
    rows = batch.display.snapshot()[0] if batch.display else []
    if batch.result is None:  # cancelled before anything ran
        yield _table(rows), "**已取消**：还没有开始生成任何视频。", _files(None), _page("")
        return
    files, page = _report(batch.result, batch.folder, settings)
    yield _table(rows), _closing(batch, settings), _files(files), _page(page)


def _table(rows: list[list[Any]]) -> Any:
    return gr.Dataframe(value=rows, visible=True)


def _files(files: list[str] | None) -> Any:
    return gr.File(value=files, visible=bool(files))


def _page(content: str) -> Any:
    return gr.HTML(value=content, visible=bool(content))


def cancel(choice: str | None) -> str:
    """Ask the folder's running batch to stop (it stops within a moment)."""
    with session() as (settings, _):
        try:
            folder = resolve_folder(settings, choice)
        except InputError:
            return "没有正在运行的批量"
    with _runs_lock:
        batch = _runs.get(folder)
    if batch is None:
        return "这个文件夹没有正在运行的批量"
    batch.cancel.set()
    return "正在取消：进行中的任务会停下，已完成的成品包保留"


# Layout --------------------------------------------------------------------------------------
def build(blocks: gr.Blocks, render_slots: int) -> None:
    most = max_workers(render_slots)
    with gr.Tab("批量", id="batch") as tab:
        gr.Markdown("把简报文件夹（每个 *.md / *.yaml 是一个简报，_defaults.yaml 是共用默认值，"
                    "连同它用到的小说、背景、音乐）打成 zip 上传，或选一个已有的文件夹；"
                    "先「检查」看问题和计划，再「运行」。与命令行 `workbench batch` 完全相同。",
                    elem_id="batch-help")
        with gr.Row(equal_height=False):
            upload = gr.File(label="上传简报文件夹（zip）", file_types=[".zip"], type="filepath",
                             height=120, min_width=240, elem_id="batch-upload")
            with gr.Column(min_width=240):
                folder = gr.Dropdown(label="简报文件夹", choices=[], elem_id="batch-folder")
                note = gr.Markdown(elem_id="batch-note")
        with gr.Row(equal_height=True):
            workers = gr.Number(value=most, minimum=1, maximum=most, precision=0,
                                label=f"同时渲染数（最多 {most}）", min_width=160,
                                elem_id="batch-workers")
            force = gr.Checkbox(label="已有成品也重新生成", value=False, min_width=160,
                                elem_id="batch-force")
        with gr.Row():
            check_btn = gr.Button("检查", min_width=80, elem_id="batch-check")
            run_btn = gr.Button("运行", variant="primary", min_width=80, elem_id="batch-run")
            stop_btn = gr.Button("取消", variant="stop", min_width=80, elem_id="batch-cancel")
        summary = gr.Markdown(elem_id="batch-summary")
        problems = gr.Dataframe(headers=PROBLEM_HEADERS, interactive=False, wrap=True,
                                visible=False, label="简报里的问题", elem_id="batch-problems")
        plan = gr.Dataframe(headers=PLAN_HEADERS, interactive=False, wrap=True, label="计划",
                            visible=False, elem_id="batch-plan")
        status = gr.Markdown(elem_id="batch-status")
        jobs = gr.Dataframe(headers=JOB_HEADERS, interactive=False, wrap=True,
                            column_widths=["38%", "14%", "12%", "36%"], label="任务进度",
                            visible=False, elem_id="batch-jobs")
        report_files = gr.File(label="报告（HTML / CSV）", file_count="multiple",
                               interactive=False, visible=False, elem_id="batch-report")
        report_page = gr.HTML(visible=False, elem_id="batch-report-page")

    shown = [problems, plan, summary, jobs, status, report_files, report_page]
    upload.upload(upload_zip, [upload], [folder, note, upload], api_name="upload_briefs"
                  ).success(clear_results, None, shown, api_visibility="private")
    folder.input(clear_results, None, shown, api_visibility="private")
    check_btn.click(check, [folder, workers, force], [problems, plan, summary],
                    api_name="check_batch", concurrency_id="batch-check",
                    concurrency_limit=2)
    run_btn.click(run, [folder, workers, force], [jobs, status, report_files, report_page],
                  api_name="run_batch", concurrency_id="batch", concurrency_limit=2,
                  show_progress_on=[status])
    # 取消 asks the runner to stop (it cleans up and writes the report); cancelling the event
    # itself would only stop the page from watching.
    stop_btn.click(cancel, [folder], [status], api_name="cancel_batch", queue=False)
    for trigger in (blocks.load, tab.select):  # folders uploaded elsewhere show up
        trigger(refresh_folders, [folder], [folder], api_visibility="private")
