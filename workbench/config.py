"""Settings: defaults < workbench.toml < environment variables.

`WORKBENCH_HOME` (default `./.workbench`) holds the SQLite file, caches and outputs. The config
file is `$WORKBENCH_CONFIG`, else `./workbench.toml`, else `$WORKBENCH_HOME/workbench.toml`
(where the web app saves). An API key saved in the web app lives in
`$WORKBENCH_HOME/secrets/llm_api_key` (0600) and is used when no other key is set.
The LLM is chosen with the standard `OPENAI_API_KEY` and `OPENAI_BASE_URL` plus
`WORKBENCH_LLM_MODEL`.

Each setting is declared once, as a `Settings` field with `metadata=option(...)`: its default,
`workbench.toml` key, environment variable and help. `OPTIONS` is derived from those fields;
the README's settings table is checked against it (tests/test_docs.py). Backend and profile
names are checked against their registries, so a new backend needs no edit here.
"""

from __future__ import annotations

import math
import os
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any

from workbench.errors import InputError
from workbench.images.registry import CHOICES as IMAGES_CHOICES
from workbench.render.profiles import PROFILES
from workbench.rewrite.registry import CHOICES as REWRITE_CHOICES
from workbench.subtitle_styles import PRESET_IDS as SUBTITLE_PRESETS
from workbench.transcribe.registry import CHOICES as TRANSCRIBE_CHOICES
from workbench.voice.registry import CHOICES as VOICE_CHOICES

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DRAMA_FITS = ("blur", "crop")
KEY_FILE = Path("secrets") / "llm_api_key"  # under WORKBENCH_HOME; written by settings_file
_OPTION = "workbench.option"  # the key of a field's metadata that makes it a setting


def option(*, toml: str, env: str, help: str, secret: bool = False,
           choices: tuple[str, ...] = (), label: str = "",
           bounds: tuple[float, float] | None = None) -> dict[str, Any]:
    """Metadata that makes a `Settings` field a setting the user can set: in workbench.toml at
    `toml` (dotted) or with the environment variable `env`. `choices` limits the value
    (`label` names the setting in the error), `bounds` a number (inclusive); a `secret` is
    masked wherever settings show."""
    return {_OPTION: {"toml_key": toml, "env": env, "help": help, "secret": secret,
                      "choices": choices, "label": label, "bounds": bounds}}


