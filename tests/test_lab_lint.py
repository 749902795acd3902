"""The lab's live lint: planted mistakes in a template and a prompt, each found with its kind
and its line in the text (no file needed), and `workbench lab lint` over the same library."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_runner import run_cli

from workbench.config import PROJECT_ROOT
from workbench.lab.lint_live import issue_kind, lint_prompt_text, lint_text

HEADER = """---
id: planted
name: 埋了错的模板
kind: novel
version: 1
target_seconds: 10
---
"""  # the body starts on line 8


def body(*lines: str) -> str:
    return HEADER + "\n".join(lines) + "\n"


GOOD_CTA = "{% block cta %}{{ app }}搜索【{{ keyword }}】{% endblock %}"


def found(text: str, settings, name: str = "t.j2") -> set[tuple[str, str, int]]:
    return {(i.level, i.kind, i.line) for i in lint_text(text, settings, Path(name)).issues}


def test_the_bundled_templates_and_prompts_are_clean(settings):
    for path in [*(PROJECT_ROOT / "templates").glob("*.j2"),
                 *(PROJECT_ROOT / "prompts").glob("*.md")]:
        report = lint_text(path.read_text(encoding="utf-8"), settings, path)
        assert report.ok, (path, report.issues)


@pytest.mark.parametrize(("lines", "expected"), [
    # a syntax error on the body's second line
    (["{% block hook %}开头{% endblock %}", "{% block body %}{{ chapter_text }{% endblock %}",
      GOOD_CTA], ("error", "syntax", 9)),
    # a variable neither built in nor declared, used on line 9
    (["{% block hook %}开头{% endblock %}", "{% block body %}{{ mystery }}{% endblock %}",
      GOOD_CTA], ("error", "variable", 9)),
    # the sandbox: reaching for a Python internal on line 10
    (["{% block hook %}开头{% endblock %}", "{% block body %}正文{% endblock %}",
      "{% block cta %}{{ keyword.__class__ }}{{ keyword }}{% endblock %}"],
     ("error", "sandbox", 10)),
    # a cta without the keyword (its block is on line 10)
    (["{% block hook %}开头{% endblock %}", "{% block body %}正文{% endblock %}",
      "{% block cta %}点个关注吧{% endblock %}"], ("error", "keyword", 10)),
    # the step limit: a loop over a loop in the hook (line 8)
    ([("{% block hook %}{% for i in range(100000) %}{% for j in range(100000) %}x"
       "{% endfor %}{% endfor %}{% endblock %}"), "{% block body %}正文{% endblock %}", GOOD_CTA],
     ("error", "limit", 8)),
    # a whole chapter in a 10-second template: far over the target (on the body's first line)
    (["{% block hook %}开头{% endblock %}", "{% block body %}{{ chapter_text }}{% endblock %}",
      GOOD_CTA], ("warning", "length", 8)),
    # a banned word of the compliance list rendered into the body (line 9): blocks publishing
    (["{% block hook %}开头{% endblock %}", "{% block body %}全网第一的好书{% endblock %}",
      GOOD_CTA], ("error", "banned", 9)),
])
def test_each_planted_mistake_is_found_on_its_line(settings, lines, expected):
    assert expected in found(body(*lines), settings)


def test_a_segment_over_the_target_is_named(settings):
    text = body("{% block hook %}开头{% endblock %}",
                "{% block body %}{{ chapter_text|excerpt(55) }}{% endblock %}", GOOD_CTA)
    issues = lint_text(text, settings, Path("t.j2")).issues
    length = [i for i in issues if i.kind == "length"]
    assert length and "超过目标时长 10 秒" in length[0].message and "body" in length[0].message
    assert length[0].line == 9  # the body block


def test_front_matter_mistakes_point_at_their_key(settings):
    text = HEADER.replace("target_seconds: 10", "target_seconds: 10\ncolour: red") + \
        "{% block hook %}开头{% endblock %}\n{% block body %}正文{% endblock %}\n" + GOOD_CTA
    assert ("error", "front_matter", 7) in found(text, settings)


def test_a_clean_template_has_no_findings(settings):
    text = body("{% block hook %}{{ chapter_text|striking(20) }}{% endblock %}",
                "{% block body %}{{ chapter_text|excerpt(30) }}{% endblock %}", GOOD_CTA)
    assert lint_text(text, settings, Path("t.j2")).issues == []


PROMPT = (PROJECT_ROOT / "prompts" / "narration.md").read_text(encoding="utf-8")


def _line_of(text: str, needle: str) -> int:
    return text[:text.index(needle)].count("\n") + 1


def test_prompt_mistakes_are_found_on_their_lines():
    planted = PROMPT.replace("阅读平台：{{ app }}", "阅读平台：{{ platform }}").replace(
        "目标长度：", "{{ keyword.__class__ }}目标长度：")
    issues = {(i.kind, i.line) for i in lint_prompt_text(planted, Path("p.md")).issues}
    assert ("variable", _line_of(planted, "{{ platform }}")) in issues
    assert ("sandbox", _line_of(planted, "__class__")) in issues

    broken = PROMPT.replace("{% endfor %}", "{% endfor")
    kinds = {(i.kind, i.is_error) for i in lint_prompt_text(broken, Path("p.md")).issues}
    assert ("syntax", True) in kinds

    no_user = PROMPT.split("## user")[0]
    messages = [i.message for i in lint_prompt_text(no_user, Path("p.md")).issues]
    assert any("## user" in m for m in messages)

    no_keyword = PROMPT.replace("{{ keyword }}", "口令")
    warned = lint_prompt_text(no_keyword, Path("p.md")).issues
    assert [(i.level, i.kind) for i in warned] == [("warning", "keyword")]


def test_kinds_come_from_the_messages():
    assert issue_kind("样例试渲染失败：模板渲染超过 5 秒，已停止") == "limit"
    assert issue_kind("缺少必填变量 hook_line") == "variable"
    assert issue_kind("something new") == "other"


def test_lab_lint_command(home):
    bad = home.parent / "bad.j2"
    bad.write_text(body("{% block hook %}开头{% endblock %}",
                        "{% block body %}{{ mystery }}{% endblock %}", GOOD_CTA),
                   encoding="utf-8")
    shown = run_cli("lab", "lint", str(bad))
    assert shown.returncode == 1
    assert f"{bad}:9: 错误: 未知变量 mystery" in shown.stderr and "[variable]" in shown.stderr

    as_json = run_cli("lab", "lint", str(bad), "--json")
    assert as_json.returncode == 1
    data = json.loads(as_json.stdout)
    assert data["ok"] is False and data["issues"][0]["line"] == 9

    good = run_cli("lab", "lint", str(PROJECT_ROOT / "prompts" / "narration.md"))
    assert good.returncode == 0 and "没有问题" in good.stdout

    missing = run_cli("lab", "lint", str(home.parent / "nope.j2"))
    assert missing.returncode == 1 and "找不到模板文件" in missing.stderr
