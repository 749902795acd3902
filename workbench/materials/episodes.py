"""Episode order from file names: `剧名 - 第12集`, `第十二集`, `EP12`, `E12`, `12.mp4`.

Numbers are compared as numbers (EP2 before EP10). A name with no episode number, or two files
with the same number, is an error that names the files and suggests `--order`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import cn2an

from workbench.errors import InputError

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".webm", ".m4v")
_PATTERNS = (
    re.compile(r"第\s*([0-9]+|[零〇一二两三四五六七八九十百千]+)\s*[集话話]"),
    re.compile(r"(?<![A-Za-z])(?:EP|E|Episode)\s*[._-]?\s*([0-9]+)(?![0-9])", re.IGNORECASE),
    re.compile(r"^\s*([0-9]+)\s*$"),  # the whole stem is a number: 12.mp4
    re.compile(r"[-_ ]\s*([0-9]+)\s*$"),  # 剧名 - 12, 剧名_12
)


def episode_number(name: str) -> int | None:
    """The episode number in a file name, or None."""
    stem = Path(name).stem
    for pattern in _PATTERNS:
        if match := pattern.search(stem):
            digits = match.group(1)
            return int(digits) if digits.isdigit() else int(cn2an.cn2an(digits, "smart"))
    return None


def video_files(paths: Sequence[Path]) -> list[Path]:
    """The episode files named by `paths` (files, or folders whose video files are taken)."""
    files: list[Path] = []
    for path in paths:
        path = Path(path).expanduser()
        if path.is_dir():
            found = sorted(p for p in path.iterdir()
                           if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)
            if not found:
                raise InputError(f"文件夹 {path} 里没有视频文件（{'/'.join(VIDEO_SUFFIXES)}）")
            files += found
        elif path.is_file():
            files.append(path)
        else:
            raise InputError(f"找不到 {path}")
    unique = list(dict.fromkeys(p.resolve() for p in files))
    if not unique:
        raise InputError("没有给出剧集文件")
    return unique


def order_episodes(files: Sequence[Path], order: Sequence[str] | None = None) -> list[Path]:
    """`files` in episode order: by `order` (file names or stems, every file once) when given,
    else by the number in each name."""
    if order:
        by_name = {}
        for f in files:
            by_name[f.name] = by_name[f.stem] = f
        picked = []
        for name in order:
            if name not in by_name:
                raise InputError(f"--order 里的「{name}」不是给出的剧集文件之一")
            picked.append(by_name[name])
        if len(set(picked)) != len(picked) or set(picked) != set(files):
            left = sorted(f.name for f in set(files) - set(picked))
            raise InputError("--order 应把每个剧集文件恰好列一次"
                             + (f"；缺少 {'、'.join(left)}" if left else "；有重复"))
        return picked
    numbers = {f: episode_number(f.name) for f in files}
    unnamed = [f.name for f, n in numbers.items() if n is None]
    if unnamed:
        if len(files) == 1:
            return list(files)
        raise InputError(f"无法从文件名识别集数：{'、'.join(unnamed[:10])}（文件名写成 第12集、EP12 "
                         "或 12.mp4，或用 --order 按顺序列出文件名）")
    seen: dict[int, Path] = {}
    for f, n in numbers.items():
        if n in seen:
            raise InputError(f"{seen[n].name} 和 {f.name} 都是第 {n} 集：请改名，或用 --order "
                             "按顺序列出文件名")
        seen[n] = f
    return sorted(files, key=lambda f: numbers[f])
