"""What a keyword (口令) may be: the base rules every keyword obeys, with or without a task, and
a task's own rules on top.

Base rules: no whitespace inside; only CJK ideographs, Latin letters and digits (an emoji is
burned as a tofu box, a symbol is not searchable); 2–20 characters unless the task says
otherwise (a long keyword shrinks the banner to an unreadable line); every character drawn by
the bundled font; no banned word. Every message names the offending character and position.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from workbench.compliance import BannedWord, scan_banned_words
from workbench.errors import InputError
from workbench.fonts import default_font_file

BASE_MIN, BASE_MAX = 2, 20
LIMIT_MAX = 40  # a task may allow longer keywords, never longer than this
PATTERN_MAX = 200  # characters of a task's keyword pattern


@dataclass(frozen=True)
class KeywordRules:
    min_len: int = BASE_MIN
    max_len: int = BASE_MAX
    pattern: str | None = None  # a task's pattern, matched in full
    source: str = ""  # e.g. "任务 #3" for messages

    @classmethod
    def of_task(cls, task: dict) -> KeywordRules:
        return cls(task.get("keyword_min") or BASE_MIN, task.get("keyword_max") or BASE_MAX,
                   task.get("keyword_pattern") or None, f"任务 #{task['id']}")


BASE_RULES = KeywordRules()


@cache
def _font_codepoints(font: Path) -> frozenset[int]:
    from fontTools.ttLib import TTFont

    with TTFont(str(font), lazy=True) as ttf:
        return frozenset(ttf.getBestCmap())


def _kind(ch: str) -> str | None:
    """None when allowed; else what the character is, for the message."""
    if ch.isascii() and (ch.isalpha() or ch.isdigit()):
        return None
    name = unicodedata.name(ch, "")
    if name.startswith(("CJK UNIFIED IDEOGRAPH", "CJK COMPATIBILITY IDEOGRAPH")):
        return None
    if ch.isspace() or unicodedata.category(ch) in ("Zs", "Cc", "Cf"):
        return "空白或不可见字符"
    if unicodedata.category(ch).startswith("S") or unicodedata.category(ch) == "Cs":
        return "符号或表情"
    if name.startswith(("FULLWIDTH LATIN", "FULLWIDTH DIGIT")):
        return "全角字母或数字（请改用半角）"
    if unicodedata.category(ch).startswith("P"):
        return "标点"
    return "不是汉字、字母或数字"


def _show(ch: str) -> str:
    if ch.isspace() or unicodedata.category(ch)[0] == "C":
        return f" {ch!a} "
    return f"「{ch}」"


def check_keyword_text(text: str, words: list[BannedWord], rules: KeywordRules = BASE_RULES
                       ) -> str:
    """The keyword (outer whitespace removed) when it obeys the base rules and `rules`; else
    InputError naming the first offending character and its position (from 1)."""
    keyword = (text or "").strip()
    if not keyword:
        raise InputError("口令是空的：请填写任务给的搜索词")
    for position, ch in enumerate(keyword, start=1):
        if (kind := _kind(ch)) is not None:
            raise InputError(f"口令「{keyword}」第 {position} 个字符{_show(ch)}是{kind}："
                             "口令只能由汉字、英文字母和数字组成")
    covered = _font_codepoints(default_font_file())
    for position, ch in enumerate(keyword, start=1):
        if ord(ch) not in covered:
            raise InputError(f"口令「{keyword}」第 {position} 个字符「{ch}」内置字体里没有，"
                             "画面上会显示成方框：请换一个字")
    where = f"（{rules.source}的要求）" if rules.source and rules != BASE_RULES else ""
    if not rules.min_len <= len(keyword) <= rules.max_len:
        raise InputError(f"口令「{keyword}」有 {len(keyword)} 个字，应为 {rules.min_len}–"
                         f"{rules.max_len} 个字{where}")
    if rules.pattern and not re.fullmatch(rules.pattern, keyword):
        raise InputError(f"口令「{keyword}」不符合{rules.source or '任务'}的口令规则 "
                         f"{rules.pattern}")
    for finding in scan_banned_words({"keyword": keyword}, words):
        word = finding.message.split("「", 1)[1].split("」", 1)[0]
        position = keyword.find(word) + 1
        raise InputError(f"口令「{keyword}」第 {position} 个字起的「{word}」是违禁词，请换一个口令")
    return keyword


def check_rules(min_len: int | None, max_len: int | None, pattern: str | None) -> None:
    """A task's keyword rules: sane bounds and a pattern that compiles."""
    low, high = min_len or BASE_MIN, max_len or BASE_MAX
    if not 1 <= low <= high <= LIMIT_MAX:
        raise InputError(f"口令长度范围 {low}–{high} 无效：应满足 1 ≤ 最短 ≤ 最长 ≤ {LIMIT_MAX}")
    if pattern:
        if len(pattern) > PATTERN_MAX:
            raise InputError(f"口令规则太长（{len(pattern)} 个字符，最多 {PATTERN_MAX}）")
        try:
            re.compile(pattern)
        except re.error as exc:
            raise InputError(f"口令规则 {pattern!r} 不是有效的正则表达式：{exc}") from None
