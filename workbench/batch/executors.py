"""Where renders run: a local process pool, or Ray tasks on a cluster.

Workers get a `RenderTask` (plain data: the prepared job plus where to put the package) and
send back a `RenderOutcome`; they never open the SQLite store. Files reach the driver in one of
two ways (`transfer`):

- `shared`: the worker reads inputs by path and assembles the package in the staging folder
  under `WORKBENCH_HOME/submissions/` itself. Right for the local pool, and for a Ray cluster
  whose nodes all mount WORKBENCH_HOME (and any footage) at the same path.
- `bytes`: the driver ships the input files (narration, subtitles, footage, BGM) inside the
  task; the worker renders in a private temp folder and returns the package files as bytes,
  which the driver writes into staging. Works on any cluster, costs the transfer.

Either way only the driver moves a package into place and writes rows.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import queue
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import tenacity

from workbench.errors import BackendUnavailable, InputError, WorkbenchError
from workbench.fonts import default_font_file
from workbench.package import CONTENT_FILES, MANIFEST
from workbench.pipeline.render_phase import PreparedJob, RenderedPackage, render_package

log = logging.getLogger(__name__)
TRANSFERS = ("shared", "bytes")
ProgressSink = Callable[[str, float, str], None]  # (job key, fraction, message)


@dataclass(frozen=True)
class RenderTask:
    key: str
    prepared: PreparedJob
    staging: str | None  # shared transfer: the staging folder to assemble the package in
    transfer: str = "shared"
    inputs: dict[str, bytes] = field(default_factory=dict)  # bytes transfer: path → content
    fingerprint: bool = True


@dataclass(frozen=True)
class RenderOutcome:
    key: str
    rendered: RenderedPackage | None = None
    error: str | None = None
    files: dict[str, bytes] | None = None  # bytes transfer: package files
    frames: list[str] = field(default_factory=list)  # perceptual hashes of sampled frames
    host: str = ""  # which worker rendered it: "node:pid"


def make_task(key: str, prepared: PreparedJob, staging: Path | None, transfer: str
              ) -> RenderTask:
    if transfer == "bytes":
        inputs = {str(p): Path(p).read_bytes() for p in prepared.input_files()}
        return RenderTask(key, prepared, None, "bytes", inputs)
    return RenderTask(key, prepared, str(staging), "shared")


def _throttled(key: str, sink: ProgressSink | None) -> Callable[[float, str], None]:
    last = [-1.0, ""]

    def progress(fraction: float, message: str) -> None:
        stage = message.split(" ")[0]
        if sink and (fraction - last[0] >= 0.05 or stage != last[1] or fraction >= 1.0):
            last[0], last[1] = fraction, stage
            try:
                sink(key, fraction, message)
            except Exception:
                log.debug("progress message lost", exc_info=True)
    return progress


def run_render_task(task: RenderTask, sink: ProgressSink | None = None) -> RenderOutcome:
    """The worker side: render, cover, checks, package files, fingerprint. Never raises for a
    job's own failure: the error comes back as text so other jobs go on."""
    host = f"{os.uname().nodename}:{os.getpid()}"
    progress = _throttled(task.key, sink)
    try:
        if task.transfer == "bytes":
            return _render_with_bytes(task, progress, host)
        staging = Path(task.staging or "")
        rendered = render_package(task.prepared, staging, progress)
        frames = _frames(task, staging, progress)
        return RenderOutcome(task.key, rendered, frames=frames, host=host)
    except WorkbenchError as exc:
        return RenderOutcome(task.key, error=str(exc), host=host)
    except Exception as exc:  # a bug or a broken file: report it, keep the batch going
        log.debug("render task failed", exc_info=True)
        detail = traceback.format_exception_only(exc)[-1].strip()
        return RenderOutcome(task.key, error=f"{detail}", host=host)


def _frames(task: RenderTask, folder: Path, progress) -> list[str]:
    if not task.fingerprint:
        return []
    from workbench.batch.fingerprint import fingerprint_video

    progress(0.99, "画面指纹")

    tail = task.prepared.render_job.overlays.end_card_seconds
    return fingerprint_video(folder / "video.mp4", tail=tail)


def _render_with_bytes(task: RenderTask, progress, host: str) -> RenderOutcome:
    with tempfile.TemporaryDirectory(prefix="workbench-task-") as tmp:
        inbox, staging = Path(tmp) / "in", Path(tmp) / "package"
        inbox.mkdir()
        staging.mkdir()
        mapping = {}
        for i, (original, data) in enumerate(task.inputs.items()):
            local = inbox / f"{i}-{Path(original).name}"
            local.write_bytes(data)
            mapping[Path(original)] = local
        # The bundled font is installed with Workbench on every node, not necessarily at the
        # driver's path.
        prepared = task.prepared.with_files({**mapping,
                                             task.prepared.render_job.font_file:
                                             default_font_file()})
        rendered = render_package(prepared, staging, progress)
        files = {name: (staging / name).read_bytes() for name in (*CONTENT_FILES, MANIFEST)}
        frames = _frames(task, staging, progress)
        return RenderOutcome(task.key, rendered, files=files, frames=frames, host=host)


