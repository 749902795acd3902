"""The sample drama's script (sample_drama.yaml) as plain data: characters with their offline
voice and colours, episodes with their frame size and lines.

The file ships with the package and is ours, but it is still checked on load, so an edit that
breaks it fails with the file, the episode and what is wrong rather than deep inside ffmpeg.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from workbench.errors import InputError

SCRIPT_FILE = Path(__file__).with_name("sample_drama.yaml")
_SIZE = re.compile(r"^(\d{3,4})x(\d{3,4})$")
_COLOUR = re.compile(r"^0x[0-9a-fA-F]{6}$")
MAX_LINE_CHARS = 24  # one burned-in line on a 720 px wide frame


@dataclass(frozen=True)
class Character:
    name: str
    voice: str  # an espeak voice (cmn, cmn+f3, …)
    rate: str  # "+10%"
    pitch: str  # "-5Hz"
    colours: tuple[str, ...]  # the shot's gradient colours, 0xRRGGBB


@dataclass(frozen=True)
class Line:
    who: str
    text: str


@dataclass(frozen=True)
class EpisodeScript:
    number: int
    width: int
    height: int
    place: str  # shown on the title card
    lines: tuple[Line, ...]


@dataclass(frozen=True)
class DramaScript:
    title: str
    characters: dict[str, Character]
    episodes: tuple[EpisodeScript, ...]

    def as_data(self) -> dict[str, Any]:
        """Everything that determines the generated episodes (part of the cache key)."""
        return {"title": self.title,
                "characters": {n: vars(c) for n, c in sorted(self.characters.items())},
                "episodes": [{**vars(e), "lines": [vars(line) for line in e.lines]}
                             for e in self.episodes]}


def _fail(where: str, what: str) -> InputError:
    return InputError(f"{SCRIPT_FILE}: {where}: {what}（格式见该文件开头的说明）")


def _character(name: str, raw: Any) -> Character:
    if not isinstance(raw, dict) or not {"voice", "rate", "pitch", "colours"} <= raw.keys():
        raise _fail(f"角色 {name}", "需要 voice、rate、pitch、colours 四项")
    colours = tuple(str(c) for c in raw["colours"] or ())
    if not 2 <= len(colours) <= 4 or not all(_COLOUR.match(c) for c in colours):
        raise _fail(f"角色 {name}", "colours 应为 2 到 4 个 0xRRGGBB 颜色")
    return Character(name, str(raw["voice"]), str(raw["rate"]), str(raw["pitch"]), colours)


def _episode(raw: Any, characters: dict[str, Character]) -> EpisodeScript:
    if not isinstance(raw, dict) or not isinstance(raw.get("number"), int):
        raise _fail("episodes", "每一集需要 number（集数）")
    where = f"第{raw['number']}集"
    size = _SIZE.match(str(raw.get("size", "")))
    if not size:
        raise _fail(where, f"size 应写成 720x1280，收到 {raw.get('size')!r}")
    width, height = int(size[1]), int(size[2])
    if width % 2 or height % 2:
        raise _fail(where, "size 的宽和高都应是偶数（H.264 4:2:0）")
    lines = []
    for item in raw.get("lines") or ():
        if not (isinstance(item, list) and len(item) == 2 and all(isinstance(v, str) for v in item)):
            raise _fail(where, f"台词应写成 [角色, 台词]，收到 {item!r}")
        who, text = item[0].strip(), item[1].strip()
        if who not in characters:
            raise _fail(where, f"台词的角色 {who} 不在 characters 里")
        if not text or len(text) > MAX_LINE_CHARS:
            raise _fail(where, f"台词应有 1 到 {MAX_LINE_CHARS} 个字：{text!r}")
        lines.append(Line(who, text))
    if not lines:
        raise _fail(where, "没有台词")
    return EpisodeScript(raw["number"], width, height, str(raw.get("place", "")), tuple(lines))


@cache
def load_script() -> DramaScript:
    """The sample drama's script, checked."""
    try:
        raw = yaml.safe_load(SCRIPT_FILE.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"{SCRIPT_FILE}: 无法读取样片剧本（{exc}）") from None
    if not isinstance(raw, dict) or not raw.get("title") or not raw.get("episodes"):
        raise _fail("开头", "需要 title、characters、episodes")
    characters = {str(n): _character(str(n), c) for n, c in (raw.get("characters") or {}).items()}
    episodes = tuple(_episode(e, characters) for e in raw["episodes"])
    numbers = [e.number for e in episodes]
    if numbers != list(range(1, len(episodes) + 1)):
        raise _fail("episodes", f"集数应从 1 开始连续编号，收到 {numbers}")
    return DramaScript(str(raw["title"]), characters, episodes)
