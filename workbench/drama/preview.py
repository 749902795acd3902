"""A short MP4 of one drama segment, to look at before rendering: the episode's own picture
scaled to a draft height, cut with ffmpeg, cached by the episode's sha256 and the times.

The segment is checked by the same code as `make --segments` (known episode, start before end,
inside the episode); the clip is at most MAX_SECONDS long and ffmpeg has a deadline.
"""

from __future__ import annotations

from pathlib import Path

from sqlite_utils import Database

from workbench.config import Settings
from workbench.drama.segments import EpisodeTimes, SegmentTuple, check_segments
from workbench.errors import InputError
from workbench.ffmpeg import run_ffmpeg
from workbench.files import atomic_output
from workbench.materials.drama import list_episodes
from workbench.store.cache import content_hash

MAX_SECONDS = 60.0  # a preview longer than this shows only its first minute
HEIGHT = 640  # draft height, the width follows the episode's shape
TIMEOUT = 120.0
VERSION = 1  # bump when the clip's encoding changes


def previews_dir(settings: Settings) -> Path:
    return settings.cache_dir / "previews" / "segments"


def preview_segment(settings: Settings, db: Database, material_id: int,
                    segment: SegmentTuple) -> Path:
    """The cached preview clip of `segment` (episode position from 1, start, end seconds)."""
    rows = {row["idx"]: row for row in list_episodes(db, material_id)}
    if not rows:
        raise InputError(f"素材 #{material_id} 不是短剧（没有剧集）：请先选择一部短剧")
    times = {idx: EpisodeTimes(idx, float(row["duration"])) for idx, row in rows.items()}
    [(episode, start, end)] = check_segments([segment], times)
    row = rows[episode]
    end = min(end, start + MAX_SECONDS)
    path = previews_dir(settings) / f"{content_hash(row['sha256'], start, end, VERSION)[:16]}.mp4"
    if path.is_file():
        return path
    if not Path(row["path"]).is_file():
        raise InputError(f"第 {episode} 集的文件不见了（{row['filename']}）：请重新导入这部剧")
    with atomic_output(path, ".mp4") as partial:
        run_ffmpeg(["-ss", f"{start:.3f}", "-i", row["path"], "-t", f"{end - start:.3f}",
                    "-map", "0:v:0", "-map", "0:a:0?", "-vf", f"scale=-2:{HEIGHT}",
                    "-c:v", "libx264", "-preset", "veryfast", "-crf", "28",
                    "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "96k",
                    "-movflags", "+faststart", "-y", str(partial)],
                   timeout=TIMEOUT, what="片段预览")
    return path
