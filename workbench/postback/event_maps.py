"""Event types: the four names Workbench counts, and each platform's map from its own codes.

A postback's `event_type` is one of EVENT_TYPES, or a code the platform's event map translates
(Ocean Engine's legacy API sends 0 for activation, Kuaishou's 1). A map is a preset
(`oceanengine`, `kuaishou`) or a file: TOML or JSON, `code = "name"` pairs at the top level or
under `[events]`. A file is checked whole, and an error names its line.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

from workbench.errors import InputError
from workbench.files import read_bounded

# event name → the tracking count it adds to
EVENT_TYPES: dict[str, str] = {"activation": "activations",
                                      "registration": "registrations", "order": "orders",
                                      "retention_1d": "retentions"}
EVENT_NAMES = {"activation": "激活", "registration": "注册", "order": "付费",
               "retention_1d": "次日留存"}
PRESETS: dict[str, dict[str, str]] = {
    # Ocean Engine (巨量引擎): the legacy track API's integer codes, and the newer API's names.
    "oceanengine": {"0": "activation", "1": "registration", "2": "order", "6": "retention_1d",
                    "active": "activation", "active_register": "registration",
                    "active_pay": "order", "next_day_open": "retention_1d"},
    # Kuaishou (磁力引擎).
    "kuaishou": {"1": "activation", "2": "registration", "3": "order", "7": "retention_1d"},
}
MAX_FILE = 1024 * 1024
MAX_CODES = 200
_CODE = re.compile(r"^[A-Za-z0-9_.\-]{1,40}$")


def load_event_map(value: str | None) -> tuple[dict[str, str], str | None]:
    """(code → event name, where it came from) for `--event-map`: a preset's name, a file,
    or nothing (only the names themselves are accepted)."""
    if value is None or not value.strip():
        return {}, None
    name = value.strip()
    if name in PRESETS:
        return dict(PRESETS[name]), name
    path = Path(name).expanduser()
    if not path.exists():
        raise InputError(f"--event-map {name}: 既不是预设（{'|'.join(PRESETS)}）也不是存在的文件")
    return read_event_map_file(path), str(path.resolve())


def read_event_map_file(path: Path) -> dict[str, str]:
    data = read_bounded(path, MAX_FILE, "请给出 .toml 或 .json 文件", "事件映射文件不应这么大")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{path}: 事件映射文件不是 UTF-8 文本") from None
    suffix = path.suffix.lower()
    if suffix == ".json":
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}:{exc.lineno}: JSON 格式错误（{exc.msg}）") from None
    elif suffix == ".toml":
        try:
            raw = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"{path}: TOML 格式错误：{exc}") from None
    else:
        raise InputError(f"{path}: 事件映射文件应为 .toml 或 .json")
    if isinstance(raw, dict) and isinstance(raw.get("events"), dict) and len(raw) == 1:
        raw = raw["events"]
    if not isinstance(raw, dict) or not raw:
        raise InputError(f"{path}:1: 应是「代码 = 事件名」的映射，如 0 = \"activation\"")
    if len(raw) > MAX_CODES:
        raise InputError(f"{path}: 有 {len(raw)} 个代码，最多 {MAX_CODES} 个")
    mapping: dict[str, str] = {}
    for code, event in raw.items():
        line = _line_of(text, str(code))
        if not _CODE.match(str(code)):
            raise InputError(f"{path}:{line}: 代码「{str(code)[:40]}」应为 1–40 个字母、数字、"
                             "下划线、点或连字符")
        if not isinstance(event, str) or event not in EVENT_TYPES:
            raise InputError(f"{path}:{line}: 代码 {code} 对应的「{str(event)[:40]}」不是事件名："
                             f"可选 {'|'.join(EVENT_TYPES)}")
        mapping[str(code)] = event
    return mapping


def _line_of(text: str, code: str) -> int:
    """The line where `code` is defined (its first appearance as a key), else 1."""
    key = re.compile(rf"^\s*[\"']?{re.escape(code)}[\"']?\s*[=:]")
    for number, line in enumerate(text.splitlines(), 1):
        if key.match(line) or re.search(rf"[{{,]\s*\"{re.escape(code)}\"\s*:", line):
            return number
    return 1


def event_name(sent: object, event_map: dict[str, str]) -> str | None:
    """The event name for a body's `event_type` (a name, or a code as number or text);
    None when neither the names nor the platform's map know it."""
    if isinstance(sent, bool) or not isinstance(sent, str | int):
        return None
    text = str(sent).strip()
    if text in EVENT_TYPES:
        return text
    return event_map.get(text)
