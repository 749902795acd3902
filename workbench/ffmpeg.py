"""The ffmpeg binary shipped by imageio-ffmpeg (no system ffmpeg needed) and one way to run it."""

from __future__ import annotations

import logging
import subprocess
from functools import lru_cache

import imageio_ffmpeg

from workbench.errors import RenderError

log = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    return imageio_ffmpeg.get_ffmpeg_exe()


def run_ffmpeg(args: list[str], *, input: bytes | None = None, timeout: float = 600,
               what: str = "ffmpeg") -> bytes:
    """Run ffmpeg quietly with `args`; return stdout. A failure raises RenderError with the
    last lines ffmpeg printed (they name the real problem)."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", *args]
    log.debug("ffmpeg %s", " ".join(args))
    try:
        proc = subprocess.run(cmd, input=input, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise RenderError(f"{what} 超时（{timeout:.0f} 秒）") from None
    if proc.returncode != 0:
        tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
        raise RenderError(f"{what} 失败: {' / '.join(tail) or f'exit {proc.returncode}'}")
    return proc.stdout
