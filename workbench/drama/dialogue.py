"""What a subtitle line is worth in a highlight, and why (reasons in Chinese, for the user).

A line scores for conflict and emotion words (data/dialogue_words.tsv, written for this
project), for being a question (？, 吗/呢 at the end, 为什么/凭什么/难道) or an exclamation, and
most for being a cliffhanger: a line that ends a scene or the episode on suspense (竟然, 原来,
到底 … or an ending like …… ！？). How dense the dialogue is belongs to a segment, not a line
(see highlights.py).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from workbench.materials.sidecar import SubtitleLine
from workbench.text import jieba

WORDS_FILE = Path(__file__).with_name("data") / "dialogue_words.tsv"

CONFLICT, EMOTION, QUESTION, SUSPENSE, CLIFFHANGER = (
    "冲突台词", "情绪台词", "疑问句", "悬念台词", "悬念结尾")
WEIGHTS = {"conflict": 1.0, "emotion": 0.6, "suspense": 0.5}
CAPS = {"conflict": 2.0, "emotion": 1.2, "suspense": 1.0}
LABELS = {"conflict": CONFLICT, "emotion": EMOTION, "suspense": SUSPENSE}
QUESTION_SCORE = 0.6
EXCLAIM_SCORE = 0.3
CLIFFHANGER_SCORE = 2.5
# A line "ends a scene" when the next scene cut comes within this many seconds after it and
# no other line starts before that cut; the last line of the episode always ends it.
SCENE_END_SLACK = 2.0

_QUESTION_END = re.compile(r"(？|\?|吗|呢|么)[”」』\"'！!…。.\s]*$")
_QUESTION_WORD = re.compile(r"为什么|凭什么|怎么|难道|是谁")
_SUSPENSE_END = re.compile(r"(…|\.\.\.|！？|？！|\?!|!\?)[”」』\"'\s]*$")
_EXCLAIM = re.compile(r"[！!]")


@dataclass(frozen=True)
class LineScore:
    score: float
    reasons: tuple[str, ...]
    cliffhanger: bool = False


@lru_cache(maxsize=1)
def word_kinds() -> dict[str, str]:
    """word → kind from the bundled list."""
    kinds: dict[str, str] = {}
    for raw in WORDS_FILE.read_text(encoding="utf-8").splitlines():
        if raw.strip() and not raw.startswith("#"):
            word, kind = raw.split("\t")[:2]
            kinds[word.strip()] = kind.strip()
    return kinds


def word_hits(text: str) -> dict[str, list[str]]:
    """The listed words in `text`, by kind. Words of two or more characters match anywhere; a
    single character only as a whole jieba word."""
    tokens: set[str] | None = None
    hits: dict[str, list[str]] = {}
    for word, kind in word_kinds().items():
        if len(word) == 1:
            if tokens is None:
                tokens = set(jieba().cut(text))
            found = word in tokens
        else:
            found = word in text
        if found:
            hits.setdefault(kind, []).append(word)
    return hits


def is_question(text: str) -> bool:
    return bool(_QUESTION_END.search(text) or _QUESTION_WORD.search(text))


def score_line(text: str, *, ends_scene: bool = False) -> LineScore:
    """A line's score and reasons; `ends_scene`: it is the last line before a scene cut or of
    the episode."""
    hits = word_hits(text)
    score, reasons = 0.0, []
    for kind in ("conflict", "emotion", "suspense"):
        if hits.get(kind):
            score += min(CAPS[kind], WEIGHTS[kind] * len(hits[kind]))
            reasons.append(LABELS[kind])
    if is_question(text):
        score += QUESTION_SCORE
        reasons.append(QUESTION)
    if _EXCLAIM.search(text):
        score += EXCLAIM_SCORE
        if EMOTION not in reasons:
            reasons.append(EMOTION)
    cliffhanger = ends_scene and bool(hits.get("suspense") or _SUSPENSE_END.search(text))
    if cliffhanger:
        score += CLIFFHANGER_SCORE
        reasons.insert(0, CLIFFHANGER)
    return LineScore(round(score, 3), tuple(reasons), cliffhanger)


def scene_endings(lines: Sequence[SubtitleLine], cuts: Sequence[float],
                  duration: float) -> list[bool]:
    """For each line (sorted by start): whether it is the last one before a scene cut that
    follows within SCENE_END_SLACK seconds, or the episode's last line."""
    ends = []
    for i, line in enumerate(lines):
        if i == len(lines) - 1:
            ends.append(True)
            continue
        after = bisect_right(cuts, line.end - 1e-6)
        cut = cuts[after] if after < len(cuts) else duration
        ends.append(cut - line.end <= SCENE_END_SLACK and lines[i + 1].start >= cut - 1e-6)
    return ends


def score_lines(lines: Sequence[SubtitleLine], cuts: Sequence[float],
                duration: float) -> list[LineScore]:
    """Every line's score, in order."""
    endings = scene_endings(lines, cuts, duration)
    return [score_line(line.text, ends_scene=end) for line, end in zip(lines, endings,
                                                                      strict=True)]
