"""Which H.264 encoder to render with: a hardware one when it really works here, else libx264.

ffmpeg builds list hardware encoders (nvenc, qsv, vaapi) even on machines without the device,
so being compiled in proves nothing: `probe_encoder` runs a one-frame test encode and keeps the
reason a failure gives. `choose_encoder("auto")` takes the first hardware encoder that passes
and otherwise falls back to libx264, telling the user why each hardware encoder was skipped.

VAAPI encodes frames that live on the GPU, so its command line differs in two places (both are
also on `EncoderChoice`): `input_args` go before `-i` (they open the device), and the video
filter graph must end with `filter_suffix` (`,format=nv12,hwupload`); with no other filter,
pass `-vf format=nv12,hwupload` (the suffix without its leading comma).
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from workbench.errors import BackendUnavailable, InputError
from workbench.ffmpeg import ffmpeg_exe

SOFTWARE = "libx264"
HARDWARE = ("h264_nvenc", "h264_qsv", "h264_vaapi", "h264_videotoolbox")
CHOICES = ("auto", SOFTWARE, *HARDWARE)
X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow",
                "slower", "veryslow", "placebo")
VAAPI_DEVICE = "/dev/dri/renderD128"
_VAAPI_SUFFIX = ",format=nv12,hwupload"

# ffmpeg's follow-up lines after the real cause: never the reason worth showing.
_GENERIC = re.compile(
    r"Error while opening encoder|Error sending frames|Task finished with error|"
    r"Terminating thread|Could not open encoder before EOF|Nothing was written|"
    r"Conversion failed|Error opening output|Error selecting an encoder|Device creation failed|"
    r"Error parsing global options|Error reinitializing filters|Failed to set value|"
    r"^Link '|Impossible to convert between",
    re.IGNORECASE,
)
_PREFIX = re.compile(r"^(\[[^\]]*\]\s*)+")  # "[vost#0:0/h264_nvenc @ 0x...] " and nested ones
_HINTS = tuple(  # (pattern in ffmpeg's line, what it means for the user)
    (re.compile(pattern, re.IGNORECASE), hint) for pattern, hint in (
        (r"Unknown encoder", "此 ffmpeg 未编译该编码器"),
        (r"libcuda|CUDA|No capable devices|NVENC", "无 NVIDIA 设备或驱动"),
        (r"MFX|libvpl|QSV", "无 Intel 核显（QSV）设备或驱动"),
        (r"VA display|VAAPI|/dev/dri", "无 VAAPI 设备"),
    )
)


@dataclass(frozen=True)
class EncoderChoice:
    name: str  # e.g. "libx264"
    args: tuple[str, ...]  # output codec args, from `encoder_args`
    reason: str  # one Chinese line for the user: what was chosen and why
    hardware: bool
    input_args: tuple[str, ...] = ()  # global/input args, before `-i` (VAAPI device)
    filter_suffix: str = ""  # appended to the video filter graph (VAAPI upload)


def encoder_args(name: str, *, crf: int, preset: str) -> tuple[str, ...]:
    """Codec args for `name` at quality `crf` (x264 scale, 0–51, lower is better); `preset` is
    an x264 preset and only used by libx264 (hardware encoders use their balanced default)."""
    if not 0 <= crf <= 51:
        raise InputError(f"crf 应在 0–51 之间（越小画质越好，常用 18–28），收到 {crf}")
    if name == SOFTWARE:
        if preset not in X264_PRESETS:
            raise InputError(f"未知的 x264 preset: {preset!r}；可选: {', '.join(X264_PRESETS)}")
        return ("-c:v", "libx264", "-preset", preset, "-crf", str(crf),
                "-profile:v", "high", "-pix_fmt", "yuv420p")
    if name == "h264_nvenc":
        return ("-c:v", "h264_nvenc", "-preset", "p4", "-rc", "vbr", "-cq", str(crf),
                "-b:v", "0", "-profile:v", "high", "-pix_fmt", "yuv420p")
    if name == "h264_qsv":
        return ("-c:v", "h264_qsv", "-global_quality", str(crf), "-profile:v", "high",
                "-pix_fmt", "nv12")
    if name == "h264_vaapi":  # frames arrive as GPU surfaces: see filter_suffix / input_args
        return ("-c:v", "h264_vaapi", "-qp", str(crf), "-profile:v", "high")
    if name == "h264_videotoolbox":
        quality = max(1, min(100, 60 + (23 - crf) * 2))  # -q:v is 1–100, higher is better
        return ("-c:v", "h264_videotoolbox", "-q:v", str(quality), "-profile:v", "high",
                "-pix_fmt", "yuv420p")
    raise InputError(f"未知的视频编码器: {name!r}；可选: {', '.join(CHOICES)}")


def input_args(name: str) -> tuple[str, ...]:
    """Args that must come before `-i` for `name` (VAAPI opens its device there)."""
    return ("-vaapi_device", VAAPI_DEVICE) if name == "h264_vaapi" else ()


def filter_suffix(name: str) -> str:
    """What the video filter graph must end with for `name` (starts with a comma)."""
    return _VAAPI_SUFFIX if name == "h264_vaapi" else ""


def vaapi_filter_suffix() -> str:
    return _VAAPI_SUFFIX


def failure_reason(stderr: str, returncode: int | None = None) -> str:
    """One line (≤ ~120 chars) from ffmpeg's stderr that names the cause, with a Chinese hint."""
    lines = [_PREFIX.sub("", ln).strip() for ln in stderr.splitlines() if ln[:1].strip()]
    lines = [ln for ln in lines if ln]
    meaningful = [ln for ln in lines if not _GENERIC.search(ln)]
    line = (meaningful or lines or [f"ffmpeg exit {returncode}"])[-1]
    if len(line) > 120:
        line = line[:119] + "…"
    for pattern, hint in _HINTS:
        if pattern.search(line):
            return f"{hint}（{line}）"
    return line


