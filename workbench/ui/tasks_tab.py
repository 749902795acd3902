"""任务与口令: the platform's tasks (list, add, import a file), the studio's publishing accounts,
and keywords with their status badges and the apply / approve / reject / expire actions.

A thin shell over workbench/platform (the functions `workbench task|account|keyword` call);
every change is kept in history with the actor `app:<user>`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr

from workbench.compliance import load_banned_words
from workbench.errors import InputError
from workbench.platform.accounts import add_account, list_accounts
from workbench.platform.channels import CHANNELS
from workbench.platform.keywords import apply_keyword, change_status, list_keywords
from workbench.platform.task_import import import_tasks
from workbench.platform.tasks import (
    KINDS,
    MODELS,
    STATUS_NAMES,
    add_task,
    list_tasks,
    task_channels,
)
from workbench.platform.terms import terms_text
from workbench.ui.common import handler, owner, session
from workbench.ui.platform_choices import (
    BADGES,
    account_choices,
    badge,
    keyword_choices,
    record_id,
    task_choices,
    without_path,
)

TASK_HEADERS = ["编号", "平台", "应用", "原名", "类型", "结算", "渠道", "截止", "状态"]
ACCOUNT_HEADERS = ["编号", "渠道", "账号", "昵称"]
KEYWORD_HEADERS = ["编号", "口令", "状态", "任务", "应用", "账号", "有效期", "原因"]
KEYWORD_TYPES = ["number", "str", "html", "str", "str", "str", "str", "str"]
ACTION_CHOICES = [("（不适用）", ""), ("激活", "activation"), ("注册", "registration"),
                  ("下单", "order")]
STATUS_FILTER = [("全部状态", ""), *((label, status) for status, (label, _, _) in BADGES.items())]
ALL_TASKS = "全部任务"
SHOWN_PROBLEMS = 50


def actor(request: gr.Request | None) -> str:
    return f"app:{owner(request)}"


# Tables ------------------------------------------------------------------------------------
def task_rows() -> list[list[Any]]:
    with session() as (_, db):
        tasks = list_tasks(db)
    return [[t["id"], t["platform"], t["app"], t["title"], KINDS[t["kind"]], terms_text(t),
             "、".join(task_channels(t)), t["deadline"] or "", STATUS_NAMES[t["status"]]]
            for t in tasks]


def account_rows() -> list[list[Any]]:
    with session() as (_, db):
        return [[a["id"], a["channel"], a["handle"], a["name"] or ""] for a in list_accounts(db)]


@handler
def keyword_rows(task: str | None = None, status: str | None = None) -> list[list[Any]]:
    with session() as (_, db):
        found = list_keywords(db, record_id(task, "任务"), status or None)
    return [[k["id"], k["text"], badge(k["status"]), f"#{k['task_id']}", k["app"],
             f"#{k['account_id']} {k['channel']} {k['handle']}", k["expires_at"] or "",
             k["reason"] or ""] for k in found]


@handler
def refresh(task_filter: str | None, status_filter: str | None) -> tuple[Any, ...]:
    """Every table and choice of the tab, as stored now."""
    with session() as (_, db):
        tasks = task_choices(db)
        open_tasks = task_choices(db, open_only=True)
        accounts = account_choices(db)
        keywords = keyword_choices(db)
    return (task_rows(), account_rows(), keyword_rows(task_filter, status_filter),
            gr.Dropdown(choices=[(ALL_TASKS, ""), *tasks]), gr.Dropdown(choices=open_tasks),
            gr.Dropdown(choices=accounts), gr.Dropdown(choices=keywords))


# Tasks -------------------------------------------------------------------------------------
def _number(value: Any) -> Any:
    """A gr.Number's value as task_row takes it (None when empty, 20 rather than 20.0)."""
    if value is None or value == "":
        return None
    return int(value) if float(value).is_integer() else value


@handler
def create_task(platform: str, external_id: str, app: str, title: str, kind: str, model: str,
                price: str, share: str, action: str, channels: list[str], deadline: str,
                max_seconds: Any, keyword_min: Any, keyword_max: Any, keyword_pattern: str,
                wording: str, notes: str, request: gr.Request) -> tuple[str, list[list[Any]]]:
    values = {"platform": platform, "external_id": external_id, "app": app, "title": title,
              "kind": kind, "model": model, "price": price, "share": share, "action": action,
              "channels": channels or None, "deadline": deadline,
              "max_seconds": _number(max_seconds), "keyword_min": _number(keyword_min),
              "keyword_max": _number(keyword_max), "keyword_pattern": keyword_pattern,
              "wording": wording, "notes": notes}
    with session() as (_, db):
        task = add_task(db, {k: v for k, v in values.items() if v not in (None, "")},
                        actor(request))
    return (f"已登记任务 #{task['id']}：{task['app']}《{task['title']}》 {terms_text(task)}",
            task_rows())


