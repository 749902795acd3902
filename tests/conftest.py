"""Shared fixtures: every test gets its own WORKBENCH_HOME and a clean LLM environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.config import OPTIONS, Settings, load_settings
from workbench.store import open_db

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SAMPLES = PROJECT_ROOT / "assets" / "samples"

_ENV_VARS = ("WORKBENCH_CONFIG", *(o.env for o in OPTIONS))


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private WORKBENCH_HOME; the test runs in tmp_path so no workbench.toml leaks in.

    Voice defaults to offline espeak so that no test reaches for the internet by accident;
    tests of `auto` and `edge` ask for them explicitly (and point edge at a local server).
    """
    for var in _ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    home = tmp_path / "wbhome"
    monkeypatch.setenv("WORKBENCH_HOME", str(home))
    monkeypatch.setenv("WORKBENCH_VOICE_BACKEND", "espeak")
    monkeypatch.chdir(tmp_path)
    from workbench.voice import service

    service._down.clear()  # "edge was down a minute ago" must not leak between tests
    return home


@pytest.fixture
def settings(home: Path) -> Settings:
    return load_settings()


@pytest.fixture
def db(settings: Settings):
    database = open_db(settings.db_path)
    yield database
    database.close()
