"""Plain data passed between stages."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from workbench.errors import InputError
from workbench.files import read_json


@dataclass(frozen=True)
class Chapter:
    index: int  # 1-based, in reading order
    title: str
    text: str

    @property
    def chars(self) -> int:
        return len(self.text)


@dataclass(frozen=True)
class NovelText:
    """A decoded, cleaned and split novel, before it is stored."""

    title: str
    encoding: str  # e.g. "utf_8", "gb18030", "big5", "utf_16", or "epub"
    format: str  # "txt" | "epub"
    chapters: list[Chapter]
    split: str = "headings"  # "headings" | "size" (no headings found)


@dataclass(frozen=True)
class Segment:
    name: str  # hook, body, cta, ...
    text: str


@dataclass
class Script:
    """A narration script: ordered segments plus the copy that goes with the video."""

    segments: list[Segment]
    title: str = ""
    caption: str = ""
    hashtags: list[str] = field(default_factory=list)
    keyword: str = ""
    app: str = ""
    template_id: str = ""
    template_version: str = ""
    template_hash: str = ""
    prompt_id: str = ""
    backend: str = ""
    model: str = ""
    material_id: int | None = None
    chapter: int | None = None
    cached: bool = False

    def segment(self, name: str) -> Segment:
        for seg in self.segments:
            if seg.name == name:
                return seg
        raise KeyError(name)

    @property
    def text(self) -> str:
        return "".join(s.text for s in self.segments)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def load(cls, path: Path) -> Script:
        """Read a script JSON (what `workbench script --out` writes), with errors that say why."""
        data = read_json(path, "脚本文件")
        segments = data.get("segments") if isinstance(data, dict) else None
        if not isinstance(segments, list) or not all(
            isinstance(s, dict) and isinstance(s.get("name"), str)
            and isinstance(s.get("text"), str) for s in segments
        ):
            raise InputError(
                f"{path}: 脚本缺少 segments 列表（每项需要 name 和 text，"
                "可用 workbench script --out 生成）"
            )
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Script:
        data = dict(data)
        data["segments"] = [Segment(**s) for s in data.get("segments", [])]
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in known})
