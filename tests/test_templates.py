"""Script templates: loading, rendering, the narration filters, the sandbox and lint."""

from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path

import pytest
from conftest import anchor_bomb, bounded_work

from workbench.config import PROJECT_ROOT
from workbench.errors import InputError, TemplateError
from workbench.script import filters, sandbox
from workbench.script.lint import SAMPLE_CHAPTER, SAMPLE_CONTEXT, LintIssue, lint_template
from workbench.script.templates import (
    ScriptTemplate,
    get_template,
    list_templates,
    load_template,
    render_template,
    scan_templates,
)
from workbench.text import split_sentences
from workbench.voice.base import VoiceHint

BUNDLED = PROJECT_ROOT / "templates"
GOOD_BLOCKS = (
    "{% block hook %}{{ chapter_text|first_sentence }}{% endblock %}\n"
    "{% block body %}{{ chapter_text|excerpt(80) }}{% endblock %}\n"
    "{% block cta %}{{ app }}搜索【{{ keyword }}】{% endblock %}\n"
)


def make(body: str = GOOD_BLOCKS, variables: str = "", **meta: str) -> str:
    """Template text: front matter lines 1-6 (+ variables), body right after the closing ---."""
    fields = {"id": "t", "name": "测试", "kind": "novel", "target_seconds": "60", **meta}
    head = "".join(f"{k}: {v}\n" for k, v in fields.items() if v is not None)
    if variables:
        head += "variables:\n" + variables
    return f"---\n{head}---\n{body}"


def write(folder: Path, text: str, name: str = "t.j2") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def body_line(text: str) -> int:
    """File line of the first body line."""
    return text.split("\n").index("---", 1) + 2


def issues_of(path: Path, level: str | None = None) -> list[LintIssue]:
    return [i for i in lint_template(path) if level is None or i.level == level]


# --- bundled templates -----------------------------------------------------------------------

def test_bundled_templates_load() -> None:
    every = {t.id: t for t in list_templates([BUNDLED])}
    assert {t.id for t in every.values() if t.kind == "drama"} == {"cut", "narrated"}
    templates = {k: t for k, t in every.items() if t.kind == "novel"}
    assert set(templates) == {"suspense", "emotional", "comeback"}
    for tpl in templates.values():
        assert tpl.kind == "novel"
        assert tpl.segments[0] == "hook" and tpl.segments[-1] == "cta"
        assert {"hook", "body", "cta"} <= set(tpl.segments)
        assert 45 <= tpl.target_seconds <= 75
        assert any(v.default is not None and not v.required for v in tpl.variables.values())
        assert len(tpl.content_hash) == 16
    assert templates["suspense"].name == "悬疑钩子"


@pytest.mark.parametrize("template_id", ["suspense", "emotional", "comeback"])
def test_bundled_templates_render(template_id: str) -> None:
    tpl = get_template(template_id, [BUNDLED])
    segments = render_template(tpl, SAMPLE_CONTEXT)
    assert [s.name for s in segments] == tpl.segments
    texts = {s.name: s.text for s in segments}
    assert "示例口令" in texts["cta"] and "番茄小说" in texts["cta"]
    for text in texts.values():
        assert text and text == text.strip()
        assert not any(mark in text for mark in ("{{", "}}", "{%", "%}", "{#", "\n"))
    assert len(texts["hook"]) <= 40


@pytest.mark.parametrize("template_id", ["suspense", "emotional", "comeback"])
def test_bundled_templates_fit_target_and_take_variables(template_id: str) -> None:
    tpl = get_template(template_id, [BUNDLED])
    long_chapter = {**SAMPLE_CONTEXT, "chapter_text": SAMPLE_CHAPTER * 4}
    total = sum(len(s.text) for s in render_template(tpl, long_chapter))
    assert 0.7 * tpl.target_seconds * 4.5 <= total <= 1.15 * tpl.target_seconds * 4.5
    custom = render_template(tpl, {**SAMPLE_CONTEXT, "hook_line": "你敢信吗？", "cta_tail": "快去看！"})
    assert custom[0].text == "你敢信吗？"
    assert custom[-1].text.endswith("快去看！")


