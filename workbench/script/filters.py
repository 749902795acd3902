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
    CUT_MARK,
    ELLIPSIS,
    OPEN_QUOTES,
    SENTENCE_END,
    as_text,
    cut_sentence,
    ends_with_punct,
    join_sentences,
    split_clauses,
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


def omit(value: Any, part: Any) -> str:
    """The text without `part` (a hook taken from it), so the listener does not hear it twice.

    Quoted speech goes with its quotation marks, and the colon that led into it ends the
    sentence: `她笑了笑：“又一宿没睡？”` without the question is `她笑了笑。`, not a sentence
    that stops on `：`.
    """
    text, core = as_text(value), as_text(part).strip().strip(OPEN_QUOTES + CLOSE_QUOTES + '"')
    if not core:
        return text
    for opening, closing in ("“”", "「」", "『』", '""'):
        text = text.replace(f"{opening}{core}{closing}", "\x00")
    text = text.replace(core, "\x00")
    text = re.sub(r"[：:]\s*\x00", "。", text).replace("\x00", "")
    kept = []
    for para in split_paragraphs(text):
        para = re.sub(rf"([{SENTENCE_END}])[{CLAUSE_MARKS}]+", r"\1", tidy_punctuation(para))
        para = re.sub(rf"([{SENTENCE_END}])[{SENTENCE_END}]+", r"\1", para)
        if para and not all(unicodedata.category(c).startswith("P") for c in para):
            kept.append(para)
    return "\n".join(kept)


TEASER_WINDOW = 8  # sentences after the excerpt in which to look for the cliffhanger


def teaser(value: Any, after: Any, n: int = 30) -> str:
    """A cliffhanger taken from the chapter: of the sentences just after `after` (the excerpt the
    narration stopped at), the one with the most suspense (a question, an exclamation, conflict
    or suspense words; else the first with several clauses), cut before its last clause and
    ended with …… so the reveal is kept back. Empty when the excerpt runs to the chapter's end:
    the template then falls back to a line of its own."""
    from workbench.drama.dialogue import score_line  # one word list for lines and sentences

    sentences, told = split_sentences(value), split_sentences(after)
    if not sentences or not told:
        return ""
    start = next((i + 1 for i, s in enumerate(sentences) if s == told[-1]), None)
    if start is None:
        return ""
    window = [s for s in sentences[start:start + TEASER_WINDOW] if len(s) >= 6]
    scored = [(score_line(s).score, -i, s) for i, s in enumerate(window)]
    best = max(scored, default=(0.0, 0, ""))
    if best[0] > 0:
        sentence = best[2]
    else:  # no suspense words: the next narrated sentence, stopped before its outcome
        sentence = next((s for s in window if len(split_clauses(s)) > 1 and len(s) >= 12), "")
        if not sentence:
            return ""
    core = sentence.rstrip(CLOSE_QUOTES + CLOSE_BRACKETS + '"')
    if core[-1:] in "！？!?" and len(sentence) <= int(n):
        return sentence
    clauses = split_clauses(core)
    if len(clauses) > 1 and len("".join(clauses[:-1])) >= 6:
        core = "".join(clauses[:-1])
    core = core.rstrip(CLAUSE_MARKS + SENTENCE_END + ELLIPSIS).lstrip(OPEN_QUOTES + '"')
    return cut_sentence(core + CUT_MARK, int(n) + len(CUT_MARK))


def chars(value: Any) -> int:
    """Length without whitespace: what the narrator will actually say."""
    return visible_len(as_text(value))


FILTERS = {
    "excerpt": excerpt, "first_sentence": first_sentence, "last_sentence": last_sentence,
    "sentences": sentences, "paragraphs": paragraphs, "strip_dialogue": strip_dialogue,
    "quote": quote, "striking": striking, "chars": chars, "omit": omit, "teaser": teaser,
}
