"""Shared fixtures: every test gets its own WORKBENCH_HOME and a clean LLM environment."""

from __future__ import annotations

import itertools
import shutil
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from workbench.config import OPTIONS, Settings, load_settings
from workbench.store import open_db

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SAMPLES = PROJECT_ROOT / "assets" / "samples"

_ENV_VARS = ("WORKBENCH_CONFIG", *(o.env for o in OPTIONS))


def isolate(monkeypatch: pytest.MonkeyPatch, root: Path) -> Path:
    """Point Workbench at a private home under `root` and run in `root`, so no workbench.toml
    or setting from the environment leaks in; returns the home. Used by `home` for every test,
    and by module-scoped fixtures with their own `pytest.MonkeyPatch.context()`.

    Voice defaults to offline espeak so that no test reaches for the internet by accident;
    tests of `auto` and `edge` ask for them explicitly (and point edge at a local server).
    """
    for var in _ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    home = root / "wbhome"
    monkeypatch.setenv("WORKBENCH_HOME", str(home))
    monkeypatch.setenv("WORKBENCH_VOICE_BACKEND", "espeak")
    monkeypatch.chdir(root)
    from workbench.voice import service

    service._down.clear()  # "edge was down a minute ago" must not leak between tests
    return home


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private WORKBENCH_HOME in tmp_path (see `isolate`)."""
    return isolate(monkeypatch, tmp_path)


@pytest.fixture
def settings(home: Path) -> Settings:
    return load_settings()


@pytest.fixture
def db(settings: Settings):
    database = open_db(settings.db_path)
    yield database
    database.close()


@dataclass(frozen=True)
class PreparedHome:
    """A home made once per module (renders are the slow part of the suite) and put back
    exactly before each test that uses it, so tests may change it and still run in any order.

    It is restored at the same path: the database and the packages refer to each other by
    absolute path.
    """

    root: Path  # what `isolate` was given: holds wbhome/ and whatever the fixture wrote
    pristine: Path

    @classmethod
    def freeze(cls, root: Path) -> PreparedHome:
        pristine = root.with_name(f"{root.name}-pristine")
        shutil.copytree(root, pristine, symlinks=True)
        return cls(root, pristine)

    def restore(self, monkeypatch: pytest.MonkeyPatch) -> Path:
        """Put the home back as frozen and point this test at it; returns the home."""
        shutil.rmtree(self.root)
        shutil.copytree(self.pristine, self.root, symlinks=True)
        return isolate(monkeypatch, self.root)


def anchor_bomb(levels: int = 9, width: int = 9) -> str:
    """A "billion laughs" YAML mapping of ~400 bytes: each level is a list of `width` aliases of
    the level before, so as a tree it has width**levels leaves (9**9 ≈ 387 million)."""
    names = [chr(ord("a") + i) for i in range(levels)]
    lines = [f"{names[0]}: &{names[0]} [{', '.join(['lol'] * width)}]"]
    for prev, name in itertools.pairwise(names):
        lines.append(f"{name}: &{name} [{', '.join([f'*{prev}'] * width)}]")
    return "\n".join(lines) + "\n"


@contextmanager
def bounded_work() -> Iterator[dict[str, float]]:
    """Measure the block: `seconds` it took and `peak_mb` of Python memory it allocated."""
    tracemalloc.start()
    started = time.monotonic()
    measured: dict[str, float] = {}
    try:
        yield measured
    finally:
        measured["seconds"] = time.monotonic() - started
        measured["peak_mb"] = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
