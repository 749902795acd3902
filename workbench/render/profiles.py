"""Output profiles: the size and encoder settings of a rendered video."""

from __future__ import annotations

from dataclasses import dataclass

from workbench.errors import InputError


@dataclass(frozen=True)
class RenderProfile:
    name: str
    width: int
    height: int
    fps: int
    crf: int
    preset: str
    audio_rate: int = 48000
    audio_bitrate: str = "160k"


PROFILES: dict[str, RenderProfile] = {
    # What platforms expect: 9:16 1080×1920, H.264 High yuv420p, AAC 48 kHz.
    "final": RenderProfile("final", 1080, 1920, 30, 23, "veryfast"),
    # Quick previews: the same layout (subtitles scale with the frame), a quarter of the work.
    "draft": RenderProfile("draft", 720, 1280, 30, 23, "ultrafast"),
}


def get_profile(name: str) -> RenderProfile:
    try:
        return PROFILES[name]
    except KeyError:
        raise InputError(f"未知的输出规格: {name}（可选 {', '.join(PROFILES)}）") from None