@cache
def probe_encoder(name: str, timeout: float = 10) -> str | None:
    """None if `name` encodes one test frame here, else why not (one line). Cached per process:
    devices do not come and go during a run, and each probe starts ffmpeg."""
    args = encoder_args(name, crf=23, preset="medium")
    if name == "h264_videotoolbox" and sys.platform != "darwin":
        return "仅 macOS 可用"
    if name == "h264_vaapi" and not Path(VAAPI_DEVICE).exists():
        return f"无 VAAPI 设备（找不到 {VAAPI_DEVICE}）"
    suffix = filter_suffix(name).lstrip(",")
    cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", *input_args(name),
           "-f", "lavfi", "-i", "color=c=black:s=256x256:d=0.1", "-frames:v", "1",
           *(("-vf", suffix) if suffix else ()), *args, "-f", "null", "-"]
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return f"测试编码超时（{timeout:g} 秒）"
    if proc.returncode == 0:
        return None
    return failure_reason(proc.stderr.decode("utf-8", "replace"), proc.returncode)


def choose_encoder(requested: str, *, crf: int, preset: str) -> EncoderChoice:
    """The encoder to use for `requested` ("auto", "libx264" or a name in HARDWARE).

    An explicitly requested hardware encoder that fails its probe is an error (the user asked
    for it); under "auto" it is only skipped, and the reason says why.
    """
    name = requested.strip().lower()
    if name not in CHOICES:
        raise InputError(f"未知的视频编码器: {requested!r}；可选: {', '.join(CHOICES)}")
    software = encoder_args(SOFTWARE, crf=crf, preset=preset)  # validates crf and preset
    if name == SOFTWARE:
        return EncoderChoice(SOFTWARE, software, "使用 libx264（软件编码）", hardware=False)
    candidates = HARDWARE if name == "auto" else (name,)
    failures: list[str] = []
    for candidate in candidates:
        reason = probe_encoder(candidate)
        if reason is None:
            return EncoderChoice(
                candidate, encoder_args(candidate, crf=crf, preset=preset),
                f"使用 {candidate}（硬件编码）", hardware=True,
                input_args=input_args(candidate), filter_suffix=filter_suffix(candidate),
            )
        failures.append(f"{candidate}: {reason}")
    if name != "auto":
        raise BackendUnavailable(
            f"硬件编码器 {name} 不可用：{failures[0].split(': ', 1)[1]}；"
            "请改用 auto（自动选择）或 libx264"
        )
    return EncoderChoice(
        SOFTWARE, software,
        f"未找到可用的硬件编码器（{'; '.join(failures)}），使用 libx264", hardware=False,
    )
