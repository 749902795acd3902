"""Saving settings from the web app: workbench.toml for options, a 0600 file for the API key.

The key never goes into workbench.toml, the database or a log; it is read back by
`load_settings` (config.read_key_file) only when neither OPENAI_API_KEY nor llm.api_key sets
one. This module depends on config, never the other way round.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import tomlkit

from workbench.config import OPTIONS, Settings, key_file
from workbench.errors import InputError
from workbench.files import write_private_text

EDITABLE = ("llm_base_url", "llm_model", "rewrite_backend", "voice_backend", "voice",
            "voice_rate", "voice_fallback", "render_profile")


def save_api_key(home: Path, key: str) -> Path:
    """Write the key with owner-only permissions (folder 0700, file 0600), atomically."""
    key = key.strip()
    if not key or any(ch.isspace() for ch in key):
        raise InputError("API Key 不能为空，也不能包含空格或换行")
    path = key_file(home)
    write_private_text(path, key)
    return path


def delete_api_key(home: Path) -> None:
    key_file(home).unlink(missing_ok=True)


def settings_path(settings: Settings) -> Path:
    """Where the app saves: the config file in use, else WORKBENCH_HOME/workbench.toml."""
    return settings.config_file or settings.home / "workbench.toml"


def with_values(settings: Settings, values: dict[str, Any]) -> Settings:
    """`settings` as they would be with `values` (option name → raw value; "" or None: the
    default), every value converted and checked, nothing written."""
    options = {o.name: o for o in OPTIONS}
    changes: dict[str, Any] = {}
    for name, raw in values.items():
        if name not in EDITABLE:
            raise InputError(f"设置 {name} 不能在网页里修改")
        option = options[name]
        value = option.default if raw in (None, "") else option.convert(raw, "设置页")
        option.check_choice(value)
        changes[name] = value
    candidate = dataclasses.replace(settings, **changes)
    check_settings(candidate)
    return candidate


def check_settings(settings: Settings) -> None:
    """What a render would refuse later, refused now: the endpoint's shape, and the voice plan
    (backend, voice, rate, pitch, volume) exactly as a job would make it."""
    from workbench.voice.registry import plan_voice  # voice imports config, not this module

    if settings.llm_base_url:
        url = urlsplit(settings.llm_base_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise InputError(f"接口地址 {settings.llm_base_url[:80]!r} 不是网址：应以 http:// 或 "
                             "https:// 开头，例如 https://api.deepseek.com/v1")
    if not settings.llm_model.strip():
        raise InputError("模型名不能为空，例如 gpt-4o-mini 或 deepseek-chat")
    plan_voice(settings)


def save_settings(settings: Settings, values: dict[str, Any]) -> Path:
    """Write `values` (option name → value) into the TOML file, keeping its comments. Nothing
    is written unless the settings they make are valid as a whole (`with_values`)."""
    with_values(settings, values)
    options = {o.name: o for o in OPTIONS}
    path = settings_path(settings)
    try:
        doc = tomlkit.parse(path.read_text(encoding="utf-8")) if path.is_file() else (
            tomlkit.document())
    except tomlkit.exceptions.ParseError as exc:
        raise InputError(f"配置文件格式错误，未保存: {path}: {exc}") from None
    for name, raw in values.items():
        option = options[name]
        section, key = option.toml_key.split(".")
        table = doc.get(section)
        if table is None:
            table = tomlkit.table()
            doc[section] = table
        if raw in (None, ""):
            table.pop(key, None)
            continue
        value = option.convert(raw, "设置页")
        option.check_choice(value)
        table[key] = str(value) if isinstance(value, Path) else value
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.part")
    partial.write_text(tomlkit.dumps(doc), encoding="utf-8")
    os.replace(partial, path)
    return path
