"""Shared helpers for the batch tests: a tiny template with a hook_line variable (renders of a
few seconds) and prompt folders written from dicts."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from workbench.config import load_settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent
NOVEL = PROJECT_ROOT / "assets" / "samples" / "night-ferry.txt"
TINY_HOOKS = """---
id: tinyhook
name: 短测（可换开头）
kind: novel
version: 1
description: 测试用的短模板：一句钩子加口令，开头可以用 hook_line 替换。
target_seconds: 6
end_card: ["{app}里搜", "【{keyword}】"]
variables:
  hook_line:
    default: ""
    description: 开头钩子句
---
{% set hook = hook_line or chapter_text|striking(14) %}
{% block hook %}
{{ hook }}
{% endblock %}

{% block body %}
{{ chapter_text|excerpt(12) }}
{% endblock %}

{% block cta %}
{{ app }}搜索【{{ keyword }}】
{% endblock %}
"""


@pytest.fixture
def batch_settings(home: Path, monkeypatch: pytest.MonkeyPatch):
    templates = home.parent / "tpl"
    templates.mkdir()
    (templates / "tinyhook.j2").write_text(TINY_HOOKS, encoding="utf-8")
    monkeypatch.setenv("WORKBENCH_TEMPLATES_DIR", str(templates))
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