@pytest.mark.parametrize("template_id", ["suspense", "emotional", "comeback"])
def test_bundled_templates_lint_clean(template_id: str) -> None:
    assert lint_template(BUNDLED / f"{template_id}.j2") == []


def test_bundled_templates_survive_empty_chapter() -> None:
    for tpl in (t for t in list_templates([BUNDLED]) if t.kind == "novel"):
        segments = render_template(tpl, {**SAMPLE_CONTEXT, "chapter_text": ""})
        assert "示例口令" in segments[-1].text


# --- listing and lookup ----------------------------------------------------------------------

def test_later_dir_overrides_and_broken_file_is_skipped(tmp_path: Path) -> None:
    user = tmp_path / "user"
    user.mkdir()
    text = (BUNDLED / "suspense.j2").read_text(encoding="utf-8").replace("悬疑钩子", "我的悬疑")
    write(user, text, "mine.j2")
    write(user, "---\nid: broken\n---\n{% block hook %}", "broken.j2")
    templates = {t.id: t for t in list_templates([BUNDLED, user])}
    assert set(templates) == {"suspense", "emotional", "comeback", "cut", "narrated"}
    assert templates["suspense"].name == "我的悬疑"
    assert templates["suspense"].path == user / "mine.j2"
    _, problems = scan_templates([BUNDLED, user])
    assert len(problems) == 1 and "broken.j2" in str(problems[0])
    with pytest.raises(TemplateError, match="broken.j2"):
        get_template("broken", [BUNDLED, user])


def test_get_template_by_path_and_unknown_id(tmp_path: Path) -> None:
    path = write(tmp_path, make(), "custom.j2")
    assert get_template(str(path), []).id == "t"
    with pytest.raises(InputError, match="suspense"):
        get_template("nope", [BUNDLED])
    with pytest.raises(InputError):
        get_template(str(tmp_path / "missing.j2"), [])


def test_loaded_fields(tmp_path: Path) -> None:
    variables = "  tail:\n    default: 后续更精彩\n    description: 尾巴\n  who:\n    required: true\n"
    path = write(tmp_path, make(variables=variables, version="2",
                                voice="{rate: '+25%', gender: male}"))
    tpl = load_template(path)
    assert tpl.version == "2"
    assert tpl.voice == {"rate": "+25%", "gender": "male"}
    assert tpl.voice_hint == VoiceHint(gender="male", rate="+25%")
    assert tpl.variables["tail"].default == "后续更精彩"
    assert tpl.variables["who"].required and tpl.variables["who"].default is None
    assert tpl.source == path.read_text(encoding="utf-8")


# --- rendering -------------------------------------------------------------------------------

def test_render_defaults_required_and_unknown(tmp_path: Path) -> None:
    variables = "  who:\n    required: true\n    description: 主角名\n  tail:\n    default: 好看\n"
    body = GOOD_BLOCKS.replace("【{{ keyword }}】", "【{{ keyword }}】{{ who }}{{ tail }}")
    tpl = load_template(write(tmp_path, make(body, variables)))
    with pytest.raises(TemplateError, match="缺少必填变量 who") as info:
        render_template(tpl, SAMPLE_CONTEXT)
    assert f"{tpl.path}:" in str(info.value)
    segments = render_template(tpl, {**SAMPLE_CONTEXT, "who": "陈默"})
    assert segments[-1].text == "番茄小说搜索【示例口令】陈默好看"
    with pytest.raises(TemplateError, match="未知变量 colour"):
        render_template(tpl, {**SAMPLE_CONTEXT, "who": "x", "colour": "red"})


def test_render_undefined_name_reports_file_line(tmp_path: Path) -> None:
    body = "{% block hook %}开头{% endblock %}\n{% block body %}\n\n{{ missing_name }}{% endblock %}\n"
    text = make(body + "{% block cta %}{{ keyword }}{% endblock %}\n")
    path = write(tmp_path, text)
    with pytest.raises(TemplateError, match="missing_name") as info:
        render_template(load_template(path), SAMPLE_CONTEXT)
    assert str(info.value).startswith(f"{path}:{body_line(text) + 3}:")


