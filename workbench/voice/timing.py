"""The timing map: where every segment and every word sits in the final narration audio.

Written as `timings.json` beside the audio; the subtitle builder and the renderer read it.
Times are seconds from the start of the audio file. A word's `char_start`/`char_end` index into
the text of its segment (`segments[word.segment].text`), so punctuation and keyword positions
can always be recovered from the original text.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from workbench.errors import InputError
from workbench.files import read_json, write_text_atomic


@dataclass(frozen=True)
class SegmentSpan:
    name: str  # hook, body, cta, ...
    text: str
    start: float
    end: float


@dataclass(frozen=True)
class TimedWord:
    text: str
    start: float
    end: float
    segment: int  # index into TimingMap.segments
    char_start: int  # into segments[segment].text
    char_end: int  # exclusive


@dataclass
class TimingMap:
    audio: str  # audio file name (relative to the JSON's folder)
    sample_rate: int
    duration: float
    backend: str
    voice: str
    rate: str = "+0%"
    pitch: str = "+0Hz"
    volume: str = "+0%"
    keyword: str = ""
    segments: list[SegmentSpan] = field(default_factory=list)
    words: list[TimedWord] = field(default_factory=list)
    fallback: str = ""  # non-empty when another backend spoke than the one asked for: why

    def segment_words(self, index: int) -> list[TimedWord]:
        return [w for w in self.words if w.segment == index]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TimingMap:
        data = dict(data)
        data["segments"] = [SegmentSpan(**s) for s in data.get("segments", [])]
        data["words"] = [TimedWord(**w) for w in data.get("words", [])]
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in known})

    def save(self, path: Path) -> None:
        write_text_atomic(path, json.dumps(self.to_dict(), ensure_ascii=False, indent=1) + "\n")

    @classmethod
    def load(cls, path: Path) -> TimingMap:
        data = read_json(path, "时间轴文件")
        try:
            return cls.from_dict(data)
        except (TypeError, KeyError, ValueError, AttributeError) as exc:
            raise InputError(f"{path}: 不是有效的时间轴 JSON（{exc}）") from None
