"""How long a narration may be, checked on the script's text before any synthesis.

A segment of 200,000 characters (an edited script, a runaway LLM, a template fed a whole
chapter) would otherwise become hours of audio. Chinese narration runs at ~4.5 characters a
second; the caps allow twice that pace for 15 minutes in all, and one segment half of that.
The voice service checks every script it is given; an edited script is checked as it is read,
so the app and a batch say so before a job starts.
"""

from __future__ import annotations

from collections.abc import Iterable

from workbench.errors import InputError
from workbench.models import Segment

MAX_NARRATION_MINUTES = 15
GENEROUS_CHARS_PER_SECOND = 9
MAX_SCRIPT_CHARS = MAX_NARRATION_MINUTES * 60 * GENEROUS_CHARS_PER_SECOND  # 8,100
MAX_SEGMENT_CHARS = MAX_SCRIPT_CHARS // 2


def check_narration_length(segments: Iterable[Segment]) -> None:
    """Refuse a script too long to narrate, naming the segment that is."""
    total = 0
    for segment in segments:
        size = len(segment.text) if isinstance(segment.text, str) else 0
        if size > MAX_SEGMENT_CHARS:
            raise InputError(
                f"段落 {segment.name} 有 {size:,} 字，超过每段上限 {MAX_SEGMENT_CHARS:,} 字；"
                "请缩短这一段或拆成几段再配音")
        total += size
    if total > MAX_SCRIPT_CHARS:
        raise InputError(
            f"脚本共 {total:,} 字，超过配音上限 {MAX_SCRIPT_CHARS:,} 字（约 "
            f"{MAX_NARRATION_MINUTES} 分钟）；请缩短脚本，短视频的文案通常只有几百字")
