"""Drama material: episode files (MP4, MOV, MKV, WebM) imported as one material, in order.

Every file is probed (duration, size, fps, sound) and decoded at its start and its end, so a
truncated file, a file that is not a video, or an audio-only file is refused with its name and
the reason in one line. By default a single bad file stores nothing (the message lists every
bad file); `skip_bad` imports the rest and reports what it skipped. A sidecar subtitle file
beside an episode is read and checked (sidecar.py).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from workbench.errors import InputError
from workbench.ffmpeg import ffmpeg_exe
from workbench.materials.episodes import episode_number, order_episodes, video_files
from workbench.materials.sidecar import find_sidecar, read_sidecar
from workbench.render.probe import PROBE_SECONDS, check_media, probe
from workbench.store import utcnow, write_transaction

MAX_EPISODES = 500
MAX_EPISODE_BYTES = 8 * 1024**3  # an 8 GB episode is a master, not a 短剧 episode
Progress = Callable[[float, str], None]


@dataclass
class DramaImport:
    material: dict[str, Any]
    created: bool
    skipped: list[str] = field(default_factory=list)  # "name: reason" for each skipped file
    notes: list[str] = field(default_factory=list)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def _decode_tail(path: Path, duration: float) -> bool:
    """Whether the last second of the picture decodes (a truncated file fails here)."""
    start = max(0.0, duration - 1.0)
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-xerror", "-ss",
           f"{start:.3f}", "-i", str(path), "-map", "0:v:0", "-t", "1", "-f", "null", "-"]
    try:
        proc = subprocess.run(cmd, capture_output=True, check=False, timeout=PROBE_SECONDS,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return False
    return proc.returncode == 0 and not proc.stderr.strip()


def probe_episode(path: Path) -> dict[str, Any]:
    """The episode's row fields; InputError with a one-line reason when it is not a playable
    video."""
    size = path.stat().st_size
    if size == 0:
        raise InputError("文件是空的")
    if size > MAX_EPISODE_BYTES:
        raise InputError(f"文件太大（{size / 1024**3:.1f} GB，单集最多 "
                         f"{MAX_EPISODE_BYTES // 1024**3} GB）")
    try:
        info = probe(path)
    except InputError:
        raise InputError("不是视频文件，或文件已损坏") from None
    if not info.width or not info.height:
        raise InputError("没有视频画面（只有音频？）" if info.audio_codec else "不是视频文件")
    check_media(path, "video", "剧集")  # a first second that decodes
    if info.duration <= 0 or not _decode_tail(path, info.duration):
        raise InputError("文件不完整（结尾无法解码，可能没有下载或复制完）")
    return {"size": size, "duration": round(info.duration, 3), "width": info.width,
            "height": info.height, "fps": info.fps, "video_codec": info.video_codec,
            "audio_codec": info.audio_codec}


def _short(exc: InputError, path: Path) -> str:
    return str(exc).replace(f"：{path}", "").replace(f": {path}", "").replace(str(path), "")


def add_drama(db: Database, paths: Sequence[Path], *, title: str | None = None,
              order: Sequence[str] | None = None, skip_bad: bool = False,
              progress: Progress | None = None) -> DramaImport:
    """Import episodes as one drama material. Everything is read and checked before the first
    write; the rows are written in one transaction."""
    files = order_episodes(video_files(paths), order)
    if len(files) > MAX_EPISODES:
        raise InputError(f"一次最多导入 {MAX_EPISODES} 集（收到 {len(files)} 个文件）")
    episodes, bad = [], []
    for number, path in enumerate(files, start=1):
        if progress:
            progress((number - 1) / len(files), f"检查 {path.name}")
        try:
            row = {"filename": path.name, "path": str(path), "number": episode_number(path.name),
                   **probe_episode(path)}
            sidecar_path = find_sidecar(path)
            if sidecar_path is not None:
                sidecar = read_sidecar(sidecar_path)
                row.update(subtitle_path=str(sidecar_path), subtitle_format=sidecar.format,
                           subtitle_encoding=sidecar.encoding, subtitles=json.dumps(
                               [[s.start, s.end, s.text] for s in sidecar.lines],
                               ensure_ascii=False))
            row["sha256"] = _sha256(path)
        except InputError as exc:
            bad.append(f"{path.name}: {_short(exc, path)}")
            continue
        episodes.append(row)
    if bad and not skip_bad:
        raise InputError(f"{len(bad)} 个文件不能导入，没有保存任何内容（加 --skip-bad 只导入其余的）："
                         + "；".join(bad))
    if not episodes:
        raise InputError("没有可以导入的剧集：" + "；".join(bad))
    result = _store(db, episodes, title or _title(files), files)
    result.skipped = bad
    if progress:
        progress(1.0, "导入完成")
    return result


def _title(files: Sequence[Path]) -> str:
    """The drama's name from `剧名 - 第1集.mp4`, else the folder's name."""
    stem = files[0].stem
    for sep in (" - ", "-", "_", " "):
        head = stem.split(sep, 1)[0].strip()
        if sep in stem and head and not head[0].isdigit() and "第" not in head:
            return head
    return files[0].parent.name or stem


def _store(db: Database, episodes: list[dict[str, Any]], title: str,
           files: Sequence[Path]) -> DramaImport:
    sha256 = hashlib.sha256("\n".join(e["sha256"] for e in episodes).encode()).hexdigest()
    existing = list(db["materials"].rows_where("sha256 = ?", [sha256], limit=1))
    if existing:
        return DramaImport(dict(existing[0]), False)
    now = utcnow()
    row = {"title": title, "kind": "drama", "format": "video", "filename": files[0].parent.name,
           "source_path": str(files[0].parent), "sha256": sha256, "chars": 0,
           "chapter_count": len(episodes), "split": "episodes", "created_at": now}
    try:
        with write_transaction(db):
            material_id = db["materials"].insert(row).last_pk
            db["episodes"].insert_all(
                {**e, "material_id": material_id, "idx": i, "created_at": now}
                for i, e in enumerate(episodes, start=1))
    except sqlite3.IntegrityError:
        existing = list(db["materials"].rows_where("sha256 = ?", [sha256], limit=1))
        if existing:
            return DramaImport(dict(existing[0]), False)
        raise
    return DramaImport(dict(db["materials"].get(material_id)), True)


def list_episodes(db: Database, material_id: int) -> list[dict[str, Any]]:
    return [dict(r) for r in db["episodes"].rows_where("material_id = ?", [material_id],
                                                       order_by="idx")]
