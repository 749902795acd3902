"""Settings: defaults < workbench.toml < environment variables.

`WORKBENCH_HOME` (default `./.workbench`) holds the SQLite file, caches and outputs. The config
file is `$WORKBENCH_CONFIG`, else `./workbench.toml`, else `$WORKBENCH_HOME/workbench.toml`
(where the web app saves). An API key saved in the web app lives in
`$WORKBENCH_HOME/secrets/llm_api_key` (0600) and is used when no other key is set.
The LLM is chosen with the standard `OPENAI_API_KEY` and `OPENAI_BASE_URL` plus
`WORKBENCH_LLM_MODEL`.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from workbench.errors import InputError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SECRET_FIELDS = {"llm_api_key"}


@dataclass(frozen=True)
class _Option:
    name: str
    toml_key: str  # dotted path inside workbench.toml
    env: str
    kind: type
    default: Any
    help: str


OPTIONS: tuple[_Option, ...] = (
    _Option("home", "home", "WORKBENCH_HOME", Path, None, "data folder (SQLite, caches, outputs)"),
    _Option("llm_api_key", "llm.api_key", "OPENAI_API_KEY", str, None, "LLM API key"),
    _Option("llm_base_url", "llm.base_url", "OPENAI_BASE_URL", str, None,
            "OpenAI-compatible endpoint"),
    _Option("llm_model", "llm.model", "WORKBENCH_LLM_MODEL", str, "gpt-4o-mini", "LLM model"),
    _Option("llm_timeout", "llm.timeout", "WORKBENCH_LLM_TIMEOUT", float, 60.0,
            "seconds per LLM request"),
    _Option("llm_max_retries", "llm.max_retries", "WORKBENCH_LLM_MAX_RETRIES", int, 2,
            "SDK retries on 429/5xx/timeouts"),
    _Option("rewrite_backend", "rewrite.backend", "WORKBENCH_REWRITE_BACKEND", str, "auto",
            "auto | rules | openai"),
    _Option("app_name", "script.app", "WORKBENCH_APP", str, "番茄小说",
            "reading app named in the call to action"),
    _Option("chars_per_second", "script.chars_per_second", "WORKBENCH_CHARS_PER_SECOND", float,
            4.5, "narration speed used to fit a script to its target seconds"),
    _Option("voice_backend", "voice.backend", "WORKBENCH_VOICE_BACKEND", str, "auto",
            "auto | espeak | edge"),
    _Option("voice", "voice.voice", "WORKBENCH_VOICE", str, "zh-CN-XiaoxiaoNeural",
            "voice id (an edge voice, or an espeak voice such as cmn)"),
    _Option("offline_voice", "voice.offline_voice", "WORKBENCH_OFFLINE_VOICE", str, "cmn",
            "espeak voice used offline and when auto falls back"),
    _Option("voice_rate", "voice.rate", "WORKBENCH_VOICE_RATE", str, "+0%",
            "speaking rate, e.g. +20%"),
    _Option("voice_pitch", "voice.pitch", "WORKBENCH_VOICE_PITCH", str, "+0Hz",
            "pitch, e.g. -5Hz"),
    _Option("voice_volume", "voice.volume", "WORKBENCH_VOICE_VOLUME", str, "+0%",
            "volume, e.g. +10%"),
    _Option("voice_fallback", "voice.fallback", "WORKBENCH_VOICE_FALLBACK", bool, True,
            "auto may fall back to offline espeak when edge fails (false: fail instead)"),
    _Option("voice_pause", "voice.pause", "WORKBENCH_VOICE_PAUSE", float, 0.35,
            "seconds of silence between script segments"),
    _Option("edge_retries", "voice.edge_retries", "WORKBENCH_EDGE_RETRIES", int, 3,
            "attempts per segment on network errors and 403s"),
    _Option("edge_timeout", "voice.edge_timeout", "WORKBENCH_EDGE_TIMEOUT", float, 15.0,
            "seconds to connect to / hear from edge-tts"),
    _Option("subtitle_font_size", "subtitles.font_size", "WORKBENCH_SUBTITLE_FONT_SIZE", int,
            84, "subtitle font size in px on a 1080x1920 frame"),
    _Option("subtitle_max_chars", "subtitles.max_chars", "WORKBENCH_SUBTITLE_MAX_CHARS", int, 0,
            "characters per subtitle line (0: what fits 1080 px at the font size)"),
    _Option("render_profile", "render.profile", "WORKBENCH_RENDER_PROFILE", str, "final",
            "final (1080x1920, veryfast) | draft (720x1280, ultrafast)"),
    _Option("encoder", "render.encoder", "WORKBENCH_ENCODER", str, "libx264",
            "libx264 | auto (try nvenc, qsv, vaapi, videotoolbox, then libx264) | an encoder name"),
    _Option("banner", "render.banner", "WORKBENCH_BANNER", str, "{app}搜索【{keyword}】",
            "keyword banner wording ({app}, {keyword})"),
    _Option("ai_label", "render.ai_label", "WORKBENCH_AI_LABEL", str, "本视频含AI生成内容",
            "visible AI-content label (must contain AI/人工智能 and 生成/合成)"),
    _Option("ai_label_seconds", "render.ai_label_seconds", "WORKBENCH_AI_LABEL_SECONDS", float,
            0.0, "seconds the AI label stays on screen from the first frame (0: whole video)"),
    _Option("end_card_seconds", "render.end_card_seconds", "WORKBENCH_END_CARD_SECONDS", float,
            3.0, "seconds of the keyword end card at the end of the video"),
    _Option("bgm_volume", "render.bgm_volume", "WORKBENCH_BGM_VOLUME", float, 0.25,
            "BGM level under the voice before ducking (0-1)"),
    _Option("loudness", "render.loudness", "WORKBENCH_LOUDNESS", float, -14.0,
            "integrated loudness target of the mix, LUFS"),
    _Option("max_seconds", "render.max_seconds", "WORKBENCH_MAX_SECONDS", float, 0.0,
            "longest allowed video in seconds when the task sets none (0: no limit)"),
    _Option("aigc_producer", "compliance.producer", "WORKBENCH_AIGC_PRODUCER", str, "Workbench",
            "ContentProducer written into the AIGC metadata"),
    _Option("banned_words_file", "compliance.banned_words", "WORKBENCH_BANNED_WORDS", Path, None,
            "your own banned-word list (TSV: word, warn|block, note), used instead of the bundled"),
    _Option("templates_dir", "paths.templates", "WORKBENCH_TEMPLATES_DIR", Path, None,
            "extra script templates (besides the bundled ones)"),
    _Option("prompts_dir", "paths.prompts", "WORKBENCH_PROMPTS_DIR", Path, None,
            "extra rewrite prompts (besides the bundled ones)"),
)


@dataclass(frozen=True)
class Settings:
    home: Path
    llm_api_key: str | None = None
    llm_base_url: str | None = None
    llm_model: str = "gpt-4o-mini"
    llm_timeout: float = 60.0
    llm_max_retries: int = 2
    rewrite_backend: str = "auto"
    app_name: str = "番茄小说"
    chars_per_second: float = 4.5
    voice_backend: str = "auto"
    voice: str = "zh-CN-XiaoxiaoNeural"
    offline_voice: str = "cmn"
    voice_rate: str = "+0%"
    voice_pitch: str = "+0Hz"
    voice_volume: str = "+0%"
    voice_fallback: bool = True
    voice_pause: float = 0.35
    edge_retries: int = 3
    edge_timeout: float = 15.0
    subtitle_font_size: int = 84
    subtitle_max_chars: int = 0
    render_profile: str = "final"
    encoder: str = "libx264"
    banner: str = "{app}搜索【{keyword}】"
    ai_label: str = "本视频含AI生成内容"
    ai_label_seconds: float = 0.0
    end_card_seconds: float = 3.0
    bgm_volume: float = 0.25
    loudness: float = -14.0
    max_seconds: float = 0.0
    aigc_producer: str = "Workbench"
    banned_words_file: Path | None = None
    templates_dir: Path | None = None
    prompts_dir: Path | None = None
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
        for path in (self.home, self.cache_dir, self.outputs_dir, self.materials_dir,
                     self.submissions_dir):
            path.mkdir(parents=True, exist_ok=True)

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


def mask_secret(value: str) -> str:
    """Show just enough of a key to tell two apart: 'sk-…a1b2'."""
    if len(value) <= 8:
        return "****"
    return f"{value[:3]}…{value[-4:]}"


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


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _convert(option: _Option, raw: Any, where: str) -> Any:
    try:
        if option.kind is bool:
            if isinstance(raw, bool):
                return raw
            word = str(raw).strip().lower()
            if word in _TRUE or word in _FALSE:
                return word in _TRUE
            raise ValueError(word)
        if option.kind is Path:
            return Path(str(raw)).expanduser()
        if option.kind in (int, float):
            return option.kind(raw)
        return str(raw)
    except (TypeError, ValueError):
        raise InputError(
            f"设置 {option.name} 的值无效: {raw!r}（来自 {where}，应为 {option.kind.__name__}）"
        ) from None


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
            value, source = _convert(option, from_toml, str(config_file)), f"toml:{option.toml_key}"
        from_env = env.get(option.env)
        if from_env not in (None, ""):
            value, source = _convert(option, from_env, option.env), f"env:{option.env}"
        values[option.name] = value
        sources[option.name] = source

    home = values.pop("home") or (cwd / ".workbench")
    if not home.is_absolute():
        base = config_file.parent if sources["home"].startswith("toml") and config_file else cwd
        home = (base / home).resolve()
    if not values["llm_api_key"]:  # saved from the web app's settings page (a 0600 file)
        from workbench.settings_file import read_key_file

        values["llm_api_key"] = read_key_file(home)
        if values["llm_api_key"]:
            sources["llm_api_key"] = "file:secrets/llm_api_key"
    if values["rewrite_backend"] not in ("auto", "rules", "openai"):
        raise InputError(
            f"未知的改写后端: {values['rewrite_backend']}（可选 auto、rules、openai）"
        )
    if values["voice_backend"] not in ("auto", "espeak", "edge"):
        raise InputError(
            f"未知的配音后端: {values['voice_backend']}（可选 auto、espeak、edge）"
        )
    if values["render_profile"] not in ("final", "draft"):
        raise InputError(f"未知的输出规格: {values['render_profile']}（可选 final、draft）")
    return Settings(home=home, config_file=config_file, sources=sources, **values)
