"""The offline rewrite backend: deterministic rules that turn written prose into narration.

Steps per segment: drop stage directions and dialogue tags, read numbers the way a narrator
says them (cn2an), split long sentences, vary wording from a bundled synonym table (seeded), then
fit the body to the template's target length. The keyword is protected from every step.
"""

from __future__ import annotations

import functools
import logging
import random
import re
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

HASHTAG_POOL = ("小说推荐", "好书推荐", "网文", "追更", "书荒推荐", "故事", "小说")


@functools.cache
def load_synonyms(path: Path = SYNONYMS_FILE) -> dict[str, tuple[str, ...]]:
    table: dict[str, tuple[str, ...]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        word, _, alts = line.partition("\t")
        options = tuple(a.strip() for a in alts.split("|") if a.strip())
        if word.strip() and options:
            table[word.strip()] = options
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
        return cn2an.transform(text, "an2cn")
    except (ValueError, KeyError):  # cn2an rejects a few odd shapes; leave the text as it was
        log.debug("cn2an could not transform %r", text[:40])
        return text


def split_long_sentences(text: str, limit: int = MAX_SENTENCE_CHARS) -> str:
    """Break sentences longer than `limit` at clause marks into shorter spoken sentences."""
    out: list[str] = []
    for sentence in split_sentences(text):
        if visible_len(sentence) <= limit:
            out.append(sentence)
            continue
        chunk, depth = "", 0
        for clause in split_clauses(sentence):
            # break only outside quotes: a quotation cut in two reads as two speakers
            if chunk and depth == 0 and visible_len(chunk + clause) > limit:
                out.append(re.sub(r"[，,；;：:、]$", "。", chunk))
                chunk = ""
            chunk += clause
            depth = max(0, depth + sum(c in OPEN_QUOTES for c in clause)
                        - sum(c in CLOSE_QUOTES for c in clause))
        if chunk:
            out.append(chunk)
    return "".join(out)


def vary_wording(text: str, rng: random.Random, rate: float = 0.5) -> str:
    table = load_synonyms()
    words = []
    for word in jieba().cut(text, HMM=False):
        options = table.get(word)
        if options and rng.random() < rate:
            word = rng.choice(options)
        words.append(word)
    return "".join(words)


class RulesBackend:
    """Offline, deterministic for a given seed; no model."""

    name: ClassVar[str] = "rules"
    version: ClassVar[str] = "1"
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
