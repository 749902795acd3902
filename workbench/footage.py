"""The footage and music library: a studio's clips, probed once, tagged, picked by tag.

`workbench footage add FOLDER --tag 解压` probes every video (and music file) in the folder —
a broken one is refused with its reason, the rest are added — makes a thumbnail of each video
and tags them. Jobs and briefs then name a tag instead of a path: `--background tag:解压`
picks one clip per seed (variants of a batch have consecutive seeds, so they get different
clips while the library has enough), `--bgm tag:轻快` a music file the same way. The seconds of
each clip a package used are recorded (`footage_uses`), so `footage show` tells a studio what it
has already published.
"""

from __future__ import annotations

import json
import random
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from workbench.errors import InputError
from workbench.ffmpeg import run_ffmpeg
from workbench.files import atomic_output, sha256_file
from workbench.render.backgrounds import VIDEO_EXTS, Background
from workbench.render.bgm import AUDIO_EXTS
from workbench.render.probe import check_media, probe
from workbench.store import utcnow, write_transaction

TAG_PREFIX = "tag:"
MAX_TAG = 20
MAX_FILES = 2000  # per `footage add`
Progress = Callable[[float, str], None]


@dataclass
class FootageAdd:
    added: list[dict[str, Any]] = field(default_factory=list)
    retagged: list[dict[str, Any]] = field(default_factory=list)  # already there: tags merged
    refused: list[str] = field(default_factory=list)  # "name: reason"


def check_tags(tags: Sequence[str]) -> list[str]:
    clean = []
    for tag in tags:
        text = tag.strip()
        if not text or len(text) > MAX_TAG or any(c in text for c in ",:，\n\t"):
            raise InputError(f"标签「{tag}」无效：1–{MAX_TAG} 个字，不能含逗号、冒号或换行")
        clean.append(text)
    return list(dict.fromkeys(clean))


def _files(folder: Path) -> list[Path]:
    folder = Path(folder).expanduser()
    if folder.is_file():
        return [folder.absolute()]
    if not folder.is_dir():
        raise InputError(f"找不到素材文件夹 {folder}")
    found = sorted(p.absolute() for p in folder.rglob("*") if p.is_file()
                   and not p.name.startswith(".")
                   and p.suffix.lower() in VIDEO_EXTS | AUDIO_EXTS)
    if not found:
        raise InputError(f"{folder} 里没有视频或音乐文件（视频 {', '.join(sorted(VIDEO_EXTS))}；"
                         f"音乐 {', '.join(sorted(AUDIO_EXTS))}）")
    if len(found) > MAX_FILES:
        raise InputError(f"{folder} 里有 {len(found)} 个媒体文件，一次最多添加 {MAX_FILES} 个："
                         "请分几个文件夹添加")
    return found


def _thumbnail(path: Path, duration: float, sha256: str, thumbs: Path) -> str:
    out = thumbs / f"{sha256[:16]}.jpg"
    if not out.is_file():
        with atomic_output(out, ".jpg") as partial:
            run_ffmpeg(["-ss", f"{min(1.0, duration / 2):.2f}", "-i", str(path), "-frames:v", "1",
                        "-vf", "scale=180:-2", "-q:v", "5", "-y", str(partial)],
                       what="素材缩略图", timeout=60)
    return str(out)


def _probe(path: Path, thumbs: Path) -> dict[str, Any]:
    """The row for one file; InputError with the reason when it is broken."""
    kind = "video" if path.suffix.lower() in VIDEO_EXTS else "music"
    duration = check_media(path, "video" if kind == "video" else "audio",
                           "素材视频" if kind == "video" else "音乐")
    info = probe(path)
    sha256 = sha256_file(path)
    row = {"kind": kind, "path": str(path), "filename": path.name, "sha256": sha256,
           "size": path.stat().st_size, "duration": round(duration, 3),
           "width": info.width if kind == "video" else None,
           "height": info.height if kind == "video" else None,
           "fps": info.fps if kind == "video" else None}
    if kind == "video":
        row["thumb"] = _thumbnail(path, duration, sha256, thumbs)
    return row


