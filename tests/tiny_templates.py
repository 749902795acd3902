"""Short script templates for tests: a hook line plus the keyword, so a draft render takes a
few seconds. `tiny` is the plain one; `tinyhook` takes a `hook_line` variable (batch hooks)."""

from __future__ import annotations

from pathlib import Path

TINY = """---
id: tiny
name: 短测
kind: novel
version: 1
description: 测试用的短模板：一句钩子加口令。
target_seconds: 8
end_card: ["{app}里搜", "【{keyword}】"]
---
{% block hook %}
{{ chapter_text|striking(18) }}
{% endblock %}

{% block body %}
{{ chapter_text|excerpt(20) }}
{% endblock %}

{% block cta %}
{{ app }}搜索【{{ keyword }}】
{% endblock %}
"""

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


def write_templates(folder: Path) -> Path:
    """Both templates as `tiny.j2` and `tinyhook.j2` in `folder` (created)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tiny.j2").write_text(TINY, encoding="utf-8")
    (folder / "tinyhook.j2").write_text(TINY_HOOKS, encoding="utf-8")
    return folder
