"""How loud an episode's sound is, window by window: ffmpeg's EBU R128 momentary loudness.

`ebur128=metadata=1` measures the loudness of the last 400 ms every 100 ms; `ametadata=print`
writes it to stdout. The values are averaged (as energy, not as dB) into WINDOW-second
windows, and silence is floored at FLOOR LUFS so that digital silence (-120) does not drag an
average into meaningless depths. An episode without sound has no windows.

Bounded in time and cached by the episode's sha256, the window and VERSION, like scenes.py.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from statistics import median
from typing import Any

from workbench.drama.scenes import episode_file
from workbench.ffmpeg import run_ffmpeg
from workbench.store.cache import StageCache, content_hash

VERSION = "1"
WINDOW = 0.5  # seconds per loudness value
FLOOR = -70.0  # LUFS; quieter counts as this
_LINE = re.compile(r"pts_time:(-?[0-9.]+)\s+lavfi\.r128\.M=(-?[0-9.]+|-?inf|nan)")


@dataclass(frozen=True)
class Loudness:
    """Momentary loudness (LUFS) per window; `values[i]` covers [i*window, (i+1)*window)."""

    window: float
    values: tuple[float, ...]

    @property
    def median(self) -> float:
        return median(self.values) if self.values else FLOOR

    def between(self, start: float, end: float) -> float | None:
        """The typical loudness of [start, end): the mean LUFS of the windows it covers (not
        the energy mean, which one loud second would dominate), or None without sound."""
        first, last = int(start / self.window), math.ceil(end / self.window)
        chosen = self.values[max(0, first):max(0, last)]
        return sum(chosen) / len(chosen) if chosen else None


def measure(episode: dict[str, Any], window: float = WINDOW) -> Loudness:
    """Loudness windows of the episode row's first sound stream (none without sound)."""
    if not episode.get("audio_codec"):
        return Loudness(window, ())
    duration = float(episode["duration"])
    output = run_ffmpeg(
        ["-i", str(episode_file(episode)), "-map", "0:a:0", "-vn", "-sn", "-af",
         "ebur128=metadata=1,ametadata=print:key=lavfi.r128.M:file=-", "-f", "null", "-"],
        timeout=30.0 + 0.5 * duration, what="响度分析")
    sums: dict[int, list[float]] = {}
    for time, value in _LINE.findall(output.decode("utf-8", "replace").replace("\n", " ")):
        try:
            loud = max(FLOOR, float(value))
        except ValueError:
            continue
        if math.isnan(loud):
            continue
        slot = sums.setdefault(int(float(time) / window), [0.0, 0])
        slot[0] += 10 ** (loud / 10)
        slot[1] += 1
    count = max(sums, default=-1) + 1
    values = tuple(round(10 * math.log10(sums[i][0] / sums[i][1]), 2) if i in sums else FLOOR
                   for i in range(count))
    return Loudness(window, values)


def loudness(episode: dict[str, Any], cache: StageCache, window: float = WINDOW) -> Loudness:
    """The episode row's loudness windows, through the stage cache."""
    key = content_hash("drama-loudness", VERSION, episode["sha256"], window)
    hit = cache.get(key)
    if hit is not None:
        return Loudness(float(hit["window"]), tuple(float(v) for v in hit["values"]))
    result = measure(episode, window)
    cache.put(key, "drama-loudness", "ffmpeg", {"window": result.window,
                                                  "values": list(result.values)})
    return result
