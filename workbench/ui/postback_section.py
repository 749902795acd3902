"""回传与结算 · 回传平台: the platforms that push conversions over HTTP, what they sent, what was
refused and why, and a copyable example of a signed request. A thin shell over
workbench/postback (the functions `workbench platform` and `workbench postback` call).

A platform registered here shows its secret once, in this page, the way `workbench platform
add` prints it once; afterwards neither the page nor the database has it.
"""

from __future__ import annotations

from typing import Any

import gradio as gr
import pandas as pd

from workbench.errors import InputError
from workbench.postback import example_request, list_events, list_platforms, rejection_stats
from workbench.postback.event_maps import EVENT_NAMES, PRESETS
from workbench.postback.platforms import add_platform, postback_url
from workbench.ui.common import handler, owner, session

PLATFORM_HEADERS = ["平台", "事件映射", "有效密钥", "已收事件", "最近事件", "登记时间"]
REJECTION_HEADERS = ["平台", "原因", "状态码", "说明", "次数", "最近一次"]
EVENT_HEADERS = ["编号", "平台", "事件", "口令", "金额（元）", "日期", "收到时间"]
SHOWN_EVENTS = 50
NO_MAP = ""


def _when(text: str | None) -> str:
    return (text or "")[:19].replace("T", " ")


def _map_words(mapping: dict[str, str], source: str | None) -> str:
    if not mapping:
        return "只收事件名"
    codes = "，".join(f"{code}={EVENT_NAMES.get(name, name)}" for code, name in mapping.items())
    return f"{source or '文件'}（{codes}）"


@handler
def overview() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, Any, str]:
    """Platforms, rejections by reason, the latest events, the example's platform choices."""
    with session() as (settings, db):
        platforms = list_platforms(db, settings.home)
        refused = rejection_stats(db)
        events = list_events(db, limit=SHOWN_EVENTS)
    names = [p["name"] for p in platforms]
    table = pd.DataFrame([[p["name"], _map_words(p["event_map"], p["event_map_source"]),
                           p["secrets_count"], p["events"], _when(p["last_event"]),
                           _when(p["created"])] for p in platforms], columns=PLATFORM_HEADERS)
    stats = pd.DataFrame([[r["platform"] or "（未登记的名字）", r["reason"], r["status"],
                           r["meaning"], r["count"], _when(r["last_at"])] for r in refused],
                         columns=REJECTION_HEADERS)
    latest = pd.DataFrame([[e["id"], e["platform"], EVENT_NAMES.get(e["event_type"],
                                                                   e["event_type"]),
                            e["keyword"], e["amount"] or "", e["date"], _when(e["received_at"])]
                           for e in events], columns=EVENT_HEADERS)
    note = ("还没有登记回传平台：在下面登记一个，把地址和密钥交给推送方。" if not names else
            f"共 {len(names)} 个平台；被拒绝的请求只计数、不存内容。")
    return table, stats, latest, gr.Dropdown(choices=names, value=names[0] if names else None), note


@handler
def example(name: str | None) -> str:
    if not name:
        return ""
    with session() as (settings, _):
        return example_request(settings, name)


@handler
def register(name: str, event_map: str, request: gr.Request) -> tuple[str, str]:
    """Register a platform: (its secret, shown this once; a note with the address)."""
    if not (name or "").strip():
        raise InputError("请填写平台名（字母、数字、- 或 _，如 oceanengine）")
    with session() as (settings, db):
        made = add_platform(db, settings.home, name.strip(), event_map or None,
                            actor=f"app:{owner(request)}")
        url = postback_url(settings, made["name"])
    return made["secret"], (f"已登记回传平台 **{made['name']}**。推送地址：`{url}`。"
                            "密钥只显示这一次：现在复制给推送方；丢了就用 "
                            f"`workbench platform rotate {made['name']}` 换一个。")


def build(tab: gr.Tab) -> None:
    """The section, inside the 回传与结算 tab (call within it); shown fresh when the tab opens."""
    with gr.Accordion("回传平台（HTTP 推送）", open=False, elem_id="postback-section"):
        note = gr.Markdown(elem_id="postback-note")
        platforms = gr.Dataframe(headers=PLATFORM_HEADERS, interactive=False, wrap=True,
                                 label="回传平台", elem_id="postback-platforms")
        refused = gr.Dataframe(headers=REJECTION_HEADERS, interactive=False, wrap=True,
                               label="被拒绝的请求（按原因计数）", elem_id="postback-rejections")
        events = gr.Dataframe(headers=EVENT_HEADERS, interactive=False, wrap=True,
                              label=f"最近收到的事件（最多 {SHOWN_EVENTS} 条）",
                              elem_id="postback-events")
        refresh = gr.Button("刷新", elem_id="postback-refresh")
        with gr.Row():
            pick = gr.Dropdown([], label="示例请求的平台", scale=1, elem_id="postback-pick")
            code = gr.Code(label="签名请求示例（Python，Standard Webhooks）", language="python",
                           interactive=False, scale=3, elem_id="postback-example")
        gr.Markdown("##### 登记新平台")
        with gr.Row():
            name = gr.Textbox(label="平台名", placeholder="如 oceanengine", elem_id="postback-name")
            mapping = gr.Dropdown([("只收事件名（activation 等）", NO_MAP)]
                                  + [(f"预设 {p}", p) for p in PRESETS], value=NO_MAP,
                                  label="事件代码映射", elem_id="postback-map")
            add = gr.Button("登记", variant="primary", elem_id="postback-add")
        secret = gr.Textbox(label="密钥（只显示这一次）", buttons=["copy"], interactive=False,
                            elem_id="postback-secret")
        added = gr.Markdown(elem_id="postback-added")

    shown = [platforms, refused, events, pick, note]
    refresh.click(overview, None, shown, api_visibility="private").then(
        example, [pick], [code], api_visibility="private")
    pick.change(example, [pick], [code], api_visibility="private")
    add.click(register, [name, mapping], [secret, added], api_visibility="private").then(
        overview, None, shown, api_visibility="private").then(
        example, [pick], [code], api_visibility="private")
    tab.select(overview, None, shown, api_visibility="private").then(
        example, [pick], [code], api_visibility="private")
