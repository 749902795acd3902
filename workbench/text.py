"""Chinese text helpers shared by stages: sentence and clause splitting, length fitting."""

from __future__ import annotations

import re

SENTENCE_END = "。！？!?…"
CLOSERS = "”’」』）)】"
CLAUSE_BREAK = "，,；;：:、"

# A sentence: anything up to a run of end marks, plus the closing quotes that follow it.
_SENTENCE = re.compile(rf"[^{SENTENCE_END}]*[{SENTENCE_END}]+[{CLOSERS}]*|[^{SENTENCE_END}]+$")
_SPACE = re.compile(r"\s+")


def split_sentences(text: str) -> list[str]:
    """Split narration into sentences, keeping end marks and closing quotes attached."""
    out: list[str] = []
    for para in text.splitlines():
        para = para.strip()
        if not para:
            continue
        out.extend(s.strip() for s in _SENTENCE.findall(para) if s.strip())
    return out


def split_clauses(sentence: str) -> list[str]:
    """Split one sentence after commas, semicolons and colons (the marks stay attached)."""
    parts = re.findall(rf"[^{CLAUSE_BREAK}]+[{CLAUSE_BREAK}]*", sentence)
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
    return text.strip().rstrip(SENTENCE_END + CLAUSE_BREAK + CLOSERS + "。.— ").strip()
