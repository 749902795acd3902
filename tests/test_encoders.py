"""H.264 encoder choice: args per encoder, real probes on this machine, auto fallback."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from workbench.errors import BackendUnavailable, InputError
from workbench.ffmpeg import ffmpeg_exe
from workbench.render import encoders
from workbench.render.encoders import (
    HARDWARE,
    choose_encoder,
    encoder_args,
    failure_reason,
    filter_suffix,
    input_args,
    probe_encoder,
)

NVENC_STDERR = """\
[h264_nvenc @ 0x564fdf727700] Cannot load libcuda.so.1
[vost#0:0/h264_nvenc @ 0x5] [enc:h264_nvenc @ 0x6] Error while opening encoder - maybe \
incorrect parameters such as bit_rate, rate, width or height.
[vf#0:0 @ 0x5] Error sending frames to consumers: Operation not permitted
[vf#0:0 @ 0x5] Task finished with error code: -1 (Operation not permitted)
[vost#0:0/h264_nvenc @ 0x5] [enc:h264_nvenc @ 0x6] Could not open encoder before EOF
[out#0/null @ 0x5] Nothing was written into output file, because at least one of its streams \
received no packets.
"""
UNKNOWN_STDERR = """\
[vost#0:0 @ 0x555b52170bc0] Unknown encoder 'h264_videotoolbox'
[vost#0:0 @ 0x555b52170bc0] Error selecting an encoder
Error opening output file -.
Error opening output files: Encoder not found
"""


def _nvenc_works() -> bool:
    return probe_encoder("h264_nvenc") is None


def test_libx264_args() -> None:
    assert encoder_args("libx264", crf=20, preset="veryfast") == (
        "-c:v", "libx264", "-preset", "veryfast", "-crf", "20",
        "-profile:v", "high", "-pix_fmt", "yuv420p",
    )


def test_hardware_args() -> None:
    nvenc = encoder_args("h264_nvenc", crf=21, preset="medium")
    assert nvenc[:2] == ("-c:v", "h264_nvenc") and ("-cq", "21") == nvenc[6:8]
    assert "-b:v" in nvenc and "p4" in nvenc
    qsv = encoder_args("h264_qsv", crf=24, preset="medium")
    assert ("-global_quality", "24") == qsv[2:4] and qsv[-2:] == ("-pix_fmt", "nv12")
    vaapi = encoder_args("h264_vaapi", crf=24, preset="medium")
    assert vaapi[:2] == ("-c:v", "h264_vaapi") and "-pix_fmt" not in vaapi
    assert filter_suffix("h264_vaapi") == ",format=nv12,hwupload"
    assert input_args("h264_vaapi") == ("-vaapi_device", "/dev/dri/renderD128")
    assert filter_suffix("libx264") == "" and input_args("h264_nvenc") == ()
    vt = encoder_args("h264_videotoolbox", crf=23, preset="medium")
    assert ("-q:v", "60") == vt[2:4]


@pytest.mark.parametrize("name", ["x265", "h264_amf", ""])
def test_unknown_encoder_is_input_error(name: str) -> None:
    with pytest.raises(InputError, match="libx264"):
        encoder_args(name, crf=23, preset="medium")
    with pytest.raises(InputError, match="h264_nvenc"):
        choose_encoder(name or "nope", crf=23, preset="medium")


def test_bad_crf_and_preset() -> None:
    with pytest.raises(InputError, match="crf"):
        encoder_args("libx264", crf=60, preset="medium")
    with pytest.raises(InputError, match="preset"):
        choose_encoder("libx264", crf=23, preset="turbo")


def test_libx264_probe_succeeds() -> None:
    assert probe_encoder("libx264") is None


def test_libx264_args_really_encode(tmp_path: Path) -> None:
    out = tmp_path / "x.mp4"
    cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin",
           "-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=0.5",
           *encoder_args("libx264", crf=23, preset="ultrafast"), str(out)]
    subprocess.run(cmd, check=True, capture_output=True, timeout=60)
    assert out.is_file() and out.stat().st_size > 0


def test_libx264_requested_skips_probing(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(name: str, timeout: float = 10) -> str | None:
        raise AssertionError("libx264 must not be probed")

    monkeypatch.setattr(encoders, "probe_encoder", boom)
    choice = choose_encoder("libx264", crf=23, preset="fast")
    assert choice.name == "libx264" and not choice.hardware and "libx264" in choice.reason


def test_auto_falls_back_to_libx264_here() -> None:
    if _nvenc_works():
        pytest.skip("this machine has a working NVENC")
    choice = choose_encoder("auto", crf=23, preset="medium")
    assert choice.name == "libx264" and not choice.hardware
    assert choice.args == encoder_args("libx264", crf=23, preset="medium")
    assert "h264_nvenc" in choice.reason and "使用 libx264" in choice.reason
    assert "未找到可用的硬件编码器" in choice.reason


def test_explicit_hardware_that_fails_raises() -> None:
    if _nvenc_works():
        pytest.skip("this machine has a working NVENC")
    with pytest.raises(BackendUnavailable, match="h264_nvenc"):
        choose_encoder("h264_nvenc", crf=23, preset="medium")


def test_auto_takes_first_working_hardware(monkeypatch: pytest.MonkeyPatch) -> None:
    probed: list[str] = []

    def fake(name: str, timeout: float = 10) -> str | None:
        probed.append(name)
        return None if name == "h264_vaapi" else "无设备"

    monkeypatch.setattr(encoders, "probe_encoder", fake)
    choice = choose_encoder("auto", crf=22, preset="medium")
    assert probed == list(HARDWARE[:3])
    assert choice.name == "h264_vaapi" and choice.hardware
    assert choice.reason == "使用 h264_vaapi（硬件编码）"
    assert choice.filter_suffix == ",format=nv12,hwupload" and choice.input_args


def test_failure_reason_picks_the_cause() -> None:
    reason = failure_reason(NVENC_STDERR)
    assert "Cannot load libcuda.so.1" in reason and "NVIDIA" in reason
    assert "[" not in reason and "\n" not in reason
    assert "Unknown encoder 'h264_videotoolbox'" in failure_reason(UNKNOWN_STDERR)
    assert len(failure_reason("x" * 500)) <= 130
    assert failure_reason("", 1) == "ffmpeg exit 1"
