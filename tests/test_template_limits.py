"""Hostile templates end with a clear error in seconds and without big memory: huge values,
loops over loops, runaway macros, deep nesting and absurd numbers, through render, lint and
the CLI (issue 13, the template bullet)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from cli_runner import run_cli
from conftest import SAMPLES, bounded_work

from workbench.errors import TemplateError
from workbench.rewrite.prompts import load_prompt
from workbench.script import limits
from workbench.script.lint import SAMPLE_CONTEXT, lint_template
from workbench.script.templates import load_template, render_template

HEAD = "---\nid: t\nname: 测试\nkind: novel\ntarget_seconds: {seconds}\n---\n"
HOOK_LINE = 7  # file line of the hook block's first line


def template_text(hook: str, seconds: str = "60") -> str:
    """A valid template whose hook block (starting on line 7) is `hook`."""
    return (HEAD.format(seconds=seconds) + "{% block hook %}" + hook + "{% endblock %}\n"
            "{% block body %}{{ chapter_text|excerpt(40) }}{% endblock %}\n"
            "{% block cta %}{{ app }}搜索【{{ keyword }}】{% endblock %}\n")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "t.j2"
    path.write_text(text, encoding="utf-8")
    return path


TOO_BIG = "超出模板渲染的上限"
TOO_LONG = "累计超过"
TOO_MANY = "运行步数超过"
TOO_SLOW = "秒，已停止"

# (hook body, words the error must contain, or a tuple of alternatives: a macro call is slow
# enough under tracemalloc that the clock may stop it before the step count does)
HOSTILE = {
    "str_times_huge": ("{{ 'x' * 10**10 }}", TOO_BIG),
    "huge_times_str": ("{{ 10**10 * 'x' }}", TOO_BIG),
    "times_twice": ("{{ ('x' * 10**6) * 10**4 }}", TOO_BIG),
    "list_of_refs": ("{{ [['x' * 10**6]] * 10**5 }}", TOO_BIG),
    "center_filter": ("{{ 'x'|center(10**9) }}", TOO_BIG),
    "center_method": ("{{ 'x'.center(10**9) }}", TOO_BIG),
    "ljust_method": ("{{ 'x'.ljust(10**9, 'y') }}", TOO_BIG),
    "zfill_method": ("{{ '1'.zfill(10**9) }}", TOO_BIG),
    "expandtabs": ("{{ ('\\t' * 10**5).expandtabs(10**5) }}", TOO_BIG),
    "replace_method": ("{{ ('a' * 10**6).replace('a', 'bb') }}", TOO_BIG),
    "replace_filter": ("{{ ('a' * 10**5)|replace('a', 'b' * 100) }}", TOO_BIG),
    "translate": ("{{ ('a' * 10**5).translate({97: 'x' * 1000}) }}", TOO_BIG),
    "join_method": ("{{ ('x' * 10**6).join(range(10**5)) }}", TOO_BIG),
    "join_filter": ("{{ range(10**5)|join('x' * 10**6) }}", TOO_BIG),
    "indent": ("{{ ('x\\n' * 10**5)|indent(1000) }}", TOO_BIG),
    "wordwrap": ("{{ ('x ' * 10**5)|wordwrap(2, wrapstring='y' * 1000) }}", TOO_BIG),
    "batch_fill": ("{{ [1]|batch(10**9, 0)|list }}", TOO_BIG),
    "tojson_indent": ("{{ range(10**5)|list|tojson(indent=10**4) }}", TOO_BIG),
    "percent_width": ("{{ '%0999999999d' % 1 }}", TOO_BIG),
    "percent_star": ("{{ '%*d'|format(10**9, 1) }}", TOO_BIG),
    "brace_width": ("{{ '{:>999999999}'.format(1) }}", TOO_BIG),
    "brace_nested": ("{{ '{:{}}'.format('x', 10**9) }}", TOO_BIG),
    "format_map": ("{{ '{a:>{w}}'.format_map({'a': 1, 'w': 10**9}) }}", TOO_BIG),
    "tilde_chain": ("{{ 'a' ~ 'a' * 10**6 ~ 'a' * 10**6 }}", TOO_BIG),
    "power": ("{{ 10 ** (10 ** 10) }}", TOO_BIG),
    "power_big": ("{{ 2**100000 }}", TOO_BIG),
    "int_squaring": (("{% set ns = namespace(n=7) %}{% for i in range(64) %}"
                     "{% set ns.n = ns.n * ns.n %}{% endfor %}{{ ns.n }}"), TOO_BIG),
    "doubling": (("{% set ns = namespace(s='x') %}{% for i in range(64) %}"
                 "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}"), TOO_BIG),
    "doubling_plus": (("{% set ns = namespace(s=['x']) %}{% for i in range(64) %}"
                      "{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s|length }}"), TOO_BIG),
    "loops_output": (("{% for a in range(10**5) %}{% for b in range(10**5) %}x{% endfor %}"
                     "{% endfor %}"), TOO_MANY),
    "loops_silent": (("{% for a in range(10**5) %}{% for b in range(10**5) %}{% endfor %}"
                     "{% endfor %}"), TOO_MANY),
    "loops_over_text": (("{% for a in 'x' * 10**5 %}{% for b in 'x' * 10**5 %}{% endfor %}"
                        "{% endfor %}"), TOO_MANY),
    "set_block": (("{% set big %}{% for a in range(10**5) %}{{ 'x' * 10**6 }}{% endfor %}"
                  "{% endset %}{{ big|length }}"), TOO_LONG),
    "map_filter": ("{{ range(10**5)|map('center', 10**6)|list|length }}", TOO_LONG),
    "macro_tree": (("{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}"
                   "{% endmacro %}{{ f(60) }}"), (TOO_MANY, TOO_SLOW)),
    "macro_forever": ("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "太深"),
    "deep_data": (("{% set ns = namespace(l=[]) %}{% for i in range(10**5) %}"
                  "{% set ns.l = [ns.l] %}{% endfor %}{{ ns.l }}"), "太深"),
    "brace_nested_text": ("{{ '{:>{}}'.format('x', '999999999') }}", TOO_BIG),
    "brace_many_fields": ("{{ ('{0:>999999}' * 1000).format(1) }}", TOO_BIG),
    "percent_many": ("{{ ('%999999s' * 1000) % ((1,) * 1000) }}", TOO_BIG),
    "refs_string": ("{% set b = 'x' * 10**6 %}{{ [b, b, b]|string }}", TOO_BIG),
    "refs_format": ("{% set b = 'x' * 10**6 %}{{ '{}'.format([b, b, b]) }}", TOO_BIG),
    "refs_namespace": ("{% set b = 'x' * 10**6 %}{% set ns = namespace(a=[b, b, b]) %}{{ ns }}",
                       TOO_BIG),
    "refs_items": ("{% set b = 'x' * 10**6 %}{{ {'a': b, 'c': b}.items() }}", TOO_BIG),
    "sum_lists": ("{{ ([[1]] * 10**5)|sum(start=[]) }}", TOO_BIG),
    # On a loaded machine the 5 s deadline can end these before the work count does; either
    # limit is the clear, bounded refusal the test is about.
    "wordcount_loop": (("{% set b = 'x ' * 500000 %}{% for i in range(10**5) %}"
                       "{{ b|wordcount }}{% endfor %}"), (TOO_LONG, TOO_SLOW)),
    "count_loop": (("{% set b = 'x' * 10**6 %}{% for i in range(10**5) %}"
                   "{{ b.count('y') }}{% endfor %}"), (TOO_LONG, TOO_SLOW)),
    "in_loop": (("{% set b = 'x' * 10**6 %}{% for i in range(1000) %}{% for j in range(1000) %}"
                "{{ 'y' in b }}{% endfor %}{% endfor %}"), (TOO_SLOW, TOO_MANY)),
}


def says(message: str, words: str | tuple[str, ...]) -> bool:
    return any(w in message for w in ((words,) if isinstance(words, str) else words))


@pytest.mark.timeout(30)
@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_render_is_a_clear_error(tmp_path: Path, name: str) -> None:
    hook, words = HOSTILE[name]
    template = load_template(write(tmp_path, template_text(hook)))
    with bounded_work() as used, pytest.raises(TemplateError) as raised:
        render_template(template, SAMPLE_CONTEXT)
    message = str(raised.value)
    assert f"t.j2:{HOOK_LINE}:" in message and says(message, words), message
    assert "Traceback" not in message
    assert used["seconds"] < 15 and used["peak_mb"] < 200, used


@pytest.mark.timeout(30)
@pytest.mark.parametrize("name", ["str_times_huge", "center_filter", "loops_silent",
                                  "doubling", "macro_tree"])
def test_hostile_lint_is_a_clear_error(tmp_path: Path, name: str) -> None:
    hook, words = HOSTILE[name]
    path = write(tmp_path, template_text(hook))
    with bounded_work() as used:
        errors = [i for i in lint_template(path) if i.is_error]
    assert [i.line for i in errors] == [HOOK_LINE], errors
    assert "样例试渲染失败" in errors[0].message and says(errors[0].message, words)
    assert used["seconds"] < 15 and used["peak_mb"] < 200, used


# --- nesting and sizes found before running -----------------------------------------------------

DEEP = {
    "if": "{% if true %}" * 1000 + "x" + "{% endif %}" * 1000,
    "for": "{% for i in [1] %}" * 30 + "x" + "{% endfor %}" * 30,  # Python's own nesting limit
    "parens": "{{ " + "(" * 1000 + "1" + ")" * 1000 + " }}",
    "filters": "{{ 'x'" + "|upper" * 3000 + " }}",
    "plus": "{{ 1" + " + 1" * 3000 + " }}",
}


@pytest.mark.timeout(30)
@pytest.mark.parametrize("name", sorted(DEEP))
def test_deep_nesting_is_a_clear_error(tmp_path: Path, name: str) -> None:
    path = write(tmp_path, template_text(DEEP[name]))
    with bounded_work() as used:
        with pytest.raises(TemplateError, match="嵌套太深") as raised:
            load_template(path)
        errors = [i for i in lint_template(path) if i.is_error]
    assert "Recursion" not in str(raised.value)
    assert len(errors) == 1 and "嵌套太深" in errors[0].message, errors
    assert used["seconds"] < 10 and used["peak_mb"] < 100, used


@pytest.mark.timeout(30)
@pytest.mark.parametrize("number", ["9" * 5000, "0x" + "f" * 5000, "-" + "1" * 200])
def test_an_absurd_number_in_front_matter_is_a_clear_error(tmp_path: Path, number: str) -> None:
    path = write(tmp_path, template_text("{{ chapter_text|first_sentence }}", seconds=number))
    with pytest.raises(TemplateError, match=r"t\.j2:5: front matter 数字太长") as raised:
        load_template(path)
    assert number[-50:] not in str(raised.value)
    errors = [i for i in lint_template(path) if i.is_error]
    assert [(i.line, "数字太长" in i.message) for i in errors] == [(5, True)], errors


def test_a_long_but_sane_number_still_gets_the_schema_message(tmp_path: Path) -> None:
    path = write(tmp_path, template_text("x", seconds="9" * 40))
    with pytest.raises(TemplateError, match="应在 5 到 600 秒之间"):
        load_template(path)


def test_an_absurd_number_in_the_body_is_a_clear_error(tmp_path: Path) -> None:
    path = write(tmp_path, template_text("{{ " + "9" * 5000 + " }}"))
    with pytest.raises(TemplateError, match=r"t\.j2:7: 模板里的数字太长"):
        load_template(path)


def test_an_overlong_body_is_refused_before_parsing(tmp_path: Path) -> None:
    path = write(tmp_path, template_text("x" * 300_000))
    with pytest.raises(TemplateError, match=r"t\.j2:7: 模板正文超过 100,000 个字符"):
        load_template(path)


# --- ordinary templates are untouched ---------------------------------------------------------

def test_ordinary_work_stays_within_the_limits(tmp_path: Path) -> None:
    hook = ("{% set ns = namespace(n=0) %}{% for p in chapter_text.split('\\n') %}"
            "{% for c in p %}{% set ns.n = ns.n + 1 %}{% endfor %}{% endfor %}"
            "{{ '共%d字' % ns.n }}{{ '{:>6}'.format('x') }}{{ 'ab'|center(6) }}"
            "{{ (chapter_text * 20)|length }}{{ 2**64 }}{{ [1, 2]|join('、') }}")
    template = load_template(write(tmp_path, template_text(hook)))
    text = render_template(template, SAMPLE_CONTEXT)[0].text
    assert text.startswith("共") and "x" in text and "18446744073709551616" in text, text


@pytest.mark.timeout(60)
def test_each_rendering_has_its_own_budget(tmp_path: Path) -> None:
    """Two renders in two threads, each using 60% of the step budget: both succeed."""
    loops = int(limits.MAX_STEPS * 0.6)
    outer = 1000
    hook = (f"{{% for a in range({outer}) %}}{{% for b in range({loops // outer}) %}}"
            "{% endfor %}{% endfor %}完")
    template = load_template(write(tmp_path, template_text(hook)))
    results: list[object] = []

    def run() -> None:
        try:
            results.append(render_template(template, SAMPLE_CONTEXT)[0].text)
        except TemplateError as exc:
            results.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["完", "完"]


# --- the command line -------------------------------------------------------------------------

@pytest.mark.timeout(30)
def test_cli_lint_of_a_hostile_template(tmp_path: Path) -> None:
    path = write(tmp_path, template_text(HOSTILE["center_filter"][0]))
    result = run_cli("template", "lint", str(path))
    assert result.returncode == 1
    assert f"{path}:{HOOK_LINE}:" in result.stderr and TOO_BIG in result.stderr
    assert "Traceback" not in result.stderr
    deep = write(tmp_path, template_text(DEEP["if"]))
    result = run_cli("template", "lint", str(deep))
    assert result.returncode == 1 and "嵌套太深" in result.stderr, result.stderr


@pytest.mark.timeout(60)
def test_cli_render_of_a_hostile_template(home: Path, tmp_path: Path) -> None:
    assert run_cli("material", "add", str(SAMPLES / "night-ferry.gbk.txt")).returncode == 0
    for hook, words in (HOSTILE["str_times_huge"], HOSTILE["loops_silent"]):
        path = write(tmp_path, template_text(hook))
        with bounded_work() as used:
            result = run_cli("template", "render", str(path), "--material", "1",
                             "--chapter", "2", "--keyword", "夜渡迷局")
        assert result.returncode == 1 and "Traceback" not in result.stderr
        assert f"{path}:{HOOK_LINE}:" in result.stderr and words in result.stderr
        assert used["seconds"] < 15 and used["peak_mb"] < 200, used


# --- rewrite prompts share the sandbox and its limits ---------------------------------------

def prompt_file(tmp_path: Path, user: str) -> Path:
    path = tmp_path / "p.md"
    path.write_text(f"---\nid: p\nname: 试\n---\n## system\n你是编辑。\n## user\n{user}\n",
                    encoding="utf-8")
    return path


@pytest.mark.timeout(30)
@pytest.mark.parametrize("name", ["str_times_huge", "center_filter", "loops_silent",
                                  "macro_forever"])
def test_hostile_prompt_is_a_clear_error(tmp_path: Path, name: str) -> None:
    hook, words = HOSTILE[name]
    prompt = load_prompt(prompt_file(tmp_path, hook))
    with bounded_work() as used, pytest.raises(TemplateError, match="提示词渲染失败") as raised:
        prompt.render_user(keyword="k")
    assert says(str(raised.value), words), raised.value
    assert used["seconds"] < 15 and used["peak_mb"] < 200, used


def test_deeply_nested_prompt_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="嵌套或递归太深"):
        load_prompt(prompt_file(tmp_path, DEEP["parens"]))


def test_a_long_chapter_from_the_caller_is_not_the_templates_fault(tmp_path: Path) -> None:
    """Limits grow with the caller's values: a 3-million-character chapter still renders, and
    values made from it may be twice its size, but not more."""
    chapter = "雨下了一整夜。" * 430_000
    hook = "{{ chapter_text|excerpt(10) }}{{ (chapter_text ~ chapter_text)|length }}"
    template = load_template(write(tmp_path, template_text(hook)))
    context = {**SAMPLE_CONTEXT, "chapter_text": chapter}
    assert render_template(template, context)[0].text == f"雨下了一整夜。{2 * len(chapter)}"
    greedy = load_template(write(tmp_path, template_text("{{ chapter_text * 3 }}")))
    with pytest.raises(TemplateError, match=TOO_BIG):
        render_template(greedy, context)