@dataclass(frozen=True)
class Settings:
    home: Path = field(default=Path(".workbench"), metadata=option(
        toml="home", env="WORKBENCH_HOME",
        help="data folder (SQLite, caches, outputs); relative: to the current directory, or to "
             "the config file that sets it"))
    llm_api_key: str | None = field(default=None, metadata=option(
        toml="llm.api_key", env="OPENAI_API_KEY", help="LLM API key", secret=True))
    llm_base_url: str | None = field(default=None, metadata=option(
        toml="llm.base_url", env="OPENAI_BASE_URL",
        help="OpenAI-compatible endpoint (unset: the SDK's default)"))
    llm_model: str = field(default="gpt-4o-mini", metadata=option(
        toml="llm.model", env="WORKBENCH_LLM_MODEL", help="LLM model"))
    llm_timeout: float = field(default=60.0, metadata=option(
        toml="llm.timeout", env="WORKBENCH_LLM_TIMEOUT", help="seconds per LLM request",
        bounds=(1, 3600)))
    llm_deadline: float = field(default=60.0, metadata=option(
        toml="llm.deadline", env="WORKBENCH_LLM_DEADLINE",
        help="seconds for a whole LLM call, retries included", bounds=(1, 3600)))
    llm_max_retries: int = field(default=2, metadata=option(
        toml="llm.max_retries", env="WORKBENCH_LLM_MAX_RETRIES",
        help="SDK retries on 429/5xx/timeouts", bounds=(0, 10)))
    rewrite_backend: str = field(default="auto", metadata=option(
        toml="rewrite.backend", env="WORKBENCH_REWRITE_BACKEND", help="rewrite backend",
        choices=REWRITE_CHOICES, label="改写后端"))
    app_name: str = field(default="番茄小说", metadata=option(
        toml="script.app", env="WORKBENCH_APP", help="reading app named in the call to action"))
    chars_per_second: float = field(default=4.5, metadata=option(
        toml="script.chars_per_second", env="WORKBENCH_CHARS_PER_SECOND",
        help="narration speed used to fit a script to its target seconds", bounds=(0.5, 30)))
    voice_backend: str = field(default="auto", metadata=option(
        toml="voice.backend", env="WORKBENCH_VOICE_BACKEND", help="voice backend",
        choices=VOICE_CHOICES, label="配音后端"))
    voice: str = field(default="zh-CN-XiaoxiaoNeural", metadata=option(
        toml="voice.voice", env="WORKBENCH_VOICE",
        help="voice id (an edge voice, or an espeak voice such as cmn)"))
    offline_voice: str = field(default="cmn", metadata=option(
        toml="voice.offline_voice", env="WORKBENCH_OFFLINE_VOICE",
        help="espeak voice used offline and when auto falls back"))
    voice_rate: str = field(default="+0%", metadata=option(
        toml="voice.rate", env="WORKBENCH_VOICE_RATE", help="speaking rate, e.g. +20%"))
    voice_pitch: str = field(default="+0Hz", metadata=option(
        toml="voice.pitch", env="WORKBENCH_VOICE_PITCH", help="pitch, e.g. -5Hz"))
    voice_volume: str = field(default="+0%", metadata=option(
        toml="voice.volume", env="WORKBENCH_VOICE_VOLUME", help="volume, e.g. +10%"))
    voice_fallback: bool = field(default=True, metadata=option(
        toml="voice.fallback", env="WORKBENCH_VOICE_FALLBACK",
        help="auto may fall back to offline espeak when edge fails (false: fail instead)"))
    voice_pause: float = field(default=0.35, metadata=option(
        toml="voice.pause", env="WORKBENCH_VOICE_PAUSE",
        help="seconds of silence between script segments", bounds=(0, 10)))
    edge_retries: int = field(default=3, metadata=option(
        toml="voice.edge_retries", env="WORKBENCH_EDGE_RETRIES",
        help="attempts per segment on network errors and 403s", bounds=(1, 10)))
    edge_timeout: float = field(default=15.0, metadata=option(
        toml="voice.edge_timeout", env="WORKBENCH_EDGE_TIMEOUT",
        help="seconds to connect to / hear from edge-tts", bounds=(1, 600)))
    transcribe_backend: str = field(default="auto", metadata=option(
        toml="transcribe.backend", env="WORKBENCH_TRANSCRIBE_BACKEND",
        help="speech recognition for drama episodes without subtitles",
        choices=TRANSCRIBE_CHOICES, label="语音识别后端"))
    transcribe_base_url: str | None = field(default=None, metadata=option(
        toml="transcribe.base_url", env="WORKBENCH_TRANSCRIBE_BASE_URL",
        help="OpenAI-compatible transcription endpoint (unset: the LLM endpoint)"))
    transcribe_api_key: str | None = field(default=None, metadata=option(
        toml="transcribe.api_key", env="WORKBENCH_TRANSCRIBE_API_KEY",
        help="transcription API key (unset: the LLM key, when the endpoint is the LLM's)",
        secret=True))
    transcribe_model: str = field(default="whisper-1", metadata=option(
        toml="transcribe.model", env="WORKBENCH_TRANSCRIBE_MODEL",
        help="transcription model name at the endpoint"))
    transcribe_language: str = field(default="zh", metadata=option(
        toml="transcribe.language", env="WORKBENCH_TRANSCRIBE_LANGUAGE",
        help="spoken language (ISO 639-1, e.g. zh; auto: let the model detect it)"))
    transcribe_deadline: float = field(default=300.0, metadata=option(
        toml="transcribe.deadline", env="WORKBENCH_TRANSCRIBE_DEADLINE",
        help="seconds for one transcription request (up to 10 minutes of sound), retries "
             "included", bounds=(1, 3600)))
    whisper_model_dir: Path | None = field(default=None, metadata=option(
        toml="transcribe.whisper_model_dir", env="WORKBENCH_WHISPER_MODEL_DIR",
        help="a faster-whisper (CTranslate2) model folder you already have"))
    images_backend: str = field(default="auto", metadata=option(
        toml="images.backend", env="WORKBENCH_IMAGES_BACKEND",
        help="story images for the images:ai background", choices=IMAGES_CHOICES,
        label="图片生成后端"))
    images_base_url: str | None = field(default=None, metadata=option(
        toml="images.base_url", env="WORKBENCH_IMAGES_BASE_URL",
        help="OpenAI-compatible images endpoint (unset: the LLM endpoint)"))
    images_api_key: str | None = field(default=None, metadata=option(
        toml="images.api_key", env="WORKBENCH_IMAGES_API_KEY",
        help="images API key (unset: the LLM key, when the endpoint is the LLM's)",
        secret=True))
    images_model: str = field(default="gpt-image-1", metadata=option(
        toml="images.model", env="WORKBENCH_IMAGES_MODEL", help="image model at the endpoint"))
    images_size: str = field(default="1024x1536", metadata=option(
        toml="images.size", env="WORKBENCH_IMAGES_SIZE", help="image size asked for (WxH)"))
    images_style: str = field(default="国漫插画风格，细腻线条，电影感光影，竖构图，无文字", metadata=option(
        toml="images.style", env="WORKBENCH_IMAGES_STYLE",
        help="style words in every image prompt when the template gives none"))
    images_max: int = field(default=12, metadata=option(
        toml="images.max", env="WORKBENCH_IMAGES_MAX", help="most story images per video",
        bounds=(1, 40)))
    images_deadline: float = field(default=120.0, metadata=option(
        toml="images.deadline", env="WORKBENCH_IMAGES_DEADLINE",
        help="seconds for one image request, retries included", bounds=(1, 3600)))
    subtitle_font_size: int = field(default=84, metadata=option(
        toml="subtitles.font_size", env="WORKBENCH_SUBTITLE_FONT_SIZE",
        help="subtitle font size in px on a 1080x1920 frame", bounds=(12, 400)))
    subtitle_max_chars: int = field(default=0, metadata=option(
        toml="subtitles.max_chars", env="WORKBENCH_SUBTITLE_MAX_CHARS",
        help="characters per subtitle line (0: what fits 1080 px at the font size)",
        bounds=(0, 100)))
    # The look of subtitles: a preset, and overrides that count only once you set them.
    subtitle_style: str = field(default="white-outline", metadata=option(
        toml="subtitles.style", env="WORKBENCH_SUBTITLE_STYLE",
        help="subtitle preset: white-outline (白字黑边), yellow-outline (黄字描边), big-center "
             "(大字居中), karaoke (逐词高亮)", choices=SUBTITLE_PRESETS, label="字幕样式"))
    subtitle_color: str = field(default="#FFFFFF", metadata=option(
        toml="subtitles.color", env="WORKBENCH_SUBTITLE_COLOR",
        help="subtitle text colour #RRGGBB (once set, it overrides the preset's)"))
    subtitle_outline_color: str = field(default="#000000", metadata=option(
        toml="subtitles.outline_color", env="WORKBENCH_SUBTITLE_OUTLINE_COLOR",
        help="subtitle outline colour #RRGGBB (once set, it overrides the preset's)"))
    subtitle_outline: float = field(default=4.0, metadata=option(
        toml="subtitles.outline", env="WORKBENCH_SUBTITLE_OUTLINE",
        help="subtitle outline width in px (once set, it overrides the preset's)",
        bounds=(0, 20)))
    subtitle_position: str = field(default="bottom", metadata=option(
        toml="subtitles.position", env="WORKBENCH_SUBTITLE_POSITION",
        help="where subtitles sit: bottom, middle or top (once set, it overrides the preset's)",
        choices=("bottom", "middle", "top"), label="字幕位置"))
    subtitle_margin: int = field(default=480, metadata=option(
        toml="subtitles.margin", env="WORKBENCH_SUBTITLE_MARGIN",
        help="px between the subtitle line and the bottom (or top) edge of a 1080x1920 frame",
        bounds=(0, 1900)))
    subtitle_highlight_color: str = field(default="#FFD400", metadata=option(
        toml="subtitles.highlight_color", env="WORKBENCH_SUBTITLE_HIGHLIGHT_COLOR",
        help="colour of the task keyword inside subtitle lines #RRGGBB"))
    render_profile: str = field(default="final", metadata=option(
        toml="render.profile", env="WORKBENCH_RENDER_PROFILE",
        help="output size and encoder preset (render/profiles.py)",
        choices=tuple(PROFILES), label="输出规格"))
    encoder: str = field(default="libx264", metadata=option(
        toml="render.encoder", env="WORKBENCH_ENCODER",
        help="libx264 | auto (try nvenc, qsv, vaapi, videotoolbox, then libx264) | a name"))
    page_theme: str = field(default="paper", metadata=option(
        toml="render.page_theme", env="WORKBENCH_PAGE_THEME",
        help="theme of the reading-page background when a job says just `page` (or nothing)",
        choices=("paper", "night"), label="阅读页主题"))
    banner: str = field(default="{app}搜索【{keyword}】", metadata=option(
        toml="render.banner", env="WORKBENCH_BANNER",
        help="keyword banner wording ({app}, {keyword})"))
    ai_label: str = field(default="本视频含AI生成内容", metadata=option(
        toml="render.ai_label", env="WORKBENCH_AI_LABEL",
        help="visible AI-content label (must contain AI/人工智能 and 生成/合成)"))
    ai_label_seconds: float = field(default=0.0, metadata=option(
        toml="render.ai_label_seconds", env="WORKBENCH_AI_LABEL_SECONDS",
        help="seconds the AI label stays on screen from the first frame (0: whole video)",
        bounds=(0, 36000)))
    end_card_seconds: float = field(default=3.0, metadata=option(
        toml="render.end_card_seconds", env="WORKBENCH_END_CARD_SECONDS",
        help="seconds of the keyword end card at the end of the video", bounds=(0, 60)))
    bgm_volume: float = field(default=0.25, metadata=option(
        toml="render.bgm_volume", env="WORKBENCH_BGM_VOLUME",
        help="BGM level under the voice before ducking (0-1)", bounds=(0, 1)))
    loudness: float = field(default=-14.0, metadata=option(
        toml="render.loudness", env="WORKBENCH_LOUDNESS",
        help="integrated loudness target of the mix, LUFS", bounds=(-70, 0)))
    max_seconds: float = field(default=0.0, metadata=option(
        toml="render.max_seconds", env="WORKBENCH_MAX_SECONDS",
        help="longest allowed video in seconds when the task sets none (0: no limit)",
        bounds=(0, 36000)))
    drama_fit: str = field(default="blur", metadata=option(
        toml="drama.fit", env="WORKBENCH_DRAMA_FIT",
        help="how a drama episode that is not 9:16 fills the frame: blur (fitted over a "
             "blurred, enlarged copy) or crop", choices=DRAMA_FITS, label="短剧画面适配方式"))
    drama_original_volume: float = field(default=1.0, metadata=option(
        toml="drama.original_volume", env="WORKBENCH_DRAMA_ORIGINAL_VOLUME",
        help="level of the episodes' own sound (1: as recorded)", bounds=(0, 4)))
    drama_duck_volume: float = field(default=0.25, metadata=option(
        toml="drama.duck_volume", env="WORKBENCH_DRAMA_DUCK_VOLUME",
        help="level of the episodes' own sound while the narration speaks (narrated)",
        bounds=(0, 4)))
    drama_mask_band: str = field(default="auto", metadata=option(
        toml="drama.mask_band", env="WORKBENCH_DRAMA_MASK_BAND",
        help="where an episode's burned-in subtitles are, blurred when Workbench adds its own: "
             "auto (from the sidecar subtitles; SRT: 0.70-0.95 of the height), off, or a band "
             "such as 0.72-0.92"))
    drama_max_episode_share: float = field(default=0.5, metadata=option(
        toml="drama.max_episode_share", env="WORKBENCH_DRAMA_MAX_EPISODE_SHARE",
        help="the checks warn when one video uses more than this share of one episode",
        bounds=(0, 1)))
    aigc_producer: str = field(default="Workbench", metadata=option(
        toml="compliance.producer", env="WORKBENCH_AIGC_PRODUCER",
        help="ContentProducer written into the AIGC metadata"))
    banned_words_file: Path | None = field(default=None, metadata=option(
        toml="compliance.banned_words", env="WORKBENCH_BANNED_WORDS",
        help="your own banned-word list (TSV: word, warn|block, note), used instead of the "
             "bundled one"))
    spike_factor: float = field(default=5.0, metadata=option(
        toml="settle.spike_factor", env="WORKBENCH_SPIKE_FACTOR",
        help="settlement holds a CPE/CPM day whose interactions or views exceed this many times "
             "the median of the keyword's earlier days (at least 3 of them)", bounds=(1, 1000)))
    serve_host: str = field(default="127.0.0.1", metadata=option(
        toml="serve.host", env="WORKBENCH_SERVE_HOST",
        help="address `workbench serve` listens on for postbacks (0.0.0.0: every interface)"))
    serve_port: int = field(default=8787, metadata=option(
        toml="serve.port", env="WORKBENCH_SERVE_PORT",
        help="port `workbench serve` listens on for postbacks", bounds=(1, 65535)))
    templates_dir: Path | None = field(default=None, metadata=option(
        toml="paths.templates", env="WORKBENCH_TEMPLATES_DIR",
        help="extra script templates (besides the bundled ones)"))
    prompts_dir: Path | None = field(default=None, metadata=option(
        toml="paths.prompts", env="WORKBENCH_PROMPTS_DIR",
        help="extra rewrite prompts (besides the bundled ones)"))
    # Not settings: where they came from.
    config_file: Path | None = None
    sources: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def __repr__(self) -> str:  # never show the key, even in a traceback
        shown = ", ".join(f"{k}={v!r}" for k, v in self.masked().items())
        return f"Settings({shown})"

    # Paths under WORKBENCH_HOME -------------------------------------------------------------
    @property
    def db_path(self) -> Path:
        return self.home / "workbench.db"

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"

    @property
    def outputs_dir(self) -> Path:
        return self.home / "outputs"

    @property
    def materials_dir(self) -> Path:
        return self.home / "materials"

    @property
    def submissions_dir(self) -> Path:
        return self.home / "submissions"

    def ensure_dirs(self) -> None:
        if self.home.exists() and not self.home.is_dir():
            raise InputError(f"数据文件夹 WORKBENCH_HOME={self.home} 是一个文件，不是文件夹；"
                             "请把 WORKBENCH_HOME 指向一个文件夹")
        for path in (self.home, self.cache_dir, self.outputs_dir, self.materials_dir,
                     self.submissions_dir):
            try:
                path.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise InputError(f"无法在数据文件夹里创建 {path}：{exc.strerror}"
                                 "（检查 WORKBENCH_HOME 是否可写）") from None

    # Where templates and prompts are looked up: bundled first, then the user's own -------
    @property
    def template_dirs(self) -> list[Path]:
        dirs = [PROJECT_ROOT / "templates", self.home / "templates"]
        if self.templates_dir:
            dirs.append(self.templates_dir)
        return dirs

    @property
    def prompt_dirs(self) -> list[Path]:
        dirs = [PROJECT_ROOT / "prompts", self.home / "prompts"]
        if self.prompts_dir:
            dirs.append(self.prompts_dir)
        return dirs

    @property
    def llm_configured(self) -> bool:
        return bool(self.llm_api_key or self.llm_base_url)

    def masked(self) -> dict[str, Any]:
        """Effective settings for display, with secrets masked."""
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.name == "sources":
                continue
            value = getattr(self, f.name)
            if f.name in SECRET_FIELDS and value:
                value = mask_secret(value)
            out[f.name] = str(value) if isinstance(value, Path) else value
        out["db_path"] = str(self.db_path)
        return out


