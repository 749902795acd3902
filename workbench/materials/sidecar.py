"""Sidecar subtitles of an episode: `第12集.srt` (or .ass/.ssa/.vtt, also `第12集.zh.srt`) beside
`第12集.mp4`, in any encoding the novel import reads.

pysubs2 parses them, but it skips what it cannot read without a word; a subtitle file that is
silently half-read would put cuts inside spoken lines. So every timing line is checked first
and a broken one is refused with its line number.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pysubs2

from workbench.errors import InputError
from workbench.materials.encoding import decode_text

SUFFIXES = (".srt", ".ass", ".ssa", ".vtt")
MAX_BYTES = 5 * 1024 * 1024
_STAMP = r"(?:\d{1,2}:)?\d{1,2}:\d{2}[,.]\d{1,3}"
_TIMING = re.compile(rf"^\s*({_STAMP})\s*-->\s*({_STAMP})(?:\s+.*)?$")
_ASS_TIME = re.compile(r"^\d+:\d{2}:\d{2}[.:]\d{1,3}$")


@dataclass(frozen=True)
class SubtitleLine:
    start: float  # seconds
    end: float
    text: str


@dataclass(frozen=True)
class Sidecar:
    path: Path
    format: str  # srt | ass | vtt
    encoding: str
    lines: tuple[SubtitleLine, ...]


def find_sidecar(video: Path) -> Path | None:
    """The subtitle file named like the episode, if there is one."""
    for candidate in sorted(video.parent.glob(f"{glob_escape(video.stem)}*")):
        rest = candidate.name[len(video.stem):].lower()
        if candidate.suffix.lower() in SUFFIXES and (
                rest == candidate.suffix.lower() or re.fullmatch(r"\.[\w-]{2,8}\.\w+", rest)):
            return candidate
    return None


def glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)


def _seconds(stamp: str) -> float:
    parts = stamp.replace(",", ".").split(":")
    value = 0.0
    for part in parts:
        value = value * 60 + float(part)
    return value


def _check_cues(text: str, path: Path, srt: bool) -> None:
    """SRT / VTT: every line with an arrow is a valid timing, end after start; in SRT, the line
    after a cue's number is its timing."""
    lines = text.splitlines()
    for number, line in enumerate(lines, start=1):
        after_index = (srt and number > 1 and lines[number - 2].strip().isdigit()
                       and (number == 2 or not lines[number - 3].strip()))
        if "-->" not in line and not after_index:
            continue
        match = _TIMING.match(line)
        if not match:
            raise InputError(f"{path}:{number}: 时间轴格式不对：{line.strip()[:60]!r}（应为 "
                             "00:00:01,000 --> 00:00:02,500）")
        start, end = (_seconds(g) for g in match.groups())
        if end < start:
            raise InputError(f"{path}:{number}: 结束时间早于开始时间：{line.strip()[:60]!r}")


def _check_ass(text: str, path: Path) -> None:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.startswith("Dialogue:"):
            continue
        fields = line.split(":", 1)[1].split(",", 9)
        if len(fields) < 10 or not (_ASS_TIME.match(fields[1].strip())
                                    and _ASS_TIME.match(fields[2].strip())):
            raise InputError(f"{path}:{number}: Dialogue 行格式不对：{line[:60]!r}")
        if _seconds(fields[2].strip()) < _seconds(fields[1].strip()):
            raise InputError(f"{path}:{number}: 结束时间早于开始时间：{line[:60]!r}")


def read_sidecar(path: Path) -> Sidecar:
    """The subtitle lines of `path`, checked; InputError names the file and line."""
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise InputError(f"{path}: 字幕文件太大（{size / 1e6:.1f} MB，最多 5 MB）")
    text, encoding = decode_text(path.read_bytes(), str(path))
    fmt = {".srt": "srt", ".vtt": "vtt", ".ass": "ass", ".ssa": "ass"}[path.suffix.lower()]
    if fmt == "ass":
        _check_ass(text, path)
    else:
        _check_cues(text, path, srt=fmt == "srt")
    try:
        subs = pysubs2.SSAFile.from_string(text, format_="ssa" if fmt == "ass" else fmt)
    except (pysubs2.Pysubs2Error, ValueError) as exc:
        raise InputError(f"{path}: 无法读取字幕：{exc}") from None
    lines = tuple(SubtitleLine(e.start / 1000, e.end / 1000, e.plaintext.strip())
                  for e in subs if not e.is_comment and e.plaintext.strip())
    if not lines:
        raise InputError(f"{path}: 字幕文件里没有字幕")
    return Sidecar(path, fmt, encoding, tuple(sorted(lines, key=lambda l: l.start)))


def stored_lines(episode: dict[str, Any]) -> list[SubtitleLine]:
    """The sidecar lines stored with an episode row at import (`episodes.subtitles`), or []."""
    raw = episode.get("subtitles")
    return [SubtitleLine(float(s), float(e), str(t)) for s, e, t in json.loads(raw)] if raw else []
