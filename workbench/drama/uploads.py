"""Drama episodes uploaded in the app: several episode files with their sidecar subtitles, or
a zip of a folder, stored under WORKBENCH_HOME/uploads/dramas/<id>/ for `add_drama`.

Names are kept (episode order and sidecar matching come from them) but reduced to a plain file
name: a zip member `../../x.mp4` or `a/b.mp4` lands as `x.mp4` / `b.mp4` inside the folder.
Everything is bounded: file count, each file's size, the zip's unpacked total.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import zipfile
from collections.abc import Sequence
from pathlib import Path

from workbench.config import Settings
from workbench.errors import InputError
from workbench.files import atomic_output
from workbench.materials.drama import MAX_EPISODES
from workbench.materials.episodes import VIDEO_SUFFIXES
from workbench.zips import copy_member, member_name

SUBTITLE_SUFFIXES = (".srt", ".ass", ".ssa", ".vtt")
ZIP_SUFFIX = ".zip"
MAX_FILE_MB = 500  # one episode (a 短剧 episode is a few minutes)
MAX_ZIP_MB = 1000  # one uploaded zip of a drama's folder (the web server's cap follows it)
MAX_TOTAL_MB = 4000  # one upload, a zip unpacked included
MAX_FILES = MAX_EPISODES * 2  # episodes and their subtitles


def drama_uploads_dir(settings: Settings) -> Path:
    return settings.home / "uploads" / "dramas"


def clean_name(name: str) -> str:
    """A plain file name: the last part of `name`, odd characters replaced, suffix lowered."""
    base = re.split(r"[\\/]", name)[-1]
    stem, suffix = Path(base).stem, Path(base).suffix.lower()
    stem = re.sub(r"[^\w\u4e00-\u9fff .\-]+", "_", stem).strip(" ._")[:80] or "episode"
    return stem + suffix


def _wanted(name: str) -> bool:
    return Path(name).suffix.lower() in (*VIDEO_SUFFIXES, *SUBTITLE_SUFFIXES)


def _members(files: Sequence[tuple[Path, str]]) -> list[tuple[str, Path | tuple[Path, str]]]:
    """(clean name, file path | (zip path, member)) for every episode or subtitle given."""
    found: list[tuple[str, Path | tuple[Path, str]]] = []
    total = 0
    for path, name in files:
        suffix = Path(name).suffix.lower()
        if suffix == ZIP_SUFFIX:
            if path.stat().st_size > MAX_ZIP_MB * 1024 * 1024:
                raise InputError(f"zip「{clean_name(name)}」超过 {MAX_ZIP_MB} MB：请分几次上传剧集")
            try:
                archive = zipfile.ZipFile(path)
            except (zipfile.BadZipFile, OSError):
                raise InputError(f"「{clean_name(name)}」不是有效的 zip 文件，请重新打包上传") from None
            with archive:
                for info in archive.infolist():
                    shown = member_name(info)  # 第12集 from a Chinese Windows zip, too
                    if info.is_dir() or not _wanted(shown):
                        continue
                    if Path(shown).name.startswith(("._", ".")):  # macOS metadata
                        continue
                    total += info.file_size
                    _check_size(clean_name(shown), info.file_size, total)
                    found.append((clean_name(shown), (path, info.filename)))
        elif _wanted(name):
            size = path.stat().st_size
            total += size
            _check_size(clean_name(name), size, total)
            found.append((clean_name(name), path))
        else:
            raise InputError(f"不支持的文件类型「{clean_name(name)}」：可上传剧集视频"
                             f"（{'、'.join(VIDEO_SUFFIXES)}）、字幕（{'、'.join(SUBTITLE_SUFFIXES)}）"
                             "或它们的 zip 压缩包")
        if len(found) > MAX_FILES:
            raise InputError(f"一次最多上传 {MAX_FILES} 个文件（剧集和字幕）")
    names = [n for n, _ in found]
    doubled = sorted({n for n in names if names.count(n) > 1})
    if doubled:
        raise InputError(f"有同名文件：{'、'.join(doubled[:5])}：每集的文件名应不同")
    if not any(Path(n).suffix in VIDEO_SUFFIXES for n in names):
        raise InputError(f"没有收到剧集视频（{'、'.join(VIDEO_SUFFIXES)}）：请上传剧集文件，"
                         "或包含剧集的 zip")
    return found


def _check_size(name: str, size: int, total: int) -> None:
    if size > MAX_FILE_MB * 1024 * 1024:
        raise InputError(f"「{name}」有 {size / 1024 / 1024:.0f} MB，单个文件最多 {MAX_FILE_MB} MB")
    if total > MAX_TOTAL_MB * 1024 * 1024:
        raise InputError(f"这次上传解压后超过 {MAX_TOTAL_MB} MB：请分几部剧上传")


def store_drama_upload(settings: Settings, files: Sequence[tuple[Path, str]]) -> Path:
    """Copy (or unzip) the uploaded files, given as (path, original name), into a folder of
    their own; the same files give the same folder."""
    if not files:
        raise InputError("没有收到文件，请重新上传")
    found = _members(files)
    digest = hashlib.sha256()
    for name, _ in sorted(found, key=lambda item: item[0]):
        digest.update(name.encode())
    for path, name in files:
        digest.update(f"{name}:{path.stat().st_size}".encode())
        with path.open("rb") as handle:
            digest.update(handle.read(1024 * 1024))  # names, sizes and first MB: a stable id
    folder = drama_uploads_dir(settings) / digest.hexdigest()[:12]
    folder.mkdir(parents=True, exist_ok=True)
    for name, source in found:
        target = folder / name
        if target.exists():
            continue
        with atomic_output(target) as partial:
            if isinstance(source, Path):
                shutil.copyfile(source, partial)
            else:
                archive_path, member = source
                with zipfile.ZipFile(archive_path) as archive, archive.open(member) as src, \
                        open(partial, "wb") as dst:
                    copy_member(src, dst, MAX_FILE_MB * 1024 * 1024,
                                f"「{name}」解压后超过 {MAX_FILE_MB} MB：单个文件最多 {MAX_FILE_MB} MB")
    return folder
