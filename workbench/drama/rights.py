"""The rights record of a drama video: which episode files (by sha256) and which seconds of
each it shows, where they sit in the video, and the end card's appended seconds; and a warning
when one video uses more than a set share of one episode (`drama.max_episode_share`), since a
licence for promotion rarely covers re-publishing most of an episode.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from workbench.compliance import Finding
from workbench.render.drama_plan import DramaClip


def rights_record(clips: Sequence[DramaClip], end_card_seconds: float) -> dict[str, Any]:
    """The manifest's `drama.rights` block."""
    segments, episodes = [], {}
    at = 0.0
    for clip in clips:
        end = round(clip.start + clip.seconds, 3)
        segments.append({"episode": clip.episode, "start": round(clip.start, 3), "end": end,
                         "seconds": round(clip.seconds, 3), "at": round(at, 3)})
        at += clip.seconds
        entry = episodes.setdefault(clip.episode, {
            "episode": clip.episode, "number": clip.number, "path": clip.source or str(clip.path),
            "sha256": clip.sha256, "duration": round(clip.episode_seconds, 3), "ranges": [],
            "seconds": 0.0})
        entry["ranges"].append([round(clip.start, 3), end])
        entry["seconds"] = round(entry["seconds"] + clip.seconds, 3)
    for entry in episodes.values():
        entry["share"] = round(entry["seconds"] / entry["duration"], 4) if entry["duration"] else 0
    return {"episodes": sorted(episodes.values(), key=lambda e: e["episode"]),
            "segments": segments, "segments_seconds": round(at, 3),
            "end_card_seconds": round(end_card_seconds, 3)}


def share_findings(record: dict[str, Any], max_share: float) -> list[Finding]:
    """A warning for each episode used beyond `max_share`; else one pass."""
    over = [e for e in record["episodes"] if e["share"] > max_share + 1e-9]
    if not over:
        return [Finding("episode_share", "pass",
                        f"每集使用的时长都不超过该集的 {max_share:.0%}"
                        "（drama.max_episode_share）", "rights")]
    return [Finding("episode_share", "warn",
                    f"第 {e['episode']} 集用了 {e['seconds']:.1f} 秒，占该集 {e['share']:.0%}"
                    f"（{e['duration']:g} 秒），超过单集上限 {max_share:.0%}"
                    "（drama.max_episode_share）：请确认授权允许，或缩短这一集的片段", "rights")
            for e in over]
