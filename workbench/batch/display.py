"""The live batch display on a terminal: an overall bar with ETA plus one line per running job
(its stage and progress), and one printed line per finished job."""

from __future__ import annotations

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
