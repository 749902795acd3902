"""Tasks from a task platform: what to promote, how it pays, and the rules for its keywords.

`task_row` is the one validation, used by `task add`, `task edit` and `task import`: every
field is checked and normalised, money becomes Decimal text, and a value the platform did not
give stays empty (no invented defaults).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlite_utils import Database

from workbench.errors import InputError
from workbench.platform import history
from workbench.platform.channels import check_channel
from workbench.platform.dates import parse_optional_date
from workbench.platform.keyword_rules import check_rules
from workbench.platform.money import parse_price, parse_share, to_text
from workbench.platform.records import get_record
from workbench.store import utcnow, write_transaction

DEFAULT_WORDING = "{app}搜索【{keyword}】"
MODELS = ("CPA", "CPS", "CPE", "CPM")
ACTIONS = {"activation": "激活", "registration": "注册", "order": "下单",
           "retention_1d": "次日留存"}
KINDS = {"novel": "小说", "drama": "短剧"}
STATUS_NAMES = {"open": "进行中", "closed": "已关闭"}
# Where settlement takes a task's counts from: its tracking imports (every source but
# postbacks) or its HTTP postbacks (source "postback"), never both, so nothing counts twice.
SETTLE_SOURCES = {"import": "报表导入", "postback": "HTTP 回传"}
DEFAULT_SETTLE_SOURCE = "import"
# Every field a task has, in the order `task show` prints them.
FIELDS = ("platform", "external_id", "app", "title", "kind", "model", "price", "share",
          "action", "channels", "keyword_min", "keyword_max", "keyword_pattern", "wording",
          "max_seconds", "deadline", "notes", "settle_source")
REQUIRED = ("platform", "app", "title", "kind")
FIELD_NAMES = {  # for messages, and the Chinese column names an import may use
    "platform": "任务平台", "external_id": "任务编号", "app": "应用", "title": "原名",
    "kind": "类型", "model": "结算方式", "price": "单价", "share": "分成比例",
    "action": "转化行为", "channels": "发布渠道", "keyword_min": "口令最短",
    "keyword_max": "口令最长", "keyword_pattern": "口令规则", "wording": "画面文字",
    "max_seconds": "最长秒数", "deadline": "截止日期", "notes": "备注",
    "settle_source": "结算数据来源",
}
_ALIASES = {"小说": "novel", "短剧": "drama", "激活": "activation", "注册": "registration",
            "下单": "order", "付费": "order", "payment": "order", "purchase": "order"}
MAX_TEXT = 2000  # characters of any text field


def _text(value: Any, name: str) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    if len(text) > MAX_TEXT:
        raise InputError(f"{FIELD_NAMES[name]}太长（{len(text)} 个字符，最多 {MAX_TEXT}）")
    return text or None


def _int(value: Any, name: str) -> int | None:
    text = _text(value, name)
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        raise InputError(f"{FIELD_NAMES[name]}应为整数，收到 {text[:20]!r}") from None


def _seconds(value: Any) -> float | None:
    text = _text(value, "max_seconds")
    if text is None:
        return None
    try:
        seconds = float(text)
    except ValueError:
        raise InputError(f"最长秒数应为数字，收到 {text[:20]!r}") from None
    if not 1 <= seconds <= 3600:
        raise InputError(f"最长秒数应在 1 到 3600 之间，收到 {text}")
    return seconds


def _channels(value: Any) -> str | None:
    if value is None or value == "":
        return None
    items = value if isinstance(value, list | tuple) else str(value).replace("，", ",").replace(
        "、", ",").replace("|", ",").split(",")
    names = [check_channel(str(item)) for item in items if str(item).strip()]
    return json.dumps(list(dict.fromkeys(names)), ensure_ascii=False) if names else None


def _choice(value: Any, name: str, allowed: tuple[str, ...] | Mapping[str, str]) -> str | None:
    text = _text(value, name)
    if text is None:
        return None
    text = _ALIASES.get(text, text)
    for option in allowed:
        if text.lower() == option.lower():
            return option
    raise InputError(f"{FIELD_NAMES[name]}「{text}」无效：可选 {'|'.join(allowed)}")


def _wording(value: Any) -> str | None:
    text = _text(value, "wording")
    if text is None:
        return None
    try:
        filled = text.format(app="A", keyword="\0")
    except (KeyError, IndexError, ValueError) as exc:
        raise InputError(f"画面文字「{text}」里有无法识别的占位符 {exc}（只能用 {{app}} 和 "
                         "{keyword}）") from None
    if "\0" not in filled:
        raise InputError(f"画面文字「{text}」里没有 {{keyword}}：观众看不到口令")
    return text


def task_row(values: Mapping[str, Any]) -> dict[str, Any]:
    """A whole task, validated and normalised, as stored (without id and times). Raises
    InputError naming the field."""
    unknown = set(values) - set(FIELDS)
    if unknown:
        raise InputError(f"未知字段：{'、'.join(sorted(unknown))}（可用：{', '.join(FIELDS)}）")
    row: dict[str, Any] = {}
    for name in ("platform", "external_id", "app", "title", "keyword_pattern", "notes"):
        row[name] = _text(values.get(name), name)
    row["kind"] = _choice(values.get("kind"), "kind", tuple(KINDS))
    row["model"] = _choice(values.get("model"), "model", MODELS)
    row["action"] = _choice(values.get("action"), "action", tuple(ACTIONS))
    price, share = values.get("price"), values.get("share")
    row["price"] = None if _text(price, "price") is None else to_text(parse_price(price))
    row["share"] = None if _text(share, "share") is None else to_text(parse_share(share))
    row["channels"] = _channels(values.get("channels"))
    row["keyword_min"] = _int(values.get("keyword_min"), "keyword_min")
    row["keyword_max"] = _int(values.get("keyword_max"), "keyword_max")
    row["wording"] = _wording(values.get("wording")) or DEFAULT_WORDING
    row["max_seconds"] = _seconds(values.get("max_seconds"))
    row["deadline"] = parse_optional_date(values.get("deadline"), "截止日期")
    row["settle_source"] = _choice(values.get("settle_source"), "settle_source",
                                   tuple(SETTLE_SOURCES)) or DEFAULT_SETTLE_SOURCE
    missing = [FIELD_NAMES[name] for name in REQUIRED if not row[name]]
    if missing:
        raise InputError(f"缺少{'、'.join(missing)}")
    _check_terms(row)
    check_rules(row["keyword_min"], row["keyword_max"], row["keyword_pattern"])
    return row


def _check_terms(row: dict[str, Any]) -> None:
    """Terms that belong to the model; a term the platform did not give stays empty."""
    allowed = {None: (), "CPA": ("price", "action"), "CPS": ("share",), "CPE": ("price",),
               "CPM": ("price",)}[row["model"]]
    for term in ("price", "share", "action"):
        if row[term] is not None and term not in allowed:
            model = row["model"] or "未填结算方式"
            raise InputError(f"{FIELD_NAMES[term]}不适用于 {model}"
                             + ("（先写结算方式 --model）" if not row["model"] else
                                f"（{row['model']} 只用 {'、'.join(FIELD_NAMES[t] for t in allowed)}）"))


def add_task(db: Database, values: Mapping[str, Any], actor: str) -> dict[str, Any]:
    row = task_row(values)
    if row["external_id"] and _by_external(db, row["platform"], row["external_id"]):
        raise InputError(f"{row['platform']} 的任务 {row['external_id']} 已经登记过"
                         "（workbench task list 查看；修改用 task edit）")
    now = utcnow()
    with write_transaction(db):
        task_id = db["tasks"].insert({**row, "status": "open", "created_at": now,
                                      "updated_at": now}).last_pk
        history.record(db, "task", task_id, "add", actor=actor, new_status="open")
    return get_task(db, task_id)


def _by_external(db: Database, platform: str, external_id: str) -> dict[str, Any] | None:
    rows = list(db["tasks"].rows_where("platform = ? AND external_id = ?",
                                       [platform, external_id], limit=1))
    return dict(rows[0]) if rows else None


def get_task(db: Database, task_id: int | str) -> dict[str, Any]:
    return get_record(db, "tasks", task_id, "任务", "workbench task list")


def task_values(row: Mapping[str, Any]) -> dict[str, Any]:
    """A stored task's fields as task_row takes them (channels as a list)."""
    values = {name: row.get(name) for name in FIELDS}
    values["channels"] = json.loads(row["channels"]) if row.get("channels") else None
    return values


