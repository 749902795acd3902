"""What is in a media file: streams (moviepy's ffmpeg probe) and container metadata tags.

imageio-ffmpeg ships ffmpeg without ffprobe, so both come from `ffmpeg -i`: moviepy parses
the stream summary; tags are read back exactly with ffmpeg's ffmetadata writer, which keeps
duplicate keys (the AIGC check needs to see "exactly one").
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from workbench.errors import InputError
from workbench.ffmpeg import ffmpeg_exe, run_ffmpeg


@dataclass(frozen=True)
class MediaInfo:
    duration: float
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    video_codec: str | None = None
    video_profile: str | None = None
    pix_fmt: str | None = None
    audio_codec: str | None = None
    sample_rate: int | None = None
    channels: str | None = None


_PIX = re.compile(r"Video: \w+[^,]*, (\w+)\(")
_PIX_PLAIN = re.compile(r"Video: \w+[^,]*, (yuv\w+|nv12|rgb\w+|gray\w*)")
_AUDIO = re.compile(r"Audio: (\w+)[^,]*, (\d+) Hz, ([\w.()]+)")


def probe(path: Path) -> MediaInfo:
    from moviepy.video.io.ffmpeg_reader import ffmpeg_parse_infos

    if not Path(path).is_file():
        raise InputError(f"文件不存在: {path}")
    try:
        info = ffmpeg_parse_infos(str(path), check_duration=True)
    except (OSError, IndexError, KeyError, ValueError) as exc:
        raise InputError(f"无法读取媒体文件: {path}（{exc}）") from None
    header = _header(path)  # moviepy does not report pixel format or audio details
    pix = _PIX.search(header) or _PIX_PLAIN.search(header)
    audio = _AUDIO.search(header)
    size = info.get("video_size") or (None, None)
    return MediaInfo(
        duration=float(info.get("duration") or 0.0),
        width=size[0], height=size[1], fps=info.get("video_fps"),
        video_codec=info.get("video_codec_name"),
        video_profile=(info.get("video_profile") or "").strip("()") or None,
        pix_fmt=pix.group(1) if pix else None,
        audio_codec=audio.group(1) if audio else None,
        sample_rate=int(audio.group(2)) if audio else None,
        channels=audio.group(3) if audio else None,
    )


def _header(path: Path) -> str:
    proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(path)],
                          capture_output=True, check=False)
    return proc.stderr.decode("utf-8", "replace")


def read_tags(path: Path) -> list[tuple[str, str]]:
    """Container-level metadata as (key, value) pairs, duplicates kept, values unescaped."""
    out = run_ffmpeg(["-i", str(path), "-map_metadata", "0", "-f", "ffmetadata", "-"],
                     what="读取视频元数据").decode("utf-8", "replace")
    tags: list[tuple[str, str]] = []
    for line in _logical_lines(out):
        if not line or line.startswith((";", "[")):
            if line.startswith("["):
                break  # stream/chapter sections follow the global tags
            continue
        key, sep, value = _split_unescaped(line)
        if sep:
            tags.append((key, value))
    return tags


def _logical_lines(text: str) -> list[str]:
    """ffmetadata continues a value on the next line after a backslash-escaped newline."""
    lines, current = [], ""
    for line in text.split("\n"):
        if line.endswith("\\") and not line.endswith("\\\\"):
            current += line[:-1] + "\n"
            continue
        lines.append(current + line)
        current = ""
    return lines


def _split_unescaped(line: str) -> tuple[str, str, str]:
    key, value, escaped, seen_eq = [], [], False, False
    for ch in line:
        if escaped:
            (value if seen_eq else key).append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == "=" and not seen_eq:
            seen_eq = True
        else:
            (value if seen_eq else key).append(ch)
    return "".join(key), "=" if seen_eq else "", "".join(value)
