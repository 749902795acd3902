"""The `workbench` command: a thin shell over the library (no logic lives here).

One module per command group; `common` holds what they share. Importing a module registers its
commands on `app`.
"""

from __future__ import annotations

import importlib
import logging
import sqlite3
import sys

import typer
from typer.exceptions import TyperException

from workbench.cli.common import app, err, out
from workbench.errors import WorkbenchError
from workbench.store import database_error

# Importing a group's module registers its commands on `app`; `--help` lists them in this order.
GROUPS = ("settings_cmd", "materials", "templates", "stages", "make", "batch", "submissions",
          "tasks", "keywords", "tracking", "settle", "postback", "drama", "footage",
          "lab", "lab_stats")  # lab_stats adds its command to lab's group
for _group in GROUPS:
    importlib.import_module(f"workbench.cli.{_group}")

__all__ = ["app", "err", "main", "out"]


def main(argv: list[str] | None = None) -> None:
    """Entry point: WorkbenchError becomes one clear line on stderr and exit code 1."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    command = typer.main.get_command(app)
    try:
        code = command.main(args=argv, prog_name="workbench", standalone_mode=False)
    except (WorkbenchError, sqlite3.OperationalError) as exc:
        shown = exc if isinstance(exc, WorkbenchError) else database_error(exc)
        if shown is None:  # not a busy or read-only database: a bug, shown as one
            raise
        err.print(f"错误: {shown}", style="bold red")
        sys.exit(1)
    except typer.Abort:
        err.print("已取消")
        sys.exit(130)
    except TyperException as exc:  # usage errors: typer ≥ 0.26 raises its own copy of click's
        exc.show()  # type: ignore[attr-defined]  # every one raised is a ClickException
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    if isinstance(code, int) and code:  # typer.Exit(n) comes back as a return value here
        if code == 130:  # typer turns Ctrl-C into Exit(130) without a word
            err.print("已取消")
        sys.exit(code)
