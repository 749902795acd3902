"""Rewrite prompts: `prompts/*.md` with front matter and `## system` / `## user` sections.

The user section is a sandboxed Jinja2 template; it sees `segments` (list of {name, text}),
`keyword`, `app`, `target_chars`, `book_title`, `chapter_title` and `instruction`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import TemplateSyntaxError, UndefinedError
from jinja2.sandbox import SecurityError

from workbench.errors import InputError, TemplateError
from workbench.frontmatter import read_front_matter
from workbench.script.limits import RenderLimitError, render_budget
from workbench.script.sandbox import make_environment

# a section's heading line; the lab's live lint finds the sections with it too
SECTION_HEADING = re.compile(r"^##\s*(system|user)\s*$", re.MULTILINE | re.IGNORECASE)
# what the user section sees (openai_backend renders it with these, from a RewriteRequest)
PROMPT_VARIABLES = ("segments", "keyword", "app", "target_chars", "book_title",
                    "chapter_title", "instruction")
_env = make_environment()  # the script templates' sandbox, with the same time and size limits
_TOO_DEEP = "嵌套或递归太深，请拆开或减少层数"


@dataclass(frozen=True)
class Prompt:
    id: str
    name: str
    version: str
    description: str
    system: str
    user: str
    temperature: float
    path: Path

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(f"{self.system}\n\x00\n{self.user}".encode()).hexdigest()[:16]

    def cache_payload(self) -> dict[str, Any]:
        return {"id": self.id, "version": self.version, "hash": self.content_hash,
                "temperature": self.temperature}

    def render_user(self, **context: Any) -> str:
        try:
            with render_budget(context.values()):
                return _env.from_string(self.user).render(**context).strip()
        except (TemplateSyntaxError, UndefinedError, SecurityError, RenderLimitError) as exc:
            raise TemplateError(f"{self.path}: 提示词渲染失败: {exc}") from None
        except RecursionError:
            raise TemplateError(f"{self.path}: 提示词渲染失败: {_TOO_DEEP}") from None


def load_prompt(path: Path) -> Prompt:
    doc = read_front_matter(path)
    meta = doc.meta
    for key in ("id", "name"):
        if not meta.get(key):
            raise TemplateError(f"{path}:2: front matter 缺少 {key}")
    parts = SECTION_HEADING.split(doc.body)
    sections = {parts[i].lower(): parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}
    if "system" not in sections or "user" not in sections:
        raise TemplateError(f"{path}: 提示词需要 '## system' 和 '## user' 两段")
    try:
        _env.parse(sections["user"])
    except TemplateSyntaxError as exc:
        raise TemplateError(f"{path}: user 段模板语法错误: {exc.message}") from None
    except RecursionError:
        raise TemplateError(f"{path}: user 段模板{_TOO_DEEP}") from None
    except ValueError as exc:  # the lexer's int() of a number with thousands of digits
        raise TemplateError(f"{path}: user 段模板里的数字太长：{str(exc)[:80]}") from None
    return Prompt(
        id=str(meta["id"]),
        name=str(meta["name"]),
        version=str(meta.get("version", "1")),
        description=str(meta.get("description", "")),
        system=sections["system"],
        user=sections["user"],
        temperature=float(meta.get("temperature", 0.8)),
        path=path,
    )


def list_prompts(dirs: list[Path]) -> list[Prompt]:
    """All prompts in `dirs`; a later directory overrides an earlier one with the same id."""
    found: dict[str, Prompt] = {}
    for folder in dirs:
        if folder.is_dir():
            for path in sorted(folder.glob("*.md")):
                prompt = load_prompt(path)
                found[prompt.id] = prompt
    return sorted(found.values(), key=lambda p: p.id)


def get_prompt(prompt_id: str, dirs: list[Path]) -> Prompt:
    for prompt in list_prompts(dirs):
        if prompt.id == prompt_id:
            return prompt
    known = ", ".join(p.id for p in list_prompts(dirs)) or "（无）"
    raise InputError(f"找不到提示词 {prompt_id!r}；可用: {known}")
