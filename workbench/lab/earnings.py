"""Which template earns: per template (and version), the published videos made with it, what
they were watched, interacted with and converted, and what they earned, with uncertainty.

Attribution is settlement's (platform/settlement.py): tracking is per keyword, so each
keyword-day's figures are shared equally among the keyword's published (or settled)
submissions whose publishing date (China time) is on or before that day. A video's earnings
are its `workbench settle --by submission` amount (rounded once per video); a template's are
the sum of its videos', so they can differ from `settle --by template` (rounded once per
template) by less than 0.01 yuan per video. Held money (flagged days not yet released) is
reported apart and not counted as earned.

Per group:
- videos: published or settled submissions with a keyword and a readable publishing date, on
  or before `--to`, that pass the filters (task, channel and account are the keyword's). A
  video with no tracking yet counts, with zeros: `tracked` says how many have any.
- views, interactions (likes + comments + shares + favorites), conversions (the count the
  task's CPA action names — activations, registrations or orders; activations for a task
  without one): the videos' shares of their keyword-days within `--from`…`--to`.
- interaction rate = interactions / views and conversion rate = conversions / views, each with
  a 95 % Wilson interval where k = the group's interactions (or conversions) and n = its views,
  both rounded to whole numbers (equal shares can be fractions); none when n is 0 or k > n.
- earnings per video = the mean of the videos' earnings, with a 95 % percentile bootstrap
  interval (intervals.bootstrap_mean: videos resampled with replacement, 2000 times, seeded).
  Videos whose money cannot be computed (the task lacks terms) are left out of it and counted
  in `money_unknown`.
- ranking: groups with at least `min_videos` videos first, then by the lower bound of earnings
  per video (highest first), then by the mean. Fewer videos than that is flagged 样本太少: a
  bootstrap of three videos cannot show the spread they were not drawn from.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlite_utils import Database

from workbench.errors import InputError, WorkbenchError
from workbench.lab.intervals import RESAMPLES, SEED, bootstrap_mean, wilson
from workbench.platform.accounts import get_account
from workbench.platform.channels import check_channel
from workbench.platform.daily import load_days
from workbench.platform.money import yuan
from workbench.platform.settlement import Published, date_range, published_by_keyword, settle
from workbench.platform.tasks import get_task
from workbench.platform.terms import ACTION_COUNTS

BY_CHOICES = ("version", "template")
MIN_VIDEOS = 10  # fewer videos than this in a group: 样本太少, ranked after the rest
MAX_VIDEOS = 20_000  # videos one report may weigh (bootstrap work grows with them)
NO_TEMPLATE = "（未记录模板）"


@dataclass
class Video:
    """One published submission and what was attributed to it."""

    published: Published
    views: Fraction = Fraction(0)
    interactions: Fraction = Fraction(0)
    conversions: Fraction = Fraction(0)
    tracked: bool = False
    amount: Decimal | None = Decimal(0)
    held: Decimal | None = Decimal(0)


@dataclass
class Group:
    key: tuple[str | None, ...]
    videos: list[Video] = field(default_factory=list)


def _batch_submissions(db: Database, batch: str) -> set[str]:
    batch = batch.strip()
    if not db["batches"].count_where("id = ?", [batch]):
        raise InputError(f"没有编号为 {batch} 的批次（workbench batch 结束时打印批次编号）")
    return {r["submission_id"] for r in db.query(
        "SELECT submission_id FROM batch_jobs WHERE batch_id = ? AND submission_id IS NOT NULL",
        [batch])}


def _keywords(db: Database, task_id: int | None, channel: str | None, account_id: int | None
              ) -> dict[int, str]:
    """keyword id → the tracking count its task calls a conversion, for the filtered ones."""
    where, args = ["1 = 1"], []
    for column, value in (("k.task_id", task_id), ("a.channel", channel),
                          ("k.account_id", account_id)):
        if value is not None:
            where.append(f"{column} = ?")
            args.append(value)
    rows = db.query("SELECT k.id, t.action FROM keywords k JOIN tasks t ON t.id = k.task_id "
                    f"JOIN accounts a ON a.id = k.account_id WHERE {' AND '.join(where)}", args)
    return {r["id"]: ACTION_COUNTS.get(r["action"] or "", "activations") for r in rows}


def _attribute(db: Database, videos: dict[str, Video], everyone: dict[int, list[Published]],
               conversions: dict[int, str], task_id: int | None, start: str | None,
               end: str | None) -> None:
    """Each keyword-day's counts shared equally among every submission of the keyword
    published by then (as settlement shares it), added to the videos being reported."""
    mine = {v.published.submission_id for v in videos.values()}
    wanted = {k for k, subs in everyone.items() if any(p.submission_id in mine for p in subs)}
    for keyword_id, days in load_days(db, task_id=task_id, until=end).items():
        if keyword_id not in wanted:
            continue
        for day in days:
            if start and day.date < start:
                continue
            owners = [p for p in everyone[keyword_id] if p.since <= day.date]
            for owner in owners:
                video = videos.get(owner.submission_id)
                if video is None:
                    continue
                share = len(owners)
                video.tracked = True
                video.views += Fraction(day.views or 0, share)
                video.interactions += Fraction(day.interactions or 0, share)
                video.conversions += Fraction(day.counts[conversions[keyword_id]] or 0, share)


def _money(db: Database, videos: dict[str, Video], spike_factor: float, task_id: int | None,
           start: str | None, end: str | None) -> None:
    for line in settle(db, spike_factor=spike_factor, task_id=task_id, date_from=start,
                       date_to=end, by="submission"):
        video = videos.get(line["submission_id"] or "")
        if video is not None:
            video.amount = None if line["amount"] is None else Decimal(line["amount"])
            video.held = None if line["held"] is None else Decimal(line["held"])


def _rate(k: Fraction, n: Fraction) -> dict[str, Any]:
    hits, trials = round(k), round(n)
    interval = wilson(hits, trials)
    return {"k": hits, "n": trials,
            "rate": round(hits / trials, 6) if trials and interval else None,
            "low": round(interval[0], 6) if interval else None,
            "high": round(interval[1], 6) if interval else None}


def _text(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def _summary(group: Group, by: str, min_videos: int, resamples: int, seed: int
             ) -> dict[str, Any]:
    videos = group.videos
    known = [v.amount for v in videos if v.amount is not None]
    cents = [int(a * 100) for a in known]  # settle's amounts are whole cents already
    interval = bootstrap_mean(cents, resamples=resamples, seed=seed)
    earnings = sum(known, Decimal("0.00")) if known else None
    held = [v.held for v in videos if v.held is not None]
    views = sum((v.views for v in videos), Fraction(0))
    interactions = sum((v.interactions for v in videos), Fraction(0))
    conversions = sum((v.conversions for v in videos), Fraction(0))
    row: dict[str, Any] = {"template_id": group.key[0]}
    if by == "version":
        row["template_version"] = group.key[1]
    per_video = yuan(Decimal(sum(cents)) / len(cents) / 100) if cents else None
    row.update({
        "videos": len(videos), "tracked": sum(v.tracked for v in videos),
        "views": round(views), "interactions": round(interactions),
        "conversions": round(conversions),
        "interaction_rate": _rate(interactions, views),
        "conversion_rate": _rate(conversions, views),
        "earnings": _text(earnings), "held": _text(sum(held, Decimal("0.00"))),
        "money_unknown": len(videos) - len(known),
        "earnings_per_video": _text(per_video),
        "earnings_per_video_low": _text(interval[0]) if interval else None,
        "earnings_per_video_high": _text(interval[1]) if interval else None,
        "small_sample": len(videos) < min_videos,
    })
    return row


def _rank_key(row: dict[str, Any]) -> tuple:
    low, mean = row["earnings_per_video_low"], row["earnings_per_video"]
    return (row["small_sample"], low is None, -Decimal(low or 0), -Decimal(mean or 0),
            row["template_id"] is None, row["template_id"] or "",
            row.get("template_version") or "")


def _groups(videos: Iterable[Video], by: str) -> list[Group]:
    groups: dict[tuple[str | None, ...], Group] = {}
    for video in videos:
        p = video.published
        key = (p.template_id, p.template_version) if by == "version" else (p.template_id,)
        groups.setdefault(key, Group(key)).videos.append(video)
    return list(groups.values())


def template_stats(db: Database, *, spike_factor: float, task: int | str | None = None,
                   channel: str | None = None, account: int | str | None = None,
                   date_from: str | None = None, date_to: str | None = None,
                   batch: str | None = None, by: str = "version", min_videos: int = MIN_VIDEOS,
                   resamples: int = RESAMPLES, seed: int = SEED) -> list[dict[str, Any]]:
    """One row per template (`by="template"`) or template version (`by="version"`), best
    first, each with `rank`; money as Decimal text, rates as {k, n, rate, low, high}. See the
    module docstring for what every figure means."""
    if by not in BY_CHOICES:
        raise InputError(f"不认识的分组 --by {by}：可选 {'|'.join(BY_CHOICES)}")
    if min_videos < 1:
        raise InputError(f"--min-videos 至少为 1（收到 {min_videos}）")
    task_id = get_task(db, task)["id"] if task is not None else None
    channel = check_channel(channel) if channel is not None else None
    account_id = get_account(db, account)["id"] if account is not None else None
    start, end = date_range(date_from, date_to)
    in_batch = _batch_submissions(db, batch) if batch is not None else None
    conversions = _keywords(db, task_id, channel, account_id)
    everyone = published_by_keyword(db)
    videos = {p.submission_id: Video(p)
              for keyword_id, subs in everyone.items() if keyword_id in conversions
              for p in subs
              if (end is None or p.since <= end)
              and (in_batch is None or p.submission_id in in_batch)}
    if len(videos) > MAX_VIDEOS:
        raise InputError(f"符合条件的已发布成品有 {len(videos)} 个，一次最多分析 {MAX_VIDEOS} 个："
                         "请用 --task、--channel、--account 或 --to 缩小范围")
    if not videos:
        return []
    _attribute(db, videos, everyone, conversions, task_id, start, end)
    _money(db, videos, spike_factor, task_id, start, end)
    rows = [_summary(g, by, min_videos, resamples, seed) for g in _groups(videos.values(), by)]
    rows.sort(key=_rank_key)
    for rank, row in enumerate(rows, 1):
        row["rank"] = rank
    return rows


def template_name(row: dict[str, Any]) -> str:
    """How a row names its template: "悬念开场 v2", or 未记录模板."""
    if row["template_id"] is None:
        return NO_TEMPLATE
    version = row.get("template_version")
    return row["template_id"] + (f" v{version}" if version else "")


def batch_stats(db: Database, batch_id: str, spike_factor: float) -> list[dict[str, Any]]:
    """A batch's published videos by template, for its report: [] when none is published yet,
    or when the figures cannot be read (e.g. more tracking than one report reads) — the
    report then only says how to ask for them."""
    try:
        return template_stats(db, spike_factor=spike_factor, batch=batch_id, by="template")
    except WorkbenchError:
        return []
