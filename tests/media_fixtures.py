"""Tiny real media made by ffmpeg for tests: a test pattern and a tone, a second or two."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np

from workbench.ffmpeg import ffmpeg_exe
from workbench.render.probe import probe


def make_episode(path: Path, seconds: float = 2.0, *, audio: bool = True, size: str = "180x320",
                 extra: tuple[str, ...] = ()) -> Path:
    """A tiny real episode (test pattern, a tone) made by ffmpeg."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-v", "error", "-y", "-f", "lavfi", "-i",
           f"testsrc2=size={size}:rate=25:duration={seconds}"]
    if audio:
        cmd += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}", "-c:a", "aac"]
    codec = ["-c:v", "libvpx-vp9", "-deadline", "realtime"] if path.suffix == ".webm" else [
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    if path.suffix == ".webm" and audio:
        cmd = [c if c != "aac" else "libopus" for c in cmd]
    subprocess.run([*cmd, *codec, *extra, str(path)], check=True, capture_output=True)
    return path


def make_tone(path: Path, seconds: float = 3.0, frequency: int = 330) -> Path:
    """A short music stand-in: a sine tone in AAC/M4A or MP3 by suffix."""
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-v", "error", "-y", "-f", "lavfi", "-i",
                    f"sine=frequency={frequency}:duration={seconds}", str(path)],
                   check=True, capture_output=True)
    return path


def gray_frame(video: Path, seconds: float) -> np.ndarray:
    """The frame shown at `seconds`, as a height × width array of luma (float)."""
    info = probe(video)
    raw = subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-ss", f"{seconds:.3f}", "-i", str(video),
         "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "gray", "pipe:1"],
        capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(info.height, info.width).astype(np.float64)


def sound(video: Path, rate: int = 8000) -> np.ndarray:
    """The sound as mono samples (float, ±1)."""
    raw = subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-i", str(video), "-vn", "-ac", "1", "-ar", str(rate),
         "-f", "s16le", "pipe:1"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.int16).astype(np.float64) / 32768


def rms(samples: np.ndarray, start: float, end: float, rate: int = 8000) -> float:
    part = samples[int(start * rate):int(end * rate)]
    return float(np.sqrt(np.mean(part ** 2)))
