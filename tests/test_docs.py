"""The README's settings table lists every declared option, with its environment variable,
`workbench.toml` key and default, and nothing else (the way sqlite-utils' test_docs.py keeps
its docs and its options in step)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from workbench.config import OPTIONS, PROJECT_ROOT, Option

# How the README writes a default that is not a literal value: an option without one is "—",
# or says what is used instead.
NO_DEFAULT = {"—", "SDK default", "bundled"}


def settings_rows(readme: str) -> list[list[str]]:
    """The cells of the table under '## Settings' (header and separator left out)."""
    section = readme.split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[2:]]


def split_row(row: list[str]) -> list[tuple[str, str, str, str]]:
    """One (env, toml key, default, what) per option. A row may group options with " / " in
    every column; one default then stands for all of them."""
    what, env_cell, toml_cell, default_cell = row
    envs = re.findall(r"`([^`]+)`", env_cell)
    tomls = re.findall(r"`([^`]+)`", toml_cell)
    defaults = [d.strip() for d in default_cell.split(" / ")]
    assert len(envs) == len(tomls), f"row names {envs} but {tomls}"
    if len(defaults) == 1:
        defaults *= len(envs)
    assert len(defaults) == len(envs), f"row names {envs} but defaults {defaults}"
    return [(env, toml, default, what)
            for env, toml, default in zip(envs, tomls, defaults, strict=True)]


def documents(option: Option, written: str) -> bool:
    """Whether the README's `written` default is `option.default`. A remark in parentheses
    after the value ("(→ 16)", "(under the current directory)") is for the reader."""
    text = re.sub(r"\s*\(.*\)$", "", written).strip().strip("`")
    if option.default is None:
        return text in NO_DEFAULT
    if option.kind is bool:
        return text == str(option.default).lower()
    if option.kind in (int, float):
        return float(text.replace("−", "-")) == option.default
    if option.kind is Path:
        return Path(text) == option.default
    return text == option.default


def documented() -> list[tuple[str, str, str, str]]:
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    return [entry for row in settings_rows(readme) for entry in split_row(row)]


def test_the_settings_table_names_only_declared_options_once():
    by_env = {o.env: o for o in OPTIONS}
    envs = [env for env, *_ in documented()]
    unknown, missing = sorted(set(envs) - set(by_env)), sorted(set(by_env) - set(envs))
    assert not unknown, f"README lists settings that do not exist: {unknown}"
    assert not missing, f"README leaves settings out: {missing}"
    assert len(envs) == len(set(envs)), "README lists a setting twice"


@pytest.mark.parametrize("entry", documented(), ids=lambda entry: entry[0])
def test_each_setting_has_its_toml_key_default_and_choices(entry):
    env, toml_key, default, what = entry
    option = {o.env: o for o in OPTIONS}.get(env)
    assert option, f"README lists {env}, which is not a setting"
    assert toml_key == option.toml_key
    assert documents(option, default), (
        f"README says {default!r}, {option.name} is {option.default!r}")
    for choice in option.choices:  # the names the registry knows
        assert f"`{choice}`" in what, f"README's row for {env} does not name `{choice}`"
