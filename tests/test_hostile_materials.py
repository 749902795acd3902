"""Hostile novel files: zip-bomb EPUBs, truncated multibyte text, pipes and devices. Each is
refused (or read) fast, with bounded memory and a message that says what the file is."""

from __future__ import annotations

import os
import struct
import time
import zlib
from pathlib import Path

import pytest
from cli_runner import run_cli
from conftest import SAMPLES, bounded_work

from workbench.errors import InputError
from workbench.materials.novel import read_novel

_CONTAINER = (b'<?xml version="1.0"?><container version="1.0" '
              b'xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles>'
              b'<rootfile full-path="OEBPS/content.opf" '
              b'media-type="application/oebps-package+xml"/></rootfiles></container>')


def _opf(hrefs: list[str]) -> bytes:
    items = "".join(f'<item id="c{i}" href="{h}" media-type="application/xhtml+xml"/>'
                    for i, h in enumerate(hrefs))
    refs = "".join(f'<itemref idref="c{i}"/>' for i in range(len(hrefs)))
    return (f'<?xml version="1.0"?><package xmlns="http://www.idpf.org/2007/opf" version="3.0" '
            f'unique-identifier="id"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/">'
            f'<dc:identifier id="id">bomb</dc:identifier><dc:title>炸弹</dc:title>'
            f'<dc:language>zh</dc:language></metadata><manifest>{items}</manifest>'
            f'<spine>{refs}</spine></package>').encode()


def _inflating_to(megabytes: int) -> tuple[bytes, int, int]:
    """(raw deflate stream, CRC-32, size) of an XHTML document padded with `megabytes` MB of
    spaces, made without compressing them: after a full flush deflate's state is reset, so the
    same 1 MB block compresses to the same ~1 KB every time and can simply be repeated."""
    head, tail = (b"<html><body><p>",
                  "</p><h1>第一章 雨夜</h1><p>雨下了一整夜。</p></body></html>".encode())
    block = b" " * 2**20
    squeeze = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = squeeze.compress(head) + squeeze.flush(zlib.Z_FULL_FLUSH)
    repeated = squeeze.compress(block) + squeeze.flush(zlib.Z_FULL_FLUSH)
    last = squeeze.compress(tail) + squeeze.flush()
    crc = zlib.crc32(head)
    for _ in range(megabytes):
        crc = zlib.crc32(block, crc)
    crc = zlib.crc32(tail, crc)
    return first + repeated * megabytes + last, crc, len(head) + megabytes * 2**20 + len(tail)


def _write_zip(path: Path, members: list[tuple[str, bytes, int, int, bool]]) -> Path:
    """A zip written by hand, so a member's header can claim any size.

    members: (name, data, CRC-32, size stated in the headers, data is raw deflate)."""
    out, central = bytearray(), bytearray()
    for name, data, crc, size, deflated in members:
        method, raw = (8, data) if deflated else (0, data)
        offset, encoded = len(out), name.encode()
        fields = struct.pack("<HHHHHIII", 20, 0, method, 0, 0x21, crc, len(raw), size)
        out += b"PK\x03\x04" + fields + struct.pack("<HH", len(encoded), 0) + encoded + raw
        central += (b"PK\x01\x02" + struct.pack("<H", 20) + fields
                    + struct.pack("<HHHHHII", len(encoded), 0, 0, 0, 0, 0, offset) + encoded)
    end = struct.pack("<HHHHIIH", 0, 0, len(members), len(members), len(central), len(out), 0)
    path.write_bytes(bytes(out + central + b"PK\x05\x06" + end))
    return path


def _stored(name: str, data: bytes) -> tuple[str, bytes, int, int, bool]:
    return name, data, zlib.crc32(data), len(data), False


def _bomb_epub(path: Path, megabytes: int, *, stated: int | None = None,
               hrefs: tuple[str, ...] = ("c1.xhtml",)) -> Path:
    stream, crc, size = _inflating_to(megabytes)
    return _write_zip(path, [
        _stored("mimetype", b"application/epub+zip"),
        _stored("META-INF/container.xml", _CONTAINER),
        _stored("OEBPS/content.opf", _opf(list(hrefs))),
        ("OEBPS/c1.xhtml", stream, crc, size if stated is None else stated, True),
    ])


def test_the_bomb_builder_makes_a_readable_epub(tmp_path: Path) -> None:
    """The hand-made container is a valid EPUB: a small one imports as one chapter."""
    result = read_novel(_bomb_epub(tmp_path / "small.epub", 1))
    assert result.format == "epub"
    assert [(c.title, c.text) for c in result.chapters] == [("第一章 雨夜", "雨下了一整夜。")]


@pytest.mark.timeout(60)
def test_an_epub_inflating_to_2_gb_is_refused_while_reading(tmp_path: Path) -> None:
    """2 GB of spaces in ~2 MB: the reader counts what it inflates and stops at the cap."""
    path = _bomb_epub(tmp_path / "bomb.epub", 2048)
    assert path.stat().st_size < 3 * 2**20
    with bounded_work() as used, pytest.raises(InputError) as caught:
        read_novel(path)
    assert str(path) in str(caught.value) and "解压后过大" in str(caught.value)
    assert used["seconds"] < 20 and used["peak_mb"] < 100, used
    # a member just over the per-member cap is refused the same way
    with pytest.raises(InputError, match="c30.epub.*解压后过大"):
        read_novel(_bomb_epub(tmp_path / "c30.epub", 30))


