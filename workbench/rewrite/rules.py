"""The offline rewrite backend: deterministic rules that turn written prose into narration.

Steps per segment: drop stage directions and dialogue tags, read numbers the way a narrator
says them (cn2an), end a long sentence at a semicolon, vary wording from a bundled synonym table
(seeded), then fit the body to the template's target length at a sentence boundary. The keyword
is protected from every step.

What it never does: turn a comma (or 、 or ：) into a full stop — `除了锈，什么也没看出来` is one
breath, and a narrator who stops in the middle sounds broken — or swap a word where the swap
reads oddly: the synonym table lists only words that stand in for each other as the same part
of speech, and an entry may name the neighbours before or after which it is left alone (`黑暗中`
is a noun, where 黑漆漆 is not).
"""

from __future__ import annotations

import functools
import logging
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import cn2an

from workbench.models import Segment
from workbench.rewrite.base import RewriteRequest, RewriteResult
from workbench.text import (
    CLOSE_QUOTES,
    OPEN_QUOTES,
    fit_sentences,
    jieba,
    split_clauses,
    split_sentences,
    strip_end_punct,
    visible_len,
)

log = logging.getLogger(__name__)

SYNONYMS_FILE = Path(__file__).parent / "data" / "synonyms.tsv"
MAX_SENTENCE_CHARS = 32
MIN_BODY_CHARS = 60
TITLE_MAX = 30
_KEYWORD_MARK = "\ue000"  # private-use character standing in for the keyword

_SAY = (
    "说|道|问|喊|叫|吼|答|骂|嚷|笑|叹|哭|嘀咕|嘟囔|喃喃|低语|开口|补充|解释|提醒|催促|追问|反问|"
    "打断|插话|回应|感叹|怒斥|咆哮|尖叫"
)
_TAG = rf"[^“”「」。！？，,\n]{{0,10}}?(?:{_SAY})(?:道|了|着)?"
# ”他顿了顿，说，“  — a tag between two parts of one speech: join the parts.
_TAG_BETWEEN = re.compile(
    rf"([，,])[”」]\s*[^“”「」。！？\n]{{0,12}}?(?:{_SAY})(?:道|了|着)?[，,：:]\s*[“「]"
)
# ”他冷笑道。  — a tag after the speech.
_TAG_AFTER = re.compile(rf"([”」])\s*{_TAG}([。！？，])")
# 她低声说：“  — a tag before the speech.
_TAG_BEFORE = re.compile(rf"(^|[。！？”」\n])\s*{_TAG}[：:，,]\s*([“「])")
_STAGE = re.compile(r"（[^（）\n]{0,40}）|\([^()\n]{0,40}\)")
_CLOCK = re.compile(r"(?<!\d)([01]?\d|2[0-3])[:：]([0-5]\d)(?!\d)")
_LONG_DIGITS = re.compile(r"(?<![\d.])\d{7,}(?![\d.])")
_DIGITS = "零一二三四五六七八九"
_TWO_COUNTED = re.compile(r"(?<![零一二三四五六七八九十百千万亿第])二(?=[个只张条位块本次层辆件家种台把名岁天]|[千万亿])")

HASHTAG_POOL = ("小说推荐", "好书推荐", "网文", "追更", "书荒推荐", "故事", "小说")


@dataclass(frozen=True)
class Synonyms:
    options: tuple[str, ...]
    not_after: frozenset[str] = frozenset()
    not_before: frozenset[str] = frozenset()

    def fits(self, before: str, after: str) -> bool:
        return before not in self.not_after and after not in self.not_before


@functools.cache
def load_synonyms(path: Path = SYNONYMS_FILE) -> dict[str, Synonyms]:
    """word → its alternatives and the neighbours that block a swap (third column, space
    separated: `太-` means "not after 太", `-的` "not before 的")."""
    table: dict[str, Synonyms] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        word, alts, guards = (line.split("\t") + ["", ""])[:3]
        options = tuple(a.strip() for a in alts.split("|") if a.strip())
        marks = guards.split()
        if word.strip() and options:
            table[word.strip()] = Synonyms(
                options, frozenset(m[:-1] for m in marks if m.endswith("-")),
                frozenset(m[1:] for m in marks if m.startswith("-")))
    return table


def drop_stage_directions(text: str) -> str:
    return _STAGE.sub("", text)


def drop_dialogue_tags(text: str) -> str:
    text = _TAG_BETWEEN.sub(r"\1", text)
    text = _TAG_AFTER.sub(r"\1", text)
    return _TAG_BEFORE.sub(r"\1\2", text)


