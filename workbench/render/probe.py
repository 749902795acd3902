"""What is in a media file: streams (moviepy's ffmpeg probe) and container metadata tags;
and the checks every user-supplied still image and media file passes before a render.

imageio-ffmpeg ships ffmpeg without ffprobe, so both come from `ffmpeg -i`: moviepy parses
the stream summary; tags are read back exactly with ffmpeg's ffmetadata writer, which keeps
duplicate keys (the AIGC check needs to see "exactly one").

Why check before the render: ffmpeg looping a damaged still (`-loop 1` over a truncated PNG, a
JPEG that is garbage after its header) never fails — it spins at full CPU with growing memory
and never reports progress. So a still must decode completely with Pillow (under a pixel cap,
against decompression bombs), and footage or music must show the stream it is used for, a
positive duration and a first second that decodes — each ffmpeg call under a time limit.
"""

from __future__ import annotations

import re
import subprocess
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

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
    from moviepy.video.io.ffmpeg_reader import FFmpegInfosParser

    if not Path(path).is_file():
        raise InputError(f"文件不存在: {path}")
    header = _header(path)  # one `ffmpeg -i`, under a time limit (moviepy's has none)
    try:
        info = FFmpegInfosParser(header, str(path), check_duration=True).parse()
    except Exception:  # noqa: BLE001 - moviepy raises anything when `ffmpeg -i` found no media
        tail = " / ".join(header.strip().splitlines()[-2:])
        raise InputError(f"无法读取媒体文件: {path}（{tail}）") from None
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


def _header(path: Path, timeout: float | None = None) -> str:
    timeout = PROBE_SECONDS if timeout is None else timeout
    try:
        proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path)],
                              capture_output=True, check=False, timeout=timeout,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:  # subprocess.run has killed ffmpeg
        raise InputError(f"读取媒体文件超时（{timeout:.0f} 秒）: {path}；文件可能已损坏，"
                         "请换一个文件") from None
    return proc.stderr.decode("utf-8", "replace")


PROBE_SECONDS = 30.0  # one `ffmpeg -i` or a one-second test decode; healthy files need < 1 s
MAX_IMAGE_PIXELS = 40_000_000  # 8000×5000: far above any screen, far below a memory bomb
MAX_IMAGE_SIDE = 16_384
# What ffmpeg's image2 demuxer reads well; Pillow alone would also accept PSD, TIFF, ICO, ...
# under a .png name. (Camera JPEGs that Pillow reads as MPO come in through "JPEG".)
STILL_FORMATS = ("PNG", "JPEG", "WEBP", "BMP")
_STREAM_WORDS = {"video": "视频画面", "audio": "音频"}


# Files that passed a check, by path and what the file system says of them: a batch checks
# its footage while validating and again for every job, and the same unchanged file is
# decoded once per process. Failures are not remembered (the file may be replaced).
_PASSED: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
_PASSED_MAX = 256


def _passed_key(path: Path, need: str) -> tuple[Any, ...]:
    stat = path.stat()
    return (str(path.resolve()), need, stat.st_size, stat.st_mtime_ns)


_PASSED_LOCK = threading.Lock()  # the app checks uploads from several threads


def _remember(key: tuple[Any, ...], result: Any) -> Any:
    with _PASSED_LOCK:
        _PASSED[key] = result
        while len(_PASSED) > _PASSED_MAX:
            _PASSED.popitem(last=False)
    return result


def check_still(path: Path, what: str = "背景图片") -> tuple[int, int]:
    """(width, height) of an image that Pillow decodes completely; else InputError. The size
    is read from the header and checked before any pixel is decoded."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{what}不存在: {path}")
    key = _passed_key(path, "still")
    if key in _PASSED:
        return _PASSED[key]
    return _remember(key, _decode_still(path, what))


def _decode_still(path: Path, what: str) -> tuple[int, int]:
    from PIL import Image

    try:
        with Image.open(path, formats=STILL_FORMATS) as image:
            width, height = image.size
            if (width * height > MAX_IMAGE_PIXELS or max(width, height) > MAX_IMAGE_SIDE
                    or min(width, height) < 1):
                raise InputError(
                    f"{what}尺寸不合理：{path}（{width}×{height} 像素，上限 "
                    f"{MAX_IMAGE_PIXELS // 1_000_000} 百万像素、边长 {MAX_IMAGE_SIDE}）。"
                    "请缩小或换一张图片")
            image.load()
    except Image.DecompressionBombError:
        raise InputError(f"{what}尺寸不合理：{path}（像素数超过上限）。请缩小或换一张图片"
                         ) from None
    except (OSError, SyntaxError, ValueError, EOFError):  # Pillow's ways of saying "damaged"
        raise InputError(f"{what}已损坏或不完整：{path}（无法完整解码）。请换一张图片") from None
    return width, height


def check_media(path: Path, need: Literal["video", "audio"], what: str) -> float:
    """Duration (seconds) of `need`'s stream in `path`, after checking that the file has such
    a stream, a positive duration and a first second that decodes. Else InputError."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{what}不存在: {path}")
    key = _passed_key(path, need)
    if key in _PASSED:
        return _PASSED[key]
    return _remember(key, _decode_media(path, need, what))


def _decode_media(path: Path, need: Literal["video", "audio"], what: str) -> float:
    from moviepy.video.io.ffmpeg_reader import FFmpegInfosParser

    damaged = f"{what}已损坏或不完整：{path}（无法读取{_STREAM_WORDS[need]}）。请换一个文件"
    header = _header(path)
    try:
        info = FFmpegInfosParser(header, str(path), check_duration=True).parse()
    except Exception:  # noqa: BLE001 - moviepy raises anything when `ffmpeg -i` found no media
        raise InputError(damaged) from None
    if not info.get(f"{need}_found"):
        raise InputError(f"{what}里没有{_STREAM_WORDS[need]}：{path}。请换一个文件")
    duration = float(info.get(f"{need}_duration") or info.get("duration") or 0)
    if duration <= 0:
        raise InputError(damaged)
    width, height = (info.get("video_size") or (0, 0)) if need == "video" else (0, 0)
    if width * height > MAX_IMAGE_PIXELS or max(width, height) > MAX_IMAGE_SIDE:
        raise InputError(f"{what}画面太大：{path}（{width}×{height}，上限 "
                         f"{MAX_IMAGE_PIXELS // 1_000_000} 百万像素）。请先缩小到 4K 以下")
    stream = "0:v:0" if need == "video" else "0:a:0"
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-xerror", "-i", str(path),
           "-map", stream, "-t", "1", "-f", "null", "-"]
    try:
        proc = subprocess.run(cmd, capture_output=True, check=False, timeout=PROBE_SECONDS,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise InputError(f"{what}解码超时（{PROBE_SECONDS:.0f} 秒）：{path}。文件可能已损坏，"
                         "请换一个文件") from None
    if proc.returncode != 0:
        raise InputError(damaged)
    return duration


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