@pytest.mark.timeout(60)
def test_a_header_lying_small_is_not_believed(tmp_path: Path) -> None:
    """The header says 1000 bytes, the stream inflates to 2 GB: reading stops at the stated
    size (zipfile does), the CRC does not match, and the file is called damaged, fast."""
    path = _bomb_epub(tmp_path / "liar.epub", 2048, stated=1000)
    with bounded_work() as used, pytest.raises(InputError, match="liar.epub.*已损坏"):
        read_novel(path)
    assert used["seconds"] < 20 and used["peak_mb"] < 100, used


@pytest.mark.timeout(60)
def test_one_member_named_many_times_counts_every_read(tmp_path: Path) -> None:
    """15 MB, under the per-member cap, named by 100 manifest items: 1.5 GB through ebooklib
    before; now the total of all reads is capped."""
    path = _bomb_epub(tmp_path / "echo.epub", 15, hrefs=("c1.xhtml",) * 100)
    with bounded_work() as used, pytest.raises(InputError, match="echo.epub.*解压后过大"):
        read_novel(path)
    assert used["seconds"] < 30 and used["peak_mb"] < 400, used


# Text files and what is not a file ------------------------------------------------------------

@pytest.mark.timeout(60)
def test_a_gbk_file_cut_inside_its_last_character_imports_with_a_note(tmp_path: Path) -> None:
    whole = (SAMPLES / "night-ferry.gbk.txt").read_bytes().rstrip(b"\n")
    cut = tmp_path / "cut.gbk.txt"
    cut.write_bytes(whole[:-1])  # the last character is 。 (A1 A3): only A1 is left
    novel = read_novel(cut)
    assert novel.encoding == "gb18030"
    assert novel.chapters[-1].text == read_novel(SAMPLES / "night-ferry.gbk.txt").chapters[
        -1].text.removesuffix("。")
    assert novel.chapters[-1].text.endswith("是真的存在")
    assert novel.notes == ["文件末尾有半个字符（1 个字节，文件可能不完整），已丢弃"]
    # the same through the CLI: imported, and the note is said
    result = run_cli("material", "add", str(cut))
    assert result.returncode == 0 and "已导入" in result.stdout, result
    assert "注意：文件末尾有半个字符" in result.stdout
    # a whole file has no note; UTF-8 cut the same way gets the same note
    assert read_novel(SAMPLES / "night-ferry.gbk.txt").notes == []
    utf8 = tmp_path / "cut.txt"
    utf8.write_bytes((SAMPLES / "night-ferry.txt").read_bytes().rstrip(b"\n")[:-2])
    assert read_novel(utf8).notes == ["文件末尾有半个字符（1 个字节，文件可能不完整），已丢弃"]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_pipe_or_a_device_is_called_what_it_is_at_once(tmp_path: Path, kind: str) -> None:
    if kind == "fifo":
        path = tmp_path / "novel.txt"
        os.mkfifo(path)  # no writer: opening it for reading the usual way would block forever
        what = "管道"
    else:
        path = Path("/dev/zero")  # reading it never ends
        what = "设备"
    started = time.monotonic()
    with pytest.raises(InputError, match=rf"不是普通文件（{what}）"):
        read_novel(path)
    result = run_cli("material", "add", str(path))
    assert result.returncode == 1 and f"不是普通文件（{what}）" in result.stderr, result
    assert time.monotonic() - started < 10


@pytest.mark.timeout(60)
def test_a_spine_of_many_documents_is_read_in_linear_time_and_capped(tmp_path: Path) -> None:
    """20,000 spine entries took 28 s (ebooklib looks each id up by scanning every item), now
    2 s;
    more than MAX_DOCUMENTS is refused before any is parsed."""
    tiny = "<html><body><h1>第一章 雨夜</h1><p>雨下了一整夜。</p></body></html>".encode()

    def spine_of(path: Path, count: int) -> Path:
        return _write_zip(path, [
            _stored("mimetype", b"application/epub+zip"),
            _stored("META-INF/container.xml", _CONTAINER),
            _stored("OEBPS/content.opf", _opf(["c1.xhtml"] * count)),
            _stored("OEBPS/c1.xhtml", tiny)])

    with bounded_work() as used:
        assert len(read_novel(spine_of(tmp_path / "many.epub", 3000)).chapters) == 3000
    assert used["seconds"] < 15, used
    with bounded_work() as used, pytest.raises(InputError, match="30,000 个文档，超过上限 20,000"):
        read_novel(spine_of(tmp_path / "more.epub", 30_000))
    assert used["seconds"] < 15, used


@pytest.mark.timeout(60)
def test_a_million_chapter_headings_are_refused(tmp_path):
    from cli_runner import run_cli

    many = tmp_path / "many.txt"
    many.write_text("".join(f"第{i}章 标题\n正文\n" for i in range(1, 30_001)), encoding="utf-8")
    result = run_cli("material", "add", str(many))
    assert result.returncode == 1 and "章节太多：找到 30,000 个章节标题" in result.stderr
    assert "Traceback" not in result.stderr
