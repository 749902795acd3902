"""Writing files so that a crash never leaves a half-written file that looks finished."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from workbench.errors import InputError


@contextmanager
def atomic_output(path: Path, suffix: str = "", *, temp: Path | None = None, mode: int = 0o644
                  ) -> Iterator[Path]:
    """A hidden temporary path beside `path` for the block (or a tool such as ffmpeg) to write;
    renamed over `path` when the block ends without error, removed when it fails. The name is
    unique, so two makers of the same file do not collide, and ends in `.part` + `suffix` (give
    the real extension when a tool picks the format by it). `temp` fixes the name instead (a
    render plan carries it in ffmpeg's arguments); a stale file there is removed first. The file
    gets `mode` when renamed (0600 until then)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if temp is None:
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".part{suffix}",
                                    dir=path.parent)
        os.close(fd)
        tmp = Path(name)
    else:
        tmp = Path(temp)
        tmp.unlink(missing_ok=True)
    try:
        yield Path(tmp)
        os.chmod(tmp, mode)  # mkstemp makes 0600; outputs are meant to be shared/uploaded
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_bytes_atomic(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    """Write to a temporary file beside `path`, fsync, then rename over it."""
    with atomic_output(path, mode=mode) as tmp, open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def write_text_atomic(path: Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))


def write_private_text(path: Path, text: str) -> None:
    """A secret, owner-only: its folder 0700, the file 0600 from its first byte, written
    atomically (a crash never leaves half a key)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    write_bytes_atomic(path, text.encode("utf-8"), mode=0o600)


def read_json(path: Path, what: str) -> Any:
    """Parse a UTF-8 JSON file; errors name the file, the line and what the file was for."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"找不到{what}: {path}") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: {what}不是 UTF-8 文本") from None
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{path}:{exc.lineno}: {what} JSON 格式错误（{exc.msg}，第 {exc.colno} 列）"
        ) from None


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def read_bounded(path: Path, limit: int, choose: str, too_big: str) -> bytes:
    """The file's bytes, refusing missing, non-regular and oversized (over `limit`) files up
    front; `choose` says what file to pick instead, `too_big` what to do with a large one.

    Opened without blocking and checked on the open descriptor, so a FIFO (which would wait
    for a writer) or a device (/dev/zero never ends) is named for what it is, even if it
    replaced a file after the path was chosen; at most `limit` bytes are read."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))  # not on Windows
    except FileNotFoundError:
        raise InputError(f"找不到文件 {path}，请检查路径和文件名") from None
    except IsADirectoryError:
        raise InputError(f"{path} 是文件夹，不是文件；{choose}") from None
    except OSError as exc:
        raise InputError(f"无法读取文件 {path}: {exc.strerror}，请检查文件权限") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        if stat.S_ISDIR(info.st_mode):
            raise InputError(f"{path} 是文件夹，不是文件；{choose}")
        raise InputError(
            f"{path} 不是普通文件（{_kind(info.st_mode)}），{choose}")
    with os.fdopen(fd, "rb") as file:
        size = info.st_size
        try:
            data = b""
            if size <= limit:  # read(n) allocates n up front: ask for what stat says
                data = file.read(size + 1)
                if len(data) > size:  # grew since: read on, but never past the cap
                    data += file.read(limit + 1 - len(data))
        except OSError as exc:
            raise InputError(f"无法读取文件 {path}: {exc.strerror}，请检查文件权限") from None
    if size > limit or len(data) > limit:
        size = max(size, len(data))
        raise InputError(
            f"{path}: 文件过大（{size / 1024 / 1024:.1f} MB，上限 "
            f"{limit // 1024 // 1024} MB），{too_big}"
        )
    return data


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "管道"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "设备"
    return "套接字" if stat.S_ISSOCK(mode) else "特殊文件"
