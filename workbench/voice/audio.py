"""PCM helpers: decode with ffmpeg, silence, WAV files. Audio is mono signed 16-bit."""

from __future__ import annotations

import io
import wave
from pathlib import Path

from workbench.errors import InputError
from workbench.ffmpeg import run_ffmpeg
from workbench.files import atomic_output, write_bytes_atomic


def decode_to_pcm(data: bytes, sample_rate: int, what: str = "音频解码") -> bytes:
    """Any audio ffmpeg reads (mp3, wav, ...) → mono s16le PCM at `sample_rate`."""
    return run_ffmpeg(
        ["-i", "pipe:0", "-f", "s16le", "-acodec", "pcm_s16le", "-ac", "1",
         "-ar", str(sample_rate), "pipe:1"],
        input=data, what=what,
    )


def silence(seconds: float, sample_rate: int) -> bytes:
    return b"\x00\x00" * max(0, round(seconds * sample_rate))


def wav_bytes(pcm: bytes, sample_rate: int) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(pcm)
    return buf.getvalue()


def write_wav(path: Path, pcm: bytes, sample_rate: int) -> None:
    """Write atomically: a crash never leaves a half WAV under the final name."""
    write_bytes_atomic(path, wav_bytes(pcm, sample_rate))


def read_wav(path: Path) -> tuple[bytes, int]:
    """(pcm, sample_rate) of a mono 16-bit WAV."""
    try:
        with wave.open(str(path), "rb") as src:
            if src.getnchannels() != 1 or src.getsampwidth() != 2:
                raise InputError(f"{path}: 需要单声道 16 位 WAV")
            return src.readframes(src.getnframes()), src.getframerate()
    except (wave.Error, EOFError) as exc:
        raise InputError(f"{path}: 不是有效的 WAV 文件（{exc}）") from None


def write_m4a(path: Path, pcm: bytes, sample_rate: int, bitrate: str = "192k") -> None:
    """AAC in MP4 (high quality), written to a temporary name and renamed when complete. MP4
    needs a seekable output, hence a file rather than a pipe; ffmpeg writes the edit list that
    keeps the encoder's priming samples from shifting the timings."""
    with atomic_output(path, ".m4a") as tmp:
        run_ffmpeg(["-y", "-f", "s16le", "-ar", str(sample_rate), "-ac", "1", "-i", "pipe:0",
                    "-c:a", "aac", "-b:a", bitrate, "-movflags", "+faststart", str(tmp)],
                   input=pcm, what="AAC 编码")