@dataclass(frozen=True)
class Option:
    """One setting as the user sees it, derived from a `Settings` field with `option` metadata."""

    name: str
    toml_key: str  # dotted path inside workbench.toml
    env: str
    kind: type  # str, int, float, bool or Path (from the field's annotation)
    default: Any
    help: str
    secret: bool = False
    choices: tuple[str, ...] = ()  # empty: any value
    label: str = ""  # how errors name the setting (Chinese)
    bounds: tuple[float, float] | None = None  # a number's inclusive range

    def convert(self, raw: Any, where: str) -> Any:
        """`raw` (from TOML, the environment or the web app) as this option's kind."""
        try:
            if self.kind is bool:
                if isinstance(raw, bool):
                    return raw
                word = str(raw).strip().lower()
                if word in _TRUE or word in _FALSE:
                    return word in _TRUE
                raise ValueError(word)
            if self.kind is Path:
                return Path(str(raw)).expanduser()
            if self.kind in (int, float):
                return self._in_bounds(self.kind(raw), raw, where)
            return str(raw)
        except (TypeError, ValueError):
            raise InputError(
                f"设置 {self.name} 的值无效: {str(raw)[:40]!r}（来自 {where}，"
                f"应为 {self.kind.__name__}）"
            ) from None

    def _in_bounds(self, value: float, raw: Any, where: str) -> float:
        low, high = self.bounds or (-math.inf, math.inf)
        if not low <= value <= high:  # NaN fails too
            raise InputError(f"设置 {self.name} 的值无效: {str(raw)[:40]!r}（来自 {where}，"
                             f"应在 {low:g} 到 {high:g} 之间）")
        return value

    def check_choice(self, value: Any) -> None:
        if self.choices and value not in self.choices:
            raise InputError(f"未知的{self.label}: {value}（可选 {'、'.join(self.choices)}）")


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_KINDS = (str, int, float, bool, Path)


