"""The voice backend contract and the data a synthesis produces.

A backend turns one piece of text into mono 16-bit PCM plus word timings. Word timings carry
character offsets into the text the backend was given, so later stages (subtitles, keyword
highlighting) can map time back to the exact characters, punctuation included.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar, Protocol

from workbench.errors import InputError

_RATE = re.compile(r"^[+-]\d{1,3}%$")
_PITCH = re.compile(r"^[+-]\d{1,3}Hz$")


@dataclass(frozen=True)
class VoiceParams:
    """Voice and prosody in edge-tts notation, which every backend accepts and maps."""

    voice: str
    rate: str = "+0%"  # -50% … +100%
    pitch: str = "+0Hz"  # -50Hz … +50Hz
    volume: str = "+0%"  # -50% … +50%

    def __post_init__(self) -> None:
        if not self.voice.strip():
            raise InputError("配音音色不能为空（例如 zh-CN-XiaoxiaoNeural 或 cmn）")
        for label, value, pattern, example in (
            ("语速 rate", self.rate, _RATE, "+20% 或 -10%"),
            ("音量 volume", self.volume, _RATE, "+10%"),
            ("音调 pitch", self.pitch, _PITCH, "+5Hz 或 -5Hz"),
        ):
            if not pattern.match(value):
                raise InputError(f"{label} 格式不对: {value!r}（应写成 {example}，带正负号）")
        if not -50 <= self.rate_percent <= 100:
            raise InputError(f"语速 {self.rate} 超出范围（-50% 到 +100%）")
        if not -50 <= self.volume_percent <= 50:
            raise InputError(f"音量 {self.volume} 超出范围（-50% 到 +50%）")
        if not -50 <= self.pitch_hz <= 50:
            raise InputError(f"音调 {self.pitch} 超出范围（-50Hz 到 +50Hz）")

    @property
    def rate_percent(self) -> int:
        return int(self.rate.rstrip("%"))

    @property
    def volume_percent(self) -> int:
        return int(self.volume.rstrip("%"))

    @property
    def pitch_hz(self) -> int:
        return int(self.pitch[:-2])


GENDERS = ("male", "female")


@dataclass(frozen=True)
class VoiceHint:
    """A script template's wishes for its narration (front matter `voice:`). They apply only
    where neither the job nor the user's own settings choose: `rate` and `pitch` replace the
    built-in defaults, `gender` picks the backend's voice of that gender."""

    gender: str = ""  # male | female | "" (no wish)
    rate: str = ""  # "+25%"
    pitch: str = ""  # "+5Hz"

    @classmethod
    def from_front_matter(cls, voice: dict[str, Any] | None) -> VoiceHint:
        voice = voice or {}
        return cls(gender=str(voice.get("gender", "")), rate=str(voice.get("rate", "")),
                   pitch=str(voice.get("pitch", "")))

    def __bool__(self) -> bool:
        return bool(self.gender or self.rate or self.pitch)


@dataclass(frozen=True)
class WordTiming:
    """One spoken word: seconds from the start of its audio, and where it is in the text."""

    text: str
    start: float
    end: float
    char_start: int  # offset into the text that was synthesized (segment text)
    char_end: int  # exclusive

    def shifted(self, seconds: float) -> WordTiming:
        return WordTiming(self.text, round(self.start + seconds, 3), round(self.end + seconds, 3),
                          self.char_start, self.char_end)


@dataclass
class Synthesis:
    """A backend's result for one text: raw PCM (s16le, mono) and word timings."""

    pcm: bytes
    sample_rate: int
    words: list[WordTiming] = field(default_factory=list)

    @property
    def duration(self) -> float:
        return len(self.pcm) / 2 / self.sample_rate


@dataclass(frozen=True)
class VoiceInfo:
    id: str  # what --voice takes
    backend: str
    locale: str  # zh-CN, yue, ...
    gender: str = ""  # Female | Male | ""
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class VoiceBackend(Protocol):
    name: ClassVar[str]
    offline: ClassVar[bool]
    # the voice a template asking for a gender gets (VoiceHint.gender → voice id)
    gender_voices: ClassVar[dict[str, str]]

    @property
    def version(self) -> str:
        """Library/engine version; part of the cache key, so a new engine re-synthesizes."""
        ...

    def synthesize(self, text: str, params: VoiceParams) -> Synthesis:
        """Speak `text`. Raises BackendUnavailable when the engine cannot be reached at all."""
        ...

    def list_voices(self) -> list[VoiceInfo]: ...

    def accepts(self, voice: str) -> bool:
        """Whether `voice` names one of this backend's voices (used to route --voice)."""
        ...
