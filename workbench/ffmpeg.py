"""The ffmpeg binary shipped by imageio-ffmpeg (no system ffmpeg needed) and one way to run it."""

from __future__ import annotations

import logging
import re
import subprocess
from functools import lru_cache
from pathlib import Path

import imageio_ffmpeg

from workbench.errors import RenderError

log = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    return imageio_ffmpeg.get_ffmpeg_exe()


def run_ffmpeg(args: list[str], *, input: bytes | None = None, timeout: float = 600,
               what: str = "ffmpeg", cwd: Path | None = None) -> bytes:
    """Run ffmpeg quietly with `args` (in the folder `cwd`, so a filter graph can name files
    there without escaping paths); return stdout. A failure raises RenderError with the
    last lines ffmpeg printed (they name the real problem)."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", *args]
    log.debug("ffmpeg %s", " ".join(args))
    try:
        proc = subprocess.run(cmd, input=input, capture_output=True, timeout=timeout, check=False,
                              cwd=cwd)
    except subprocess.TimeoutExpired:
        raise RenderError(f"{what} 超时（{timeout:.0f} 秒）") from None
    if proc.returncode != 0:
        summary = error_summary(proc.stderr.decode("utf-8", "replace"), lines=3)
        raise RenderError(f"{what} 失败: {summary or f'exit {proc.returncode}'}")
    return proc.stdout


_MATTERS = re.compile(r"error|invalid|no such|not found|failed|cannot|could not|unable|"
                      r"unknown|denied|unsupported|too large|corrupt|missing", re.IGNORECASE)
MAX_LINE_CHARS = 200


def error_summary(stderr: str, lines: int = 5) -> str:
    """The lines of ffmpeg's error output that say what went wrong, for a user's message:
    repeated lines (a decoder's thousand identical complaints) once, each line cut to
    MAX_LINE_CHARS (a filter graph echoed back can be kilobytes), lines naming an error
    preferred over the rest, the last `lines` of them in their order."""
    seen: dict[str, None] = {}
    for raw in stderr.splitlines():
        line = " ".join(raw.split())
        if line:
            if len(line) > MAX_LINE_CHARS:
                line = line[:MAX_LINE_CHARS - 1] + "…"
            seen.pop(line, None)
            seen[line] = None  # keeps the last occurrence's place
    unique = list(seen)
    mattering = [line for line in unique if _MATTERS.search(line)]
    return " / ".join((mattering or unique)[-lines:])
