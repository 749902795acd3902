"""Cleaning, chapter headings, Chinese numerals and the size fallback (pure functions)."""

from __future__ import annotations

import pytest

from workbench.materials.chapters import (
    NOISE_PATTERNS,
    chinese_number,
    clean_text,
    guess_title,
    is_noise_line,
    parse_heading,
    split_chapters,
)

BODY = "雨下了一整夜，码头上只剩下一盏灯。他把船票攥在手心里，等着那艘不存在的船。"


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("一", 1), ("十", 10), ("十二", 12), ("二十", 20), ("二十三", 23), ("一百", 100),
        ("一百零五", 105), ("一百一十", 110), ("一百一", 110), ("两百", 200), ("两千", 2000),
        ("一千零一", 1001), ("一千零十", 1010), ("三千五", 3500), ("一万", 10000),
        ("一万零三百", 10300), ("两万三", 23000), ("十万", 100000), ("零", 0), ("〇", 0),
        ("一〇五", 105), ("二〇二三", 2023), ("12", 12), ("１２", 12), ("007", 7),
    ],
)
def test_chinese_number(text: str, number: int) -> None:
    assert chinese_number(text) == number


@pytest.mark.parametrize("text", ["", "abc", "一二十", "第一", "十a"])
def test_chinese_number_rejects_non_numbers(text: str) -> None:
    assert chinese_number(text) is None


@pytest.mark.parametrize(
    ("line", "kind", "number"),
    [
        ("第一章 雨夜", "章", 1), ("第1章", "章", 1), ("第１２章 归来", "章", 12),
        ("第十二章：重逢", "章", 12), ("第二十章雨夜", "章", 20), ("第两百章 终局", "章", 200),
        ("第一百零五章 旧账", "章", 105), ("第一千零一章", "章", 1001), ("第〇章 引", "章", 0),
        ("第零章", "章", 0), ("第三节 夜航", "节", 3), ("第五回 风雪山神庙", "回", 5),
        ("第二卷 江心", "卷", 2), ("第十章上", "章", 10), ("正文 第一章 雨夜", "章", 1), ("【第七章】灯", "章", 7),
        ("序章", "序章", None), ("序章 不存在的码头", "序章", None), ("序言", "序言", None),
        ("楔子", "楔子", None), ("楔子：雨夜", "楔子", None), ("引子", "引子", None),
        ("番外", "番外", None), ("番外一 重逢", "番外", 1), ("番外2：旧船", "番外", 2),
        ("番外篇", "番外篇", None), ("番外之江心岛", "番外", None), ("尾声", "尾声", None),
        ("尾声 第十七码头", "尾声", None), ("后记", "后记", None),
        ("Chapter 1", "chapter", 1), ("CHAPTER 12: The Ferry", "chapter", 12),
        ("chapter 3 - Rain", "chapter", 3),
    ],
)
def test_headings(line: str, kind: str, number: int | None) -> None:
    assert parse_heading(line) == (kind, number)


@pytest.mark.parametrize(
    "line",
    [
        "他翻到第三章，发现自己的名字也在上面。",
        "第三章的内容让他很失望",
        "第一节课上，老师点了他的名字",
        "尾声渐近，他终于明白了一切",
        "番外的故事比正文还好看",
        "楔子里写的那个人就是他",
        "序列号是多少",
        "Chapter 3 was the best part of the book.",
        "第一章" + "很长" * 30,  # longer than a heading line can be
        "",
    ],
)
def test_sentences_are_not_headings(line: str) -> None:
    assert parse_heading(line) is None


def test_split_on_headings_keeps_full_titles_and_bodies() -> None:
    lines = [
        "《末班夜渡》", "作者：某某", "",
        "楔子", BODY, "",
        "第一章 雨夜", BODY, "他翻到第三章，发现自己的名字也在上面。", "",
        "第二卷 江心",
        "第二章：灯", BODY, "",
        "番外一 旧船", BODY, "",
        "尾声", BODY,
    ]
    text = "\n".join(lines)
    chapters, split = split_chapters(text)
    assert split == "headings"
    assert [c.title for c in chapters] == ["楔子", "第一章 雨夜", "第二章：灯", "番外一 旧船", "尾声"]
    assert [c.index for c in chapters] == [1, 2, 3, 4, 5]
    assert chapters[1].text == BODY + "\n" + "他翻到第三章，发现自己的名字也在上面。"
    assert all(c.text == BODY for c in chapters[2:])


def test_english_chapter_headings() -> None:
    text = "Chapter 1\nThe rain never stopped.\nCHAPTER 2: Ferry\nThe boat came at midnight."
    chapters, split = split_chapters(text)
    assert split == "headings"
    assert [(c.title, c.text) for c in chapters] == [
        ("Chapter 1", "The rain never stopped."), ("CHAPTER 2: Ferry", "The boat came at midnight."),
    ]


