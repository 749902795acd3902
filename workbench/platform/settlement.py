"""What is owed, derived from the tracking counts and the tasks' terms (never stored).

Each keyword-day is worked out exactly (terms.py) and checked for fraud (fraud.py, CPE and CPM
only). A flagged day's money goes to `held` rather than `amount` until it is released
(releases.py). Lines are grouped `--by` keyword, task, account, day, submission or template;
sums stay exact and each line is rounded once, to 0.01 yuan half up.

Submission and template lines: tracking is per keyword, so a keyword-day's figures are split in
equal shares among the submissions with that keyword whose status is published or settled and
whose publishing date (China time) is on or before that day; with none, the day goes to a line
without a submission (未关联成品).
"""

from __future__ import annotations

import csv
import datetime
import io
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from workbench.errors import InputError
from workbench.files import write_bytes_atomic
from workbench.platform.daily import COUNTS, Day, load_days
from workbench.platform.dates import CHINA, parse_date
from workbench.platform.fraud import day_flags
from workbench.platform.money import to_text, yuan_text
from workbench.platform.releases import RELEASED, releases_for
from workbench.platform.tasks import MODELS, get_task
from workbench.platform.terms import Terms, day_money, task_terms

# --by → the keys of its lines, in order
GROUP_KEYS: dict[str, tuple[str, ...]] = {
    "keyword": ("keyword", "keyword_id", "task_id"),
    "task": ("task_id", "app", "title"),
    "account": ("account_id", "channel", "handle"),
    "submission": ("submission_id",),
    "template": ("template_id", "template_version"),
    "day": ("date",),
}
BY_CHOICES = tuple(GROUP_KEYS)
SPLIT = ("submission", "template")  # groupings that share a keyword-day among submissions
SETTLED_STATUSES = ("published", "settled")
UNLINKED = "未关联成品"
TOTAL_COUNTS = (*COUNTS, "interactions", "revenue")  # what a line sums (not when split)


@dataclass
class Line:
    keys: dict[str, Any]
    models: set[str] = field(default_factory=set)
    amount: Decimal = Decimal(0)
    held: Decimal = Decimal(0)
    amount_known: bool = True
    held_known: bool = True
    # an ordered set of (date, keyword_id, keyword, reason); a task's missing terms have no
    # date or keyword
    flags: dict[tuple[str | None, int | None, str | None, str], None] = field(
        default_factory=dict)
    days: set[tuple[int, str]] = field(default_factory=set)
    totals: dict[str, Any] = field(default_factory=dict)

    def add(self, part_money: Decimal | None, held: bool) -> None:
        if held:
            self.held_known &= part_money is not None
            self.held += part_money or 0
        else:
            self.amount_known &= part_money is not None
            self.amount += part_money or 0

    def add_counts(self, day: Day) -> None:
        values: dict[str, Any] = {**day.counts, "interactions": day.interactions,
                                  "revenue": day.revenue}
        for name in TOTAL_COUNTS:
            if values[name] is not None:
                self.totals[name] = self.totals.get(name, 0) + values[name]

    def as_dict(self, split: bool) -> dict[str, Any]:
        models = [m for m in MODELS if m in self.models] + sorted(self.models - set(MODELS))
        row = {**self.keys, "model": "+".join(models) or None,
               "amount": yuan_text(self.amount) if self.amount_known else None,
               "held": yuan_text(self.held) if self.held_known else None,
               "flags": [{"date": d, "reason": r, "keyword_id": k, "keyword": text}
                         for d, k, text, r in sorted(self.flags, key=lambda f: f[0] or "")],
               "days": len(self.days)}
        if not split:
            for name in TOTAL_COUNTS:
                value = self.totals.get(name)
                row[name] = to_text(value) if isinstance(value, Decimal) else value
        return row


@dataclass(frozen=True)
class Published:
    submission_id: str
    template_id: str | None
    template_version: str | None
    since: str  # ISO date (China) it was published


def _china_date(value: str) -> str | None:
    """A publishing date or date-time as a China date; a time with a zone is converted."""
    try:
        moment = datetime.datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(CHINA)
    return moment.date().isoformat()


def published_by_keyword(db: Database) -> dict[int, list[Published]]:
    """keyword_id → its published (or settled) submissions with a readable publishing date."""
    marks = ", ".join("?" for _ in SETTLED_STATUSES)
    rows = db.query(
        "SELECT id, keyword_id, template_id, template_version, published_at FROM submissions "
        f"WHERE keyword_id IS NOT NULL AND status IN ({marks}) AND published_at IS NOT NULL "
        "ORDER BY id", list(SETTLED_STATUSES))
    found: dict[int, list[Published]] = {}
    for row in rows:
        since = _china_date(row["published_at"])
        if since is not None:
            found.setdefault(row["keyword_id"], []).append(Published(
                row["id"], row["template_id"], row["template_version"], since))
    return found


def _keywords(db: Database, task_id: int | None) -> dict[int, dict[str, Any]]:
    sql = ("SELECT k.id, k.text, k.task_id, k.account_id, a.channel, a.handle, t.app, t.title "
           "FROM keywords k JOIN tasks t ON t.id = k.task_id "
           "JOIN accounts a ON a.id = k.account_id"
           + (" WHERE k.task_id = ?" if task_id is not None else ""))
    return {r["id"]: dict(r) for r in db.query(sql, [task_id] if task_id is not None else [])}


