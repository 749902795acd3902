"""What every uploaded zip needs, whatever it carries (a drama's episodes, a brief folder):
its members' names as their maker meant them, and a copy of a member that stops at a size
however large the member claims to be."""

from __future__ import annotations

import zipfile
from typing import BinaryIO

from workbench.errors import InputError

CHUNK = 1024 * 1024


def member_name(info: zipfile.ZipInfo) -> str:
    """The member's name as its maker meant it: GBK when the UTF-8 flag is missing and the
    bytes are not UTF-8 (Windows' zip in Chinese)."""
    name = info.filename
    if not info.flag_bits & 0x800:
        try:
            raw = name.encode("cp437")
        except UnicodeEncodeError:
            return name
        for encoding in ("utf-8", "gbk"):
            try:
                return raw.decode(encoding)
            except UnicodeDecodeError:
                continue
    return name


def copy_member(src: BinaryIO, dst: BinaryIO, limit: int, too_big: str) -> int:
    """Copy an opened member, counting what is really written (a header may lie about the
    size); past `limit` bytes, InputError(too_big). Returns the bytes written."""
    written = 0
    while chunk := src.read(CHUNK):
        written += len(chunk)
        if written > limit:
            raise InputError(too_big)
        dst.write(chunk)
    return written
