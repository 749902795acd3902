"""Episode selections as people write them: "2", "1-3", "1,3-4" (also with Chinese commas and
dashes, and spaces). Episodes are counted by position in the material, from 1."""

from __future__ import annotations

import re

from workbench.errors import InputError

_PART = re.compile(r"^(\d{1,6})(?:\s*[-~～—–至到]\s*(\d{1,6}))?$")


def parse_episode_range(text: str, count: int) -> list[int]:
    """The episode numbers `text` names, ascending and each once; InputError on anything else
    (a malformed part, a reversed range, an episode the material does not have)."""
    parts = [p.strip() for p in re.split(r"[,，、;；]", text or "")]
    if not any(parts):
        raise InputError("集数范围是空的：写成 2、1-3 或 1,3-4")
    chosen: set[int] = set()
    for part in parts:
        if not part:
            continue
        match = _PART.match(part)
        if not match:
            raise InputError(f"集数范围里的「{part[:20]}」看不懂：写成 2、1-3 或 1,3-4")
        first = int(match.group(1))
        last = int(match.group(2)) if match.group(2) else first
        if last < first:
            raise InputError(f"集数范围「{part}」是倒过来的：应写成 {last}-{first}")
        if first < 1 or last > count:
            raise InputError(f"集数范围「{part}」超出了这部剧的集数（共 {count} 集，从 1 开始）")
        chosen.update(range(first, last + 1))
    return sorted(chosen)