def test_render_target_chars(tmp_path: Path) -> None:
    body = GOOD_BLOCKS.replace("{{ chapter_text|excerpt(80) }}", "{{ target_chars }}")
    tpl = load_template(write(tmp_path, make(body, target_seconds="40")))
    segments = render_template(tpl, SAMPLE_CONTEXT, chars_per_second=5)
    assert segments[1].text == "200"


def test_voice_block_takes_only_what_a_backend_can_do(tmp_path: Path) -> None:
    """`style` and `app_default` took no effect anywhere: they are refused, not ignored."""
    for field, meta in (("voice.style", {"voice": "{style: 紧张}"}),
                        ("voice.speed", {"voice": "{speed: fast}"}),
                        ("app_default", {"app_default": "七猫免费小说"})):
        with pytest.raises(TemplateError, match=f"未知字段 {field}"):
            load_template(write(tmp_path, make(**meta)))


def test_top_level_set_and_macro_visible_in_blocks(tmp_path: Path) -> None:
    body = ("{% set who = '陈默' %}{% macro shout(x) %}{{ x }}！{% endmacro %}\n"
            "{% block hook %}{{ shout(who) }}{% endblock %}\n"
            "{% block body %}{% for s in ['a', 'b'] %}{{ s }}{{ loop.index }}{% endfor %}"
            "{% endblock %}\n{% block cta %}{{ keyword }}{% endblock %}\n")
    path = write(tmp_path, make(body))
    assert [s.text for s in render_template(load_template(path), SAMPLE_CONTEXT)] == [
        "陈默！", "a1b2", "示例口令"]
    assert issues_of(path, "error") == []


def test_render_normalises_whitespace(tmp_path: Path) -> None:
    body = ("{% block hook %}\n  你敢信吗\n  我重生了！\n{% endblock %}\n"
            "{% block body %}\n\n  第一行，\n  第二行\n\n{% endblock %}\n"
            "{% block cta %}\n{{ app }} 搜索【{{ keyword }}】\n后续更精彩\n{% endblock %}\n")
    texts = [s.text for s in render_template(load_template(write(tmp_path, make(body))),
                                             SAMPLE_CONTEXT)]
    assert texts == ["你敢信吗，我重生了！", "第一行，第二行", "番茄小说搜索【示例口令】，后续更精彩"]


