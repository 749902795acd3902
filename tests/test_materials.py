"""Reading novels (encodings, EPUB), refusing bad files, and the material library in SQLite."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest
from conftest import SAMPLES

from workbench.errors import InputError
from workbench.materials import library, novel
from workbench.materials.library import (
    add_material,
    get_chapter,
    get_material,
    list_chapters,
    list_materials,
)
from workbench.materials.novel import decode_text, read_novel
from workbench.models import Chapter, NovelText

PARAGRAPHS = [
    "夜色像一口倒扣的铁锅，压在码头上空。林舟站在栈桥尽头，听着江水一下一下拍打木桩。",
    "他已经等了三个小时，那艘据说每晚子时才靠岸的渡船始终没有出现。远处的灯塔忽明忽暗。",
    "她笑了笑说：“你来得太晚了。我们要赶在天亮之前离开这座城市，否则谁也走不了。”",
    "老人递过一张泛黄的船票，上面写着一个陌生的地名，墨迹已经被雨水泡得发白。",
]
STORY = "\n".join(
    ["《末班夜渡》", "作者：某某", ""]
    + [line for i, name in enumerate(["雨夜", "江心的灯", "第十七码头"], 1)
       for line in (f"第{'一二三'[i - 1]}章 {name}", *PARAGRAPHS, "")]
)
TRADITIONAL = (
    "夜色像一口倒扣的鐵鍋，壓在碼頭上空。林舟站在棧橋盡頭，聽著江水一下一下拍打木樁。"
    "他已經等了三個小時，那艘據說每晚子時才靠岸的渡船始終沒有出現。遠處的燈塔忽明忽暗，"
    "像一隻疲倦的眼睛。她笑了笑說：「你來得太晚了。」我們要趕在天亮之前離開這座城市。"
)
SHORT = "雨下了一整夜，码头上只剩下一盏灯。他把船票攥在手心里，等着那艘不存在的船靠岸。"


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _assert_empty(db) -> None:
    assert db["materials"].count == 0
    assert db["chapters"].count == 0


# Encodings -------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("codec", "reported"),
    [
        ("utf_8", {"utf_8"}),
        ("utf_8_sig", {"utf_8_sig"}),
        ("gbk", {"gb18030"}),
        ("gb18030", {"gb18030"}),
        ("utf_16", {"utf_16"}),  # with BOM, native order
    ],
)
def test_story_in_each_encoding(tmp_path: Path, codec: str, reported: set[str]) -> None:
    path = _write(tmp_path, f"story-{codec}.txt", STORY.encode(codec))
    result = read_novel(path)
    assert result.encoding in reported
    assert result.format == "txt"
    assert result.title == "末班夜渡"
    assert result.split == "headings"
    assert [c.title for c in result.chapters] == ["第一章 雨夜", "第二章 江心的灯", "第三章 第十七码头"]
    assert all(c.text == "\n".join(PARAGRAPHS) for c in result.chapters)


@pytest.mark.parametrize("bom_codec", ["utf_16_le", "utf_16_be"])
def test_utf16_with_explicit_bom(bom_codec: str) -> None:
    bom = "\ufeff".encode(bom_codec)
    text, encoding = decode_text(bom + STORY.encode(bom_codec))
    assert encoding == "utf_16"
    assert text == STORY


def test_gb18030_character_outside_gbk(tmp_path: Path) -> None:
    rare = "他在船票背面写下一个字：𪚥。" + STORY
    with pytest.raises(UnicodeEncodeError):
        rare.encode("gbk")
    text, encoding = decode_text(rare.encode("gb18030"))
    assert (text, encoding) == (rare, "gb18030")


@pytest.mark.parametrize("text", [TRADITIONAL, TRADITIONAL[:50], TRADITIONAL[:20]])
def test_big5_traditional(text: str) -> None:
    assert decode_text(text.encode("big5")) == (text, "big5")


@pytest.mark.parametrize(
    ("codec", "reported"),
    [
        ("utf_8", "utf_8"), ("utf_8_sig", "utf_8_sig"), ("gbk", "gb18030"),
        ("gb18030", "gb18030"), ("utf_16", "utf_16"), ("utf_16_le", "utf_16_le"),
        ("utf_16_be", "utf_16_be"),
    ],
)
@pytest.mark.parametrize("length", [10, 20, 50])
def test_short_texts(codec: str, reported: str, length: int) -> None:
    text = SHORT[:length]
    assert decode_text(text.encode(codec)) == (text, reported)


def test_ascii_and_latin_text_still_decode() -> None:
    assert decode_text(b"Chapter 1\nThe rain.\n") == ("Chapter 1\nThe rain.\n", "utf_8")
    text, _ = decode_text("Caf\u00e9 au lait, na\u00efve r\u00e9sum\u00e9. ".encode("cp1252") * 5)
    assert "Café" in text


def test_damaged_utf8_names_the_line() -> None:
    data = (STORY.encode("utf_8") + b"\n" + "坏掉的一行".encode()[:-1] + b"\xff" + "结尾。".encode())
    with pytest.raises(InputError, match=r"book\.txt: 第 \d+ 行"):
        decode_text(data * 1, "book.txt")


def test_utf8_cut_mid_character_at_the_end_is_read() -> None:
    data = STORY.encode("utf_8") + "尾".encode()[:2]
    assert decode_text(data) == (STORY, "utf_8")


# Size fallback, title ----------------------------------------------------------------------

def test_txt_without_headings_is_split_by_size(tmp_path: Path) -> None:
    text = "\n".join(PARAGRAPHS * 60)
    result = read_novel(_write(tmp_path, "无题.txt", text.encode("gbk")))
    assert result.split == "size"
    assert result.title == "无题"
    assert result.chapters[0].title == "第1部分"
    assert len(result.chapters) >= 3


def test_title_argument_wins(tmp_path: Path) -> None:
    path = _write(tmp_path, "story.txt", STORY.encode())
    assert read_novel(path, title="  夜渡  ").title == "夜渡"


# EPUB ----------------------------------------------------------------------------------------

def _make_epub(path: Path, chapters: list[tuple[str, str, str]], title: str = "末班夜渡") -> Path:
    """chapters: (file name, TOC title, XHTML body)."""
    from ebooklib import epub

    book = epub.EpubBook()
    book.set_identifier("test-night-ferry")
    book.set_title(title)
    book.set_language("zh")
    book.add_author("某某")
    items = []
    for name, toc_title, body in chapters:
        item = epub.EpubHtml(title=toc_title, file_name=name, lang="zh")
        item.content = f"<html><head><title>{toc_title}</title></head><body>{body}</body></html>"
        book.add_item(item)
        items.append(item)
    book.toc = tuple(items)
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    book.spine = ["nav", *items]
    epub.write_epub(str(path), book)
    return path


def _paragraphs_html() -> str:
    return "".join(f"<p>　　{p}</p>\n" for p in PARAGRAPHS)


def test_epub_chapters_in_spine_order(tmp_path: Path) -> None:
    path = _make_epub(tmp_path / "ferry.epub", [
        ("c1.xhtml", "第一章 雨夜", f"<h1>第一章 雨夜</h1>{_paragraphs_html()}"),
        ("c2.xhtml", "第二章 江心的灯", (
            "<h2>第二章 江心的灯</h2><div><p>江面上亮起一盏灯。<br/>灯下站着一个人。</p></div>"
            f"<script>var x = 1;</script>{_paragraphs_html()}")),
        ("c3.xhtml", "第三章 第十七码头", _paragraphs_html()),  # no heading: title from TOC
    ])
    result = read_novel(path)
    assert (result.title, result.format, result.encoding) == ("末班夜渡", "epub", "epub")
    assert [c.title for c in result.chapters] == ["第一章 雨夜", "第二章 江心的灯", "第三章 第十七码头"]
    assert result.chapters[0].text == "\n".join(PARAGRAPHS)
    assert result.chapters[1].text.startswith("江面上亮起一盏灯。\n灯下站着一个人。\n")
    assert "var x" not in result.chapters[1].text
    assert result.chapters[2].text == "\n".join(PARAGRAPHS)


def test_epub_document_with_several_chapter_headings(tmp_path: Path) -> None:
    body = "".join(f"<p>第{n}章 {name}</p>{_paragraphs_html()}"
                   for n, name in (("一", "雨夜"), ("二", "灯")))
    path = _make_epub(tmp_path / "one-file.epub", [("all.xhtml", "正文", body)])
    result = read_novel(path, title="夜渡")
    assert result.title == "夜渡"
    assert [c.title for c in result.chapters] == ["第一章 雨夜", "第二章 灯"]


def test_epub_single_document_without_headings_is_split_by_size(tmp_path: Path) -> None:
    body = _paragraphs_html() * 40
    path = _make_epub(tmp_path / "blob.epub", [("all.xhtml", "正文", body)])
    result = read_novel(path)
    assert result.split == "size"
    assert [c.title for c in result.chapters][:2] == ["第1部分", "第2部分"]


def test_epub_detected_by_content_not_suffix(tmp_path: Path) -> None:
    path = _make_epub(tmp_path / "ferry.epub", [("c1.xhtml", "第一章", _paragraphs_html())])
    renamed = path.rename(tmp_path / "ferry.bin")
    assert read_novel(renamed).format == "epub"


# Library -------------------------------------------------------------------------------------

def test_add_material_stores_rows(db, tmp_path: Path) -> None:
    path = _write(tmp_path, "ferry.txt", STORY.encode("gbk"))
    row, created = add_material(db, path)
    assert created
    assert row["title"] == "末班夜渡"
    assert (row["kind"], row["format"], row["encoding"], row["split"]) == (
        "novel", "txt", "gb18030", "headings")
    assert row["chapter_count"] == 3
    assert row["source_path"] == str(path.resolve())
    assert row["filename"] == "ferry.txt"
    assert len(row["sha256"]) == 64 and row["created_at"]
    assert list_materials(db) == [row]
    assert get_material(db, row["id"]) == row
    chapters = list_chapters(db, row["id"])
    assert [c["idx"] for c in chapters] == [1, 2, 3]
    assert chapters[0] == {"idx": 1, "title": "第一章 雨夜", "chars": len("\n".join(PARAGRAPHS))}
    assert get_chapter(db, row["id"], 2) == Chapter(2, "第二章 江心的灯", "\n".join(PARAGRAPHS))


def test_add_epub_material(db, tmp_path: Path) -> None:
    path = _make_epub(tmp_path / "ferry.epub", [("c1.xhtml", "第一章", _paragraphs_html())])
    row, created = add_material(db, path)
    assert created and (row["format"], row["encoding"], row["chapter_count"]) == ("epub", "epub", 1)


def test_same_file_twice_is_not_duplicated(db, tmp_path: Path) -> None:
    path = _write(tmp_path, "ferry.txt", STORY.encode())
    first, created = add_material(db, path)
    copy = _write(tmp_path, "copy-of-ferry.txt", STORY.encode())
    again, created_again = add_material(db, copy, title="别的标题")
    assert created and not created_again
    assert again == first
    assert db["materials"].count == 1
    assert db["chapters"].count == 3


def test_failed_write_leaves_no_partial_rows(db, tmp_path: Path, monkeypatch) -> None:
    """The second chapter breaks the unique (material, idx) index after the material row."""
    chapters = [Chapter(1, "第一章", "正文"), Chapter(1, "重复的编号", "正文")]
    broken = NovelText(title="坏", encoding="utf_8", format="txt", chapters=chapters)
    monkeypatch.setattr(library, "parse_novel", lambda data, path, title: broken)
    with pytest.raises(sqlite3.IntegrityError):
        add_material(db, _write(tmp_path, "x.txt", b"whatever"))
    _assert_empty(db)


# Refusals --------------------------------------------------------------------------------------

PNG_HEADER = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06\x00\x00\x00"


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.txt", b"", "空"),
        ("blank.txt", "  \n\n\t　　\r\n".encode(), "正文"),
        ("punct.txt", "，。……！！\n——\n“”".encode(), "正文"),
        ("noise-only.txt", "本章完\n求月票！\nwww.example.com\n".encode(), "正文"),
        ("image.png", PNG_HEADER + bytes(200), "PNG"),
        ("image.txt", PNG_HEADER + bytes(200), "PNG"),
        ("random.txt", random.Random(7).randbytes(4096), "编码"),
        ("nuls.txt", b"abc\x00\x01\x02\x03def\x00" * 50, "编码"),
        ("fake.epub", STORY.encode(), "EPUB"),
        ("archive.zip", b"PK\x03\x04" + bytes(100), "ZIP"),
    ],
)
def test_bad_files_are_refused_and_nothing_is_stored(
    db, tmp_path: Path, name: str, data: bytes, reason: str
) -> None:
    path = _write(tmp_path, name, data)
    with pytest.raises(InputError, match=reason) as info:
        add_material(db, path)
    message = str(info.value)
    assert name in message and "\n" not in message
    _assert_empty(db)


def test_epub_without_text_is_refused(db, tmp_path: Path) -> None:
    path = _make_epub(tmp_path / "pictures.epub",
                      [("cover.xhtml", "封面", '<img src="cover.jpg" alt=""/>')])
    with pytest.raises(InputError, match="pictures.epub.*没有找到正文"):
        add_material(db, path)
    _assert_empty(db)


def test_missing_file(db, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="找不到文件.*nowhere.txt"):
        add_material(db, tmp_path / "nowhere.txt")
    with pytest.raises(InputError, match="不是文件"):
        add_material(db, tmp_path)
    _assert_empty(db)


def test_oversized_file(db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(novel, "MAX_FILE_BYTES", 1000)
    with pytest.raises(InputError, match="big.txt.*过大"):
        add_material(db, _write(tmp_path, "big.txt", STORY.encode() * 10))
    _assert_empty(db)


def test_unknown_ids_and_out_of_range_chapters(db, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="素材库是空的"):
        get_material(db, 1)
    row, _ = add_material(db, _write(tmp_path, "ferry.txt", STORY.encode()))
    with pytest.raises(InputError, match=r"找不到素材 #99.*#1 末班夜渡"):
        get_material(db, 99)
    with pytest.raises(InputError, match=r"没有第 4 章.*共 3 章.*1–3"):
        get_chapter(db, row["id"], 4)
    with pytest.raises(InputError, match="1–3"):
        get_chapter(db, row["id"], 0)
    with pytest.raises(InputError, match="#42"):
        list_chapters(db, 42)


# The shared sample novel -------------------------------------------------------------------------

SAMPLE_UTF8 = SAMPLES / "night-ferry.txt"
SAMPLE_GBK = SAMPLES / "night-ferry.gbk.txt"


@pytest.mark.skipif(not (SAMPLE_UTF8.exists() and SAMPLE_GBK.exists()),
                    reason="sample novels not written yet")
def test_sample_novel_in_utf8_and_gbk_gives_the_same_chapters() -> None:
    utf8, gbk = read_novel(SAMPLE_UTF8), read_novel(SAMPLE_GBK)
    assert utf8.encoding in ("utf_8", "utf_8_sig")
    assert gbk.encoding in ("gb18030", "gbk")
    assert gbk.chapters == utf8.chapters
    assert gbk.title == utf8.title
    assert len(utf8.chapters) >= 5
    assert utf8.chapters[0].title == "楔子"
