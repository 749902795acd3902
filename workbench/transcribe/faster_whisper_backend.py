"""Offline speech recognition with faster-whisper and a model folder the user already has
(a CTranslate2 conversion of Whisper, e.g. `faster-whisper-small`: `model.bin`,
`config.json`, `tokenizer.json`, `vocabulary.*`). Nothing is ever downloaded: a folder without
`tokenizer.json` is refused, because faster-whisper would fetch a tokenizer from the Hugging
Face hub for it.

Silence and music are cut out first by faster-whisper's voice activity filter (the Silero model
shipped inside the faster-whisper wheel, run by onnxruntime; nothing to download): Whisper
invents lines over long stretches without speech, and decoding them costs time. faster-whisper
maps the times back onto the original sound.

faster-whisper is an optional extra (`pip install 'workbench[whisper]'`) and is imported only
when a transcription runs; a missing package, an unset or wrong model folder is a
BackendUnavailable that says what to install or set. The model is loaded once per process.
Its segments are decoded lazily, window by window (30 s of sound), so the deadline
(`transcribe.deadline`) is checked between segments and ends a run that takes too long; the
sound's decoding and the window being decoded still finish first.
"""

from __future__ import annotations

import logging
import time
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

from workbench.config import Settings
from workbench.errors import BackendError, BackendUnavailable
from workbench.materials.sidecar import SubtitleLine
from workbench.transcribe.registry import faster_whisper_installed

log = logging.getLogger(__name__)
MAX_SEGMENTS = 20_000  # 10 minutes of speech is a few hundred


class FasterWhisperTranscriber:
    name: ClassVar[str] = "faster-whisper"
    version: ClassVar[str] = "2"  # 2: voice activity filter

    def __init__(self, settings: Settings) -> None:
        folder = settings.whisper_model_dir
        unavailable = "faster-whisper 语音识别不可用："
        if folder is None:
            raise BackendUnavailable(
                f"{unavailable}没有设置模型目录；请把 WORKBENCH_WHISPER_MODEL_DIR 设为已下载的 "
                "faster-whisper（CTranslate2）模型文件夹，或改用 openai 后端")
        if not folder.is_dir():
            raise BackendUnavailable(f"{unavailable}模型目录不存在：{folder}；请检查 "
                                     "WORKBENCH_WHISPER_MODEL_DIR")
        if not (folder / "model.bin").is_file():
            raise BackendUnavailable(
                f"{unavailable}{folder} 里没有 model.bin，不是 faster-whisper（CTranslate2）模型；"
                "请把 WORKBENCH_WHISPER_MODEL_DIR 指向含 model.bin 的文件夹")
        if not (folder / "tokenizer.json").is_file():  # faster-whisper would download one
            raise BackendUnavailable(
                f"{unavailable}{folder} 里没有 tokenizer.json（缺了它 faster-whisper 会去网上下载）；"
                "请把模型文件夹完整复制过来（model.bin、config.json、tokenizer.json、vocabulary.*）")
        if not faster_whisper_installed():
            raise BackendUnavailable(f"{unavailable}没有安装 faster-whisper；请执行 "
                                     "pip install 'workbench[whisper]'")
        self._folder = folder.resolve()
        self._deadline = settings.transcribe_deadline

    def __repr__(self) -> str:
        return f"FasterWhisperTranscriber(model={self.model!r})"

    @property
    def model(self) -> str:
        return self._folder.name

    @property
    def endpoint(self) -> str:
        return str(self._folder)

    def transcribe(self, audio: Path, language: str | None) -> list[SubtitleLine]:
        started = time.monotonic()
        model = _load_model(str(self._folder))
        try:
            segments, _info = model.transcribe(str(audio), language=language, vad_filter=True)
            lines = []
            for segment in segments:  # decoded as we iterate
                if time.monotonic() - started > self._deadline:
                    raise BackendError(
                        f"faster-whisper 识别 {audio.name} 超过时限 {self._deadline:g} 秒；可调大 "
                        "WORKBENCH_TRANSCRIBE_DEADLINE，或换一个更小的模型")
                if len(lines) >= MAX_SEGMENTS:
                    raise BackendError(f"faster-whisper 给出超过 {MAX_SEGMENTS} 段，已停止")
                text = str(segment.text).strip()
                if text:
                    lines.append(SubtitleLine(float(segment.start), float(segment.end), text))
        except BackendError:
            raise
        except Exception as exc:  # noqa: BLE001 - ctranslate2/av raise anything
            raise BackendError(f"faster-whisper 识别 {audio.name} 失败：{type(exc).__name__}: "
                               f"{str(exc)[:200]}") from None
        log.info("faster-whisper: model=%s audio=%s latency=%.2fs lines=%d", self.model,
                 audio.name, time.monotonic() - started, len(lines))
        return lines


@lru_cache(maxsize=1)
def _load_model(folder: str) -> Any:
    """One loaded model per process (loading takes seconds); never downloads."""
    from faster_whisper import WhisperModel

    try:
        return WhisperModel(folder, device="auto", compute_type="default",
                            local_files_only=True)
    except Exception as exc:  # noqa: BLE001 - a broken folder fails in many ways
        raise BackendUnavailable(f"faster-whisper 无法加载模型 {folder}：{type(exc).__name__}: "
                                 f"{str(exc)[:200]}；请检查 WORKBENCH_WHISPER_MODEL_DIR") from None
