"""The transcription backend contract: turn a small audio file into timed subtitle lines."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Protocol

if TYPE_CHECKING:  # config imports the registry, which must stay light
    from pathlib import Path

    from workbench.materials.sidecar import SubtitleLine


class TranscribeBackend(Protocol):
    name: ClassVar[str]
    version: ClassVar[str]  # bump when output for the same audio changes (invalidates cache)

    @property
    def model(self) -> str:
        """Model name, recorded in the cache key."""
        ...

    @property
    def endpoint(self) -> str:
        """Where the model runs, without credentials (a URL or a model folder); in the cache
        key, since two providers may serve different models under one name."""
        ...

    def transcribe(self, audio: Path, language: str | None) -> list[SubtitleLine]:
        """Timed lines (seconds from the start of `audio`), in order, start <= end, text
        stripped. `language` None: let the model detect it. Raises BackendError."""
        ...