@handler
def import_task_file(file: str | None, dry_run: bool, request: gr.Request
                     ) -> tuple[str, list[list[Any]]]:
    """All or nothing, like `task import`: every problem listed with its file:line."""
    if not file:
        raise InputError("请先选择要导入的任务文件（CSV 或 JSON）")
    with session() as (_, db):
        try:
            result = import_tasks(db, Path(file), actor(request), dry_run=bool(dry_run))
        except InputError as exc:
            lines = without_path(str(exc), file).splitlines()
            gr.Warning(lines[0])
            return "**" + lines[0] + "**\n\n" + "\n".join(f"- {line}" for line in lines[1:]
                                                          ), task_rows()
    prefix = "试运行（没有保存）：" if dry_run else "已导入："
    return (f"{prefix}新增 {len(result.inserted)} 个任务，更新 {len(result.updated)} 个，"
            f"未变 {len(result.unchanged)} 个"), task_rows()


# Accounts ----------------------------------------------------------------------------------
@handler
def create_account(channel: str, handle: str, name: str, request: gr.Request
                   ) -> tuple[str, list[list[Any]]]:
    with session() as (_, db):
        account = add_account(db, channel or "", handle, name, actor(request))
    return (f"已登记{account['channel']}账号 #{account['id']} {account['handle']}",
            account_rows())


# Keywords ----------------------------------------------------------------------------------
@handler
def apply(task: str, account: str, text: str, expires: str, request: gr.Request
          ) -> tuple[str, str]:
    task_id, account_id = record_id(task, "任务"), record_id(account, "账号")
    if task_id is None:
        raise InputError("请选择要申请口令的任务")
    if account_id is None:
        raise InputError("请选择发布口令视频的账号（没有的话先在上面登记账号）")
    with session() as (settings, db):
        row = apply_keyword(db, task_id, account_id, text or "",
                            load_banned_words(settings.banned_words_file), actor(request),
                            (expires or "").strip() or None)
    return f"已申请口令 #{row['id']}「{row['text']}」：待审核", str(row["id"])


def _change(keyword: str, status: str, request: gr.Request, reason: str | None = None
            ) -> str:
    keyword_id = record_id(keyword, "口令")
    if keyword_id is None:
        raise InputError("请先在口令列表里选择一个口令（点表格里的一行，或从下拉框选）")
    with session() as (_, db):
        row = change_status(db, f"#{keyword_id}", status, actor(request), reason=reason)
    return f"口令 #{row['id']}「{row['text']}」已更新：{BADGES[row['status']][0]}"


@handler
def approve(keyword: str, request: gr.Request) -> str:
    return _change(keyword, "approved", request)


@handler
def reject(keyword: str, reason: str, request: gr.Request) -> str:
    if not (reason or "").strip():
        raise InputError("请写明拒绝的原因（例如 与原书名太像）")
    return _change(keyword, "rejected", request, reason)


@handler
def expire(keyword: str, reason: str, request: gr.Request) -> str:
    return _change(keyword, "expired", request, (reason or "").strip() or None)


def select_keyword(table: Any, evt: gr.SelectData) -> str:
    data = table.values.tolist() if hasattr(table, "values") else table
    return str(data[evt.index[0]][0]) if data else ""


