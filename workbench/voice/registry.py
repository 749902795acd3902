"""Voice backends by name, and how a request (backend + voice) becomes a synthesis plan.

`auto` speaks with edge-tts when it answers and falls back to offline espeak otherwise (unless
`voice.fallback = false`). A voice id names its backend: `zh-CN-XiaoxiaoNeural` is edge's,
`cmn` / `cmn+f3` are espeak's, so `--voice cmn` alone is enough to stay offline.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from workbench.errors import InputError
from workbench.voice.base import VoiceBackend, VoiceHint, VoiceParams

if TYPE_CHECKING:  # config validates names against this module
    from workbench.config import Settings


def _espeak(settings: Settings) -> VoiceBackend:
    from workbench.voice.espeak import EspeakBackend

    return EspeakBackend()


def _edge(settings: Settings) -> VoiceBackend:
    from workbench.voice.edge import EdgeBackend

    return EdgeBackend(settings)


BACKENDS: dict[str, Callable[[Settings], VoiceBackend]] = {"espeak": _espeak, "edge": _edge}
CHOICES = ("auto", *BACKENDS)


@dataclass(frozen=True)
class Choice:
    backend: VoiceBackend
    params: VoiceParams


@dataclass(frozen=True)
class VoicePlan:
    primary: Choice
    fallback: Choice | None  # tried when the primary backend is unreachable
    reason: str  # one line for the user: which backend speaks and why


def _setting(settings: Settings, name: str, hinted: str | None) -> str:
    """A setting the user configured (toml, environment) wins over a template's hint; the hint
    (None: no hint) wins over the built-in default."""
    configured = settings.sources.get(name, "default") != "default"
    return getattr(settings, name) if configured or hinted is None else hinted


def plan_voice(
    settings: Settings,
    backend: str | None = None,
    voice: str | None = None,
    rate: str | None = None,
    pitch: str | None = None,
    volume: str | None = None,
    hint: VoiceHint | None = None,
) -> VoicePlan:
    """Decide who speaks. Explicit arguments win over settings; None means 'from settings'.
    A template's `hint` fills in what neither the arguments nor the user's settings choose."""
    hint = hint or VoiceHint()
    name = backend or settings.voice_backend
    if name not in CHOICES:
        raise InputError(f"未知的配音后端: {name}（可选 {', '.join(CHOICES)}）")
    prosody = {
        "rate": rate or _setting(settings, "voice_rate", hint.rate or None),
        "pitch": pitch or _setting(settings, "voice_pitch", hint.pitch or None),
        "volume": volume or settings.voice_volume,
    }
    espeak = BACKENDS["espeak"](settings)
    edge = BACKENDS["edge"](settings)
    offline_voice = _setting(settings, "offline_voice", espeak.gender_voices.get(hint.gender))
    # "" when nobody chose a voice and the template asks for a gender: picked per backend below
    chosen = voice or _setting(settings, "voice", "" if hint.gender else None)

    if name == "auto" and chosen and espeak.accepts(chosen):
        name = "espeak"  # an espeak voice was asked for: no network needed
    if name == "espeak":
        wanted = chosen
        if not wanted or not espeak.accepts(wanted):
            if voice:  # the user named a voice espeak does not have
                raise InputError(
                    f"espeak 没有音色 {voice!r}（workbench voices --voice-backend espeak 查看可用音色）"
                )
            wanted = offline_voice
        choice = Choice(espeak, VoiceParams(wanted, **prosody))
        return VoicePlan(choice, None, f"配音后端: espeak（离线），音色 {wanted}")

    wanted = chosen or edge.gender_voices[hint.gender]
    if not edge.accepts(wanted):
        raise InputError(
            f"{wanted!r} 不是 edge 音色（例如 zh-CN-XiaoxiaoNeural；"
            "workbench voices --voice-backend edge 查看）"
        )
    primary = Choice(edge, VoiceParams(wanted, **prosody))
    if name == "edge":
        return VoicePlan(primary, None, f"配音后端: edge，音色 {wanted}")
    if not settings.voice_fallback:
        return VoicePlan(primary, None, f"配音后端: edge（auto，已关闭离线回退），音色 {wanted}")
    fallback = Choice(espeak, VoiceParams(offline_voice, **prosody))
    return VoicePlan(
        primary, fallback,
        f"配音后端: edge（auto），音色 {wanted}；edge 不可用时回退到 espeak {offline_voice}",
    )