def _kind(name: str, hint: Any) -> type:
    """`float` → float, `Path | None` → Path; anything else is a mistake in `Settings`."""
    args = [a for a in typing.get_args(hint) if a is not type(None)] or [hint]
    if len(args) != 1 or args[0] not in _KINDS:
        raise TypeError(f"Settings.{name}: a setting must be one of {_KINDS}, not {hint}")
    return args[0]


def _options() -> tuple[Option, ...]:
    hints = typing.get_type_hints(Settings)
    options = []
    for f in fields(Settings):
        if _OPTION in f.metadata:
            if f.default is MISSING:
                raise TypeError(f"Settings.{f.name}: a setting needs a plain default")
            options.append(Option(name=f.name, kind=_kind(f.name, hints[f.name]),
                                  default=f.default, **f.metadata[_OPTION]))
    return tuple(options)


OPTIONS: tuple[Option, ...] = _options()
SECRET_FIELDS = frozenset(o.name for o in OPTIONS if o.secret)


def mask_secret(value: str) -> str:
    """Show just enough of a key to tell two apart: 'sk-…a1b2'."""
    if len(value) <= 8:
        return "****"
    return f"{value[:3]}…{value[-4:]}"


def key_file(home: Path) -> Path:
    """Where the web app saves the API key (0600); see settings_file.save_api_key."""
    return home / KEY_FILE