def test_long_preface_becomes_a_chapter_short_one_does_not() -> None:
    preface = "这是一个关于渡船的故事。" * 20  # 240 characters
    chapters, _ = split_chapters(f"末班夜渡\n作者：某某\n{preface}\n第一章 雨夜\n{BODY}")
    assert [c.title for c in chapters] == ["前言", "第一章 雨夜"]
    assert chapters[0].text == preface
    chapters, _ = split_chapters(f"末班夜渡\n作者：某某\n简短的介绍。\n第一章 雨夜\n{BODY}")
    assert [c.title for c in chapters] == ["第一章 雨夜"]


def test_size_fallback_cuts_at_paragraphs() -> None:
    paragraphs = [f"第{i}段。" + "江水拍打着木桩，" * 10 + "夜很深。" for i in range(40)]
    text = "\n".join(paragraphs)
    chapters, split = split_chapters(text, part_chars=500)
    assert split == "size"
    assert [c.title for c in chapters] == [f"第{i}部分" for i in range(1, len(chapters) + 1)]
    assert len(chapters) > 3
    assert all(c.chars <= 500 + 100 for c in chapters)
    rebuilt = [p for c in chapters for p in c.text.split("\n")]
    assert rebuilt == paragraphs  # nothing lost, nothing cut inside a paragraph


def test_size_fallback_cuts_a_giant_paragraph_at_sentences() -> None:
    sentence = "他在雨里走了很久，一直走到码头。"
    text = sentence * 100  # one paragraph of 1,600 characters
    chapters, split = split_chapters(text, part_chars=300)
    assert split == "size"
    assert len(chapters) >= 5
    assert all(c.text.endswith("。") for c in chapters)
    assert "".join(c.text for c in chapters) == text


def test_size_fallback_joins_a_short_tail() -> None:
    text = "\n".join(["长" * 280, "短。"])
    chapters, _ = split_chapters(text, part_chars=300)
    assert len(chapters) == 1


def test_clean_text_whitespace() -> None:
    raw = "\ufeff　　第一行\r\n\r\n\r\n\r\n  第二行\u200b  \r\n\t第三行\u3000\n\n\n"
    assert clean_text(raw) == "第一行\n\n第二行\n第三行"


@pytest.mark.parametrize(
    "line",
    [
        "本章未完，请点击下一页继续阅读",
        "-->>本章未完，点击下一页继续阅读",
        "（本章未完，请翻页）",
        "请点击下一页继续阅读",
        "（本章完）",
        "本章完",
        "【全书完】",
        "（第三章完）",
        "（未完待续。）",
        "未完待续……",
        "求月票！",
        "求推荐票，求收藏！",
        "PS：今天还有一更，求月票！",
        "一秒记住【笔趣阁 www.biquge.com】，精彩小说无弹窗免费阅读！",
        "天才一秒记住本站地址：abc.la",
        "夜渡最新章节_夜渡全文阅读",
        "夜渡最新章节 www.example.com",
        "手机阅读请访问 m.example.com",
        "手机用户请浏览m.example.com阅读，更优质的阅读体验。",
        "www.example.com",
        "https://www.example.net/book/123.html",
        "【笔趣阁 www.example.com】",
        "章节错误,点此举报(免注册)",
    ],
)
def test_noise_lines_are_dropped(line: str) -> None:
    assert is_noise_line(line)
    assert clean_text(f"{BODY}\n{line}\n{BODY}") == f"{BODY}\n{BODY}"


@pytest.mark.parametrize(
    "line",
    [
        "他翻到最新章节，发现自己的名字也在上面。",
        "她每天都追最新章节，一更新就熬夜看。",
        "这本书的章节写得很乱，他说。",
        "他一秒记住了她的样子。",
        "她习惯用手机阅读小说，一看就是半夜。",
        "他用手机版的地图导航，一路阅读路标。",
        "求推荐一家好吃的餐馆，他说。",
        "本章的故事要从十年前说起。",
        "我打开 example.com 查了查那艘船的名字。",
        "完",
    ],
)
def test_story_lines_are_kept(line: str) -> None:
    assert not is_noise_line(line)
    assert clean_text(f"{BODY}\n{line}") == f"{BODY}\n{line}"


def test_noise_patterns_live_in_one_tuple() -> None:
    assert isinstance(NOISE_PATTERNS, tuple) and len(NOISE_PATTERNS) >= 10


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("《末班夜渡》\n作者：某某\n第一章 雨夜\n" + BODY, "末班夜渡"),
        ("末班夜渡\n作者：某某\n\n楔子\n" + BODY, "末班夜渡"),
        ("书名：末班夜渡\n第一章 雨夜\n" + BODY, "末班夜渡"),
        ("末班夜渡\n\n第一章 雨夜\n" + BODY, "末班夜渡"),
        ("第一章 雨夜\n" + BODY, None),
        (BODY + "\n" + BODY, None),
        ("他醒了\n" + BODY, None),  # no headings, no author line: a story line, not a title
    ],
)
def test_guess_title(text: str, title: str | None) -> None:
    assert guess_title(text) == title
