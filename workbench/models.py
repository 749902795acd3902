"""Plain data passed between stages."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.errors import InputError
from workbench.files import read_json

if TYPE_CHECKING:  # config imports the rewrite registry, which imports this module
    from workbench.config import Settings


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
    notes: list[str] = field(default_factory=list)  # what reading changed, e.g. a cut-off tail


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


RENDER_VERSION = 4  # bump when a change to the render makes old packages stale


@dataclass(frozen=True)
class MakeJob:
    """One video to make, as a value: the same job gives the same package (and is skipped
    when that package already exists and verifies). None means 'from settings'."""

    material_id: int
    chapter: int | None  # a novel's chapter; None for a drama (its segments say what is used)
    template: str
    keyword: str
    app: str | None = None
    prompt: str = "narration"
    rewrite_backend: str | None = None
    variables: dict[str, Any] = field(default_factory=dict)
    instruction: str = ""
    seed: int = 0  # variant seed: background palette/clip/offset
    voice_backend: str | None = None
    voice: str | None = None
    rate: str | None = None
    pitch: str | None = None
    volume: str | None = None
    background: str | None = None  # None/"page[:theme]" | "generated" | a file or folder
    bgm: str | None = None  # None/"generated" | "none" | an audio file
    bgm_volume: float | None = None  # 0–1 under the voice; None: settings.bgm_volume
    profile: str | None = None  # final | draft
    encoder: str | None = None  # libx264 | auto | a hardware encoder
    banner: str | None = None  # e.g. "{app}搜索【{keyword}】"
    task_id: int | None = None
    max_seconds: float | None = None  # the task's length limit
    cover_at: float | None = None  # seconds into the video; None: in the hook
    # A script the user has already generated and edited (Script.to_dict()): used as is instead
    # of running the template + rewrite again. Part of the recipe, so each edit is a new package.
    script: dict[str, Any] | None = None
    # The rewrite's wording seed when it should differ from `seed` (batch variants that share a
    # script but not a background). None: `seed` drives both, as before.
    script_seed: int | None = None
    # A package made while the task's keyword is still pending (`--draft`): it may not be
    # published, and says so on its checklist.
    draft: bool = False
    # Subtitle style for this job: {"style": "karaoke", "size": 96, ...} (subtitle_styles.KEYS);
    # None: the template's and the settings'.
    subtitles: dict[str, Any] | None = None
    # A drama's segments as (episode position from 1, start, end) in seconds, in story order.
    # None: chosen from the drama's highlights when the job is bound (lifecycle.bind_job), so a
    # planned drama job always has them. Left out of the recipe while None.
    segments: tuple[tuple[int, float, float], ...] | None = None
    fit: str | None = None  # a drama's picture in 9:16: blur | crop; None: settings.drama_fit

    @property
    def wording_seed(self) -> int:
        return self.seed if self.script_seed is None else self.script_seed

    def bgm_level(self, settings: Settings) -> float:
        """The music's level under the voice: the job's, else the settings'."""
        if self.bgm_volume is None:
            return settings.bgm_volume
        if not 0 <= self.bgm_volume <= 1:
            raise InputError(f"背景音乐音量应在 0 到 1 之间（收到 {self.bgm_volume:g}），如 0.2")
        return float(self.bgm_volume)

    def recipe(self, settings: Settings) -> dict[str, Any]:
        """Everything that decides the output, with settings defaults filled in. Optional
        fields added later are left out while unset, so older packages keep their ids."""
        fields = asdict(self)
        if fields["script_seed"] is None:
            del fields["script_seed"]
        if not fields["draft"]:
            del fields["draft"]
        if not fields["subtitles"]:
            del fields["subtitles"]
        for name in ("segments", "fit"):
            if fields[name] is None:
                del fields[name]
        if self.segments is not None:  # tuples and lists hash alike; keep it plain
            fields["segments"] = [list(s) for s in self.segments]
        return {
            **fields,
            "app": self.app or settings.app_name,
            "rewrite_backend": self.rewrite_backend or settings.rewrite_backend,
            "voice_backend": self.voice_backend or settings.voice_backend,
            "voice": self.voice or settings.voice, "rate": self.rate or settings.voice_rate,
            "pitch": self.pitch or settings.voice_pitch,
            "volume": self.volume or settings.voice_volume,
            "profile": self.profile or settings.render_profile,
            "encoder": self.encoder or settings.encoder,
            "default_banner": settings.banner,
            "background": _file_identity(self.background, "page"),
            "bgm": _file_identity(self.bgm), "page_theme": settings.page_theme,
            "label": settings.ai_label, "label_seconds": settings.ai_label_seconds,
            "end_card_seconds": settings.end_card_seconds, "bgm_volume": self.bgm_level(settings),
            "loudness": settings.loudness, "pause": settings.voice_pause,
            "font_size": settings.subtitle_font_size, "max_chars": settings.subtitle_max_chars,
            "render_version": RENDER_VERSION,
            **_subtitle_settings(settings),
            **({"images": [settings.images_backend, settings.images_base_url or "",
                           settings.images_model, settings.images_size, settings.images_style,
                           settings.images_max]}
               if self.background == "images:ai" else {}),
        }


def _subtitle_settings(settings: Settings) -> dict[str, Any]:
    """The subtitle look chosen in settings, when it is not the default (so jobs made with the
    default look keep their ids). Size and line length are in the recipe already."""
    from workbench.subtitle_styles import settings_overrides

    chosen = {k: v for k, v in settings_overrides(settings).items()
              if k not in ("size", "max_chars")}
    return {"subtitle_settings": chosen} if chosen else {}


def _file_identity(spec: str | None, default: str = "generated") -> Any:
    """A background/BGM spec for the recipe: a path also counts by its size and mtime, so
    replacing the footage makes a new package instead of reusing the old one."""
    if spec in (None, "", "generated", "none", "page"):
        return spec or default
    path = Path(spec).expanduser()
    if path.is_file():
        stat = path.stat()
        return [str(path.absolute()), stat.st_size, int(stat.st_mtime)]
    if path.is_dir():
        return [str(path.absolute()), sorted((p.name, p.stat().st_size) for p in path.iterdir()
                                             if p.is_file())]
    return str(spec)
