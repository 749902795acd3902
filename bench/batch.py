"""Batch throughput: jobs per minute with 1 vs 2 local workers, and a second run of the same
folder (everything cached: should be near instant). Prints ratios measured in this one run.

    .venv/bin/python bench/batch.py                       # the example folder (6 draft jobs)
    .venv/bin/python bench/batch.py --folder my-briefs --workers 4

Each leg runs `workbench batch` as a subprocess in a fresh WORKBENCH_HOME, so both worker
counts pay for their own scripts, voices and renders; the cached leg reruns the last home.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_leg(folder: Path, home: Path, workers: int) -> tuple[float, int]:
    env = {**os.environ, "WORKBENCH_HOME": str(home)}
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "workbench", "batch", str(folder),
                           "--workers", str(workers)], env=env, capture_output=True, text=True,
                          check=False)
    seconds = time.monotonic() - started
    if done.returncode != 0:
        sys.exit(f"workbench batch failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    line = next(x for x in done.stdout.splitlines() if x.startswith("批次 "))
    return seconds, _jobs(line)


def _jobs(summary: str) -> int:
    """Jobs in the batch from '批次 id：完成 a，复用 b，失败 c，…'."""
    numbers = [int(part.split(" ")[1]) for part in summary.split("：", 1)[1].split("，")[:3]]
    return sum(numbers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, default=ROOT / "examples" / "briefs")
    parser.add_argument("--workers", type=int, default=2, help="the parallel leg's workers")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        one_s, jobs = run_leg(args.folder, Path(tmp) / "one", 1)
        many_s, _ = run_leg(args.folder, Path(tmp) / "many", args.workers)
        cached_s, _ = run_leg(args.folder, Path(tmp) / "many", args.workers)

    def rate(seconds: float) -> float:
        return jobs / seconds * 60

    print(f"{'leg':<28}{'seconds':>10}{'jobs/min':>10}")
    print(f"{'1 worker':<28}{one_s:>10.1f}{rate(one_s):>10.2f}")
    print(f"{f'{args.workers} workers':<28}{many_s:>10.1f}{rate(many_s):>10.2f}")
    print(f"{'second run (all cached)':<28}{cached_s:>10.1f}{rate(cached_s):>10.2f}")
    print(f"jobs={jobs} cpus={os.cpu_count()}")
    print(f"speedup_{args.workers}_workers_vs_1={one_s / many_s:.2f}")
    print(f"cached_rerun_time_ratio={cached_s / many_s:.3f}   # second run / first run")


if __name__ == "__main__":
    main()
