"""Shared helpers for the batch tests: a tiny template with a hook_line variable (renders of a
few seconds) and prompt folders written from dicts."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import SAMPLES
from tiny_templates import write_templates

from workbench.config import load_settings

NOVEL = SAMPLES / "night-ferry.txt"


@pytest.fixture
def batch_settings(home: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("WORKBENCH_TEMPLATES_DIR", str(write_templates(home.parent / "tpl")))
    monkeypatch.setenv("WORKBENCH_RENDER_PROFILE", "draft")
    monkeypatch.setenv("WORKBENCH_REWRITE_BACKEND", "rules")
    monkeypatch.setenv("WORKBENCH_END_CARD_SECONDS", "1")
    return load_settings()


def write_folder(folder: Path, briefs: dict[str, dict | str],
                 defaults: dict | None = None) -> Path:
    """`briefs`: file name → dict (written as YAML) or raw text."""
    folder.mkdir(parents=True, exist_ok=True)
    base = {"material": str(NOVEL), "keyword": "夜渡迷局", "template": "tinyhook",
            "chapters": 2}
    if defaults is not None:
        base.update(defaults)
    (folder / "_defaults.yaml").write_text(yaml.safe_dump(base, allow_unicode=True),
                                           encoding="utf-8")
    for name, content in briefs.items():
        text = content if isinstance(content, str) else yaml.safe_dump(content,
                                                                       allow_unicode=True)
        (folder / name).write_text(text, encoding="utf-8")
    return folder
