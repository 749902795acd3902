"""Which episodes of a drama a command works on: "2", "1-3", "1,3-4" (also "1，3～4").

Episodes are counted by their place in the material (1 = the first imported episode), the way
`workbench material add-drama` listed them.
"""

from __future__ import annotations

import re
from typing import Any

from sqlite_utils import Database

from workbench.errors import InputError

MAX_TEXT = 200
_PART = re.compile(r"^(\d{1,9})(?:\s*[-~～–—至到]\s*(\d{1,9}))?$")


def parse_episode_range(text: str | None, count: int) -> list[int]:
    """The episode positions `text` names, ascending, each once; every episode when `text` is
    None. InputError says what is wrong and the valid range."""
    if text is None:
        return list(range(1, count + 1))
    if not text.strip():
        raise InputError("集数范围是空的：写成 2、1-3 或 1,3-4（不写 --episodes 就是全部剧集）")
    if count < 1:
        raise InputError("这部剧没有剧集")
    shown = text.strip()[:40]
    if len(text) > MAX_TEXT:
        raise InputError(f"集数范围太长（{len(text)} 个字符，最多 {MAX_TEXT}）")
    chosen: set[int] = set()
    for part in re.split(r"[,，、;；]", text):
        part = part.strip()
        if not part:
            continue
        match = _PART.match(part)
        if not match:
            raise InputError(f"集数范围「{shown}」看不懂：「{part[:20]}」应写成 2、1-3 或 1,3-4")
        first = int(match.group(1))
        last = int(match.group(2)) if match.group(2) else first
        if first > last:
            raise InputError(f"集数范围「{part}」是倒过来的，前大后小：应写成 {last}-{first}")
        if first < 1 or last > count:
            raise InputError(f"集数范围「{part}」超出：这部剧共 {count} 集，可选 1–{count}")
        chosen.update(range(first, last + 1))
    if not chosen:
        raise InputError(f"集数范围「{shown}」里没有集数：应写成 2、1-3 或 1,3-4")
    return sorted(chosen)


def drama_episodes(db: Database, material_id: int, episodes: str | None = None
                   ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The drama material `material_id` and its episode rows named by `episodes` (see
    `parse_episode_range`); InputError when the material is not a drama."""
    from workbench.materials.drama import list_episodes
    from workbench.materials.library import get_material

    material = get_material(db, material_id)
    if material.get("kind") != "drama":
        raise InputError(f"素材 #{material_id}《{material['title']}》是小说，不是短剧：drama 命令只用于 "
                         "workbench material add-drama 导入的剧集")
    rows = list_episodes(db, material_id)
    wanted = set(parse_episode_range(episodes, len(rows)))
    return material, [row for row in rows if row["idx"] in wanted]
