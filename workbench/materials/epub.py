"""EPUB → chapters: the spine's XHTML documents in reading order, text via html.parser.

Each content document is normally one chapter, titled by its first heading, else by its TOC
entry, else by its <title>. Documents that pack several 第X章 headings (whole books in one
file are common in converted web novels) go through the TXT splitter instead.
"""

from __future__ import annotations

import io
import logging
import posixpath
import re
import warnings
from html.parser import HTMLParser
from typing import Any

from workbench.errors import InputError
from workbench.materials.chapters import clean_text, parse_heading, split_chapters
from workbench.models import Chapter

log = logging.getLogger(__name__)

# Zip bombs: what one EPUB may inflate to, counted while reading (images included, and a member
# the manifest names twice counts twice). A long novel is ~15 MB of XHTML.
MAX_MEMBER_BYTES = 20 * 1024 * 1024
MAX_UNPACKED_BYTES = 100 * 1024 * 1024
_READ_CHUNK = 1024 * 1024
MAX_DOCUMENTS = 20_000  # spine entries; long web novels have a few thousand chapter files
SINGLE_DOCUMENT_PART = 3000  # part size when a whole book is one document without headings
_BLOCK_TAGS = {
    "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption",
    "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "ol", "p",
    "pre", "section", "table", "td", "th", "tr", "ul",
}
_SKIP_TAGS = {"script", "style", "head", "svg", "math", "rt", "rp", "noscript"}
_HEADING_TAGS = {"h1", "h2", "h3"}
_SPACES = re.compile(r"[ \t\r\n\f]+")
_META_LINE = re.compile(r"(?:作\s*者|译\s*者|出版社?)\s*[:：].{0,60}|ISBN.{0,30}", re.IGNORECASE)


