"""The postback platforms' signing secrets: one JSON file, owner-only, beside the LLM key
under `$WORKBENCH_HOME/secrets/` (folder 0700, file 0600), never in the database or a log.

Each platform has a list of secrets, oldest first. `rotate` appends a new one while the older
ones keep verifying; `retire` keeps only the newest. A secret is a Standard Webhooks key:
`whsec_` + base64 of 32 random bytes. Every change is a read-modify-write under a file lock,
written to a temporary file and renamed, so two commands never lose each other's change and a
crash never leaves half a file. Readers (the server) reread the file when it changes on disk.
"""

from __future__ import annotations

import base64
import json
import logging
import math
import secrets
import threading
from pathlib import Path
from typing import Any

from workbench.errors import InputError
from workbench.files import write_private_text
from workbench.locks import FileLock
from workbench.store import utcnow

FILE = Path("secrets") / "postback_secrets.json"  # under WORKBENCH_HOME
PREFIX = "whsec_"
KEY_BYTES = 32
MAX_BYTES = 1024 * 1024  # a secrets file larger than this is not ours
log = logging.getLogger(__name__)


def secrets_path(home: Path) -> Path:
    return Path(home) / FILE


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")


def _read(path: Path) -> dict[str, list[dict[str, str]]]:
    """platform → its secrets [{"secret", "created_at"}], oldest first; {} without a file."""
    try:
        if path.stat().st_size > MAX_BYTES:
            raise InputError(f"{path}: 文件太大，不是 Workbench 的回传密钥文件")
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: 回传密钥文件无法读取（{exc.__class__.__name__}）：不要手工修改"
                         "它；可从备份恢复，或删除后用 workbench platform rotate 重新生成密钥"
                         ) from None
    platforms = data.get("platforms") if isinstance(data, dict) else None
    if not isinstance(platforms, dict):
        raise InputError(f"{path}: 回传密钥文件格式不对（缺少 platforms）：不要手工修改它")
    return {name: [entry for entry in entries if isinstance(entry, dict)
                   and isinstance(entry.get("secret"), str)]
            for name, entries in platforms.items() if isinstance(entries, list)}


def _write(path: Path, platforms: dict[str, list[dict[str, str]]]) -> None:
    write_private_text(path, json.dumps({"version": 1, "platforms": platforms}, indent=1))


def _change(home: Path, name: str, change: Any) -> Any:
    """Apply `change(entries) -> (entries, result)` to one platform's secrets, locked."""
    path = secrets_path(home)
    lock = FileLock(path.with_name(path.name + ".lock"))
    lock.acquire(wait=math.inf)
    try:
        platforms = _read(path)
        entries, result = change(list(platforms.get(name, [])))
        platforms[name] = entries
        _write(path, platforms)
    finally:
        lock.release()
    return result


def add_secret(home: Path, name: str) -> str:
    """A new secret for `name`, kept after its existing ones; returns it (shown once)."""
    secret = new_secret()

    def append(entries: list[dict[str, str]]) -> tuple[list[dict[str, str]], str]:
        return [*entries, {"secret": secret, "created_at": utcnow()}], secret

    return _change(home, name, append)


def retire_older(home: Path, name: str) -> int:
    """Keep only the newest secret of `name`; returns how many were dropped."""

    def keep_newest(entries: list[dict[str, str]]) -> tuple[list[dict[str, str]], int]:
        return entries[-1:], max(0, len(entries) - 1)

    return _change(home, name, keep_newest)


def platform_secrets(home: Path, name: str) -> list[str]:
    """The secrets that verify `name`'s requests, oldest first."""
    return [entry["secret"] for entry in _read(secrets_path(home)).get(name, [])]


class SecretsCache:
    """The secrets file as the server reads it: parsed again only when it changed on disk
    (a `platform rotate` in another process takes effect on the next request)."""

    def __init__(self, home: Path) -> None:
        self.path = secrets_path(home)
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._platforms: dict[str, list[str]] = {}

    def get(self, name: str) -> list[str]:
        try:
            info = self.path.stat()
            stamp = (info.st_mtime_ns, info.st_size, info.st_ino)
        except FileNotFoundError:
            stamp = None
        with self._lock:
            if stamp != self._stamp:
                try:
                    read = _read(self.path) if stamp else {}
                except InputError as exc:  # every request is refused (401) until it is fixed
                    log.error("%s", exc)
                    read = {}
                self._platforms = {n: [e["secret"] for e in entries]
                                   for n, entries in read.items()}
                self._stamp = stamp
            return list(self._platforms.get(name, []))
