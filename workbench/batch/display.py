"""Batch displays (the runner's Display protocol). On a terminal: an overall bar with ETA plus
one line per running job (its stage and progress), and one printed line per finished job. In
the app: a table of every job that the page polls."""

from __future__ import annotations

import threading
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from workbench.batch.expand import PlannedJob
from workbench.batch.runner import title_of

_MARKS = {"done": "完成", "failed": "失败", "cached": "复用"}


class RichDisplay:
    def __init__(self, console: Console):
        self.console = console
        self.progress = Progress(
            TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
            TextColumn("{task.fields[count]}"), TextColumn("剩余"), TimeRemainingColumn(),
            TimeElapsedColumn(), console=console, transient=True)
        self.overall: TaskID | None = None
        self.jobs: dict[str, tuple[TaskID, str]] = {}

    def start(self, total: int, skipped: int) -> None:
        self.progress.start()
        self.total = total
        self.overall = self.progress.add_task("总进度", total=total, completed=skipped,
                                              count=f"{skipped}/{total}")

    def job_started(self, key: str, title: str) -> None:
        task = self.progress.add_task(f"  {title} · 准备", total=1.0, count="")
        self.jobs[key] = (task, title)

    def job_progress(self, key: str, fraction: float, message: str) -> None:
        if key in self.jobs:
            task, title = self.jobs[key]
            self.progress.update(task, completed=fraction, description=f"  {title} · {message}")

    def job_finished(self, key: str, status: str, message: str) -> None:
        task, title = self.jobs.pop(key, (None, key))
        if task is not None:
            self.progress.remove_task(task)
        if self.overall is not None:
            self.progress.advance(self.overall)
            done = int(self.progress.tasks[self.overall].completed)
            self.progress.update(self.overall, count=f"{done}/{self.total}")
        self.progress.console.print(f"{_MARKS.get(status, status)}  {title}  {message}",
                                    style="red" if status == "failed" else None)

    def close(self) -> None:
        self.progress.stop()


class TableDisplay:
    """The runner's Display protocol as a table another thread reads (the app's 批量 tab
    polls it): one row per job — title, status, progress, message."""

    def __init__(self, jobs: list[PlannedJob], done: set[str]):
        self._lock = threading.Lock()
        self._rows = {p.key: [title_of(p), "已有成品" if p.key in done else "等待", "", ""]
                      for p in jobs}
        self.total, self.finished = len(jobs), len(done)

    def start(self, total: int, skipped: int) -> None:
        with self._lock:
            self.total, self.finished = total, skipped

    def job_started(self, key: str, title: str) -> None:
        with self._lock:
            self._rows.setdefault(key, [title, "", "", ""])[1:] = ["准备", "0%", ""]

    def job_progress(self, key: str, fraction: float, message: str) -> None:
        with self._lock:
            if key in self._rows:
                self._rows[key][1:] = ["进行中", f"{fraction:.0%}", message]

    def job_finished(self, key: str, status: str, message: str) -> None:
        with self._lock:
            row = self._rows.setdefault(key, [key, "", "", ""])
            done = status == "done"
            row[1:] = [_MARKS.get(status, status), "100%" if done else "",
                       f"成品包 {message}" if done else message]
            self.finished += 1

    def close(self) -> None: ...

    def snapshot(self) -> tuple[list[list[Any]], float, str]:
        with self._lock:
            rows = [list(r) for r in self._rows.values()]
            total, finished = self.total, self.finished
        return rows, finished / max(total, 1), f"{finished}/{total} 个任务结束"