def edit_task(db: Database, task_id: int | str, changes: Mapping[str, Any], actor: str
              ) -> dict[str, Any]:
    """Change some fields; the merged task is validated as a whole and the old values kept in
    history. A field set to "" is cleared."""
    old = get_task(db, task_id)
    merged = {**task_values(old), **changes}
    row = task_row(merged)
    changed = {k: old[k] for k in row if row[k] != old[k]}
    if not changed:
        return old
    if row["external_id"] and (other := _by_external(db, row["platform"], row["external_id"])
                               ) and other["id"] != old["id"]:
        raise InputError(f"{row['platform']} 的任务 {row['external_id']} 已是任务 #{other['id']}")
    with write_transaction(db):
        db["tasks"].update(old["id"], {**row, "updated_at": utcnow()})
        history.record(db, "task", old["id"], "edit", actor=actor, data={"old": changed})
    return get_task(db, old["id"])


def close_task(db: Database, task_id: int | str, actor: str, reason: str | None = None
               ) -> dict[str, Any]:
    task = get_task(db, task_id)
    if task["status"] == "closed":
        raise InputError(f"任务 #{task['id']} 已经关闭")
    with write_transaction(db):
        db["tasks"].update(task["id"], {"status": "closed", "updated_at": utcnow()})
        history.record(db, "task", task["id"], "close", actor=actor, old_status="open",
                       new_status="closed", reason=reason)
    return get_task(db, task["id"])


def list_tasks(db: Database, status: str | None = None, platform: str | None = None
               ) -> list[dict[str, Any]]:
    where, args = [], []
    if status:
        where.append("status = ?")
        args.append(status)
    if platform:
        where.append("platform = ?")
        args.append(platform)
    return [dict(r) for r in db["tasks"].rows_where(" AND ".join(where) or None, args,
                                                    order_by="id desc")]


def task_channels(task: Mapping[str, Any]) -> list[str]:
    return json.loads(task["channels"]) if task.get("channels") else []
