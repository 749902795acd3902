"""Run a render plan: one ffmpeg process, progress from `-progress`, cancellable, atomic.

ffmpeg writes to a `.part` name in the output folder; only a clean exit renames it to the
final name, so a killed or failed render never leaves a file that looks finished. On Linux the
ffmpeg child is tied to this process (PR_SET_PDEATHSIG), so killing a batch kills its encodes.

A stall watchdog kills ffmpeg when its output time has not advanced for `STALL_SECONDS`
(also before the first progress report): a damaged input can make ffmpeg spin forever
without failing, and in the app one such render would hold the only render slot.
"""

from __future__ import annotations

import functools
import logging
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from workbench.errors import Cancelled, RenderError
from workbench.ffmpeg import error_summary, ffmpeg_exe
from workbench.files import atomic_output
from workbench.render.plan import FONTS_DIR, RenderPlan

log = logging.getLogger(__name__)
Progress = Callable[[float, str], None]
# No advance of ffmpeg's output time for this long → killed. A healthy render reports every
# 0.25 s and starts within seconds even on a busy machine; a stuck one never reports.
STALL_SECONDS = 60.0


@dataclass(frozen=True)
class RenderResult:
    path: Path
    seconds: float  # wall time
    speed: float  # media seconds per wall second


@functools.cache
def _tied_to_parent() -> tuple[str, ...]:
    """A prefix that kills ffmpeg when this process dies (util-linux `setpriv --pdeathsig`,
    present on every Debian/Ubuntu), so a killed batch leaves no orphan encodes burning CPU.
    Elsewhere nothing: the orphan then only ever writes its `.part` file."""
    setpriv = shutil.which("setpriv") if sys.platform == "linux" else None
    return (setpriv, "--pdeathsig", "KILL") if setpriv else ()


def write_workdir(workdir: Path, files: Mapping[str, str], fonts: Iterable[Path]) -> None:
    """The files a filter graph names (name → text) and its fonts under `FONTS_DIR`, in the
    folder ffmpeg runs in."""
    for name, text in files.items():
        (workdir / name).write_text(text, encoding="utf-8")
    folder = workdir / FONTS_DIR
    folder.mkdir()
    for font in fonts:
        target = folder / font.name
        try:
            target.symlink_to(font)
        except OSError:  # e.g. Windows without symlink rights
            shutil.copyfile(font, target)


def _prepare_workdir(plan: RenderPlan, workdir: Path) -> None:
    write_workdir(workdir, plan.files, (plan.font_file, *plan.extra_fonts))


def _reader(stream, lines: queue.Queue) -> None:
    for raw in stream:
        lines.put(raw.decode("utf-8", "replace").strip())
    lines.put(None)


def execute(plan: RenderPlan, progress: Progress | None = None, *,
            cancel: threading.Event | None = None, timeout: float | None = None,
            stall: float | None = None, message: str = "渲染视频") -> RenderResult:
    """Run `plan`; `progress(fraction, message)` gets ffmpeg's own progress. Setting `cancel`
    (or an exception from `progress`, or Ctrl-C) stops ffmpeg and removes the partial file;
    so does `timeout` (total seconds) and `stall` (seconds without progress, default
    `STALL_SECONDS`)."""
    started = time.monotonic()
    stall = STALL_SECONDS if stall is None else stall
    with (atomic_output(plan.output, temp=plan.partial) as partial,
          tempfile.TemporaryDirectory(prefix="workbench-render-") as tmp):
        workdir = Path(tmp)
        _prepare_workdir(plan, workdir)
        cmd = [*_tied_to_parent(), ffmpeg_exe(), "-hide_banner", "-nostdin",
               "-loglevel", "error", "-nostats",
               "-progress", "pipe:1", "-stats_period", "0.25", *plan.args]
        log.debug("ffmpeg %s", " ".join(plan.args))
        stderr_path = workdir / "ffmpeg.log"
        with open(stderr_path, "wb") as stderr:
            proc = subprocess.Popen(
                cmd, cwd=workdir, stdout=subprocess.PIPE, stderr=stderr,
                stdin=subprocess.DEVNULL,
            )
            try:
                _follow(proc, plan, progress, cancel, timeout, stall, started, message)
            except BaseException:
                _stop(proc)
                raise
        code = proc.wait()
        if code != 0:
            raise RenderError(f"ffmpeg 渲染失败（exit {code}）: {_tail(stderr_path) or '没有输出'}")
        if not partial.is_file() or partial.stat().st_size == 0:
            raise RenderError(f"ffmpeg 没有写出视频: {partial}")
    wall = time.monotonic() - started
    if progress:
        progress(1.0, f"{message}完成")
    return RenderResult(path=plan.output, seconds=wall, speed=plan.duration / max(wall, 1e-6))


def _follow(proc: subprocess.Popen, plan: RenderPlan, progress: Progress | None,
            cancel: threading.Event | None, timeout: float | None, stall: float,
            started: float, message: str) -> None:
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_reader, args=(proc.stdout, lines), daemon=True).start()
    last = -1.0
    furthest, advanced = -1, time.monotonic()  # ffmpeg's output time, and when it last grew
    while True:
        now = time.monotonic()
        if cancel is not None and cancel.is_set():
            raise Cancelled("渲染已取消，未留下不完整的视频")
        if timeout is not None and now - started > timeout:
            raise RenderError(f"渲染超时（{timeout:.0f} 秒），已停止 ffmpeg")
        if now - advanced > stall:
            proc.kill()  # a stuck ffmpeg may ignore SIGTERM
            raise RenderError(
                f"ffmpeg 卡住了（stalled）：{stall:.0f} 秒没有任何进展，已停止。输入文件："
                f"{'、'.join(plan_inputs(plan.args)) or '无'}；多半是其中某个文件已损坏，请换掉它")
        try:
            line = lines.get(timeout=0.2)
        except queue.Empty:
            continue
        if line is None:
            return
        key, _, value = line.partition("=")
        if key in ("out_time_us", "out_time_ms") and value.isdigit() and int(value) > furthest:
            furthest, advanced = int(value), time.monotonic()
        if key in ("out_time_us", "out_time_ms") and value.isdigit() and progress:
            fraction = min(1.0, int(value) / 1e6 / max(plan.duration, 1e-6))
            if fraction - last >= 0.01:
                last = fraction
                progress(fraction * 0.99, f"{message} {fraction:.0%}")


def plan_inputs(args: tuple[str, ...] | list[str]) -> list[str]:
    """The files a command reads (`-i` values), without generated `-f lavfi` sources."""
    found = []
    for i, arg in enumerate(args[:-1]):
        if arg == "-i" and not (i >= 2 and args[i - 2] == "-f" and args[i - 1] == "lavfi"):
            found.append(args[i + 1])
    return found


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _tail(path: Path, lines: int = 6) -> str:
    """What ffmpeg said that matters (its log file can be long: read its end only)."""
    with open(path, "rb") as fh:
        fh.seek(max(0, fh.seek(0, 2) - 64 * 1024))
        text = fh.read().decode("utf-8", errors="replace")
    return error_summary(text, lines=lines)
