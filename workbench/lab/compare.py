"""Two to four trials side by side: segments aligned by name, differences marked as spans.

The first trial is the baseline. Each other column's text is diffed against the baseline's
(difflib over tokens: one token per Han character or punctuation mark, one per run of Latin
letters and digits, so `NO.1` is not split into letters) and cut into spans:
`equal`, `insert` (not in the baseline), `replace` (in place of baseline text, which the span
carries as `removed`) and `delete` (an empty span where baseline text was dropped, again with
`removed`). The baseline's own spans are `equal` or `changed` (differs from at least one other
column). Besides the text: each column's estimated seconds, hook length, where the keyword
falls (segment and second), and its check results.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from workbench.errors import InputError
from workbench.lab.estimate import SegmentEstimate
from workbench.lab.trial import KeywordSpot, Trial

MIN_TRIALS, MAX_TRIALS = 2, 4
_TOKEN = re.compile(r"[A-Za-z0-9_.%]+|\s+|.", re.DOTALL)


@dataclass(frozen=True)
class Span:
    text: str
    op: str  # equal | insert | replace | delete (other columns) · equal | changed (baseline)
    removed: str = ""  # the baseline text a replace or delete stands in for


@dataclass(frozen=True)
class Cell:
    text: str
    spans: list[Span]
    chars: int
    seconds: float
    start: float


@dataclass(frozen=True)
class Row:
    segment: str
    cells: list[Cell | None]  # one per trial; None: that template has no such segment


@dataclass(frozen=True)
class Column:
    label: str
    template_id: str
    version: str
    content_hash: str
    total_seconds: float
    target_seconds: float
    hook_seconds: float
    keyword_at: KeywordSpot | None
    similarity: float  # 0–1 to the baseline's whole script (1.0 for the baseline)
    checks: dict[str, int]  # findings by level: pass / info / warn / block
    problems: list[str]  # the warn and block messages


@dataclass(frozen=True)
class Comparison:
    columns: list[Column]
    rows: list[Row]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def _matcher(a: list[str], b: list[str]) -> difflib.SequenceMatcher[str]:
    return difflib.SequenceMatcher(None, a, b, autojunk=False)


def diff_spans(base: str, other: str) -> list[Span]:
    """`other` as spans against `base`."""
    a, b = tokens(base), tokens(other)
    spans: list[Span] = []
    for tag, i1, i2, j1, j2 in _matcher(a, b).get_opcodes():
        removed = "".join(a[i1:i2]) if tag in ("replace", "delete") else ""
        spans.append(Span("".join(b[j1:j2]), tag, removed))
    return _merged(spans)


def baseline_spans(base: str, others: list[str]) -> list[Span]:
    """`base` with every token that some other text does not keep marked `changed`."""
    a = tokens(base)
    changed = [False] * len(a)
    for other in others:
        for tag, i1, i2, _j1, _j2 in _matcher(a, tokens(other)).get_opcodes():
            if tag != "equal":
                for i in range(i1, i2):
                    changed[i] = True
    return _merged([Span(tok, "changed" if flag else "equal") for tok, flag in zip(
        a, changed, strict=True)])


def _merged(spans: list[Span]) -> list[Span]:
    out: list[Span] = []
    for span in spans:
        if out and out[-1].op == span.op and span.op in ("equal", "changed"):
            out[-1] = Span(out[-1].text + span.text, span.op)
        elif span.text or span.removed:
            out.append(span)
    return out


def _script(trial: Trial) -> str:
    return "\n".join(f"[{s.name}]{s.text}" for s in trial.segments)


def _cell(seg: SegmentEstimate, spans: list[Span]) -> Cell:
    return Cell(seg.text, spans, seg.chars, seg.seconds, seg.start)


def compare_trials(trials: list[Trial]) -> Comparison:
    """Side-by-side rows of 2–4 trials (the first is the baseline)."""
    if not MIN_TRIALS <= len(trials) <= MAX_TRIALS:
        raise InputError(f"对比需要 {MIN_TRIALS} 到 {MAX_TRIALS} 个模板或版本（收到 {len(trials)} 个）")
    names: list[str] = []
    for trial in trials:
        names += [s.name for s in trial.segments if s.name not in names]
    by_name = [{s.name: s for s in trial.segments} for trial in trials]
    rows: list[Row] = []
    for name in names:
        base = by_name[0].get(name)
        cells: list[Cell | None] = []
        for i, segments in enumerate(by_name):
            seg = segments.get(name)
            if seg is None:
                cells.append(None)
            elif i == 0:
                others = [s[name].text if name in s else "" for s in by_name[1:]]
                cells.append(_cell(seg, baseline_spans(seg.text, others)))
            else:
                cells.append(_cell(seg, diff_spans(base.text if base else "", seg.text)))
        rows.append(Row(name, cells))
    baseline = tokens(_script(trials[0]))
    columns = []
    for trial in trials:
        counts = dict.fromkeys(("pass", "info", "warn", "block"), 0)
        for finding in trial.checks:
            counts[finding.level] += 1
        similarity = _matcher(baseline, tokens(_script(trial))).ratio()
        columns.append(Column(
            trial.label, trial.template_id, trial.version, trial.content_hash,
            trial.total_seconds, trial.target_seconds, trial.hook_seconds, trial.keyword_at,
            round(similarity, 3), counts,
            [f.message for f in trial.checks if f.level in ("warn", "block")]))
    return Comparison(columns, rows)


WDIFF_MARKS = {"insert": ("{+", "+}"), "delete": ("[-", "-]"), "changed": ("{~", "~}")}


def mark_spans(spans: list[Span], marks: dict[str, tuple[str, str]] = WDIFF_MARKS,
               escape: Callable[[str], str] = str) -> str:
    """Spans joined with each difference wrapped in `marks` (opening, closing) by kind: an
    insert's text, a delete's removed text, a replace as both (removed first), a changed
    baseline span's text; `escape` applies to every piece of text (html.escape for HTML)."""

    def wrap(kind: str, text: str) -> str:
        opening, closing = marks[kind]
        return f"{opening}{escape(text)}{closing}"

    out = []
    for span in spans:
        if span.op in ("delete", "replace"):
            out.append(wrap("delete", span.removed))
        if span.op in ("insert", "replace"):
            out.append(wrap("insert", span.text))
        elif span.op == "changed":
            out.append(wrap("changed", span.text))
        elif span.op == "equal":
            out.append(escape(span.text))
    return "".join(out)


def marked_text(cell: Cell | None) -> str:
    """A cell as plain text with differences marked wdiff-style: `{+new+}`, `[-old-]`,
    `[-old-]{+new+}` for a replacement, and `{~changed~}` in the baseline."""
    return "—" if cell is None else mark_spans(cell.spans)
