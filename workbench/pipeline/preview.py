"""Quick looks before the real job: the hook spoken with a chosen voice (cached like any
other narration, so the render later reuses it)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from workbench.config import Settings
from workbench.errors import InputError
from workbench.files import write_bytes_atomic
from workbench.models import Script, Segment
from workbench.store.cache import StageCache, content_hash
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


def preview_subtitles(settings: Settings, *, keyword: str, app: str | None = None,
                      template: str | None = None, subtitles: dict[str, Any] | None = None,
                      background: str | None = None, seed: int = 0) -> Path:
    """A still of the video's look before rendering: the chosen background, a sample subtitle
    line in the style the job would use (job > template > settings > preset), the banner and
    the AI label. Cached by what it shows, as a PNG under the cache folder."""
    from workbench.pipeline.prepare import fill_wording
    from workbench.render.backgrounds import resolve_background
    from workbench.render.subtitle_preview import preview_frame
    from workbench.script.templates import get_template
    from workbench.subtitle_styles import resolve_subtitles

    keyword = keyword.strip() or "口令"
    tpl = get_template(template, settings.template_dirs) if template else None
    look = resolve_subtitles(settings, tpl.subtitles if tpl else None, subtitles,
                             template_name=f"模板 {tpl.id}" if tpl else "模板")
    banner = fill_wording((tpl.banner if tpl else "") or settings.banner,
                          {"app": app or settings.app_name, "keyword": keyword})
    bg = resolve_background(background, seed=seed)
    key = content_hash(look.recipe(), look.style, banner, keyword, settings.ai_label,
                       bg.describe(), [str(p.stat().st_mtime) for p, _ in bg.clips])[:16]
    path = settings.cache_dir / "previews" / f"subtitles-{key}.png"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        preview_frame(look, path, keyword=keyword, banner=banner, label=settings.ai_label,
                      background=bg)
    return path