class Executor(Protocol):
    name: str

    def submit(self, task: RenderTask) -> Any: ...
    def finished(self, timeout: float) -> list[RenderOutcome]: ...
    def progress_events(self) -> list[tuple[str, float, str]]: ...
    def cancel_all(self) -> None: ...
    def shutdown(self) -> None: ...


# Local: a process pool -------------------------------------------------------------------
_queue: Any = None


def _die_with_parent(progress_queue: Any) -> None:
    """Pool initializer: a worker is killed when the batch process dies (Linux), so a killed
    batch leaves no orphan render writing into a staging folder; ffmpeg dies with the worker."""
    global _queue
    _queue = progress_queue
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to handle
    if sys.platform == "linux":
        try:
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except OSError:
            pass
        if os.getppid() == 1:  # the parent died before prctl
            os._exit(1)


def _queue_sink(key: str, fraction: float, message: str) -> None:
    if _queue is not None:
        _queue.put_nowait((key, fraction, message))


def _pool_task(task: RenderTask) -> RenderOutcome:
    return run_render_task(task, _queue_sink)


class LocalExecutor:
    name = "local"

    def __init__(self, workers: int):
        self._context = multiprocessing.get_context("spawn")  # no fork of a threaded driver
        self._workers = workers
        self._events = self._context.Queue()
        self._pool = self._new_pool()
        self._futures: dict[Future, str] = {}

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=self._workers, mp_context=self._context,
                                   initializer=_die_with_parent, initargs=(self._events,))

    def submit(self, task: RenderTask) -> Future:
        try:
            future = self._pool.submit(_pool_task, task)
        except BrokenProcessPool:  # a worker was killed (e.g. out of memory): start afresh;
            self._pool.shutdown(wait=False)  # its jobs come back as failures from finished()
            self._pool = self._new_pool()
            future = self._pool.submit(_pool_task, task)
        self._futures[future] = task.key
        return future

    def finished(self, timeout: float) -> list[RenderOutcome]:
        if not self._futures:
            time.sleep(min(timeout, 0.05))
            return []
        done, _ = wait(list(self._futures), timeout=timeout, return_when=FIRST_COMPLETED)
        outcomes = []
        for future in done:
            key = self._futures.pop(future)
            try:
                outcomes.append(future.result())
            except BrokenProcessPool:
                outcomes.append(RenderOutcome(key, error="渲染进程被意外终止（内存不足或被杀死），"
                                                         "本批次重新运行时会重做"))
            except Exception as exc:  # noqa: BLE001 - anything else from the pool machinery
                outcomes.append(RenderOutcome(key, error=f"渲染进程异常退出：{exc}"))
        return outcomes

    def progress_events(self) -> list[tuple[str, float, str]]:
        events = []
        while True:
            try:
                events.append(self._events.get_nowait())
            except (queue.Empty, OSError, ValueError):
                return events

    def cancel_all(self) -> None:
        """Stop everything now: queued tasks are dropped, running workers are terminated (their
        ffmpeg dies with them), so nothing writes into a staging folder afterwards."""
        for future in self._futures:
            future.cancel()
        # ProcessPoolExecutor has no public way to stop running tasks before Python 3.14.
        for process in list(getattr(self._pool, "_processes", {}).values()):
            process.terminate()
        for process in list(getattr(self._pool, "_processes", {}).values()):
            process.join(timeout=10)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._events.close()


