"""`workbench task …` and `workbench account …`: the platform's tasks and the studio's
publishing accounts. Commands that create a record print its id alone on the last line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from workbench.cli.common import app, current_settings, new_table, open_store, out, short_time

task_app = typer.Typer(help="任务：任务平台上的推广任务（结算方式、口令规则、截止日期）。",
                       no_args_is_help=True)
account_app = typer.Typer(help="账号：用来发布视频的各平台账号。", no_args_is_help=True)
app.add_typer(task_app, name="task")
app.add_typer(account_app, name="account")

JsonOpt = Annotated[bool, typer.Option("--json", help="输出 JSON")]
# A task's fields, declared once for `task add` and `task edit`.
PlatformOpt = Annotated[str | None, typer.Option(help="任务平台的名字")]
ExternalOpt = Annotated[str | None, typer.Option(help="任务在平台上的编号")]
TaskAppOpt = Annotated[str | None, typer.Option("--app", help="应用或剧场，如 番茄小说、七猫、红果短剧")]
TitleOpt = Annotated[str | None, typer.Option(help="书或剧的原名")]
KindOpt = Annotated[str | None, typer.Option(help="novel（小说）| drama（短剧）")]
ModelOpt = Annotated[str | None, typer.Option(help="结算方式 CPA | CPS | CPE | CPM")]
PriceOpt = Annotated[str | None, typer.Option(
    help="单价（元）：CPA 每次转化、CPE 每次互动、CPM 每千次播放")]
ShareOpt = Annotated[str | None, typer.Option(help="CPS 分成比例，0–1（如 0.30 或 30%）")]
ActionOpt = Annotated[str | None, typer.Option(
    help="CPA 的转化行为 activation | registration | order")]
ChannelsOpt = Annotated[list[str] | None, typer.Option(
    "--channel", help="允许的发布渠道，可重复：抖音 快手 小红书 视频号 B站")]
KeywordMinOpt = Annotated[int | None, typer.Option(help="口令最短字数（默认 2）")]
KeywordMaxOpt = Annotated[int | None, typer.Option(help="口令最长字数（默认 20）")]
PatternOpt = Annotated[str | None, typer.Option(help="口令必须完整匹配的正则表达式")]
WordingOpt = Annotated[str | None, typer.Option(
    help="画面上的口令文字，默认 {app}搜索【{keyword}】")]
MaxSecondsOpt = Annotated[float | None, typer.Option(help="视频最长秒数")]
DeadlineOpt = Annotated[str | None, typer.Option(help="截止日期，如 2026-12-31")]
NotesOpt = Annotated[str | None, typer.Option(help="备注")]
SettleSourceOpt = Annotated[str | None, typer.Option(
    "--settle-source", help="结算用哪种数据：import（导入的报表，默认）| postback（HTTP 回传）")]


def print_json(value: Any) -> None:
    """JSON on stdout as is: through plain print, since rich would turn :name: in a value
    (a keyword, a title) into an emoji and corrupt the data."""
    print(json.dumps(value, ensure_ascii=False, indent=2, default=str))


def task_json(task: dict[str, Any]) -> dict[str, Any]:
    return {**task, "channels": json.loads(task["channels"]) if task["channels"] else []}


def terms_text(task: dict[str, Any]) -> str:
    from workbench.platform.terms import terms_text as text  # imported late: a quick CLI

    return text(task)


def _fields(**values: Any) -> dict[str, Any]:
    """The options the user gave (None: not given)."""
    return {name: value for name, value in values.items() if value is not None}


@task_app.command("add")
def task_add(
    platform: PlatformOpt = None, external_id: ExternalOpt = None, app_name: TaskAppOpt = None,
    title: TitleOpt = None, kind: KindOpt = None, model: ModelOpt = None,
    price: PriceOpt = None, share: ShareOpt = None, action: ActionOpt = None,
    channels: ChannelsOpt = None, keyword_min: KeywordMinOpt = None,
    keyword_max: KeywordMaxOpt = None, keyword_pattern: PatternOpt = None,
    wording: WordingOpt = None, max_seconds: MaxSecondsOpt = None,
    deadline: DeadlineOpt = None, notes: NotesOpt = None,
    settle_source: SettleSourceOpt = None, as_json: JsonOpt = False,
) -> None:
    """登记一个任务（--platform --app --title --kind 必填），最后一行输出任务编号。"""
    from workbench.platform.history import cli_actor
    from workbench.platform.tasks import add_task

    task = add_task(open_store(current_settings()), _fields(
        platform=platform, external_id=external_id, app=app_name, title=title, kind=kind,
        model=model, price=price, share=share, action=action, channels=channels,
        keyword_min=keyword_min, keyword_max=keyword_max, keyword_pattern=keyword_pattern,
        wording=wording, max_seconds=max_seconds, deadline=deadline, notes=notes,
        settle_source=settle_source), cli_actor())
    if as_json:
        print_json(task_json(task))
        return
    out.print(f"已登记任务 #{task['id']}：{task['app']}《{task['title']}》 {terms_text(task)}")
    out.print(str(task["id"]))


@task_app.command("edit")
def task_edit(
    task_id: Annotated[int, typer.Argument(help="任务编号")],
    platform: PlatformOpt = None, external_id: ExternalOpt = None, app_name: TaskAppOpt = None,
    title: TitleOpt = None, kind: KindOpt = None, model: ModelOpt = None,
    price: PriceOpt = None, share: ShareOpt = None, action: ActionOpt = None,
    channels: ChannelsOpt = None, keyword_min: KeywordMinOpt = None,
    keyword_max: KeywordMaxOpt = None, keyword_pattern: PatternOpt = None,
    wording: WordingOpt = None, max_seconds: MaxSecondsOpt = None,
    deadline: DeadlineOpt = None, notes: NotesOpt = None,
    settle_source: SettleSourceOpt = None, as_json: JsonOpt = False,
) -> None:
    """修改任务的字段（写空字符串 "" 清空一项），旧值记入历史。"""
    from workbench.platform.history import cli_actor
    from workbench.platform.tasks import edit_task

    changes = _fields(
        platform=platform, external_id=external_id, app=app_name, title=title, kind=kind,
        model=model, price=price, share=share, action=action, channels=channels,
        keyword_min=keyword_min, keyword_max=keyword_max, keyword_pattern=keyword_pattern,
        wording=wording, max_seconds=max_seconds, deadline=deadline, notes=notes,
        settle_source=settle_source)
    if not changes:
        raise typer.BadParameter("没有要修改的字段（见 workbench task edit --help）")
    task = edit_task(open_store(current_settings()), task_id, changes, cli_actor())
    if as_json:
        print_json(task_json(task))
        return
    out.print(f"已修改任务 #{task['id']}：{task['app']}《{task['title']}》 {terms_text(task)}")


@task_app.command("list")
def task_list(
    status: Annotated[str | None, typer.Option(help="open（进行中）| closed（已关闭）")] = None,
    platform: PlatformOpt = None, as_json: JsonOpt = False,
) -> None:
    """任务列表，新的在前。"""
    from workbench.platform.tasks import KINDS, STATUS_NAMES, list_tasks

    if status not in (None, "open", "closed"):
        raise typer.BadParameter("--status 只能是 open 或 closed")
    tasks = list_tasks(open_store(current_settings()), status, platform)
    if as_json:
        print_json([task_json(t) for t in tasks])
        return
    table = new_table("编号", "平台", "应用", "原名", "类型", "结算", "渠道", "截止", "状态",
                      keep=("编号", "截止", "状态"))
    for t in tasks:
        table.add_row(str(t["id"]), t["platform"], t["app"], t["title"], KINDS[t["kind"]],
                      terms_text(t), "、".join(task_json(t)["channels"]), t["deadline"] or "",
                      STATUS_NAMES[t["status"]])
    out.print(table)


@task_app.command("show")
def task_show(task_id: Annotated[int, typer.Argument(help="任务编号")],
              as_json: JsonOpt = False) -> None:
    """一个任务的全部字段、它的口令和历史。"""
    from workbench.platform.history import history_of
    from workbench.platform.keywords import STATUS_NAMES as KEYWORD_STATUS
    from workbench.platform.keywords import list_keywords
    from workbench.platform.tasks import FIELD_NAMES, FIELDS, STATUS_NAMES, get_task

    db = open_store(current_settings())
    task = get_task(db, task_id)
    keywords = list_keywords(db, task["id"])
    events = history_of(db, "task", task["id"])
    if as_json:
        print_json({**task_json(task), "keywords": keywords, "history": events})
        return
    out.print(f"任务 #{task['id']}（{STATUS_NAMES[task['status']]}）")
    for name in FIELDS:
        value = task_json(task)[name]
        if value not in (None, "", []):
            out.print(f"{FIELD_NAMES[name]}: {'、'.join(value) if isinstance(value, list) else value}")
    out.print(f"结算: {terms_text(task) or '（未填）'}")
    for k in keywords:
        out.print(f"  口令 #{k['id']} 「{k['text']}」 {KEYWORD_STATUS[k['status']]} "
                  f"账号 #{k['account_id']} {k['channel']} {k['handle']}")
    print_history(events)


def print_history(events: list[dict[str, Any]]) -> None:
    for e in events:
        change = f"{e['old_status'] or ''}→{e['new_status']}" if e["new_status"] else ""
        reason = f" 原因: {e['reason']}" if e["reason"] else ""
        out.print(f"  {short_time(e['at'])} {e['actor']} {e['action']} {change}{reason}")


@task_app.command("close")
def task_close(task_id: Annotated[int, typer.Argument(help="任务编号")],
               reason: Annotated[str | None, typer.Option(help="关闭原因")] = None) -> None:
    """关闭任务：不能再申请口令或为它生成视频。"""
    from workbench.platform.history import cli_actor
    from workbench.platform.tasks import close_task

    task = close_task(open_store(current_settings()), task_id, cli_actor(), reason)
    out.print(f"已关闭任务 #{task['id']}")


@task_app.command("import")
def task_import(
    file: Annotated[Path, typer.Argument(help="CSV 或 JSON 文件（字段同 task add）")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="只检查，不导入")] = False,
    as_json: JsonOpt = False,
) -> None:
    """从 CSV 或 JSON 批量登记任务：任何一行有问题就全部不导入，问题逐行列出（文件:行号）。"""
    from workbench.platform.history import cli_actor
    from workbench.platform.task_import import import_tasks

    result = import_tasks(open_store(current_settings()), file, cli_actor(), dry_run=dry_run)
    if as_json:
        print_json(result.to_dict())
        return
    prefix = "（试运行，未保存）" if dry_run else ""
    out.print(f"{prefix}新增 {len(result.inserted)} 个任务，更新 {len(result.updated)} 个，"
              f"未变 {len(result.unchanged)} 个")


@account_app.command("add")
def account_add(
    channel: Annotated[str, typer.Option(help="渠道：抖音 | 快手 | 小红书 | 视频号 | B站")],
    handle: Annotated[str, typer.Option(help="账号（抖音号、快手号等）")],
    name: Annotated[str | None, typer.Option(help="昵称")] = None,
    as_json: JsonOpt = False,
) -> None:
    """登记一个发布账号，最后一行输出账号编号。"""
    from workbench.platform.accounts import add_account
    from workbench.platform.history import cli_actor

    account = add_account(open_store(current_settings()), channel, handle, name, cli_actor())
    if as_json:
        print_json(account)
        return
    out.print(f"已登记{account['channel']}账号 #{account['id']} {account['handle']}")
    out.print(str(account["id"]))


@account_app.command("list")
def account_list(as_json: JsonOpt = False) -> None:
    """全部发布账号。"""
    from workbench.platform.accounts import list_accounts

    accounts = list_accounts(open_store(current_settings()))
    if as_json:
        print_json(accounts)
        return
    table = new_table("编号", "渠道", "账号", "昵称", keep=("编号",))
    for a in accounts:
        table.add_row(str(a["id"]), a["channel"], a["handle"], a["name"] or "")
    out.print(table)
