"""A generated script with the user's edits applied: the one way an edited script is read.

The app's script table, a `MakeJob.script` and a batch all come through `edited_script`, so an
empty or malformed script is refused with the same message wherever it was edited.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from workbench.errors import InputError
from workbench.models import Script
from workbench.script.narration import check_narration_length

EMPTY = "脚本是空的：编辑后的脚本没有任何文字，请至少填写一段（或重新生成脚本）"


def parse_hashtags(text: str | Iterable[str] | None) -> list[str]:
    """'#小说推文 追更，#书荒' (or a list) → ['小说推文', '追更', '书荒']."""
    if text is None:
        return []
    words = text.replace("，", " ").split() if isinstance(text, str) else list(text)
    return [w.strip().lstrip("#") for w in words if str(w).strip().lstrip("#")]


def edited_script(base: Mapping[str, Any], rows: Iterable[tuple[str, str]] | None = None, *,
                  title: str | None = None, caption: str | None = None,
                  hashtags: str | Iterable[str] | None = None) -> Script:
    """`base` (a `Script.to_dict()`) with the edits given: segment rows `(name, text)`, title,
    caption, hashtags; None keeps the base's. Raises InputError when the result has no text or
    `base` is not a script."""
    data = dict(base)
    if rows is not None:
        data["segments"] = [{"name": name, "text": text} for name, text in rows]
    if title is not None:
        data["title"] = title.strip()
    if caption is not None:
        data["caption"] = caption.strip()
    if hashtags is not None:
        data["hashtags"] = parse_hashtags(hashtags)
    try:
        script = Script.from_dict(data)
    except (TypeError, ValueError) as exc:
        raise InputError(f"编辑后的脚本格式不对：{exc}。请重新生成脚本。") from None
    if not any(isinstance(s.text, str) and s.text.strip() for s in script.segments):
        raise InputError(EMPTY)
    check_narration_length(script.segments)
    script.cached = False
    return script