def _keys(by: str, keyword: dict[str, Any], date: str, owner: Published | None
          ) -> tuple[tuple[str, Any], ...]:
    values = {"keyword": keyword["text"], "keyword_id": keyword["id"],
              "task_id": keyword["task_id"], "app": keyword["app"], "title": keyword["title"],
              "account_id": keyword["account_id"], "channel": keyword["channel"],
              "handle": keyword["handle"], "date": date,
              "submission_id": owner.submission_id if owner else None,
              "template_id": owner.template_id if owner else None,
              "template_version": owner.template_version if owner else None}
    return tuple((name, values[name]) for name in GROUP_KEYS[by])


def _order(keys: tuple[tuple[str, Any], ...]) -> tuple:
    return tuple((value is None, value if value is not None else "") for _, value in keys)


def date_range(date_from: str | None, date_to: str | None) -> tuple[str | None, str | None]:
    """--from/--to as ISO dates (None where not given); refused when --from is after --to."""
    start = parse_date(date_from, "--from").isoformat() if date_from else None
    end = parse_date(date_to, "--to").isoformat() if date_to else None
    if start and end and start > end:
        raise InputError(f"--from {start} 晚于 --to {end}：起始日期应不晚于结束日期")
    return start, end


def settle(db: Database, *, spike_factor: float, task_id: int | str | None = None,
           date_from: str | None = None, date_to: str | None = None, by: str = "keyword"
           ) -> list[dict[str, Any]]:
    """The settlement lines: the group's keys, model, amount, held ("756.00", or None when
    the money cannot be computed), flags [{date, reason, keyword_id, keyword}], days and
    (unless split among submissions) the summed counts."""
    if by not in GROUP_KEYS:
        raise InputError(f"不认识的分组 --by {by}：可选 {'|'.join(BY_CHOICES)}")
    task = get_task(db, task_id)["id"] if task_id is not None else None
    start, end = date_range(date_from, date_to)
    keywords = _keywords(db, task)
    days = load_days(db, task_id=task, until=end)
    releases = releases_for(db, days.keys())
    published = published_by_keyword(db) if by in SPLIT else {}
    terms_of: dict[int, Terms] = {}
    lines: dict[tuple[tuple[str, Any], ...], Line] = {}
    for keyword_id, keyword_days in days.items():
        keyword = keywords[keyword_id]
        tid = keyword["task_id"]
        if tid not in terms_of:
            terms_of[tid] = task_terms(get_task(db, tid))
        terms = terms_of[tid]
        flags = day_flags(terms.model, keyword_days, spike_factor)
        for day in keyword_days:
            if start and day.date < start:
                continue
            released = (keyword_id, day.date) in releases
            day_flag_list = [(f.date, keyword_id, keyword["text"],
                              f.reason + (RELEASED if released else ""))
                             for f in flags.get(day.date, [])]
            if terms.problem:
                day_flag_list.insert(0, (None, None, None, terms.problem))
            held = bool(flags.get(day.date)) and not released
            money = day_money(terms, day)
            owners: list[Published | None] = [None]
            if by in SPLIT:
                owners = [p for p in published.get(keyword_id, []) if p.since <= day.date]
                owners = owners or [None]
            share = None if money is None else money / len(owners)
            for owner in owners:
                keys = _keys(by, keyword, day.date, owner)
                line = lines.get(keys) or lines.setdefault(keys, Line(dict(keys)))
                if terms.model:
                    line.models.add(terms.model)
                line.add(share, held)
                line.days.add((keyword_id, day.date))
                line.flags.update(dict.fromkeys(day_flag_list))
                if by not in SPLIT:
                    line.add_counts(day)
    return [lines[keys].as_dict(by in SPLIT) for keys in sorted(lines, key=_order)]


def total_text(lines: list[dict[str, Any]], key: str) -> str:
    """The lines' `key` money ("amount" or "held") summed ("756.00"); 部分无法计算 when some
    line's cannot be computed (a task without terms)."""
    values = [line[key] for line in lines]
    if any(value is None for value in values):
        return "部分无法计算"
    return format(sum((Decimal(v) for v in values), Decimal("0.00")), "f")


def flag_text(flag: dict[str, Any], by: str) -> str:
    """A flag in one piece of text: its date and keyword (unless the line says them)."""
    keyword = f"口令「{flag['keyword']}」" if flag["keyword"] and by != "keyword" else None
    date = flag["date"] if by != "day" else None
    return " ".join(filter(None, (date, keyword, flag["reason"])))


def csv_columns(by: str) -> list[str]:
    columns = [*GROUP_KEYS[by], "model", "amount", "held", "days"]
    if by not in SPLIT:
        columns += TOTAL_COUNTS
    return [*columns, "flags"]


def write_csv(lines: list[dict[str, Any]], by: str, path: Path) -> None:
    """The lines as CSV, UTF-8 with a BOM (so Excel reads the Chinese); flags as
    "date reason" joined by "；". Written to a temporary file and renamed when complete."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    columns = csv_columns(by)
    writer.writerow(columns)
    for line in lines:
        flags = "；".join(flag_text(f, by) for f in line["flags"])
        writer.writerow(["" if line.get(c) is None else line[c] for c in columns[:-1]] + [flags])
    try:
        write_bytes_atomic(Path(path), buffer.getvalue().encode("utf-8-sig"))
    except OSError as exc:
        raise InputError(f"无法写入 CSV 文件 {path}：{exc.strerror}（换一个可写的路径）") from None