def speak_numbers(text: str) -> str:
    """Arabic numerals to the words a narrator says: 17楼 → 十七楼, 10:30 → 十点三十分."""
    text = _CLOCK.sub(
        lambda m: f"{cn2an.an2cn(m.group(1))}点"
        + ("" if m.group(2) == "00" else f"{cn2an.an2cn(str(int(m.group(2))))}分"),
        text,
    )
    # Phone and ID numbers are read digit by digit, not as one huge amount.
    text = _LONG_DIGITS.sub(lambda m: "".join(_DIGITS[int(d)] for d in m.group(0)), text)
    try:
        text = cn2an.transform(text, "an2cn")
    except (ValueError, KeyError):  # cn2an rejects a few odd shapes; leave the text as it was
        log.debug("cn2an could not transform %r", text[:40])
    # a count says 两: 2个亿 is 两个亿, not 二个亿 (十二个 and 第二个 stay)
    return _TWO_COUNTED.sub("两", text)


def split_long_sentences(text: str, limit: int = MAX_SENTENCE_CHARS) -> str:
    """End sentences longer than `limit` at a semicolon, the one clause mark a narrator reads as
    a full stop. Commas, 、 and colons stay: they are pauses inside one breath."""
    out: list[str] = []
    for sentence in split_sentences(text):
        if visible_len(sentence) <= limit:
            out.append(sentence)
            continue
        chunk, depth = "", 0
        for clause in split_clauses(sentence):
            # break only outside quotes: a quotation cut in two reads as two speakers
            if chunk and depth == 0 and chunk[-1] in "；;" and visible_len(chunk + clause) > limit:
                out.append(chunk[:-1] + "。")
                chunk = ""
            chunk += clause
            depth = max(0, depth + sum(c in OPEN_QUOTES for c in clause)
                        - sum(c in CLOSE_QUOTES for c in clause))
        if chunk:
            out.append(chunk)
    return "".join(out)


def vary_wording(text: str, rng: random.Random, rate: float = 0.5) -> str:
    table = load_synonyms()
    tokens = list(jieba().cut(text, HMM=False))
    words = []
    for i, word in enumerate(tokens):
        entry = table.get(word)
        if entry and rng.random() < rate and entry.fits(
                tokens[i - 1] if i else "", tokens[i + 1] if i + 1 < len(tokens) else ""):
            word = rng.choice(entry.options)
        words.append(word)
    return "".join(words)


class RulesBackend:
    """Offline, deterministic for a given seed; no model."""

    name: ClassVar[str] = "rules"
    version: ClassVar[str] = "2"
    offline: ClassVar[bool] = True

    @property
    def model(self) -> str:
        return ""

    @property
    def endpoint(self) -> str:
        return ""

    def rewrite(self, request: RewriteRequest) -> RewriteResult:
        keyword = request.keyword
        segments: list[Segment] = []
        for seg in request.segments:
            text = seg.text.replace(keyword, _KEYWORD_MARK) if keyword else seg.text
            if seg.name != "cta":
                text = drop_stage_directions(drop_dialogue_tags(text))
                rng = random.Random(f"{request.seed}:{seg.name}")
                text = vary_wording(split_long_sentences(speak_numbers(text)), rng)
            else:
                text = speak_numbers(text)
            text = re.sub(r"\s+", "", text).replace(_KEYWORD_MARK, keyword)
            segments.append(Segment(seg.name, text))
        segments = self._fit(segments, request.target_chars)
        hook = next((s.text for s in segments if s.name == "hook"), segments[0].text)
        return RewriteResult(
            segments=segments,
            title=make_title(hook, request.book_title),
            caption=make_caption(hook, request.app, keyword),
            hashtags=make_hashtags(request.app, request.seed),
        )

    @staticmethod
    def _fit(segments: list[Segment], target_chars: int) -> list[Segment]:
        """Trim the body (only) on a sentence boundary so the script fits its target length."""
        others = sum(visible_len(s.text) for s in segments if s.name != "body")
        budget = max(MIN_BODY_CHARS, target_chars - others)
        fitted = []
        for seg in segments:
            if seg.name == "body" and visible_len(seg.text) > budget:
                seg = Segment("body", "".join(fit_sentences(split_sentences(seg.text), budget)))
            fitted.append(seg)
        return fitted


def make_title(hook: str, book_title: str = "") -> str:
    sentences = split_sentences(hook) or [hook]
    title = strip_end_punct(sentences[0])
    if len(title) > TITLE_MAX:
        title = strip_end_punct(split_clauses(title)[0])
    if len(title) > TITLE_MAX:
        title = title[: TITLE_MAX - 1] + "…"
    if book_title and len(title) + len(book_title) + 2 <= TITLE_MAX and book_title not in title:
        title = f"{title}｜{book_title}"
    return title or book_title[:TITLE_MAX]


def make_caption(hook: str, app: str, keyword: str) -> str:
    first = (split_sentences(hook) or [hook])[0]
    return f"{first}{app}搜索【{keyword}】，看完整故事。" if keyword else first


def make_hashtags(app: str, seed: int) -> list[str]:
    rng = random.Random(f"tags:{seed}")
    tags = ["小说推文", *rng.sample(HASHTAG_POOL, 3)]
    if app:
        tags.append(re.sub(r"\s+", "", app))
    return tags
