"""Dates as the platforms count them: China Standard Time (UTC+8, no daylight saving), ISO
text in the database."""

from __future__ import annotations

import datetime
import re

from workbench.errors import InputError

CHINA = datetime.timezone(datetime.timedelta(hours=8), "UTC+8")
_CHINESE = re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日?$")
_SLASHED = re.compile(r"^(\d{4})[/.\-](\d{1,2})[/.\-](\d{1,2})$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")


def today() -> datetime.date:
    """Today's date in China (where tasks' deadlines and daily counts are reckoned)."""
    return datetime.datetime.now(CHINA).date()


def parse_date(value: object, what: str = "日期") -> datetime.date:
    """A date from ISO text (2026-11-30), 2026/11/30, 2026.11.30, 20261130, 2026年11月30日, a
    date-time (its date is used), or a date / datetime object (from a spreadsheet)."""
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    text = str(value).strip()
    match = _CHINESE.match(text) or _SLASHED.match(text) or _COMPACT.match(text)
    try:
        if match:
            return datetime.date(*(int(part) for part in match.groups()))
        if len(text) > 10 and text[:4].isdigit():
            return datetime.datetime.fromisoformat(text).date()
    except ValueError:
        pass
    raise InputError(f"{what}不是日期：{text[:40]!r}（写成 2026-11-30）")


def parse_optional_date(value: object, what: str = "日期") -> str | None:
    """An ISO date string, or None for an empty value."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return parse_date(value, what).isoformat()
