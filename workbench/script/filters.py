"""Jinja2 filters for Chinese narration, registered on the template sandbox.

They work on sentences, not characters, because narration cut mid-sentence sounds broken.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from workbench.text import (
    CLAUSE_MARKS,
    CLOSE_BRACKETS,
    CLOSE_QUOTES,
    ELLIPSIS,
    SENTENCE_END,
    as_text,
    cut_sentence,
    ends_with_punct,
    join_sentences,
    split_paragraphs,
    split_sentences,
    tidy_punctuation,
    visible_len,
)


def excerpt(value: Any, n: int = 120) -> str:
    """Whole sentences from the start, at most n characters; a longer first sentence is cut."""
    n = int(n)
    sentences = split_sentences(value)
    if n <= 0 or not sentences:
        return ""
    taken: list[str] = []
    total = 0
    for sentence in sentences:
        extra = len(sentence) + (0 if not taken or ends_with_punct(taken[-1]) else 1)
        if total + extra > n:
            break
        taken.append(sentence)
        total += extra
    return join_sentences(taken) if taken else cut_sentence(sentences[0], n)


def first_sentence(value: Any) -> str:
    sentences = split_sentences(value)
    return sentences[0] if sentences else ""


def last_sentence(value: Any) -> str:
    sentences = split_sentences(value)
    return sentences[-1] if sentences else ""


def sentences(value: Any, n: int = 1) -> str:
    return join_sentences(split_sentences(value)[: max(int(n), 0)])


def paragraphs(value: Any, n: int = 1) -> str:
    """First n paragraphs, one per line (a line break in a segment becomes a pause)."""
    return "\n".join(split_paragraphs(as_text(value))[: max(int(n), 0)])


_DIALOGUE = re.compile(r"“[^“”]*”|「[^「」]*」|『[^『』]*』|\"[^\"\n]*\"")


def strip_dialogue(value: Any) -> str:
    """The narration without quoted speech: `他冷笑道：“滚。”说完就走。` → `他冷笑道，说完就走。`"""
    kept: list[str] = []
    for para in split_paragraphs(as_text(value)):
        text = _DIALOGUE.sub("\x00", para)
        text = re.sub(r"[：:]\s*\x00\s*$", "。", text)
        text = re.sub(r"[：:]\s*\x00(?=\s*[" + SENTENCE_END + CLAUSE_MARKS + "])", "", text)
        text = re.sub(r"[：:]\s*\x00", "，", text).replace("\x00", "")
        text = tidy_punctuation(text).strip(CLAUSE_MARKS + " ")
        if text and not all(unicodedata.category(c).startswith("P") for c in text):
            kept.append(text)
    return "\n".join(kept)


def quote(value: Any, n: int = 1, min_chars: int = 4) -> str:
    """The n-th line of speech (≥ min_chars) without its marks.

    Only quotations with punctuation count as speech: `“一张票。”` does, while a quoted name
    such as `“第十七码头”` or a sound such as `“啪”` does not.
    """
    lines = [m.group(0)[1:-1].strip() for m in _DIALOGUE.finditer(as_text(value))]
    lines = [line for line in lines if len(line) >= int(min_chars)
             and any(c in SENTENCE_END + ELLIPSIS + CLAUSE_MARKS for c in line)]
    index = int(n) - 1
    return lines[index] if 0 <= index < len(lines) else ""


def striking(value: Any, n: int = 30) -> str:
    """The first short question or exclamation (≤ n chars), else the first sentence cut to n."""
    n = int(n)
    all_sentences = split_sentences(value)
    for sentence in all_sentences:
        core = sentence.rstrip(CLOSE_QUOTES + CLOSE_BRACKETS + '"')
        if core and core[-1] in "！？!?" and len(sentence) <= n:
            return sentence
    return cut_sentence(all_sentences[0], n) if all_sentences else ""


def chars(value: Any) -> int:
    """Length without whitespace: what the narrator will actually say."""
    return visible_len(as_text(value))


FILTERS = {
    "excerpt": excerpt, "first_sentence": first_sentence, "last_sentence": last_sentence,
    "sentences": sentences, "paragraphs": paragraphs, "strip_dialogue": strip_dialogue,
    "quote": quote, "striking": striking, "chars": chars,
}
