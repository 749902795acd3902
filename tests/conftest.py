"""Shared fixtures: every test gets its own WORKBENCH_HOME and a clean LLM environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.config import Settings, load_settings
from workbench.store import open_db

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SAMPLES = PROJECT_ROOT / "assets" / "samples"

_ENV_VARS = (
    "WORKBENCH_HOME", "WORKBENCH_CONFIG", "OPENAI_API_KEY", "OPENAI_BASE_URL",
    "WORKBENCH_LLM_MODEL", "WORKBENCH_LLM_TIMEOUT", "WORKBENCH_LLM_MAX_RETRIES",
    "WORKBENCH_REWRITE_BACKEND", "WORKBENCH_APP", "WORKBENCH_TEMPLATES_DIR",
    "WORKBENCH_PROMPTS_DIR", "WORKBENCH_CHARS_PER_SECOND",
)


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private WORKBENCH_HOME; the test runs in tmp_path so no workbench.toml leaks in."""
    for var in _ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    home = tmp_path / "wbhome"
    monkeypatch.setenv("WORKBENCH_HOME", str(home))
    monkeypatch.chdir(tmp_path)
    return home


@pytest.fixture
def settings(home: Path) -> Settings:
    return load_settings()


@pytest.fixture
def db(settings: Settings):
    database = open_db(settings.db_path)
    yield database
    database.close()
