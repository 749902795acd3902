"""Advisory file locks between Workbench processes (the `filelock` package): one maker per job,
one runner per batch, one migrator per new database. A lock dies with its process, so a
killed run never blocks the next one.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import filelock


class FileLock:
    """An exclusive lock on `path` (its folder is created when missing)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = filelock.FileLock(str(path))

    def acquire(self, *, wait: float = 0.0, on_wait: Callable[[], None] | None = None) -> bool:
        """Take the lock, waiting up to `wait` seconds (calling `on_wait` once, when it has to
        wait; `wait` may be math.inf); False when another process still holds it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._lock.acquire(timeout=0)
            return True
        except filelock.Timeout:
            if wait <= 0:
                return False
        if on_wait is not None:
            on_wait()
        try:
            self._lock.acquire(timeout=-1 if wait == float("inf") else wait, poll_interval=0.05)
        except filelock.Timeout:
            return False
        return True

    def release(self) -> None:
        if self._lock.is_locked:
            self._lock.release()


def lock_path(home: Path, name: str) -> Path:
    return home / "locks" / f"{name}.lock"
