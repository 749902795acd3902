"""Measure the voice + BGM mix before the render, so the render applies one exact gain.

Single-pass `loudnorm` is dynamic: it lifts the music in long pauses (pumping) and can miss
the target by more than 1 LU on speech with long silences. Measuring first — an audio-only
ffmpeg pass over the same mix graph, about a second for a minute of audio — lets the video
pass use a linear gain and a limiter instead (what two-pass normalisers such as
ffmpeg-normalize do).
"""

from __future__ import annotations

import dataclasses
import re
import subprocess

from workbench.errors import RenderError
from workbench.ffmpeg import ffmpeg_exe
from workbench.render.plan import RenderJob, mix_graph
from workbench.render.run import plan_inputs

_INTEGRATED = re.compile(r"I:\s+(-?\d+(?:\.\d+)?|-inf) LUFS")
SILENT = -70.0  # ebur128's gate: treat an all-silent mix as this
# The pass runs at well over 50× real time; a minute plus the mix's length is plenty, and
# bounds an ffmpeg stuck on a damaged music file.
BASE_SECONDS = 60.0


def measure_mix(job: RenderJob, timeout: float | None = None) -> float:
    """Integrated loudness (LUFS) of `job`'s voice + BGM mix before normalisation. `timeout`
    defaults to `BASE_SECONDS` plus the mix's length."""
    inputs = ["-i", str(job.audio.absolute())]
    bgm = None
    if job.bgm is not None:
        inputs += ["-stream_loop", "-1", "-i", str(job.bgm.absolute())]
        bgm = 1
    return measure_graph(inputs, mix_graph(job, 0, bgm), job.duration, timeout)


def measure_graph(inputs: list[str], graph: str, duration: float,
                  timeout: float | None = None) -> float:
    """Integrated loudness (LUFS) of `[mix]` in `graph` over `inputs` (ffmpeg input args),
    in an audio-only pass of `duration` seconds. `timeout` defaults to `BASE_SECONDS` plus
    `duration`."""
    timeout = BASE_SECONDS + duration if timeout is None else timeout
    graph = f"{graph};[mix]ebur128=framelog=quiet[out]"
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-nostats", *inputs,
           "-filter_complex", graph, "-map", "[out]", "-t", f"{duration:.3f}",
           "-f", "null", "-"]
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise RenderError(f"测量响度超时（{timeout:.0f} 秒），已停止 ffmpeg；输入文件："
                          f"{'、'.join(plan_inputs(inputs))}") from None
    text = proc.stderr.decode("utf-8", "replace")
    found = _INTEGRATED.findall(text)
    if proc.returncode != 0 or not found:
        tail = " / ".join(line.strip() for line in text.strip().splitlines()[-3:])
        raise RenderError(f"测量响度失败: {tail or f'exit {proc.returncode}'}")
    value = found[-1]
    return SILENT if value == "-inf" else max(SILENT, float(value))


def with_measured_loudness(job: RenderJob) -> RenderJob:
    return dataclasses.replace(job, measured_loudness=measure_mix(job))
