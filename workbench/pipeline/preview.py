"""Quick looks before the real job: the hook spoken with a chosen voice (cached like any
other narration, so the render later reuses it)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from sqlite_utils import Database

from workbench.config import Settings
from workbench.errors import InputError
from workbench.files import write_bytes_atomic
from workbench.models import Script, Segment
from workbench.store.cache import StageCache
from workbench.voice.audio import wav_bytes
from workbench.voice.registry import plan_voice
from workbench.voice.service import voice_script


@dataclass(frozen=True)
class VoicePreview:
    path: Path  # a WAV file under the cache folder
    seconds: float
    reason: str  # which backend spoke, and any fallback


def preview_voice(settings: Settings, db: Database, text: str, *, backend: str | None = None,
                  voice: str | None = None, rate: str | None = None) -> VoicePreview:
    """Speak `text` (normally the hook) the way the job will; returns a WAV to play."""
    text = text.strip()
    if not any(ch.isalnum() for ch in text):
        raise InputError("开头段落是空的：先生成或填写脚本的第一段，再试听")
    plan = plan_voice(settings, backend, voice, rate)
    spoken = voice_script(Script(segments=[Segment("hook", text)]), plan, StageCache(db),
                          settings.cache_dir / "voice", pause=0)
    data = wav_bytes(spoken.pcm, spoken.sample_rate)
    name = hashlib.sha256(data).hexdigest()[:16]
    path = settings.cache_dir / "previews" / f"hook-{name}.wav"
    if not path.is_file():
        write_bytes_atomic(path, data)
    reason = plan.reason + ("；" + "；".join(spoken.notes) if spoken.notes else "")
    return VoicePreview(path, spoken.timing.duration, reason)
