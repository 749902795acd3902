"""The rewrite backend contract: one method, capabilities as class attributes."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar, Protocol

from workbench.models import Segment
from workbench.rewrite.prompts import Prompt


@dataclass(frozen=True)
class RewriteRequest:
    """What a backend turns into narration: the template's segments plus context."""

    segments: list[Segment]  # from the script template, in order (hook, body, cta, ...)
    keyword: str
    app: str
    target_chars: int  # the whole script's length target, in characters
    book_title: str = ""
    chapter_title: str = ""
    prompt: Prompt | None = None
    seed: int = 0
    instruction: str = ""  # extra free-text instruction (e.g. from a batch brief)

    def cache_payload(self) -> dict[str, Any]:
        data = asdict(self)
        data["prompt"] = self.prompt.cache_payload() if self.prompt else None
        return data


@dataclass
class RewriteResult:
    segments: list[Segment]
    title: str
    caption: str
    hashtags: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RewriteResult:
        return cls(
            segments=[Segment(**s) for s in data["segments"]],
            title=data["title"],
            caption=data["caption"],
            hashtags=list(data.get("hashtags", [])),
        )


class RewriteBackend(Protocol):
    name: ClassVar[str]
    version: ClassVar[str]  # bump when output for the same input changes (invalidates cache)
    offline: ClassVar[bool]

    @property
    def model(self) -> str:
        """Model name recorded on the job and in the cache key ('' when not applicable)."""
        ...

    @property
    def endpoint(self) -> str:
        """Where the model is served, without credentials ('' for local rules); in the cache key."""
        ...

    def rewrite(self, request: RewriteRequest) -> RewriteResult: ...
