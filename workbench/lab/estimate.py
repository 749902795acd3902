"""How long a script will take to say, estimated from its text before any voice is made.

A narrator speaks `chars_per_second` characters a second (the setting `make` sizes scripts
with), faster by the voice rate (`+20%` → ×1.2), and pauses at punctuation: a sentence end
costs SENTENCE_PAUSE seconds, a clause mark CLAUSE_PAUSE. Segments are PAUSE_BETWEEN apart,
as the voice stage joins them (settings voice_pause). Characters per second is then what the
listener hears: spoken characters over the estimated seconds — lower for a segment full of
short sentences, close to the rate for one long run-on clause.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from workbench.models import Segment
from workbench.text import CLAUSE_MARKS, ELLIPSIS, SENTENCE_END

SENTENCE_PAUSE = 0.3
CLAUSE_PAUSE = 0.12
PAUSE_BETWEEN = 0.35
_RATE = re.compile(r"^([+-]\d{1,3})%$")


@dataclass(frozen=True)
class SegmentEstimate:
    name: str
    text: str
    chars: int  # characters that are spoken (letters, digits, Han characters)
    seconds: float  # estimated spoken length
    chars_per_second: float  # chars / seconds
    start: float  # seconds from the start of the narration
    end: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def second_at(self, index: int) -> float:
        """When the character at `index` of `text` is reached (linear within the segment)."""
        before = spoken_chars(self.text[:index])
        return round(self.start + (self.seconds * before / self.chars if self.chars else 0), 2)


def spoken_chars(text: str) -> int:
    return sum(1 for ch in text if ch.isalnum())


def rate_factor(rate: str | None) -> float:
    """`+20%` → 1.2; anything else → 1."""
    match = _RATE.match(rate or "")
    return max(0.1, 1 + int(match.group(1)) / 100) if match else 1.0


def estimate_seconds(text: str, chars_per_second: float, rate: str | None = None) -> float:
    speed = max(chars_per_second, 0.1) * rate_factor(rate)
    pauses = (sum(text.count(mark) for mark in SENTENCE_END + ELLIPSIS) * SENTENCE_PAUSE
              + sum(text.count(mark) for mark in CLAUSE_MARKS) * CLAUSE_PAUSE)
    return spoken_chars(text) / speed + pauses


def estimate_segments(segments: Sequence[Segment], chars_per_second: float,
                      rate: str | None = None, gap: float = PAUSE_BETWEEN
                      ) -> list[SegmentEstimate]:
    """Each segment with its estimated length and where it starts and ends."""
    out: list[SegmentEstimate] = []
    at = 0.0
    for segment in segments:
        seconds = estimate_seconds(segment.text, chars_per_second, rate)
        chars = spoken_chars(segment.text)
        if out:
            at += gap
        out.append(SegmentEstimate(segment.name, segment.text, chars, round(seconds, 2),
                                   round(chars / seconds, 2) if seconds else 0.0,
                                   round(at, 2), round(at + seconds, 2)))
        at += seconds
    return out
