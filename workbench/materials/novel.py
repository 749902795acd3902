"""Reading a novel file (TXT in any common Chinese encoding, or EPUB) into a NovelText.

Everything here is parsing only, with no database access, so a file that fails any check is
refused before anything is stored. The work is split over three modules that this one ties
together and re-exports: `encoding` (bytes → str), `chapters` (cleaning, splitting), `epub`.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from workbench.errors import InputError
from workbench.files import read_bounded
from workbench.materials.chapters import chinese_number, clean_text, guess_title, split_chapters
from workbench.materials.encoding import decode_text
from workbench.materials.epub import read_epub_bytes
from workbench.models import NovelText

__all__ = [
    "MAX_FILE_BYTES", "chinese_number", "clean_text", "decode_text", "is_epub", "parse_novel",
    "read_file_bytes", "read_novel", "split_chapters",
]

MAX_FILE_BYTES = 50 * 1024 * 1024
_EPUB_MIMETYPE = b"application/epub+zip"
_ZIP_MAGIC = b"PK\x03\x04"


def read_novel(path: Path, title: str | None = None) -> NovelText:
    """Read, decode, clean and split the novel at `path`.

    The title is `title`, else the EPUB metadata title, else a title line at the top of a TXT
    (《书名》, 书名：…, or a short line above the first chapter), else the file name.
    """
    path = Path(path)
    return parse_novel(read_file_bytes(path), path, title)


def read_file_bytes(path: Path) -> bytes:
    """A novel file's bytes (at most MAX_FILE_BYTES; see files.read_bounded)."""
    return read_bounded(path, MAX_FILE_BYTES, "请选择一个 TXT 或 EPUB 文件", "请拆分后再导入")


def parse_novel(data: bytes, path: Path, title: str | None = None) -> NovelText:
    """Parse file bytes already read from `path` (used for messages, suffix and title)."""
    path = Path(path)
    source = str(path)
    title = (title or "").strip() or None
    notes: list[str] = []
    if is_epub(data, path):
        meta_title, chapters, split = read_epub_bytes(data, source)
        fmt, encoding = "epub", "epub"
        title = title or meta_title
    else:
        text, encoding = decode_text(data, source, notes)
        text = clean_text(text)
        if not _has_text(text):
            raise InputError(f"{source}: 没有可用的正文（只有空白或标点），请检查文件内容")
        chapters, split = split_chapters(text)
        fmt = "txt"
        title = title or guess_title(text)
    if not any(_has_text(chapter.text) for chapter in chapters):
        raise InputError(f"{source}: 没有可用的正文（只有标题或标点），请检查文件内容")
    return NovelText(
        title=title or path.stem, encoding=encoding, format=fmt, chapters=chapters, split=split,
        notes=notes,
    )


def is_epub(data: bytes, path: Path) -> bool:
    """EPUB by content (a zip whose mimetype or container says so), else by the .epub suffix.

    A .epub name on something that is not a zip is refused rather than read as text.
    """
    if not data.startswith(_ZIP_MAGIC):
        if Path(path).suffix.lower() == ".epub":
            raise InputError(f"{path}: 扩展名是 .epub，但内容不是 EPUB（不是 zip 文件），请重新导出")
        return False
    if _EPUB_MIMETYPE in data[:100] or Path(path).suffix.lower() == ".epub":
        return True
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "META-INF/container.xml" in archive.namelist()
    except zipfile.BadZipFile:
        return False


def _has_text(text: str) -> bool:
    return any(ch.isalnum() for ch in text)
