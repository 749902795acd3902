"""A prompt folder uploaded as a zip (the app's 批量 tab), unpacked under
WORKBENCH_HOME/uploads/briefs/<name>-<hash>/ so `load_plan` reads it like any folder.

The zip is untrusted: a member that climbs out (`../x`, `/etc/x`, `C:\\x`) or is a symlink
refuses the whole zip; members that are not briefs, novels, templates, footage, music or
subtitles are skipped (and counted). Everything is bounded: the zip's size, the number of
members, each file's size and the unpacked total, counted while unpacking (a header can lie).
Names keep their folders (briefs refer to `novels/x.txt`); zips made on Chinese Windows carry
GBK names without the UTF-8 flag, which are decoded as such. The same zip gives the same folder,
so uploading it again resumes its batch.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from workbench.batch.briefs import BRIEF_SUFFIXES
from workbench.config import Settings
from workbench.drama.uploads import SUBTITLE_SUFFIXES
from workbench.errors import InputError
from workbench.materials.episodes import VIDEO_SUFFIXES
from workbench.render.backgrounds import IMAGE_EXTS
from workbench.render.bgm import AUDIO_EXTS
from workbench.zips import member_name

MAX_ZIP_MB = 1000  # the upload itself (the web server's cap is at least this)
MAX_FILE_MB = 500  # one file in it (a drama episode is the largest thing a brief uses)
MAX_TOTAL_MB = 2000  # everything unpacked
MAX_MEMBERS = 2000
MAX_DEPTH = 6  # folders inside the zip
KEPT_SUFFIXES = frozenset({*BRIEF_SUFFIXES, ".txt", ".epub", ".j2", *VIDEO_SUFFIXES,
                           *SUBTITLE_SUFFIXES, *IMAGE_EXTS, *AUDIO_EXTS})
_UNSAFE = re.compile(r"[\x00-\x1f\x7f]")
_CHUNK = 1024 * 1024


@dataclass
class StoredBriefs:
    folder: Path
    created: bool  # False: the same zip was uploaded before (its folder is reused)
    skipped: list[str] = field(default_factory=list)  # members not unpacked (their type)


def briefs_dir(settings: Settings) -> Path:
    return settings.home / "uploads" / "briefs"


def _parts(info: zipfile.ZipInfo, shown: str) -> tuple[str, ...] | None:
    """The member's path parts inside the folder; None for metadata (macOS, hidden files).
    A path that escapes, or a symlink, refuses the zip."""
    name = shown.replace("\\", "/")
    if stat.S_ISLNK(info.external_attr >> 16):
        raise InputError(f"zip 里的「{shown}」是符号链接，已拒绝整个 zip：请打包真实文件")
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name) or _UNSAFE.search(name):
        raise InputError(f"zip 里的「{shown}」是绝对路径或含控制字符，已拒绝整个 zip：请重新打包")
    parts = tuple(p for p in PurePosixPath(name).parts if p not in ("", "."))
    if ".." in parts:
        raise InputError(f"zip 里的「{shown}」指向文件夹之外（..），已拒绝整个 zip：请重新打包")
    if not parts or parts[0] == "__MACOSX" or any(p.startswith(".") for p in parts):
        return None
    if len(parts) > MAX_DEPTH + 1:
        raise InputError(f"zip 里的「{shown}」嵌套超过 {MAX_DEPTH} 层文件夹：请把简报文件夹直接打包")
    return parts


def _plan(archive: zipfile.ZipFile) -> tuple[list[tuple[zipfile.ZipInfo, tuple[str, ...]]],
                                             list[str]]:
    members = archive.infolist()
    if len(members) > MAX_MEMBERS:
        raise InputError(f"zip 里有 {len(members)} 个条目，最多 {MAX_MEMBERS} 个：请只打包简报和它们用到的文件")
    kept, skipped = [], []
    for info in members:
        if info.is_dir():
            continue
        shown = member_name(info)
        parts = _parts(info, shown)
        if parts is None:
            continue
        if PurePosixPath(parts[-1]).suffix.lower() not in KEPT_SUFFIXES:
            skipped.append(shown)
            continue
        if info.file_size > MAX_FILE_MB * _CHUNK:
            raise InputError(f"zip 里的「{shown}」有 {info.file_size / _CHUNK:.0f} MB，"
                             f"单个文件最多 {MAX_FILE_MB} MB")
        kept.append((info, parts))
    tops = {parts[0] for _, parts in kept}
    if len(tops) == 1 and all(len(parts) > 1 for _, parts in kept):  # a zipped folder: its
        kept = [(info, parts[1:]) for info, parts in kept]  # contents are the prompt folder
    if not any(len(parts) == 1 and PurePosixPath(parts[0]).suffix.lower() in BRIEF_SUFFIXES
               and not parts[0].startswith("_") for _, parts in kept):
        raise InputError("zip 里没有简报：把包含 *.md / *.yaml 简报（和 _defaults.yaml）的文件夹"
                         "打成 zip 再上传")
    return kept, skipped


def _unpack(archive: zipfile.ZipFile, kept: list[tuple[zipfile.ZipInfo, tuple[str, ...]]],
            target: Path) -> None:
    total = 0
    root = target.resolve()
    for info, parts in kept:
        path = target.joinpath(*parts)
        if not path.resolve().is_relative_to(root):  # cannot happen after _parts; checked
            raise InputError(f"zip 里的「{'/'.join(parts)}」指向文件夹之外，已拒绝")
        path.parent.mkdir(parents=True, exist_ok=True)
        written = 0
        with archive.open(info) as src, open(path, "xb") as dst:
            while chunk := src.read(_CHUNK):
                written += len(chunk)
                total += len(chunk)
                if written > MAX_FILE_MB * _CHUNK:
                    raise InputError(f"zip 里的「{'/'.join(parts)}」解压后超过 {MAX_FILE_MB} MB")
                if total > MAX_TOTAL_MB * _CHUNK:
                    raise InputError(f"zip 解压后超过 {MAX_TOTAL_MB} MB：请分几个文件夹上传")
                dst.write(chunk)


def _stem(name: str) -> str:
    stem = re.sub(r"[^\w\u4e00-\u9fff-]+", "_", Path(name).stem).strip("._")
    return stem[:40] or "briefs"


def store_brief_zip(settings: Settings, source: Path, original_name: str) -> StoredBriefs:
    """Unpack an uploaded zip of a prompt folder into a folder of its own (see module doc)."""
    name = Path(original_name.replace("\\", "/")).name
    if Path(name).suffix.lower() != ".zip":
        raise InputError(f"「{name}」不是 zip：请把简报文件夹打成 zip 再上传")
    if not source.is_file():
        raise InputError(f"上传的文件不见了: {name}（请重新上传）")
    if source.stat().st_size > MAX_ZIP_MB * _CHUNK:
        raise InputError(f"zip「{name}」超过 {MAX_ZIP_MB} MB：请分几个文件夹上传")
    digest = hashlib.sha256()
    with source.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    folder = briefs_dir(settings) / f"{_stem(name)}-{digest.hexdigest()[:10]}"
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError):
        raise InputError(f"「{name}」不是有效的 zip 文件，请重新打包上传") from None
    with archive:
        kept, skipped = _plan(archive)
        if folder.is_dir():
            return StoredBriefs(folder, False, skipped)
        staging = folder.with_name(f".{folder.name}.{os.getpid()}.partial")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        try:
            _unpack(archive, kept, staging)
            staging.rename(folder)  # complete or absent: a half-unpacked folder is never listed
        except (zipfile.BadZipFile, EOFError):
            raise InputError(f"「{name}」已损坏，无法解压：请重新打包上传") from None
        except (RuntimeError, NotImplementedError):  # a password, an unknown compression
            raise InputError(f"「{name}」有密码保护或用了不支持的压缩方式：请用普通 zip 重新打包"
                             ) from None
        except OSError:
            if folder.is_dir():  # the same zip, unpacked by a parallel upload meanwhile
                return StoredBriefs(folder, False, skipped)
            raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return StoredBriefs(folder, True, skipped)


def uploaded_folders(settings: Settings) -> list[Path]:
    """Prompt folders unpacked from uploads, newest first."""
    root = briefs_dir(settings)
    if not root.is_dir():
        return []
    return sorted((p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")),
                  key=lambda p: p.stat().st_mtime, reverse=True)
