"""The images backend contract: one method, capabilities as class attributes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Protocol


@dataclass(frozen=True)
class GeneratedImage:
    """One checked image: its encoded bytes and what Pillow found in them."""

    data: bytes
    format: str  # "png", "jpeg", "webp"
    width: int
    height: int


class ImagesBackend(Protocol):
    name: ClassVar[str]
    version: ClassVar[str]  # bump when output for the same input changes (invalidates cache)

    @property
    def model(self) -> str:
        """Model name, in the cache key."""
        ...

    @property
    def endpoint(self) -> str:
        """Where the model is served, without credentials; in the cache key."""
        ...

    @property
    def size(self) -> str:
        """The size asked for, "WxH"; in the cache key."""
        ...

    def generate(self, prompt: str, seed: int) -> GeneratedImage: ...

    def close(self) -> None:
        """Let go of the connection (the pipeline calls it once the pictures are made)."""
