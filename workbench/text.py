"""Chinese text helpers shared by stages: sentences, clauses, punctuation, length fitting.

Sentence splitting keeps closing quotes with their sentence and does not split inside a
quotation, so `“快跑！他们来了！”他喊道。` yields `“快跑！他们来了！”` and `他喊道。`: narration
cut mid-sentence or mid-quote sounds broken.
"""

from __future__ import annotations

import functools
import logging
import re
from types import ModuleType
from typing import Any

_SPACE = re.compile(r"\s+")
SENTENCE_END = "。！？!?"
ELLIPSIS = "…⋯"
CLAUSE_MARKS = "，；、,;：:"
OPEN_QUOTES = "“「『‘"
CLOSE_QUOTES = "”」』’"
CLOSE_BRACKETS = "）)》】〉"
CUT_MARK = "……"
DASHES = "—"  # 那把钥匙—— : speech broken off ends a sentence as well


def as_text(value: Any) -> str:
    return "" if value is None else str(value)


def split_paragraphs(text: str) -> list[str]:
    """Non-empty lines, stripped of indentation (novels indent with full-width spaces)."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def _scan(para: str, track_quotes: bool) -> tuple[list[str], bool]:
    out: list[str] = []
    start = depth = 0
    ascii_open = False
    i, n = 0, len(para)

    def after_closers(j: int) -> int:
        while j < n and para[j] in CLOSE_QUOTES + CLOSE_BRACKETS + ('"' if ascii_open else ""):
            j += 1
        return j

    while i < n:
        ch = para[i]
        if track_quotes and (ch in OPEN_QUOTES or (ch == '"' and not ascii_open)):
            depth += 1
            ascii_open = ascii_open or ch == '"'
        elif track_quotes and depth and (ch in CLOSE_QUOTES or (ch == '"' and ascii_open)):
            depth -= 1
            ascii_open = ascii_open and ch != '"'
            prev = para[i - 1] if i else ""
            if depth == 0 and prev and prev in SENTENCE_END + ELLIPSIS:
                i = after_closers(i + 1)
                out.append(para[start:i])
                start = i
                continue
        elif depth == 0 and ch in SENTENCE_END + ELLIPSIS:
            j = i
            while j < n and para[j] in SENTENCE_END + ELLIPSIS:
                j += 1
            strong = any(c in SENTENCE_END for c in para[i:j])
            k = after_closers(j)
            # An ellipsis alone is often a pause inside a sentence; it ends one only at the
            # end of the paragraph or before a closing quote.
            if strong or k == n or k > j:
                out.append(para[start:k])
                start = i = k
                continue
            i = j
            continue
        i += 1
    if para[start:].strip():
        out.append(para[start:])
    return [s.strip() for s in out if s.strip()], depth == 0


def split_sentences(text: Any) -> list[str]:
    """Sentences in reading order; a paragraph break always ends a sentence."""
    result: list[str] = []
    for para in split_paragraphs(as_text(text)):
        sentences, balanced = _scan(para, track_quotes=True)
        if not balanced:  # a stray quote mark would swallow the paragraph: ignore quotes
            sentences, _ = _scan(para, track_quotes=False)
        result.extend(sentences)
    return result


def ends_with_punct(sentence: str) -> bool:
    core = sentence.rstrip(CLOSE_QUOTES + CLOSE_BRACKETS + '"')
    return bool(core) and core[-1] in SENTENCE_END + ELLIPSIS + CLAUSE_MARKS + DASHES


def join_sentences(sentences: list[str]) -> str:
    """Join sentences; a paragraph that ended without punctuation gets 。 so TTS pauses."""
    parts = [s if ends_with_punct(s) or i == len(sentences) - 1 else s + "。"
             for i, s in enumerate(sentences)]
    return "".join(parts)


def cut_sentence(sentence: str, n: int) -> str:
    """At most n characters of one long sentence: at a clause mark if one is close, plus ……"""
    if len(sentence) <= n:
        return sentence
    if n <= len(CUT_MARK):
        return sentence[:n]
    limit = n - len(CUT_MARK)
    head = sentence[: limit + 1]
    k = max(head.rfind(mark) for mark in CLAUSE_MARKS)
    if k < max(1, limit // 3):  # no clause mark, or it would leave a stub: hard cut
        k = limit
    return sentence[:k].rstrip(OPEN_QUOTES + '"') + CUT_MARK


def tidy_punctuation(text: str) -> str:
    """Fix what empty variables leave behind: `，，` → `，`, `，。` → `。`, a leading `，`."""
    text = re.sub(r"([，、；,;])(?:[，、；,;])+", r"\1", text)
    text = re.sub(r"[，、；,;]+(?=[。！？!?…])", "", text)
    return text.lstrip("，、；,; ")


def split_clauses(sentence: str) -> list[str]:
    """Split one sentence after commas, semicolons and colons (the marks stay attached)."""
    parts = re.findall(rf"[^{CLAUSE_MARKS}]+[{CLAUSE_MARKS}]*", sentence)
    return [p for p in parts if p.strip()] or [sentence]


def visible_len(text: str) -> int:
    """Characters that take time to speak or read (whitespace does not)."""
    return len(_SPACE.sub("", text))


def fit_sentences(sentences: list[str], max_chars: int) -> list[str]:
    """The longest prefix of `sentences` whose total length stays within `max_chars`.

    At least one sentence is kept so a segment never comes out empty.
    """
    kept: list[str] = []
    total = 0
    for sentence in sentences:
        n = visible_len(sentence)
        if kept and total + n > max_chars:
            break
        kept.append(sentence)
        total += n
    return kept


def strip_end_punct(text: str) -> str:
    """Drop surrounding quotes and trailing punctuation (for titles and captions)."""
    marks = SENTENCE_END + ELLIPSIS + CLAUSE_MARKS + CLOSE_QUOTES + CLOSE_BRACKETS + '"—. '
    return text.strip().lstrip(OPEN_QUOTES + '"“ ').rstrip(marks).strip()


@functools.cache
def jieba() -> ModuleType:
    """The jieba module, imported on first use: it is slow to load, and its start-up chatter
    ("Building prefix dict ...") would otherwise land in every log."""
    import jieba as module

    module.setLogLevel(logging.WARNING)
    return module
