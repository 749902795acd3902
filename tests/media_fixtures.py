"""Tiny real media made by ffmpeg for tests: a test pattern and a tone, a second or two."""

from __future__ import annotations

import subprocess
from pathlib import Path

from workbench.ffmpeg import ffmpeg_exe


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
