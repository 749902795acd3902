"""YAML front matter between `---` lines at the top of templates and prompts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from workbench.errors import TemplateError


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
        meta = yaml.safe_load(header) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line_no = mark.line + 2 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc)
        raise TemplateError(f"{where}:{line_no}: front matter 不是有效的 YAML: {problem}") from None
    if not isinstance(meta, dict):
        raise TemplateError(f"{where}:2: front matter 应为键值映射（key: value）")
    return FrontMatterDoc(meta=meta, body=body, body_first_line=body_first_line, path=path,
                          header=header)


def read_utf8(path: Path) -> str:
    """A template or prompt file's text, with a clear error for the usual failures."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise TemplateError(f"{path}:1: 不是 UTF-8 文本") from None
    except OSError as exc:
        raise TemplateError(f"{path}:1: 无法读取：{exc.strerror}") from None


def read_front_matter(path: Path) -> FrontMatterDoc:
    return parse_front_matter(read_utf8(path), path)