# Layout ------------------------------------------------------------------------------------
def build(blocks: gr.Blocks) -> None:
    with gr.Tab("任务与口令", id="tasks") as tab:
        gr.Markdown("#### 任务")
        tasks = gr.Dataframe(headers=TASK_HEADERS, interactive=False, elem_id="tasks-table")
        with gr.Accordion("登记任务", open=False, elem_id="task-form"):
            with gr.Row():
                platform = gr.Textbox(label="任务平台", elem_id="task-platform")
                external_id = gr.Textbox(label="任务编号（平台上的，可不填）")
                app = gr.Textbox(label="应用（如 番茄小说）", elem_id="task-app")
                title = gr.Textbox(label="书或剧的原名", elem_id="task-title")
                kind = gr.Radio([(label, k) for k, label in KINDS.items()], value="novel",
                                label="类型")
            with gr.Row():
                model = gr.Dropdown([("（未定）", ""), *((m, m) for m in MODELS)], value="",
                                    label="结算方式", elem_id="task-model")
                price = gr.Textbox(label="单价（元；CPA/CPE/CPM）", elem_id="task-price")
                share = gr.Textbox(label="分成比例（CPS，如 30%）")
                action = gr.Dropdown(ACTION_CHOICES, value="", label="转化行为（CPA）")
            with gr.Row():
                channels = gr.CheckboxGroup(list(CHANNELS), label="允许的发布渠道（不选：不限）",
                                            elem_id="task-channels")
                deadline = gr.Textbox(label="截止日期（如 2026-12-31）")
                max_seconds = gr.Number(label="视频最长秒数", precision=None)
            with gr.Row():
                keyword_min = gr.Number(label="口令最短字数（默认 2）", precision=0)
                keyword_max = gr.Number(label="口令最长字数（默认 20）", precision=0)
                keyword_pattern = gr.Textbox(label="口令规则（正则，可不填）")
                wording = gr.Textbox(label="画面文字（默认 {app}搜索【{keyword}】）")
            notes = gr.Textbox(label="备注")
            add = gr.Button("登记任务", variant="primary", elem_id="task-add")
        with gr.Accordion("从文件导入任务（CSV / JSON，字段同 task add）", open=False), gr.Row():
            task_file = gr.File(label="任务文件", file_types=[".csv", ".json", ".tsv"],
                                type="filepath", height=120, elem_id="task-file")
            dry_run = gr.Checkbox(label="只检查，不导入", value=False)
            load = gr.Button("导入任务", elem_id="task-import")
        task_note = gr.Markdown(elem_id="task-note")

        gr.Markdown("#### 账号")
        with gr.Row():
            accounts = gr.Dataframe(headers=ACCOUNT_HEADERS, interactive=False, scale=3,
                                    elem_id="accounts-table")
            with gr.Column(scale=2):
                channel = gr.Dropdown(list(CHANNELS), value=CHANNELS[0], label="渠道",
                                      elem_id="account-channel")
                handle = gr.Textbox(label="账号（抖音号、快手号等）", elem_id="account-handle")
                name = gr.Textbox(label="昵称（可不填）")
                add_acc = gr.Button("登记账号", elem_id="account-add")
        account_note = gr.Markdown(elem_id="account-note")

        gr.Markdown("#### 口令")
        with gr.Row():
            task_filter = gr.Dropdown([(ALL_TASKS, "")], value="", label="按任务筛选",
                                      elem_id="keyword-task-filter")
            status_filter = gr.Dropdown(STATUS_FILTER, value="", label="按状态筛选",
                                        elem_id="keyword-status-filter")
        keywords = gr.Dataframe(headers=KEYWORD_HEADERS, datatype=KEYWORD_TYPES,
                                interactive=False, elem_id="keywords-table")
        with gr.Row():
            apply_task = gr.Dropdown([], label="任务（进行中）", elem_id="apply-task")
            apply_account = gr.Dropdown([], label="账号", elem_id="apply-account")
            apply_text = gr.Textbox(label="申请的口令", elem_id="apply-text")
            expires = gr.Textbox(label="有效期（可不填）")
            apply_go = gr.Button("申请口令", variant="primary", elem_id="keyword-apply")
        with gr.Row():
            picked = gr.Dropdown([], label="选中的口令（或点表格中的一行）", scale=3,
                                 elem_id="keyword-pick")
            reason = gr.Textbox(label="原因（拒绝时必填）", scale=2, elem_id="keyword-reason")
            approve_go = gr.Button("通过", variant="primary", scale=1, elem_id="keyword-approve")
            reject_go = gr.Button("拒绝", variant="stop", scale=1, elem_id="keyword-reject")
            expire_go = gr.Button("过期", scale=1, elem_id="keyword-expire")
        keyword_note = gr.Markdown(elem_id="keyword-note")

    filters = [task_filter, status_filter]
    everything = [tasks, accounts, keywords, task_filter, apply_task, apply_account, picked]
    form = [platform, external_id, app, title, kind, model, price, share, action, channels,
            deadline, max_seconds, keyword_min, keyword_max, keyword_pattern, wording, notes]
    add.click(create_task, form, [task_note, tasks], api_name="add_task").then(
        refresh, filters, everything, api_visibility="private")
    load.click(import_task_file, [task_file, dry_run], [task_note, tasks],
               api_name="import_tasks").then(refresh, filters, everything,
                                             api_visibility="private")
    add_acc.click(create_account, [channel, handle, name], [account_note, accounts],
                  api_name="add_account").then(refresh, filters, everything,
                                               api_visibility="private")
    apply_go.click(apply, [apply_task, apply_account, apply_text, expires],
                   [keyword_note, picked], api_name="apply_keyword").success(
        refresh, filters, everything, api_visibility="private")
    for button, fn, inputs, name in (
            (approve_go, approve, [picked], "approve_keyword"),
            (reject_go, reject, [picked, reason], "reject_keyword"),
            (expire_go, expire, [picked, reason], "expire_keyword")):
        button.click(fn, inputs, [keyword_note], api_name=name).then(
            refresh, filters, everything, api_visibility="private")
    keywords.select(select_keyword, [keywords], [picked], api_visibility="private")
    for box in filters:
        box.input(keyword_rows, filters, [keywords], api_visibility="private")
    blocks.load(refresh, filters, everything, api_visibility="private")
    tab.select(refresh, filters, everything, api_visibility="private")
