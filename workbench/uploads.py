"""Files users upload (web app): checked by type and size, stored under WORKBENCH_HOME only.

Backgrounds and music are decoded before they are stored (see `_check_content`). The stored
name is ours (content hash + the checked extension), so a crafted upload name such
as `../../x.txt` or `a/b.mp4` can never place a file outside the uploads folder.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from workbench.config import Settings
from workbench.errors import InputError
from workbench.files import atomic_output


@dataclass(frozen=True)
class UploadKind:
    name: str  # folder under WORKBENCH_HOME/uploads
    label: str  # for messages
    extensions: frozenset[str]
    max_mb: int


KINDS = {
    "material": UploadKind("materials", "小说素材", frozenset({".txt", ".epub"}), 30),
    "background": UploadKind("backgrounds", "背景素材", frozenset(
        {".mp4", ".mov", ".m4v", ".webm", ".mkv", ".jpg", ".jpeg", ".png", ".webp"}), 300),
    "bgm": UploadKind("bgm", "背景音乐", frozenset(
        {".mp3", ".m4a", ".aac", ".wav", ".ogg", ".flac"}), 30),
}
MAX_UPLOAD_MB = max(k.max_mb for k in KINDS.values())  # the web server's own cap


def uploads_dir(settings: Settings, kind: str) -> Path:
    return settings.home / "uploads" / KINDS[kind].name


def _safe_stem(name: str) -> str:
    stem = Path(name).stem
    stem = re.sub(r"[^\w\u4e00-\u9fff-]+", "_", stem).strip("._")
    return stem[:40] or "file"


def store_upload(settings: Settings, kind: str, source: Path, original_name: str | None = None
                 ) -> Path:
    """Copy an uploaded file into WORKBENCH_HOME/uploads/<kind>/ after checking it."""
    spec = KINDS[kind]
    source = Path(source)
    name = original_name or source.name
    suffix = Path(name).suffix.lower()
    if suffix not in spec.extensions:
        raise InputError(f"不支持的{spec.label}文件类型「{suffix or name}」"
                         f"（可上传 {'、'.join(sorted(spec.extensions))}）")
    if not source.is_file():
        raise InputError(f"上传的文件不见了: {name}（请重新上传）")
    size = source.stat().st_size
    if size == 0:
        raise InputError(f"上传的文件是空的: {name}")
    if size > spec.max_mb * 1024 * 1024:
        raise InputError(f"{spec.label}「{name}」有 {size / 1024 / 1024:.0f} MB，"
                         f"超过上限 {spec.max_mb} MB")
    _check_content(kind, source, name)
    digest = hashlib.sha256()
    with source.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    folder = uploads_dir(settings, kind)
    target = (folder / f"{_safe_stem(name)}-{digest.hexdigest()[:10]}{suffix}").resolve()
    if not target.is_relative_to(folder.resolve()):  # cannot happen with _safe_stem; checked
        raise InputError(f"文件名不安全: {name}")
    if not target.exists():
        with atomic_output(target) as partial:
            shutil.copyfile(source, partial)
    return target


def _check_content(kind: str, source: Path, name: str) -> None:
    """Decode what the render will decode (a still completely, media's first second), so a
    damaged upload is refused now rather than by a stuck render later."""
    from workbench.render.backgrounds import IMAGE_EXTS
    from workbench.render.probe import check_media, check_still

    label = f"{KINDS[kind].label}「{name}」"
    if kind == "background":
        if Path(name).suffix.lower() in IMAGE_EXTS:
            check_still(source, label)
        else:
            check_media(source, "video", label)
    elif kind == "bgm":
        check_media(source, "audio", label)


def list_uploads(settings: Settings, kind: str) -> list[Path]:
    folder = uploads_dir(settings, kind)
    if not folder.is_dir():
        return []
    return sorted((p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")
                   and p.suffix.lower() in KINDS[kind].extensions),
                  key=lambda p: p.stat().st_mtime, reverse=True)


def inside_uploads(settings: Settings, kind: str, path: str | Path) -> Path:
    """`path` (a choice sent back by a browser or API client) only when it is a stored upload."""
    folder = uploads_dir(settings, kind).resolve()
    candidate = Path(path).resolve()
    if not candidate.is_relative_to(folder) or not candidate.is_file():
        raise InputError(f"只能选择已上传的{KINDS[kind].label}：{Path(path).name}")
    return candidate
