"""YAML front matter between `---` lines at the top of templates and prompts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.errors import TemplateError
from workbench.yamlnodes import YamlSyntaxError, YamlTooLarge, load_data

MAX_FILE_BYTES = 2_000_000  # a template, prompt or brief is a few KB; never read a huge file whole


class FileTooLarge(ValueError):
    """A text file over `MAX_FILE_BYTES`; the message is for the user."""


@dataclass(frozen=True)
class FrontMatterDoc:
    meta: dict[str, Any]
    body: str
    body_first_line: int  # 1-based line number of the body's first line in the file
    path: Path | None = None
    header: str = ""  # the YAML text between the --- lines, for mapping keys to lines


def split_front_matter(text: str, path: Path | None = None) -> tuple[str, str, int]:
    """(YAML header text, body, 1-based file line of the body) without parsing the YAML, so a
    caller can still check the body when the header is broken."""
    where = str(path) if path else "<text>"
    lines = text.lstrip("\ufeff").splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        raise TemplateError(f"{where}:1: 缺少 YAML front matter（文件须以 --- 开头）")
    for end, line in enumerate(lines[1:], start=1):
        if line.strip() == "---":
            return "".join(lines[1:end]), "".join(lines[end + 1 :]), end + 2
    raise TemplateError(f"{where}:1: front matter 没有结束的 --- 行")


def parse_front_matter(text: str, path: Path | None = None) -> FrontMatterDoc:
    """Split `text` into its YAML header and body; errors name the file and line."""
    where = str(path) if path else "<text>"
    header, body, body_first_line = split_front_matter(text, path)
    try:
        meta = load_data(header, first_line=2) or {}  # the header starts after the opening ---
    except YamlTooLarge as exc:
        raise TemplateError(f"{where}:{exc.line}: front matter {exc.problem}") from None
    except YamlSyntaxError as exc:
        raise TemplateError(f"{where}:{exc.line}: front matter 不是有效的 YAML: {exc.problem}"
                            ) from None
    if not isinstance(meta, dict):
        raise TemplateError(f"{where}:2: front matter 应为键值映射（key: value）")
    return FrontMatterDoc(meta=meta, body=body, body_first_line=body_first_line, path=path,
                          header=header)


def read_limited(path: Path, limit: int = MAX_FILE_BYTES) -> str:
    """A UTF-8 file's text, reading at most `limit` + 1 bytes. Raises FileTooLarge,
    UnicodeDecodeError or OSError."""
    with path.open("rb") as file:
        data = file.read(limit + 1)
    if len(data) > limit:
        raise FileTooLarge(f"文件太大（超过 {limit // 1_000_000} MB），不像是模板、提示词或简报；"
                           "请检查是否选错了文件")
    return data.decode("utf-8")


def read_utf8(path: Path) -> str:
    """A template or prompt file's text, with a clear error for the usual failures."""
    try:
        return read_limited(path)
    except FileTooLarge as exc:
        raise TemplateError(f"{path}:1: {exc}") from None
    except UnicodeDecodeError:
        raise TemplateError(f"{path}:1: 不是 UTF-8 文本") from None
    except OSError as exc:
        raise TemplateError(f"{path}:1: 无法读取：{exc.strerror}") from None


def read_front_matter(path: Path) -> FrontMatterDoc:
    return parse_front_matter(read_utf8(path), path)
