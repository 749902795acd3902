"""Briefs for dramas: a drama material (an id, or a folder of episodes imported once by the
runner), the drama templates, and `segments:` in the text format of `make --segments` (or a
list of such parts); without `segments:` the highlights choose when the job is bound, as
`make` does. `chapters:` belongs to novels only, `segments:` to dramas only.

Checks here write nothing: a folder is listed, not probed (the runner's `add_drama` probes
every episode and refuses bad ones by name before anything is rendered).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from workbench.batch.briefs import Brief
from workbench.drama.segments import EpisodeTimes, SegmentTuple, check_segments, parse_segments
from workbench.errors import WorkbenchError
from workbench.materials.drama import add_drama, list_episodes
from workbench.materials.episodes import VIDEO_SUFFIXES, order_episodes, video_files

DRAMA_DEFAULT_TEMPLATE = "cut"
NOVEL_DEFAULT_TEMPLATE = "suspense"


def is_drama_path(path: Path) -> bool:
    """A folder of episodes or one episode file (a novel is a .txt/.epub file)."""
    return path.is_dir() or path.suffix.lower() in VIDEO_SUFFIXES


def episode_count(path: Path) -> int:
    """How many episode files a drama path names (WorkbenchError when none)."""
    return len(video_files([path]))


def segments_text(raw: Any) -> str:
    return ",".join(raw) if isinstance(raw, list) else str(raw)


def check_drama(brief: Brief, material: int | Path, db: Database, bad
                ) -> tuple[SegmentTuple, ...] | None:
    """The brief's drama-only rules; its segments parsed (and, for a stored drama, checked
    against the real episode lengths). None: the highlights choose."""
    v = brief.values
    if "chapters" in v:
        bad("素材是短剧，没有章节：去掉 chapters（用 segments 选片段，不写就自动选高光片段）",
            "chapters")
    if "backgrounds" in v or "backgrounds" in (v.get("matrix") or {}):
        bad("素材是短剧，画面就是所选片段：去掉 backgrounds",
            *(("backgrounds",) if "backgrounds" in v else ("matrix", "backgrounds")))
    if "segments" not in v:
        return None
    try:
        segments = parse_segments(segments_text(v["segments"]))
        if isinstance(material, int) and material:
            episodes = {row["idx"]: EpisodeTimes(row["idx"], float(row["duration"]))
                        for row in list_episodes(db, material)}
            check_segments(segments, episodes)
    except WorkbenchError as exc:
        bad(str(exc).replace("--segments", "segments"), "segments")
        return None
    return tuple(segments)


def check_novel(brief: Brief, bad) -> None:
    if "segments" in brief.values:
        bad("segments 只用于短剧素材；小说用 chapters 选章节", "segments")
    if "chapters" not in brief.values:
        bad("缺少 chapters：章节（可以写在本文件或 _defaults.yaml 里）")


def drama_material_id(db: Database, path: Path, import_materials: bool) -> int:
    """The drama's id, importing its episodes when asked; 0 when not stored yet (dry run)."""
    if import_materials:
        return int(add_drama(db, [path]).material["id"])
    files = order_episodes(video_files([path]))
    digests = []
    for file in files:
        digest = hashlib.sha256()
        with file.open("rb") as handle:
            while chunk := handle.read(1024 * 1024):
                digest.update(chunk)
        digests.append(digest.hexdigest())
    sha = hashlib.sha256("\n".join(digests).encode()).hexdigest()
    rows = list(db["materials"].rows_where("sha256 = ?", [sha], select="id", limit=1))
    return int(rows[0]["id"]) if rows else 0
