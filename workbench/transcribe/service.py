"""Where an episode's spoken lines come from: its sidecar subtitles, else a transcript, else
nothing (and the user is told so).

Transcripts go through the stage cache, one entry per chunk of sound (audio.py), keyed by the
episode file's sha256, the chunk, the backend's name, version, model and endpoint, the language
and TRANSCRIPT_VERSION: a second call makes no request, and a long episode interrupted halfway
resumes at the first chunk it had not finished. Every line is clamped to its chunk and to the
episode's probed length, so a time past the end of the episode never leaves here.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from workbench.config import Settings
from workbench.errors import BackendError, InputError
from workbench.materials.sidecar import SubtitleLine, stored_lines
from workbench.store.cache import StageCache, content_hash
from workbench.transcribe import audio
from workbench.transcribe.base import TranscribeBackend
from workbench.transcribe.registry import CHOICES, resolve_backend

log = logging.getLogger(__name__)
Progress = Callable[[float, str], None]
TRANSCRIPT_VERSION = "1"  # bump when line handling here changes (invalidates cached transcripts)


@dataclass
class EpisodeLines:
    lines: list[SubtitleLine]
    source: str  # "sidecar" | "transcript:<backend>" | "none"
    note: str = ""  # for the user: which backend ran and why, or why there are no lines
    cached: bool = False  # a transcript served entirely from the cache
    requests: int = field(default=0, compare=False)  # chunks sent to the backend this call

    def line_dicts(self) -> list[dict[str, Any]]:
        return [{"start": line.start, "end": line.end, "text": line.text} for line in self.lines]


def transcript_language(settings: Settings) -> str | None:
    """The language to ask for; None (`auto`) lets the model detect it."""
    language = settings.transcribe_language.strip()
    return None if language.lower() in ("", "auto") else language


def episode_lines(episode: dict[str, Any], settings: Settings, db: Database,
                  backend: str | None = None, progress: Progress | None = None) -> EpisodeLines:
    """The spoken lines of one episode (a row of the `episodes` table)."""
    name = backend or settings.transcribe_backend
    if name not in CHOICES:
        raise InputError(f"未知的语音识别后端: {name}（可选 {', '.join(CHOICES)}）")
    if episode.get("subtitles"):
        return EpisodeLines(stored_lines(episode), "sidecar")
    if not episode.get("audio_codec"):
        return EpisodeLines([], "none", f"第 {episode['idx']} 集没有声音，也没有字幕：只根据镜头挑选片段")
    resolved = resolve_backend(name, settings)
    if resolved.backend is None:
        return EpisodeLines([], "none", resolved.reason)
    try:
        return transcribe_episode(episode, resolved.backend, settings, db, progress,
                                  note=resolved.reason)
    finally:
        close = getattr(resolved.backend, "close", None)
        if close is not None:  # the HTTP connection pool of a networked backend
            close()


def chunk_key(episode: dict[str, Any], backend: TranscribeBackend, language: str | None,
              chunk: audio.Chunk) -> str:
    return content_hash("transcribe", TRANSCRIPT_VERSION, episode["sha256"], audio.FORMAT,
                        chunk.offset, chunk.length, backend.name, backend.version,
                        backend.model, backend.endpoint, language)


def transcribe_episode(episode: dict[str, Any], backend: TranscribeBackend, settings: Settings,
                       db: Database, progress: Progress | None = None,
                       note: str = "") -> EpisodeLines:
    """The episode's transcript through the cache; only missing chunks are extracted and sent."""
    duration = float(episode["duration"])
    chunks = audio.plan_chunks(duration)
    language = transcript_language(settings)
    cache = StageCache(db)
    keys = [chunk_key(episode, backend, language, chunk) for chunk in chunks]
    found: list[Any] = [cache.get(key) for key in keys]
    missing = [chunk for chunk, hit in zip(chunks, found, strict=True) if hit is None]
    if missing:
        video = Path(episode["path"])
        if not video.is_file():
            raise InputError(f"第 {episode['idx']} 集的文件不见了：{video}（被移动或删除了？"
                             "请放回原处，或重新 workbench material add-drama）")
        with tempfile.TemporaryDirectory(prefix="workbench-transcribe-") as folder:
            for done, chunk in enumerate(missing):
                if progress:
                    progress(done / len(missing), f"语音识别 第 {episode['idx']} 集"
                             + (f"（{done + 1}/{len(missing)}）" if len(missing) > 1 else ""))
                sound = audio.extract_chunk(video, chunk, Path(folder))
                lines = clamp(backend.transcribe(sound, language), chunk.length)
                sound.unlink()
                found[chunk.index] = [[line.start, line.end, line.text] for line in lines]
                cache.put(keys[chunk.index], "transcribe", backend.name, found[chunk.index])
        if progress:
            progress(1.0, f"第 {episode['idx']} 集识别完成")
    lines = [SubtitleLine(chunk.offset + s, chunk.offset + e, t)
             for chunk, stored in zip(chunks, found, strict=True) for s, e, t in stored]
    return EpisodeLines(clamp(lines, duration), f"transcript:{backend.name}", note,
                        cached=not missing, requests=len(missing))


def clamp(lines: list[SubtitleLine], length: float) -> list[SubtitleLine]:
    """Lines inside [0, length], in order; one that starts at or after `length` is dropped."""
    kept = []
    for line in lines:
        start, end = max(0.0, line.start), min(length, line.end)
        if end > start:
            kept.append(SubtitleLine(round(start, 3), round(end, 3), line.text))
    return sorted(kept, key=lambda line: line.start)


def lines_source(settings: Settings, db: Database, backend: str | None = None
                 ) -> Callable[[dict[str, Any]], tuple[list[SubtitleLine], str | None]]:
    """`lines_for` for highlights and drama jobs: sidecar subtitles, else the (cached)
    transcript, else none with a note. With `auto` (nobody asked for recognition by name) a
    backend that fails leaves the episode without lines, with a note, instead of stopping the
    work: highlights then come from scenes and sound."""
    name = backend or settings.transcribe_backend

    def lines_for(episode: dict[str, Any]) -> tuple[list[SubtitleLine], str | None]:
        try:
            found = episode_lines(episode, settings, db, backend=name)
        except BackendError as exc:
            if name != "auto":
                raise
            return [], f"第 {episode['idx']} 集语音识别失败，只根据镜头和声音挑选片段（{exc}）"
        return found.lines, found.note or None

    return lines_for
