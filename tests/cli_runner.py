"""Run the `workbench` command inside the test process, with what a subprocess would give.

A `python -m workbench` subprocess pays a fresh interpreter and every import (seconds per call),
so most CLI tests call the real entry point, `workbench.cli.main(argv)`, here instead. typer's
`CliRunner` is not used: it invokes the click command and so bypasses `main()`, which is what
turns a WorkbenchError into one "错误: …" line and exit code 1.

What the caller gets is what a pipe would have carried:
- file descriptors 1 and 2 point at temporary files for the call, and `sys.stdout` /
  `sys.stderr` write into those same files, so output of child processes (ffmpeg, render
  workers) and of C libraries lands beside the command's own, as it would in a subprocess;
- the root logger prints warnings to stderr in `main()`'s format (its `logging.basicConfig`
  does nothing under pytest, whose handlers are already installed);
- a SystemExit becomes the exit code, an uncaught exception a traceback on stderr and code 1;
- `env` is set for the call only.

Each command group keeps one real subprocess test (`run_subprocess`) so the installed entry
point is still proven.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass

import pytest

from workbench import cli

# the format `workbench.cli.main` gives logging.basicConfig
LOG_FORMAT = "%(levelname)s %(name)s: %(message)s"


@dataclass(frozen=True)
class CliResult:
    returncode: int
    stdout: str
    stderr: str


def run_cli(*args: str, env: Mapping[str, str] | None = None) -> CliResult:
    """`workbench ARGS…` in this process; `env` adds to (and overrides) os.environ."""
    with ExitStack() as stack:
        mp = stack.enter_context(pytest.MonkeyPatch.context())
        for name, value in (env or {}).items():
            mp.setenv(name, value)
        mp.setattr(sys, "argv", ["workbench", *args])
        # cli's consoles chose their colours when imported; a pipe gets none (matters only
        # under `pytest -s` on a terminal)
        for console in (cli.out, cli.err):
            mp.setattr(console, "_color_system", None)
        files = [stack.enter_context(tempfile.TemporaryFile()) for _ in range(2)]
        code = _run_with_fds(list(args), *files)
        stdout, stderr = (_read(f) for f in files)
    return CliResult(code, stdout, stderr)


def _run_with_fds(argv: list[str], out_file, err_file) -> int:
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    saved = os.dup(1), os.dup(2)
    old_streams = sys.stdout, sys.stderr
    os.dup2(out_file.fileno(), 1)
    os.dup2(err_file.fileno(), 2)
    stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115 - closed below
    stderr = open(2, "w", encoding="utf-8", buffering=1, closefd=False)  # noqa: SIM115
    sys.stdout, sys.stderr = stdout, stderr
    handler = logging.StreamHandler(stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.setLevel(logging.WARNING)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        cli.main(argv)
        code = 0
    except SystemExit as exc:
        code = _exit_code(exc, stderr)
    except Exception:  # noqa: BLE001 - what the interpreter does with an uncaught one
        traceback.print_exc(file=stderr)
        code = 1
    finally:
        root.removeHandler(handler)
        for stream in (stdout, stderr):
            stream.flush()
            stream.close()
        sys.stdout, sys.stderr = old_streams
        for fd, copy in zip((1, 2), saved, strict=True):
            os.dup2(copy, fd)
            os.close(copy)
    return code


def _exit_code(exc: SystemExit, stderr) -> int:
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    print(exc.code, file=stderr)  # sys.exit("message"): printed, exit code 1
    return 1


def _read(file) -> str:
    file.seek(0)
    return file.read().decode("utf-8", errors="replace")


def run_subprocess(*args: str, env: Mapping[str, str] | None = None,
                   timeout: float = 300) -> subprocess.CompletedProcess:
    """`python -m workbench ARGS…` in a real child process (the smoke test of a group)."""
    return subprocess.run([sys.executable, "-m", "workbench", *args], capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, timeout=timeout,
                          check=False)
