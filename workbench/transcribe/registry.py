"""Transcription backends by name. Both are imported lazily: `openai` needs the SDK (a slow
import) and `faster-whisper` is an optional extra, so neither costs anything until used.

`auto` picks, in order: `openai` when a transcription endpoint or key of its own is set;
`faster-whisper` when a model folder is set and the package is installed; else nothing
(highlights then come from scenes and sound alone). An LLM configured for rewriting is not
used for speech on its own: many OpenAI-compatible chat services (DeepSeek, Qwen …) have no
transcription route, and a drama command should not send audio anywhere nobody asked it to.
`transcribe.backend = openai` without an endpoint of its own uses the LLM's endpoint.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from workbench.errors import InputError

if TYPE_CHECKING:  # config validates names against this module
    from workbench.config import Settings
    from workbench.transcribe.base import TranscribeBackend


def _openai(settings: Settings) -> TranscribeBackend:
    from workbench.transcribe.openai_backend import OpenAITranscriber

    return OpenAITranscriber(settings)


def _faster_whisper(settings: Settings) -> TranscribeBackend:
    from workbench.transcribe.faster_whisper_backend import FasterWhisperTranscriber

    return FasterWhisperTranscriber(settings)


BACKENDS: dict[str, Callable[[Settings], TranscribeBackend]] = {
    "openai": _openai, "faster-whisper": _faster_whisper}
CHOICES = ("auto", *BACKENDS, "none")
OFFLINE_NOTE = ("离线：没有字幕，也没有配置语音识别，只根据镜头和声音挑选片段（要识别台词：设置 "
                "WORKBENCH_TRANSCRIBE_BACKEND=openai 或 faster-whisper）")


@dataclass(frozen=True)
class Resolved:
    backend: TranscribeBackend | None  # None: no speech recognition
    reason: str  # one line for the user: which backend runs and why (or why none)


def faster_whisper_installed() -> bool:
    return importlib.util.find_spec("faster_whisper") is not None


def resolve_backend(name: str, settings: Settings) -> Resolved:
    """The backend `name` stands for (see the module docstring for `auto`)."""
    if name not in CHOICES:
        raise InputError(f"未知的语音识别后端: {name}（可选 {', '.join(CHOICES)}）")
    if name == "none":
        return Resolved(None, "语音识别已关闭（transcribe.backend = none）："
                              "没有字幕的剧集只根据镜头和声音挑选片段")
    if name != "auto":
        backend = BACKENDS[name](settings)
        return Resolved(backend, f"语音识别: {name}，模型 {backend.model}")
    return _auto(settings)


def _auto(settings: Settings) -> Resolved:
    if settings.transcribe_base_url or settings.transcribe_api_key:
        backend = BACKENDS["openai"](settings)
        return Resolved(backend, f"语音识别: openai（auto：已配置语音识别接口，模型 {backend.model}）")
    if settings.whisper_model_dir is not None and faster_whisper_installed():
        backend = BACKENDS["faster-whisper"](settings)
        return Resolved(backend, f"语音识别: faster-whisper（auto：本地模型 {backend.model}）")
    if settings.whisper_model_dir is not None:
        return Resolved(None, f"{OFFLINE_NOTE}（已设置 WORKBENCH_WHISPER_MODEL_DIR，但没有安装 "
                              "faster-whisper：pip install 'workbench[whisper]'）")
    return Resolved(None, OFFLINE_NOTE)
