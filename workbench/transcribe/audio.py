"""An episode's sound as small files a transcription endpoint accepts.

16 kHz mono MP3 at 32 kbit/s (what speech recognition models listen at; every endpoint takes
MP3) is 240 KB a minute. Episodes are cut into chunks of at most CHUNK_SECONDS (10 minutes,
about 2.4 MB — far under OpenAI's 25 MB upload cap, and short enough for one request to finish
within its deadline); the service adds each chunk's offset back to its lines. A line spoken
across a chunk boundary comes back as two lines. An episode longer than MAX_EPISODE_SECONDS is
refused: a 短剧 episode lasts minutes, so that is a film or a mistake.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from workbench.errors import InputError
from workbench.ffmpeg import run_ffmpeg

CHUNK_SECONDS = 600.0
MIN_CHUNK_SECONDS = 1.0  # endpoints refuse a sliver (OpenAI: under 0.1 s); it joins the one before
MAX_EPISODE_SECONDS = 4 * 3600.0
UPLOAD_MAX_BYTES = 24 * 1024 * 1024  # OpenAI refuses uploads over 25 MB
SAMPLE_RATE = 16_000
BITRATE = "32k"
FORMAT = f"mp3-{SAMPLE_RATE}-mono-{BITRATE}"  # part of the cache key


@dataclass(frozen=True)
class Chunk:
    index: int
    offset: float  # seconds into the episode
    length: float


def plan_chunks(duration: float, chunk_seconds: float | None = None) -> list[Chunk]:
    """The chunks that cover `duration` seconds, in order, each at most `chunk_seconds`."""
    size = chunk_seconds or CHUNK_SECONDS
    if duration > MAX_EPISODE_SECONDS:
        raise InputError(f"剧集太长（{duration / 60:.0f} 分钟），语音识别最多处理 "
                         f"{MAX_EPISODE_SECONDS / 3600:g} 小时的一集；请先把它剪成几集")
    chunks, offset = [], 0.0
    while offset < duration - 1e-3:
        length = min(size, duration - offset)
        if duration - offset - length < MIN_CHUNK_SECONDS:  # no sliver of a last chunk
            length = duration - offset
        chunks.append(Chunk(len(chunks), round(offset, 3), round(length, 3)))
        offset += length
    return chunks


def extract_chunk(video: Path, chunk: Chunk, folder: Path) -> Path:
    """The chunk's sound as a 16 kHz mono MP3 in `folder`; bounded in time and size."""
    out = folder / f"chunk{chunk.index:03d}.mp3"
    run_ffmpeg(["-y", "-ss", f"{chunk.offset:.3f}", "-t", f"{chunk.length:.3f}", "-i", str(video),
                "-map", "0:a:0", "-vn", "-ac", "1", "-ar", str(SAMPLE_RATE),
                "-c:a", "libmp3lame", "-b:a", BITRATE, str(out)],
               timeout=60 + chunk.length, what=f"提取 {video.name} 的声音")
    size = out.stat().st_size
    if size > UPLOAD_MAX_BYTES:  # cannot happen at 32 kbit/s; a guard against a change above
        raise InputError(f"{video.name} 的声音片段有 {size / 1e6:.1f} MB，超过上传上限 "
                         f"{UPLOAD_MAX_BYTES / 1e6:.0f} MB")
    return out