# Ray --------------------------------------------------------------------------------------
class RayExecutor:
    """Render tasks on a Ray cluster: `address` "auto" / "ray://host:10001" joins an existing
    one; None starts a local Ray for this run (stopped again at the end)."""

    name = "ray"

    def __init__(self, workers: int, address: str | None = None):
        try:
            import ray
            from ray.util.queue import Queue
        except ImportError:
            raise BackendUnavailable("--executor ray 需要安装 Ray：pip install '.[ray]'"
                                     "（或 make install）") from None
        self._ray = ray
        self._started = not ray.is_initialized()
        if self._started:
            options: dict[str, Any] = {"address": address, "include_dashboard": False,
                                       "logging_level": logging.WARNING, "log_to_driver": False}
            if address is None:
                options["num_cpus"] = workers
            try:
                _init_ray(ray, options)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise BackendUnavailable(f"连接 Ray 集群失败（{address or '本机'}）：{_last_line(exc)}；"
                                         "检查 --ray-address，或先在集群上运行 ray start") from None
        self._queue = Queue(actor_options={"num_cpus": 0})
        self._remote = ray.remote(num_cpus=1, max_retries=0)(_ray_task)
        self._refs: dict[Any, str] = {}
        self._blobs: dict[tuple[str, int], Any] = {}  # input file → its bytes in Ray's store

    def submit(self, task: RenderTask) -> Any:
        # Input files shared by many jobs (the font, footage, music) go into Ray's object store
        # once per run instead of travelling inside every task.
        blobs = {}
        for path, data in task.inputs.items():
            key = (path, len(data))
            if key not in self._blobs:
                self._blobs[key] = self._ray.put(data)
            blobs[path] = self._blobs[key]
        ref = self._remote.remote(replace(task, inputs={}), blobs, self._queue)
        self._refs[ref] = task.key
        return ref

    def finished(self, timeout: float) -> list[RenderOutcome]:
        if not self._refs:
            time.sleep(min(timeout, 0.05))
            return []
        ready, _ = self._ray.wait(list(self._refs), num_returns=1, timeout=timeout)
        outcomes = []
        for ref in ready:
            key = self._refs.pop(ref)
            try:
                outcomes.append(self._ray.get(ref))
            except Exception as exc:  # noqa: BLE001 - the task or its worker died
                outcomes.append(RenderOutcome(key, error=f"Ray 任务失败：{exc}"))
        return outcomes

    def progress_events(self) -> list[tuple[str, float, str]]:
        try:
            size = self._queue.qsize()
            return self._queue.get_nowait_batch(size) if size else []
        except Exception:  # noqa: BLE001 - progress is cosmetic; results come from ray.wait
            return []

    def cancel_all(self) -> None:
        for ref in self._refs:
            try:
                self._ray.cancel(ref, force=True)
            except Exception:
                log.debug("ray.cancel failed", exc_info=True)

    def shutdown(self) -> None:
        if self._started:
            self._ray.shutdown()


# Ray Client's proxy forks a server process per connection while its own gRPC threads run, and
# that child sometimes dies at birth (ray-project/ray#63202; a few percent of connections). The
# proxy then fails the connection's initialisation, with "Starting Ray client server failed" or
# with psutil's ZombieProcess from looking at the dead child. A new connection gets a new
# server, so a failed initialisation is retried; anything else (refused, timed out, wrong
# token) is not.
RAY_CLIENT_ATTEMPTS = 4


def _client_server_died(exc: BaseException) -> bool:
    return (isinstance(exc, ConnectionAbortedError)
            and str(exc).startswith("Initialization failure from server"))


def _init_ray(ray: Any, options: dict[str, Any], *,
              sleep: Callable[[float], None] = time.sleep) -> None:
    """`ray.init(**options)`, retried after 1, 2, 4 s; tests pass `sleep` to skip the waits."""
    def warn(state: tenacity.RetryCallState) -> None:
        log.warning("Ray Client: the cluster's per-connection server died at start "
                    "(attempt %d/%d); connecting again", state.attempt_number,
                    RAY_CLIENT_ATTEMPTS)
        if ray.is_initialized():
            ray.shutdown()

    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(RAY_CLIENT_ATTEMPTS),
        wait=tenacity.wait_exponential(multiplier=1, max=4),
        retry=tenacity.retry_if_exception(_client_server_died), before_sleep=warn,
        sleep=sleep, reraise=True)
    retrying(ray.init, **options)


def _last_line(exc: BaseException) -> str:
    """A server-side traceback in a Ray error is noise for the user: its last line says it."""
    text = str(exc)
    if "Traceback (most recent call last)" not in text:
        return text
    return [line.strip() for line in text.splitlines() if line.strip()][-1]


def _ray_task(task: RenderTask, blobs: dict[str, Any], events: Any) -> RenderOutcome:
    import ray

    if blobs:
        task = replace(task, inputs=dict(zip(blobs, ray.get(list(blobs.values())), strict=True)))
    return run_render_task(task, lambda key, f, m: events.put_nowait((key, f, m)))


def make_executor(kind: str, workers: int, ray_address: str | None = None) -> Executor:
    if kind == "local":
        return LocalExecutor(workers)
    if kind == "ray":
        return RayExecutor(workers, ray_address)
    raise InputError(f"未知的执行方式: {kind}（可选 local、ray）")


__all__ = ["TRANSFERS", "Executor", "LocalExecutor", "RayExecutor", "RenderOutcome", "RenderTask",
           "make_executor", "make_task", "run_render_task"]
