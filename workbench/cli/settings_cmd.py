"""`workbench config`: the effective settings, where each came from, the key masked."""

from __future__ import annotations

from typing import Annotated

import typer

from workbench.cli.common import (
    app,
    current_settings,
    new_table,
    out,
)
from workbench.config import OPTIONS


# config ----------------------------------------------------------------------------------
@app.command("config")
def config_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出")] = False,
) -> None:
    """显示生效的设置（密钥已遮盖）及每项的来源。"""
    settings = current_settings()
    shown = settings.masked()
    if as_json:
        out.print_json(data=shown)
        return
    table = new_table("设置", "值", "来源", "环境变量", title="Workbench 设置")
    env_of = {o.name: o.env for o in OPTIONS}
    for name, value in shown.items():
        source = settings.sources.get(name, "")
        table.add_row(name, "" if value is None else str(value), source, env_of.get(name, ""))
    out.print(table)
    if settings.config_file:
        out.print(f"配置文件: {settings.config_file}")
