"""Scene cuts of an episode from ffmpeg's scene score (no OpenCV needed).

ffmpeg's `select='gt(scene,T)'` keeps the frames whose difference from the previous frame
exceeds T (0–1), and `metadata=print` writes their times to stdout. The picture is shrunk
first: the score barely changes and the filter runs several times faster. Cuts closer than
MIN_GAP seconds to the previous one (a flash, a flicker) count once.

The work is bounded (a time limit that grows with the episode's length) and cached by the
episode's sha256, the threshold and VERSION, so a second run costs nothing.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from workbench.errors import InputError
from workbench.ffmpeg import run_ffmpeg
from workbench.store.cache import StageCache, content_hash

VERSION = "1"
THRESHOLD = 0.3  # ffmpeg's documentation suggests 0.3–0.5 for hard cuts
MIN_GAP = 0.5
_TIME = re.compile(r"pts_time:(-?[0-9.]+)")
_SCORE = re.compile(r"lavfi\.scene_score=([0-9.]+)")


def time_limit(duration: float) -> float:
    """Seconds ffmpeg may take over an episode of `duration` seconds (decoding is the cost)."""
    return 60.0 + 2.0 * max(0.0, duration)


def episode_file(episode: dict[str, Any]) -> Path:
    """The episode's file; a clear error when it was moved or deleted after the import."""
    path = Path(episode["path"])
    if not path.is_file():
        raise InputError(f"第 {episode['idx']} 集的文件不见了：{path}（被移动或删除了？放回原处，"
                         "或重新用 workbench material add-drama 导入）")
    return path


def detect_cuts(path: Path, duration: float, threshold: float = THRESHOLD) -> list[float]:
    """Scene cut times (seconds, ascending) in the video at `path`."""
    graph = f"scale=160:-2,select='gt(scene,{threshold})',metadata=print:file=-"
    output = run_ffmpeg(["-i", str(path), "-map", "0:v:0", "-an", "-sn", "-vf", graph,
                         "-f", "null", "-"], timeout=time_limit(duration), what="镜头检测")
    cuts: list[float] = []
    for block in output.decode("utf-8", "replace").split("frame:")[1:]:
        time, score = _TIME.search(block), _SCORE.search(block)
        if not time or not score:
            continue
        at = float(time.group(1))
        if 0 < at < duration and (not cuts or at - cuts[-1] >= MIN_GAP):
            cuts.append(round(at, 3))
    return cuts


def scene_cuts(episode: dict[str, Any], cache: StageCache,
               threshold: float = THRESHOLD) -> list[float]:
    """The episode row's scene cuts, through the stage cache."""
    key = content_hash("drama-scenes", VERSION, episode["sha256"], threshold)
    hit = cache.get(key)
    if hit is not None:
        return [float(t) for t in hit]
    cuts = detect_cuts(episode_file(episode), float(episode["duration"]), threshold)
    cache.put(key, "drama-scenes", "ffmpeg", cuts)
    return cuts