def add_footage(db: Database, folder: Path, tags: Sequence[str], thumbs: Path,
                progress: Progress | None = None) -> FootageAdd:
    """Probe and add every video and music file under `folder` (a file is fine too) with
    `tags`; a file already in the library (same content) gets the tags added."""
    tags = check_tags(tags)
    files = _files(folder)
    result, rows = FootageAdd(), []
    for i, path in enumerate(files):
        if progress:
            progress(i / len(files), f"检查 {path.name}")
        try:
            rows.append(_probe(path, thumbs))
        except InputError as exc:
            result.refused.append(f"{path.name}: {str(exc).replace(str(path), '').strip('：: ')}")
    now = utcnow()
    with write_transaction(db):
        for row in rows:
            old = list(db["footage"].rows_where("sha256 = ?", [row["sha256"]], limit=1))
            if old:
                merged = list(dict.fromkeys([*json.loads(old[0]["tags"] or "[]"), *tags]))
                db["footage"].update(old[0]["id"], {"tags": json.dumps(merged, ensure_ascii=False),
                                                    "path": row["path"]})
                result.retagged.append(dict(db["footage"].get(old[0]["id"])))
                continue
            try:
                new_id = db["footage"].insert({**row, "tags": json.dumps(tags, ensure_ascii=False),
                                               "created_at": now}).last_pk
            except sqlite3.IntegrityError:  # the same content twice in this folder
                continue
            result.added.append(dict(db["footage"].get(new_id)))
    if progress:
        progress(1.0, "完成")
    return result


def list_footage(db: Database, tag: str | None = None, kind: str | None = None
                 ) -> list[dict[str, Any]]:
    """Clips (oldest first) with how many packages used them."""
    where, args = [], []
    if kind:
        where.append("f.kind = ?")
        args.append(kind)
    if tag:
        where.append("EXISTS (SELECT 1 FROM json_each(f.tags) WHERE value = ?)")
        args.append(tag)
    sql = ("SELECT f.*, (SELECT COUNT(DISTINCT submission_id) FROM footage_uses u "
           "WHERE u.footage_id = f.id) AS uses FROM footage f"
           + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY f.id")
    return [{**dict(r), "tags": json.loads(r["tags"] or "[]")} for r in db.query(sql, args)]


def library_tags(db: Database, kind: str) -> list[str]:
    """Every tag of the library's videos or music, in the order first used."""
    return list(dict.fromkeys(t for row in list_footage(db, kind=kind) for t in row["tags"]))


def is_tag(spec: object) -> bool:
    return isinstance(spec, str) and spec.startswith(TAG_PREFIX)


def pick(db: Database, spec: str, seed: int, kind: str) -> Path:
    """The file `tag:NAME` stands for at this seed: the tagged clips in the order they were
    added, the seed's one (consecutive seeds get different clips while there are enough)."""
    tag = spec[len(TAG_PREFIX):].strip()
    clips = [c for c in list_footage(db, tag, kind) if Path(c["path"]).is_file()]
    what = "视频" if kind == "video" else "音乐"
    if not clips:
        raise InputError(f"素材库里没有标签为「{tag}」的{what}（workbench footage add 文件夹 --tag "
                         f"{tag} 添加；workbench footage list 查看）")
    order = list(range(len(clips)))
    random.Random(f"{tag}/{len(clips)}").shuffle(order)  # not always the first clip added
    return Path(clips[order[seed % len(clips)]]["path"])


def record_uses(db: Database, submission_id: str, background: Background, duration: float,
                start: float) -> None:
    """The seconds of each library clip the package's background used (a clip shorter than
    the video loops: all of it)."""
    for path, clip_seconds in background.clips:
        rows = list(db["footage"].rows_where("path = ?", [str(path)], limit=1))
        if not rows:
            continue
        end = min(clip_seconds, start + duration)
        db["footage_uses"].insert({"footage_id": rows[0]["id"], "submission_id": submission_id,
                                   "start": round(start if end > start else 0.0, 3),
                                   "end": round(end if end > start else clip_seconds, 3),
                                   "created_at": utcnow()})


def uses_of(db: Database, footage_id: int) -> list[dict[str, Any]]:
    return [dict(r) for r in db.query(
        "SELECT u.*, s.status, s.publish_url, s.keyword FROM footage_uses u "
        "LEFT JOIN submissions s ON s.id = u.submission_id WHERE u.footage_id = ? "
        "ORDER BY u.id", [footage_id])]


def get_footage(db: Database, footage_id: int) -> dict[str, Any]:
    rows = list(db["footage"].rows_where("id = ?", [footage_id], limit=1))
    if not rows:
        raise InputError(f"素材库里没有编号为 {footage_id} 的素材（workbench footage list 查看）")
    return {**dict(rows[0]), "tags": json.loads(rows[0]["tags"] or "[]")}
