"""Advisory file locks between Workbench processes (flock): one maker per job, one runner per
batch. A lock dies with its process, so a killed run never blocks the next one.

On systems without `fcntl` (Windows) there is no guard: the locks always succeed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

try:
    import fcntl
except ImportError:  # not POSIX: no cross-process guard
    fcntl = None  # type: ignore[assignment]

POLL_SECONDS = 0.25


class FileLock:
    """An exclusive lock on `path` (created, with its folder, when missing)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: IO[str] | None = None

    def acquire(self, *, wait: float = 0.0, on_wait: Callable[[], None] | None = None) -> bool:
        """Take the lock, waiting up to `wait` seconds (calling `on_wait` once, when it has to
        wait); False when another process still holds it."""
        if fcntl is None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "w")  # noqa: SIM115 - held until release()
        deadline, waited = time.monotonic() + wait, False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.close()
                    return False
                if not waited and on_wait is not None:
                    on_wait()
                waited = True
                time.sleep(POLL_SECONDS)
                continue
            self._handle = handle
            return True

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()  # closing the file drops the flock
            self._handle = None


def lock_path(home: Path, name: str) -> Path:
    return home / "locks" / f"{name}.lock"