# --- filters ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("“快跑！他们来了！”他喊道。", ["“快跑！他们来了！”", "他喊道。"]),
    ("他说：“走吧。”然后走了。", ["他说：“走吧。”", "然后走了。"]),
    ("「好。」她说", ["「好。」", "她说"]),
    ("你疯了吗？！我不信。", ["你疯了吗？！", "我不信。"]),
    ("他愣住了……半晌才开口。门外没人……", ["他愣住了……半晌才开口。", "门外没人……"]),
    ("　　第一段\n\n　　第二段。", ["第一段", "第二段。"]),
    ("“没闭合的引号。后面。", ["“没闭合的引号。", "后面。"]),
    ("", []),
])
def test_split_sentences(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


def test_excerpt() -> None:
    text = "雨下了一整夜。“你还有脸来？”他说。我笑了。"
    assert filters.excerpt(text, 7) == "雨下了一整夜。"
    assert filters.excerpt(text, 16) == "雨下了一整夜。“你还有脸来？”"
    assert filters.excerpt(text, 100) == text
    long = "这是一句非常长的句子，里面有好几个逗号，但是直到很后面才结束。"
    cut = filters.excerpt(long, 15)
    assert cut == "这是一句非常长的句子……" and len(cut) <= 15
    hard = filters.excerpt("一二三四五六七八九十一二三四五六。", 8)
    assert hard == "一二三四五六……"
    assert filters.excerpt("", 10) == "" and filters.excerpt(None, 10) == ""
    assert filters.excerpt(text, 0) == ""
    assert filters.excerpt("标题没有标点\n正文。", 20) == "标题没有标点。正文。"


def test_sentence_and_paragraph_filters() -> None:
    text = "　　“快跑！”他喊道。我没动。\n\n　　门开了……\n最后一段"
    assert filters.first_sentence(text) == "“快跑！”"
    assert filters.last_sentence(text) == "最后一段"
    assert filters.sentences(text, 2) == "“快跑！”他喊道。"
    assert filters.paragraphs(text, 2) == "“快跑！”他喊道。我没动。\n门开了……"
    for fn in (filters.first_sentence, filters.last_sentence, filters.sentences,
               filters.paragraphs, filters.strip_dialogue, filters.quote, filters.striking):
        assert fn("") == "" and fn(None) == ""


def test_strip_dialogue_and_quote() -> None:
    text = "他冷笑道：“滚。”说完就走。\n“嗯。”\n她半晌才开口：“陈默，我们不是一路人。”"
    assert filters.strip_dialogue(text) == "他冷笑道，说完就走。\n她半晌才开口。"
    assert filters.quote(text) == "陈默，我们不是一路人。"
    assert filters.quote(text, min_chars=1) == "滚。"
    assert filters.quote(text, 2, min_chars=1) == "嗯。"
    assert filters.quote("没有台词。") == ""
    assert filters.quote("去“第十七码头”的票。“一张票。”") == "一张票。"


def test_striking_and_chars() -> None:
    text = "雨下了一整夜，我站在楼下等她。“你还有脸来？”林浩说。"
    assert filters.striking(text, 20) == "“你还有脸来？”"
    assert filters.striking("一句很平的话，后面还有很多字呢。", 8) == "一句很平的话……"
    assert filters.chars(" 你 好\n啊 ") == 3 and filters.chars(None) == 0


def test_omit_takes_the_hook_out_with_its_quote_and_lead_in() -> None:
    text = "看到我进来，她勉强笑了笑：“又一宿没睡？眼睛肿得跟桃似的。”我没说话。"
    assert filters.omit(text, "又一宿没睡？眼睛肿得跟桃似的。") == "看到我进来，她勉强笑了笑。我没说话。"
    assert filters.omit(text, "“又一宿没睡？眼睛肿得跟桃似的。”") == "看到我进来，她勉强笑了笑。我没说话。"
    assert filters.omit("“快跑！”\n他没动。", "“快跑！”") == "他没动。"  # nothing left: no line
    assert filters.omit("他走了，门关上了。", "") == "他走了，门关上了。"


CHAPTER = ("我在窗口坐了三年。其中就有我爸，沈长河。"
           "所以那天晚上，当一只干瘦的手从窗口底下伸进来，把一张钞票推到我面前时，我整个人都僵住了。"
           "“一张票。”窗外的人声音沙哑。")


def test_teaser_is_the_next_tense_sentence_of_the_chapter_without_its_outcome() -> None:
    told = "我在窗口坐了三年。其中就有我爸，沈长河。"
    assert filters.teaser(CHAPTER, told, 40) == (
        "所以那天晚上，当一只干瘦的手从窗口底下伸进来，把一张钞票推到我面前时……")
    assert filters.teaser(CHAPTER, told) == "所以那天晚上，当一只干瘦的手从窗口底下伸进来……"  # n=30
    # a question after the excerpt is the cliffhanger itself
    chapter = told + "第二天上午，有人敲门。门外站着一个人，笑眯眯的。“落水的人……找到了吗？”"
    assert filters.teaser(chapter, told) == "“落水的人……找到了吗？”"
    assert filters.teaser(CHAPTER, CHAPTER) == ""  # the excerpt ran to the end
    assert filters.teaser(CHAPTER, "不在这一章里的一句。") == ""
    assert filters.teaser("", told) == "" and filters.teaser(None, None) == ""
    assert len(filters.teaser(CHAPTER, told, 12)) <= 12 + 2


@pytest.mark.parametrize("template_id", ["suspense", "emotional", "comeback"])
def test_novel_templates_take_the_cliffhanger_from_the_chapter(template_id: str) -> None:
    template = get_template(template_id, [BUNDLED])
    chapter = SAMPLE_CHAPTER + "\n" + CHAPTER * 8
    segments = render_template(template, {**SAMPLE_CONTEXT, "chapter_text": chapter})
    cliffhanger = {s.name: s.text for s in segments}["cliffhanger"]
    assert re.sub(r"[…？”！]+$", "", cliffhanger) in chapter, cliffhanger
    assert "万万没想到" not in cliffhanger and "傻眼" not in cliffhanger
    # a creator's own line still wins
    mine = render_template(template, {**SAMPLE_CONTEXT, "chapter_text": chapter,
                                      "cliffhanger": "我的悬念"})
    assert {s.name: s.text for s in mine}["cliffhanger"] == "我的悬念"


@pytest.mark.parametrize(("raw", "expected"), [
    ("  我跟你说\n  这事太离谱了\n", "我跟你说，这事太离谱了"),
    ("结束了。\n\n后来", "结束了。后来"),
    ("番茄小说 App\nStore", "番茄小说App Store"),
    ("，，开头，，。", "开头。"),
    ("   \n  ", ""),
])
def test_normalise_segment(raw: str, expected: str) -> None:
    assert sandbox.normalise_segment(raw) == expected


# --- sandbox ---------------------------------------------------------------------------------

class Probe:
    """Records whether the template ran far enough to print it."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __str__(self) -> str:
        self.calls.append("str")
        return "probe"


EVIL = [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ chapter_text|attr('__class__') }}",
    "{{ self.__dict__ }}",
    "{{ lipsum.__globals__ }}",
    "{{ chapter_text['__cl' ~ 'ass__'] }}",
    "{{ range.mro() }}",
    "{{ chapter_text|attr(keyword) }}",
    "{{ [chapter_text]|map(attribute='__class__')|list }}",
    "{{ '{0.__class__}'.format(chapter_text) }}",
    "{% include 'other.j2' %}",
    "{% import 'other.j2' as other %}",
    "{% from 'other.j2' import x %}",
    "{% extends 'base.j2' %}",
]
PROBE_VAR = "  probe:\n    default: ''\n"


@pytest.mark.parametrize("evil", EVIL)
def test_unsafe_template_refused_before_execution(tmp_path: Path, evil: str) -> None:
    body = GOOD_BLOCKS.replace("{% block hook %}", "{% block hook %}{{ probe }}\n" + evil)
    text = make(body, PROBE_VAR)
    path = write(tmp_path, text)
    with pytest.raises(TemplateError) as info:
        load_template(path)
    assert str(info.value).startswith(f"{path}:{body_line(text) + 1}:")

    # A ScriptTemplate built by hand (bypassing load) is refused at render too, unexecuted.
    safe = load_template(write(tmp_path, make(GOOD_BLOCKS, PROBE_VAR), "safe.j2"))
    forged = dataclasses.replace(safe, source=text, path=path)
    probe = Probe()
    with pytest.raises(TemplateError):
        render_template(forged, {**SAMPLE_CONTEXT, "probe": probe})
    assert probe.calls == []
    assert any(i.is_error and i.line == body_line(text) + 1 for i in lint_template(path))


def test_sandbox_blocks_names_built_at_run_time(tmp_path: Path) -> None:
    body = GOOD_BLOCKS.replace("{{ chapter_text|first_sentence }}", "{{ chapter_text[key] }}")
    tpl = load_template(write(tmp_path, make(body, "  key:\n    default: __class__\n")))
    with pytest.raises(TemplateError, match="沙箱"):
        render_template(tpl, SAMPLE_CONTEXT)


def test_sandbox_is_immutable(tmp_path: Path) -> None:
    body = GOOD_BLOCKS.replace("{{ chapter_text|first_sentence }}", "{{ items.append(2) }}")
    tpl = load_template(write(tmp_path, make(body, "  items:\n    default: [1]\n")))
    with pytest.raises(TemplateError, match="沙箱"):
        render_template(tpl, SAMPLE_CONTEXT)
    assert tpl.variables["items"].default == [1]


# --- lint ------------------------------------------------------------------------------------

def test_lint_syntax_error_line(tmp_path: Path) -> None:
    body = GOOD_BLOCKS + "{% block extra %}\n{{ oops }\n{% endblock %}\n"
    text = make(body)
    [issue] = issues_of(write(tmp_path, text))
    assert issue.is_error and "语法" in issue.message
    assert issue.line == body_line(text) + 4


def test_lint_unknown_and_unused_variables(tmp_path: Path) -> None:
    variables = ("  spare:\n    default: x\n"
                 "  maybe:\n    description: 可选\n"
                 "  both:\n    required: true\n    default: y\n")
    body = GOOD_BLOCKS.replace("{% block body %}",
                               "{% block body %}{{ maybe }}{{ both }}\n{{ mystery }}")
    text = make(body, variables)
    path = write(tmp_path, text)
    issues = lint_template(path)
    by_message = {i.message.split("：")[0].split("，")[0]: i for i in issues}
    unknown = by_message["未知变量 mystery"]
    assert unknown.is_error and unknown.line == body_line(text) + 2
    unused = by_message["声明了变量 spare"]
    assert unused.level == "warning" and unused.line == 7
    assert by_message["变量 maybe 不是必填也没有默认值"].is_error
    assert by_message["变量 both 标为必填又给了默认值"].level == "warning"
    assert str(unknown) == f"{path}:{unknown.line}: 错误: {unknown.message}"


def test_lint_guarded_optional_variable_is_fine(tmp_path: Path) -> None:
    body = GOOD_BLOCKS.replace("{% block body %}",
                               "{% block body %}{% if maybe is defined %}{{ maybe }}{% endif %}")
    path = write(tmp_path, make(body, "  maybe:\n    description: 可选\n"))
    assert issues_of(path, "error") == []


def test_lint_cta_without_keyword(tmp_path: Path) -> None:
    text = make(GOOD_BLOCKS.replace("【{{ keyword }}】", "搜索书名"))
    [issue] = issues_of(write(tmp_path, text))
    assert issue.is_error and "口令" in issue.message and issue.line == body_line(text) + 2


def test_lint_missing_hook_and_nested_block(tmp_path: Path) -> None:
    body = GOOD_BLOCKS.replace("{% block hook %}{{ chapter_text|first_sentence }}{% endblock %}",
                               "{% if true %}{% block hook %}x{% endblock %}{% endif %}")
    messages = [i.message for i in issues_of(write(tmp_path, make(body)), "error")]
    assert any("缺少段落块 hook" in m for m in messages)
    assert any("最外层" in m for m in messages)
    no_hook = GOOD_BLOCKS.split("\n", 1)[1]
    [issue] = issues_of(write(tmp_path, make(no_hook), "b.j2"))
    assert "缺少段落块 hook" in issue.message


def test_lint_bad_front_matter(tmp_path: Path) -> None:
    text = make(GOOD_BLOCKS, id=None, kind="movie")
    path = write(tmp_path, text)
    issues = issues_of(path, "error")
    assert any("缺少必填字段 id" in i.message and i.line == 2 for i in issues)
    assert any("kind" in i.message and "movie" in i.message and i.line == 3 for i in issues)
    with pytest.raises(TemplateError, match="另有 1 处错误"):
        load_template(path)
    bad_id = make(GOOD_BLOCKS, id="'Bad Id'", target_seconds="'long'", colour="red")
    messages = [i.message for i in issues_of(write(tmp_path, bad_id, "c.j2"), "error")]
    assert any("id 格式不对" in m for m in messages)
    assert any("target_seconds 应为整数" in m for m in messages)
    assert any("未知字段 colour" in m for m in messages)
    shadow = make(GOOD_BLOCKS, variables="  keyword:\n    default: x\n")
    assert any("内置变量同名" in i.message for i in issues_of(write(tmp_path, shadow, "d.j2")))


def test_lint_broken_yaml_still_checks_body(tmp_path: Path) -> None:
    text = "---\nid: t\nname: [unclosed\n---\n{% block hook %}{{ x }\n"
    issues = issues_of(write(tmp_path, text), "error")
    assert any("YAML" in i.message for i in issues)
    assert any("语法" in i.message and i.line == 5 for i in issues)
    assert issues_of(write(tmp_path, "no front matter\n", "e.j2"))[0].line == 1


def test_lint_warnings_long_hook_outside_text_and_ad_words(tmp_path: Path) -> None:
    body = "开头的废话\n" + GOOD_BLOCKS.replace(
        "{{ chapter_text|first_sentence }}", "{{ chapter_text|excerpt(60) }}").replace(
        "【{{ keyword }}】", "【{{ keyword }}】，全网最好看")
    text = make(body)
    issues = lint_template(write(tmp_path, text))
    assert all(i.level == "warning" for i in issues)
    messages = " ".join(i.message for i in issues)
    assert "hook 段有" in messages and "block" in messages and "「最」" in messages
    outside = next(i for i in issues if "之外" in i.message)
    assert outside.line == body_line(text)


def test_lint_runtime_error_from_trial_render(tmp_path: Path) -> None:
    body = GOOD_BLOCKS.replace("excerpt(80)", "excerpt('lots')")
    text = make(body)
    [issue] = issues_of(write(tmp_path, text))
    assert issue.is_error and "试渲染" in issue.message and issue.line == body_line(text) + 1


def test_lint_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "gbk.j2"
    path.write_bytes("---\nid: 测试\n".encode("gbk"))
    [issue] = lint_template(path)
    assert issue.is_error and "UTF-8" in issue.message


def test_copy_of_bundled_template_lints_clean(tmp_path: Path) -> None:
    target = tmp_path / "copy.j2"
    shutil.copy(BUNDLED / "comeback.j2", target)
    assert lint_template(target) == []
    assert isinstance(load_template(target), ScriptTemplate)


def test_readme_example_lints_clean(tmp_path: Path) -> None:
    readme = (BUNDLED / "README.md").read_text(encoding="utf-8")
    example = readme.split("```jinja\n", 1)[1].split("```", 1)[0]
    path = write(tmp_path, example, "example.j2")
    assert lint_template(path) == []
    assert load_template(path).segments == ["hook", "body", "cliffhanger", "cta"]


# --- hostile input: bounded work -------------------------------------------------------------

def test_an_anchor_bomb_in_front_matter_is_refused_fast(tmp_path: Path) -> None:
    text = make().replace("---\n", "---\n" + anchor_bomb(), 1)
    path = write(tmp_path, text)
    with bounded_work() as used:
        with pytest.raises(TemplateError, match=r"t\.j2:7: front matter YAML 别名展开过多"):
            load_template(path)
        issues = issues_of(path, "error")
    assert any(i.line == 7 and "YAML 别名展开过多" in i.message for i in issues), issues
    assert used["seconds"] < 1.0 and used["peak_mb"] < 50, used


def test_a_huge_template_file_is_not_read_whole(tmp_path: Path) -> None:
    path = write(tmp_path, make(GOOD_BLOCKS + "{# padding #}\n" * 300_000))  # 4 MB
    with bounded_work() as used, pytest.raises(TemplateError, match="t\\.j2:1: 文件太大"):
        load_template(path)
    assert used["peak_mb"] < 10, used


def test_duplicate_front_matter_keys_are_an_error(tmp_path: Path) -> None:
    text = make(voice="{rate: '+10%'}").replace("name: 测试\n", "name: 测试\nname: 又一个\n")
    path = write(tmp_path, text)
    with pytest.raises(TemplateError, match="name 写了不止一次") as info:
        load_template(path)
    assert str(info.value).startswith(f"{path}:4:")  # the second one's line
