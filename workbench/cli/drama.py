"""`workbench drama …`: short-drama work on an imported drama material (transcripts,
highlights). Each command lives in its own module, imported here so it registers."""

from __future__ import annotations

import importlib

import typer

from workbench.cli.common import app

drama_app = typer.Typer(help="短剧：字幕识别、高光片段。", no_args_is_help=True)
app.add_typer(drama_app, name="drama")

for _module in ("drama_transcribe", "drama_highlights", "drama_sample"):
    importlib.import_module(f"workbench.cli.{_module}")