def read_key_file(home: Path) -> str | None:
    try:
        value = key_file(home).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return value or None


def _find_config_file(env: Mapping[str, str], cwd: Path) -> Path | None:
    explicit = env.get("WORKBENCH_CONFIG")
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise InputError(f"配置文件不存在: {path}（检查 WORKBENCH_CONFIG）")
        return path
    local = cwd / "workbench.toml"
    if local.is_file():
        return local
    home = Path(env["WORKBENCH_HOME"]).expanduser() if env.get("WORKBENCH_HOME") else (
        cwd / ".workbench")
    candidate = home / "workbench.toml"  # where the web app saves its settings
    if candidate.is_file():
        return candidate
    return None


def _toml_get(data: Mapping[str, Any], dotted: str) -> Any:
    node: Any = data
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def load_settings(env: Mapping[str, str] | None = None, cwd: Path | None = None) -> Settings:
    env = os.environ if env is None else env
    cwd = Path.cwd() if cwd is None else cwd
    config_file = _find_config_file(env, cwd)
    data: dict[str, Any] = {}
    if config_file:
        try:
            data = tomllib.loads(config_file.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"配置文件格式错误: {config_file}: {exc}") from None

    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for option in OPTIONS:
        value, source = option.default, "default"
        from_toml = _toml_get(data, option.toml_key)
        if from_toml not in (None, ""):
            value, source = option.convert(from_toml, str(config_file)), f"toml:{option.toml_key}"
        from_env = env.get(option.env)
        if from_env not in (None, ""):
            value, source = option.convert(from_env, option.env), f"env:{option.env}"
        values[option.name] = value
        sources[option.name] = source

    home = values.pop("home")
    if sources["home"] == "default":
        home = cwd / home
    elif not home.is_absolute():
        base = config_file.parent if sources["home"].startswith("toml") and config_file else cwd
        home = (base / home).resolve()
    if not values["llm_api_key"]:  # saved from the web app's settings page (a 0600 file)
        values["llm_api_key"] = read_key_file(home)
        if values["llm_api_key"]:
            sources["llm_api_key"] = f"file:{KEY_FILE.as_posix()}"
    for option in OPTIONS:
        option.check_choice(values.get(option.name))
    return Settings(home=home, config_file=config_file, sources=sources, **values)
