"""Which voices a user can pick: espeak's offline voices, plus edge's list when it answers."""

from __future__ import annotations

from dataclasses import dataclass, field

from workbench.config import Settings
from workbench.errors import BackendUnavailable, InputError
from workbench.voice.base import VoiceInfo
from workbench.voice.registry import BACKENDS, CHOICES


@dataclass
class VoiceListing:
    voices: list[VoiceInfo]
    notes: list[str] = field(default_factory=list)


def list_all_voices(settings: Settings, backend: str = "auto") -> VoiceListing:
    """`auto`: edge (live list, or the common voices when offline) and espeak; else one backend.

    Asking for `edge` explicitly while it cannot be reached is an error: a stale list would
    look like an answer.
    """
    if backend not in CHOICES:
        raise InputError(f"未知的配音后端: {backend}（可选 {', '.join(CHOICES)}）")
    listing = VoiceListing([])
    if backend in ("auto", "edge"):
        from workbench.voice.edge import COMMON_VOICES

        try:
            listing.voices += BACKENDS["edge"](settings).list_voices()
        except BackendUnavailable as exc:
            if backend == "edge":
                raise
            listing.voices += COMMON_VOICES
            listing.notes.append(f"无法获取 edge 音色列表，下面是常用的 edge 中文音色（未联网核对）：{exc}")
    if backend in ("auto", "espeak"):
        listing.voices += BACKENDS["espeak"](settings).list_voices()
    return listing