class _HtmlText(HTMLParser):
    """Collects a document's text with one line per block element, its headings and <title>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.headings: list[str] = []
        self.title = ""
        self._skip = 0
        self._pre = 0
        self._heading: list[str] | None = None
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        if tag in _SKIP_TAGS:
            self._skip += 1
        elif tag == "pre":
            self._pre += 1
        if tag in _HEADING_TAGS and not self._skip:
            self._heading = []
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK_TAGS:  # <br/>, <hr/>: one line break, not two
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        if tag in _SKIP_TAGS:
            self._skip = max(self._skip - 1, 0)
        elif tag == "pre":
            self._pre = max(self._pre - 1, 0)
        if tag in _HEADING_TAGS and self._heading is not None:
            text = _SPACES.sub(" ", "".join(self._heading)).strip()
            if text:
                self.headings.append(text)
            self._heading = None
        if tag in _BLOCK_TAGS and tag != "br":
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        if self._skip:
            return
        if not self._pre:
            data = _SPACES.sub(" ", data)
        self.parts.append(data)
        if self._heading is not None:
            self._heading.append(data)

    @property
    def text(self) -> str:
        """Cleaned text, one line per block; blank lines in markup carry no meaning, so none."""
        return "\n".join(line for line in clean_text("".join(self.parts)).split("\n") if line)


def read_epub_bytes(data: bytes, source: str) -> tuple[str | None, list[Chapter], str]:
    """(metadata title, chapters, split mode) of an EPUB given as bytes."""
    book = _open_book(data, source)
    book_title = _metadata_title(book)
    toc = _toc_titles(book.toc)
    found: list[tuple[str | None, str]] = []
    by_size = False
    documents = list(_spine_documents(book, source))
    for item in documents:
        parser = _HtmlText()
        parser.feed(_as_text(item.get_content()))
        parser.close()
        lines = parser.text.splitlines()
        if sum(1 for line in lines if parse_heading(line)) >= 2:
            chapters, split = split_chapters("\n".join(lines))
            if split == "headings":
                found += [(c.title, c.text) for c in chapters]
                continue
        title = _document_title(parser, lines, book_title, toc, item.file_name)
        body = _body_without_titles(lines, title, book_title)
        if not any(ch.isalnum() for ch in body):
            continue  # cover, title page, volume divider, empty document
        if len(documents) == 1 and len(body) > 2 * SINGLE_DOCUMENT_PART:
            chapters, _ = split_chapters(body, SINGLE_DOCUMENT_PART)  # a whole book, no headings
            found += [(c.title, c.text) for c in chapters]
            by_size = True
        else:
            found.append((title, body))
    if not found:
        raise InputError(f"{source}: EPUB 里没有找到正文（可能只有图片或目录），请换一个文件")
    chapters = [
        Chapter(i, title or f"第{i}部分", body) for i, (title, body) in enumerate(found, 1)
    ]
    return book_title, chapters, "size" if by_size else "headings"


def _open_book(data: bytes, source: str) -> Any:
    from ebooklib import epub  # lazily: only EPUB imports pull in ebooklib and lxml

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = _capped_reader(epub.EpubReader)(io.BytesIO(data), {"ignore_ncx": False})
            reader.source = source
            book = reader.load()
            reader.process()
            return book
    except InputError:
        raise
    except Exception as exc:  # ebooklib raises many kinds: KeyError, lxml errors, BadZipFile
        log.debug("cannot read EPUB %s", source, exc_info=True)
        raise InputError(
            f"{source}: EPUB 文件已损坏或格式不对（{type(exc).__name__}），请重新导出后再导入"
        ) from None


def _too_large(source: str) -> InputError:
    return InputError(f"{source}: EPUB 解压后过大（单个文件超过 {MAX_MEMBER_BYTES // 2**20} MB "
                      f"或合计超过 {MAX_UNPACKED_BYTES // 2**20} MB），可能是压缩炸弹；"
                      "请换一个文件，或拆分后再导入")


def _capped_reader(base: type) -> type:
    """ebooklib's reader with every member read counted as it inflates, not trusted from the
    zip's header: a member may claim 1 KB and inflate to gigabytes, and the manifest may name
    one member many times (each read costs memory again). Defined lazily, like the import."""

    class CappedReader(base):  # type: ignore[misc, valid-type]
        source = ""
        unpacked = 0

        def read_file(self, name: str) -> bytes:
            name = posixpath.normpath(name)
            chunks, size = [], 0
            with self.zf.open(name) as member:
                while chunk := member.read(_READ_CHUNK):
                    size += len(chunk)
                    self.unpacked += len(chunk)
                    if size > MAX_MEMBER_BYTES or self.unpacked > MAX_UNPACKED_BYTES:
                        raise _too_large(self.source)
                    chunks.append(chunk)
            return b"".join(chunks)

    return CappedReader


def _spine_documents(book: Any, source: str) -> Any:
    import ebooklib

    if len(book.spine) > MAX_DOCUMENTS:
        raise InputError(f"{source}: EPUB 的目录里有 {len(book.spine):,} 个文档，超过上限 "
                         f"{MAX_DOCUMENTS:,}；请拆分后再导入")
    by_id: dict[str, Any] = {}  # ebooklib's get_item_with_id scans every item: n² on a spine
    for item in book.get_items():
        by_id.setdefault(item.get_id(), item)
    for idref, linear in book.spine:
        item = by_id.get(idref)
        if item is None or item.get_type() != ebooklib.ITEM_DOCUMENT or linear == "no":
            continue
        if "nav" in (getattr(item, "properties", None) or []) or type(item).__name__ == "EpubNav":
            continue
        yield item


def _metadata_title(book: Any) -> str | None:
    for value, _attrs in book.get_metadata("DC", "title"):
        if value and value.strip():
            return value.strip()
    return None


def _toc_titles(toc: Any) -> dict[str, str]:
    """href (without #fragment) → first TOC title pointing at it, flattened over sections."""
    titles: dict[str, str] = {}
    for entry in toc:
        if isinstance(entry, tuple):
            section, children = entry
            _add_toc_entry(titles, section)
            titles = {**_toc_titles(children), **titles}
        else:
            _add_toc_entry(titles, entry)
    return titles


def _add_toc_entry(titles: dict[str, str], entry: Any) -> None:
    href, title = getattr(entry, "href", None), getattr(entry, "title", None)
    if href and title and title.strip():
        path = href.split("#", 1)[0]
        titles.setdefault(path, title.strip())
        titles.setdefault(posixpath.basename(path), title.strip())


def _document_title(
    parser: _HtmlText, lines: list[str], book_title: str | None, toc: dict[str, str], name: str
) -> str | None:
    for heading in parser.headings:
        if heading != book_title:
            return heading
    first = next((line for line in lines if line), "")
    if parse_heading(first):
        return first
    toc_title = toc.get(name) or toc.get(posixpath.basename(name))
    if toc_title:
        return toc_title
    title = _SPACES.sub(" ", parser.title).strip()
    return title if title and title != book_title else None


def _body_without_titles(lines: list[str], title: str | None, book_title: str | None) -> str:
    """Drop the heading (and a repeated book title or author line) above the text."""
    start = 0
    while start < len(lines) and (
        not lines[start]
        or lines[start] in (title, book_title)
        or _META_LINE.fullmatch(lines[start])
    ):
        start += 1
    return "\n".join(lines[start:]).strip("\n")


def _as_text(content: bytes | str) -> str:
    if isinstance(content, str):
        return content
    head = content[:200]
    match = re.search(rb"encoding=[\"']([A-Za-z0-9_\-]+)[\"']", head)
    encoding = match[1].decode("ascii") if match else "utf-8"
    try:
        return content.decode(encoding, errors="replace")
    except LookupError:
        return content.decode("utf-8", errors="replace")
