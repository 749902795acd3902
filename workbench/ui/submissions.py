"""提交记录: the packages made so far, one opened with its checks, publish URL back-filled."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import gradio as gr

from workbench.errors import InputError
from workbench.package import package_zip, verify_package
from workbench.platform.submissions_lifecycle import (
    HISTORY_COLUMNS,
    history_lines,
    submission_history,
)
from workbench.platform.submissions_lifecycle import publish as publish_submission
from workbench.platform.submissions_lifecycle import reject as reject_submission
from workbench.store.submissions import (
    get_submission,
    list_submissions,
    status_label,
)
from workbench.ui.common import LEVELS, handler, owner, session

HEADERS = ["编号", "时间", "口令", "标题", "时长", "规格", "状态", "合规提醒"]
HEADERS_NOTE = ("「合规提醒」是合规检查给出的提醒条数（例如标题里的广告法用词、AI 标识偏小）："
                "0 表示没有；不为 0 也能发布，但建议先点开这一条看看提醒了什么。")
HISTORY_HEADERS = list(HISTORY_COLUMNS)


def rows(keyword: str = "") -> list[list[Any]]:
    with session() as (_, db):
        found = list_submissions(db, 200, keyword.strip() or None)
    return [[s["id"], (s["created_at"] or "")[:16].replace("T", " "), s["keyword"],
             s["title"] or "", f"{s['duration']:.1f}s" if s["duration"] else "",
             s["profile"] or "", status_label(s), s["warnings"] or 0]
            for s in found]


@handler
def open_submission(submission_id: str) -> tuple[str, str, str, str, str]:
    """One package: video, cover, caption, a zip to download and its checks."""
    if not (submission_id or "").strip():
        raise InputError("请先在表格里点选一条记录，或填写成品包编号")
    with session() as (settings, db):
        row = get_submission(db, submission_id.strip())
        folder = Path(row["path"])
        problems = verify_package(folder) if folder.is_dir() else ["成品包文件夹不存在"]
        if problems:
            raise InputError(f"成品包 {row['id']} 已损坏：{'；'.join(problems)}"
                             "（请在「创作」里重新渲染）")
        zipped = package_zip(folder, settings.home / "ui" / "zips")
    report = json.loads(row["compliance"] or "{}")
    status = status_label(row)
    lines = [f"**{row['title'] or row['id']}** · 口令 {row['keyword']} · {status}"]
    if row["publish_url"]:
        lines.append(f"发布链接：{row['publish_url']}（{row['published_at']}）")
    if row.get("reason"):
        lines.append(f"退回原因：{row['reason']}")
    lines += [f"- {LEVELS.get(f['level'], '')} {f['message']}" for f in report.get("findings", [])]
    return (str(folder / "video.mp4"), str(folder / "cover.jpg"),
            (folder / "caption.txt").read_text(encoding="utf-8"), str(zipped), "\n".join(lines))


@handler
def download_package(submission_id: str) -> str:
    """The package as a zip (video, cover, caption, subtitles, manifest, checklist)."""
    return open_submission(submission_id)[3]


@handler
def publish(submission_id: str, url: str, request: gr.Request, date: str | None = None
            ) -> tuple[str, list[list[Any]]]:
    """回填: the link (its host must be the account's channel) and the publishing time
    (empty: now); a published package's link is corrected, the old one kept in history."""
    if not (url or "").strip():
        raise InputError("请填写作品链接（发布后平台给的网址）")
    with session() as (_, db):
        row = publish_submission(db, _picked(submission_id), url.strip(),
                                 (date or "").strip() or None, actor=f"app:{owner(request)}")
    return f"已记录 {row['id']} 发布于 {row['published_at']}", rows()


@handler
def reject(submission_id: str, reason: str, request: gr.Request
           ) -> tuple[str, list[list[Any]]]:
    """The platform (or the studio) turned the package down: the reason is required."""
    if not (reason or "").strip():
        raise InputError("请写明退回的原因（例如 平台审核未通过：画面含外部水印）")
    with session() as (_, db):
        row = reject_submission(db, _picked(submission_id), reason or "",
                                actor=f"app:{owner(request)}")
    return f"已退回 {row['id']}：{row['reason']}", rows()


def _picked(submission_id: str | None) -> str:
    if not (submission_id or "").strip():
        raise InputError("请先在表格里点选一条记录，或填写成品包编号")
    return (submission_id or "").strip()


@handler
def history(submission_id: str) -> list[list[Any]]:
    """Every change of the package, oldest first (the append-only history)."""
    if not (submission_id or "").strip():
        return []
    with session() as (_, db):
        entries = submission_history(db, submission_id.strip())
    return [list(line) for line in history_lines(entries)]


def select_row(table: Any, evt: gr.SelectData) -> str:
    data = table.values.tolist() if hasattr(table, "values") else table
    return str(data[evt.index[0]][0]) if data else ""


def build(blocks: gr.Blocks) -> None:
    with gr.Tab("提交记录", id="submissions") as tab:
        with gr.Row():
            keyword = gr.Textbox(label="按口令筛选", scale=3)
            refresh = gr.Button("刷新", scale=1)
        table = gr.Dataframe(headers=HEADERS, interactive=False, elem_id="submissions-table")
        gr.Markdown(HEADERS_NOTE, elem_id="submissions-note")
        with gr.Row():
            picked = gr.Textbox(label="成品包编号（点表格中的一行）", scale=3,
                                elem_id="submission-id")
            show = gr.Button("打开", variant="primary", scale=1)
        detail = gr.Markdown()
        with gr.Row():
            video = gr.Video(label="视频", height=420)
            cover = gr.Image(label="封面", type="filepath", height=420)
        caption = gr.Textbox(label="发布文案（一键复制）", lines=3, buttons=["copy"])
        package = gr.File(label="下载成品包（zip）")
        gr.Markdown("#### 发布与退回")
        with gr.Row():
            url = gr.Textbox(label="发布后的作品链接（须是账号所在渠道的链接）", scale=3,
                             elem_id="publish-url")
            date = gr.Textbox(label="发布时间（可不填：现在）", placeholder="2026-11-22T20:00",
                              scale=2, elem_id="publish-date")
            mark = gr.Button("记录发布", scale=1, elem_id="publish")
        with gr.Row():
            reason = gr.Textbox(label="退回原因", scale=5, elem_id="reject-reason")
            turn_down = gr.Button("退回", variant="stop", scale=1, elem_id="reject")
        mark_note = gr.Markdown(elem_id="lifecycle-note")
        changes = gr.Dataframe(headers=HISTORY_HEADERS, interactive=False, wrap=True,
                               label="变更记录", elem_id="submission-history")

    refresh.click(rows, [keyword], [table], api_name="list_submissions")
    keyword.submit(rows, [keyword], [table], api_visibility="private")
    # The public endpoint is declared first: a private event of the same function declared
    # before it would take the plain name and leave it "open_submission_1".
    show.click(open_submission, [picked], [video, cover, caption, package, detail],
               api_name="open_submission").then(history, [picked], [changes],
                                                api_visibility="private")
    table.select(select_row, [table], [picked], api_visibility="private").then(
        open_submission, [picked], [video, cover, caption, package, detail],
        api_visibility="private").then(history, [picked], [changes], api_visibility="private")
    picked.submit(download_package, [picked], [package], api_name="download_package")
    mark.click(publish, [picked, url, date], [mark_note, table], api_name="mark_published"
               ).then(history, [picked], [changes], api_visibility="private")
    turn_down.click(reject, [picked, reason], [mark_note, table], api_name="reject_submission"
                    ).then(history, [picked], [changes], api_visibility="private")
    blocks.load(rows, None, [table], api_visibility="private")
    tab.select(rows, [keyword], [table], api_visibility="private")  # new renders show up
