"""The bundled Chinese font (Noto Sans SC from a pip package, so renders need no system font)
and its metrics as libass uses them."""

from __future__ import annotations

import struct
from functools import cache
from pathlib import Path

import pylopdf_fonts_zh_cn

from workbench.errors import BackendUnavailable

FONT_PACKAGE = "pylopdf-fonts-zh-cn"
FONT_FILE = "NotoSansSC-Regular.otf"


@cache
def em_per_size(font_file: Path) -> float:
    """libass (like VSFilter) sizes a font so that winAscent + winDescent equals the font size;
    the em is therefore `size * unitsPerEm / (winAscent + winDescent)` (0.69 for Noto Sans SC).
    Read from the font's head and OS/2 tables."""
    data = font_file.read_bytes()
    num_tables = struct.unpack_from(">H", data, 4)[0]
    tables = {}
    for i in range(num_tables):
        tag, _, offset, _ = struct.unpack_from(">4sLLL", data, 12 + 16 * i)
        tables[tag] = offset
    units_per_em = struct.unpack_from(">H", data, tables[b"head"] + 18)[0]
    win_ascent, win_descent = struct.unpack_from(">HH", data, tables[b"OS/2"] + 74)
    return units_per_em / (win_ascent + win_descent)


def fonts_dir() -> Path:
    """The folder holding Noto Sans SC, from a pip package: renders need no system font."""
    return Path(pylopdf_fonts_zh_cn.__file__).resolve().parent


def _packaged(name: str) -> Path:
    path = fonts_dir() / name
    if not path.is_file():
        raise BackendUnavailable(
            f"{FONT_PACKAGE} 中找不到 {name}：请重新安装（pip install -U {FONT_PACKAGE}）")
    return path


def default_font_file() -> Path:
    return _packaged(FONT_FILE)


SERIF_FONT_FILE = "NotoSerifSC-Regular.otf"


def serif_font_file() -> Path:
    """Noto Serif SC from the same pip package: the reading page's book face."""
    return _packaged(SERIF_FONT_FILE)
