"""The render stage end to end: real ffmpeg encodes (draft 720×1280, a few seconds each),
checked by probing the file and by looking at decoded frames and audio.

Layout in the 1080×1920 play resolution (scaled to the frame): AI label top centre (white on a
dark box, top ≈ 80), keyword banner in yellow below it (≈ 260–360), subtitles bottom centre
(baseline ≈ 1440), end card (dimmed frame + centred lines) in the last seconds.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from workbench.compliance import aigc_metadata, check_ai_label, check_aigc_metadata
from workbench.errors import Cancelled, InputError, RenderError
from workbench.ffmpeg import ffmpeg_exe, run_ffmpeg
from workbench.fonts import default_font_file
from workbench.render.backgrounds import Background, resolve_background
from workbench.render.bgm import generated_bgm
from workbench.render.loudness import with_measured_loudness
from workbench.render.overlays import OverlaySpec
from workbench.render.plan import RenderJob, partial_path, render_plan
from workbench.render.probe import probe, read_tags
from workbench.render.profiles import get_profile
from workbench.render.run import execute
from workbench.subtitles import SubtitleEvent, SubtitleStyle, to_ass
from workbench.voice.audio import write_wav

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SR = 22050  # voice sample rate, like the TTS backends
W, H = 720, 1280  # draft
OUT_RATE = 48000
KEYWORD = "夜渡迷局"
LABEL = "本视频含AI生成内容"
BANNER = "番茄小说搜索【夜渡迷局】"
END_CARD = ("番茄小说搜索", "【夜渡迷局】", "看完整故事")
SUBTITLE = "他推开门看见了夜渡迷局"
SUB_START, SUB_END = 0.3, 3.2  # the one subtitle event of the base video
BASE_SECONDS = 5.0
END_CARD_SECONDS = 1.5
SEED = 7


# --- inputs ---------------------------------------------------------------------------------

def voice_pcm(seconds: float, *, speak_until: float | None = None, amplitude: float = 0.25
              ) -> bytes:
    """A 300 Hz 'voice' at a speech-like level: 1.0 s on, 0.3 s pause; silent from
    `speak_until` on."""
    t = np.arange(round(seconds * SR)) / SR
    x = amplitude * np.sin(2 * np.pi * 300 * t)
    x[(t % 1.3) >= 1.0] = 0
    if speak_until is not None:
        x[t >= speak_until] = 0
    return (x * 32767).astype("<i2").tobytes()


def make_voice(path: Path, seconds: float, **kwargs) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_wav(path, voice_pcm(seconds, **kwargs), SR)
    return path


def overlay_spec(end_card_seconds: float = END_CARD_SECONDS) -> OverlaySpec:
    return OverlaySpec(label=LABEL, label_seconds=0, banner=BANNER, end_card=END_CARD,
                       end_card_seconds=end_card_seconds, keyword=KEYWORD)


def subtitles_ass() -> str:
    events = [SubtitleEvent(SUB_START, SUB_END, SUBTITLE, segment=0)]
    return to_ass(events, SubtitleStyle(), KEYWORD).to_string("ass")


def make_job(audio: Path, output: Path, duration: float, **changes) -> RenderJob:
    job = RenderJob(
        audio=audio, duration=duration, subtitles_ass=subtitles_ass(),
        overlays=overlay_spec(), background=Background("generated", seed=SEED),
        profile=get_profile("draft"), output=output, font_file=default_font_file(),
    )
    return dataclasses.replace(job, **changes)


# --- looking at the output ------------------------------------------------------------------

def frame(video: Path, t: float, size: tuple[int, int] = (W, H)) -> np.ndarray:
    """The frame at `t` seconds as an H×W×3 int array (RGB)."""
    raw = run_ffmpeg(["-ss", f"{t:.3f}", "-i", str(video), "-frames:v", "1",
                      "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
    w, h = size
    assert len(raw) == w * h * 3, f"unexpected frame size at {t}s"
    return np.frombuffer(raw, np.uint8).reshape(h, w, 3).astype(np.int32)


def luma(img: np.ndarray) -> np.ndarray:
    return 0.299 * img[..., 0] + 0.587 * img[..., 1] + 0.114 * img[..., 2]


def yellow(img: np.ndarray) -> np.ndarray:
    """#FFD400-ish pixels."""
    return (img[..., 0] > 200) & (img[..., 1] > 170) & (img[..., 2] < 80)


def white(img: np.ndarray) -> np.ndarray:
    return (img > 200).all(axis=-1)


def decoded_audio(video: Path) -> np.ndarray:
    """The soundtrack as mono float samples at 48 kHz."""
    raw = run_ffmpeg(["-i", str(video), "-vn", "-ac", "1", "-ar", str(OUT_RATE),
                      "-f", "s16le", "-acodec", "pcm_s16le", "-"])
    return np.frombuffer(raw, "<i2").astype(np.float64) / 32768


def dbfs(samples: np.ndarray) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(samples**2)) + 1e-12))


def window(samples: np.ndarray, start: float, end: float) -> np.ndarray:
    return samples[round(start * OUT_RATE):round(end * OUT_RATE)]


def integrated_loudness(video: Path) -> float:
    proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostats", "-i", str(video),
                           "-map", "0:a", "-af", "ebur128", "-f", "null", "-"],
                          capture_output=True, check=True)
    found = re.findall(r"I:\s+(-?\d+(?:\.\d+)?) LUFS", proc.stderr.decode("utf-8", "replace"))
    assert found, "ebur128 printed no integrated loudness"
    return float(found[-1])  # the summary comes last


def processes_mentioning(text: str) -> list[int]:
    """Pids of live processes whose command line contains `text` (Linux /proc)."""
    needle = text.encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if needle in cmdline:
            pids.append(int(entry.name))
    return pids


# --- shared renders -------------------------------------------------------------------------

@dataclasses.dataclass
class Rendered:
    job: RenderJob
    path: Path
    progress: list[tuple[float, str]]


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="module")
def base(media: Path) -> Rendered:
    """5 s draft: generated background, one subtitle, label, banner, end card, AIGC tag."""
    audio = make_voice(media / "voice.wav", BASE_SECONDS)
    job = make_job(audio, media / "base.mp4", BASE_SECONDS,
                   metadata={"AIGC": aigc_metadata("Workbench", "test-1")})
    seen: list[tuple[float, str]] = []
    result = execute(render_plan(job), lambda f, m: seen.append((f, m)))
    assert result.path == job.output.absolute()
    return Rendered(job, result.path, seen)


@pytest.fixture(scope="module")
def base_without_subtitles(base: Rendered, media: Path) -> Path:
    job = dataclasses.replace(base.job, subtitles_ass=None, output=media / "nosubs.mp4")
    return execute(render_plan(job)).path


# --- 1. stream properties -------------------------------------------------------------------

def test_draft_stream_properties(base: Rendered) -> None:
    info = probe(base.path)
    assert (info.video_codec, info.width, info.height) == ("h264", 720, 1280)
    assert info.fps == pytest.approx(30)
    assert info.pix_fmt == "yuv420p"
    assert (info.audio_codec, info.sample_rate, info.channels) == ("aac", 48000, "stereo")
    assert info.duration == pytest.approx(BASE_SECONDS, abs=0.1)
    assert base.path.stat().st_mode & 0o777 == 0o644
    # nothing else is left next to it: the .part was renamed, the work folder was elsewhere
    assert not partial_path(base.path).exists()


def test_final_profile_is_1080x1920_high(tmp_path: Path) -> None:
    audio = make_voice(tmp_path / "voice.wav", 1.5)
    job = make_job(audio, tmp_path / "final.mp4", 1.5, profile=get_profile("final"),
                   overlays=overlay_spec(end_card_seconds=0.5))
    info = probe(execute(render_plan(job)).path)
    assert (info.width, info.height, info.video_codec) == (1080, 1920, "h264")
    assert info.video_profile == "High"
    assert info.pix_fmt == "yuv420p" and info.fps == pytest.approx(30)
    assert (info.audio_codec, info.sample_rate) == ("aac", 48000)
    assert info.duration == pytest.approx(1.5, abs=0.1)


# --- 2. subtitles are burnt in where they belong ---------------------------------------------

def test_subtitles_change_only_the_subtitle_band(base: Rendered,
                                                 base_without_subtitles: Path) -> None:
    t = (SUB_START + SUB_END) / 2
    with_subs, without = frame(base.path, t), frame(base_without_subtitles, t)
    diff = np.abs(with_subs - without).mean(axis=-1)
    band = diff[int(0.68 * H):int(0.80 * H), int(0.1 * W):int(0.9 * W)]
    assert band.mean() > 8, "no subtitle in the bottom-centre band"
    assert (band > 100).sum() > 1000  # real glyph strokes, not encoder noise
    assert diff[:int(0.60 * H)].mean() < 1.5  # label, banner, background: unchanged
    assert diff[int(0.85 * H):].mean() < 1.5
    # and the subtitle is white text with the keyword in yellow
    sub_rows = with_subs[int(0.68 * H):int(0.80 * H)]
    assert white(sub_rows).sum() > 300 and yellow(sub_rows).sum() > 300
    # before the subtitle starts the two renders look the same
    early = np.abs(frame(base.path, 0.1) - frame(base_without_subtitles, 0.1)).mean()
    assert early < 1.0


# --- 3. AIGC metadata -------------------------------------------------------------------------

def test_aigc_metadata_reads_back(base: Rendered) -> None:
    tags = read_tags(base.path)
    assert [k for k, _ in tags if k.casefold() == "aigc"] == ["AIGC"]
    finding = check_aigc_metadata(tags, "test-1")
    assert finding.level == "pass", finding.message
    assert check_aigc_metadata(tags, "another-id").level == "block"


# --- 4. loudness ------------------------------------------------------------------------------

def test_loudness_hits_the_target(media: Path, tmp_path: Path) -> None:
    audio = make_voice(media / "voice-9s.wav", 9.0)
    job = make_job(audio, tmp_path / "loud14.mp4", 9.0, subtitles_ass=None)
    # unmeasured: ffmpeg's dynamic loudnorm is the fallback
    assert integrated_loudness(execute(render_plan(job)).path) == pytest.approx(-14, abs=1)
    # measured first (what the pipeline does): one linear gain
    measured = with_measured_loudness(job)
    assert measured.measured_loudness is not None and measured.measured_loudness < -14
    out = execute(render_plan(measured)).path
    assert integrated_loudness(out) == pytest.approx(-14, abs=0.5)


def test_loudness_with_bgm_hits_another_target(media: Path, tmp_path: Path) -> None:
    audio = make_voice(media / "voice-9s.wav", 9.0)
    bgm = generated_bgm(tmp_path / "cache")
    assert bgm.is_file() and generated_bgm(tmp_path / "cache") == bgm  # made once
    job = make_job(audio, tmp_path / "loud16.mp4", 9.0, subtitles_ass=None, bgm=bgm,
                   loudness=-16.0)
    out = execute(render_plan(with_measured_loudness(job))).path
    assert integrated_loudness(out) == pytest.approx(-16, abs=1)


def test_measured_loudness_holds_with_long_silences(media: Path, tmp_path: Path) -> None:
    """Dynamic loudnorm lifts the music in a long pause and missed −16 by 2 LU here; the
    measured linear gain does not."""
    audio = make_voice(media / "voice-then-silence.wav", 9.0, speak_until=3.0)
    job = make_job(audio, tmp_path / "pause16.mp4", 9.0, subtitles_ass=None,
                   bgm=generated_bgm(tmp_path / "cache"), loudness=-16.0)
    out = execute(render_plan(with_measured_loudness(job))).path
    assert integrated_loudness(out) == pytest.approx(-16, abs=1)


# --- 5. label and banner ------------------------------------------------------------------------

def test_label_and_banner_visible_from_the_start(base: Rendered) -> None:
    img = frame(base.path, 0.5)
    top = img[:int(0.10 * H)]
    rows = np.flatnonzero(white(top).sum(axis=1) >= 2)
    assert rows.size, "no white label text in the top band"
    ink = rows[-1] - rows[0] + 1
    plan = render_plan(base.job)
    assert ink >= 0.05 * W  # GB 45438: ≥ 5% of the shorter side
    assert ink == pytest.approx(plan.label.text_height_px, rel=0.15)
    assert 40 * H / 1920 < rows[0] < 140 * H / 1920  # box top at ≈ 80 play px
    # the box: between and around the letters it is darker than the background beside it
    cols = np.flatnonzero(white(top).any(axis=0))
    assert W * 0.15 < cols[0] < cols[-1] < W * 0.85 and abs(cols[0] + cols[-1] - W) < 20
    lum = luma(top[rows[0]:rows[-1] + 1])
    box = lum[:, cols[0]:cols[-1] + 1]
    inside = np.median(box[~white(top[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1])])
    beside = np.median(np.concatenate([lum[:, :cols[0] - 30], lum[:, cols[-1] + 30:]], axis=1))
    assert inside < beside - 8
    # the banner: lots of yellow in its band, and nowhere near as much just above the label
    banner = img[int(250 * H / 1920):int(380 * H / 1920)]
    assert yellow(banner).sum() > 1500
    assert yellow(top).sum() < 20


# --- 6. end card ------------------------------------------------------------------------------

def test_end_card_only_at_the_end(base: Rendered) -> None:
    def middle(img: np.ndarray) -> np.ndarray:
        return img[int(0.38 * H):int(0.58 * H)]

    early, late = frame(base.path, 1.0), frame(base.path, BASE_SECONDS - 0.5)
    assert yellow(middle(late)).sum() > 1000  # the keyword line
    assert white(middle(late)).sum() > 500  # the other lines
    assert yellow(middle(early)).sum() < 20
    # the frame is dimmed behind the end card (empty rows between banner and end card)
    empty = slice(int(0.22 * H), int(0.33 * H))
    assert luma(late[empty]).mean() < 0.7 * luma(early[empty]).mean()


# --- 7. BGM ducking and fade-out ------------------------------------------------------------

def test_bgm_ducks_under_the_voice_and_fades_out(media: Path, tmp_path: Path) -> None:
    audio = make_voice(media / "voice-then-silence.wav", 9.0, speak_until=3.0)
    job = make_job(audio, tmp_path / "bgm.mp4", 9.0, subtitles_ass=None,
                   bgm=generated_bgm(tmp_path / "cache"))
    samples = decoded_audio(execute(render_plan(with_measured_loudness(job))).path)
    assert len(samples) / OUT_RATE == pytest.approx(9.0, abs=0.1)
    speaking, silent = window(samples, 1.0, 2.8), window(samples, 4.5, 6.2)
    assert -50 < dbfs(silent) < dbfs(speaking) - 8  # music alone: present, well under the voice
    assert dbfs(window(samples, 8.5, 9.0)) < dbfs(silent) - 10  # faded out at the end

    def level_at(seg: np.ndarray, hz: float) -> float:
        """dB of the strongest spectral line within 3 Hz of `hz` (220 Hz is in the pad's
        first two chords, 0–8 s, and far from the 300 Hz voice)."""
        spectrum = np.abs(np.fft.rfft(seg * np.hanning(len(seg))))
        freqs = np.fft.rfftfreq(len(seg), 1 / OUT_RATE)
        return float(20 * np.log10(spectrum[np.abs(freqs - hz) < 3].max() + 1e-12))

    # the music itself dips while the voice speaks (sidechain compression)
    assert level_at(speaking, 220) < level_at(silent, 220) - 10


# --- 8. progress ----------------------------------------------------------------------------

def test_progress_increases_to_one(base: Rendered) -> None:
    fractions = [f for f, _ in base.progress]
    assert len(fractions) >= 3
    assert fractions[-1] == 1.0
    assert all(0 <= f < 1 for f in fractions[:-1])
    assert all(a < b for a, b in itertools.pairwise(fractions))
    assert all(isinstance(m, str) and m for _, m in base.progress)


# --- 9. killed, cancelled and timed-out renders ----------------------------------------------

KILL_SCRIPT = textwrap.dedent("""
    import sys
    from pathlib import Path
    from workbench.render.backgrounds import Background
    from workbench.render.overlays import OverlaySpec
    from workbench.render.plan import RenderJob, render_plan
    from workbench.render.profiles import get_profile
    from workbench.render.run import execute
    from workbench.fonts import default_font_file

    audio, output = Path(sys.argv[1]), Path(sys.argv[2])
    spec = OverlaySpec("本视频含AI生成内容", 0, "番茄小说搜索【夜渡迷局】", (), 0, "夜渡迷局")
    job = RenderJob(audio, 30.0, None, spec, Background("generated", seed=1),
                    get_profile("draft"), output, default_font_file())
    execute(render_plan(job))
""")


@pytest.mark.skipif(sys.platform != "linux" or not shutil.which("setpriv"),
                    reason="ffmpeg is tied to the render process with setpriv on Linux only")
def test_killed_render_leaves_no_final_file_and_no_ffmpeg(media: Path, tmp_path: Path) -> None:
    audio = make_voice(media / "voice-2s.wav", 2.0)  # padded to 30 s by the render
    out_dir = tmp_path / "out"
    output = out_dir / "video.mp4"
    partial = partial_path(output)
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(audio), str(output)],
                            cwd=tmp_path, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while not (partial.exists() and partial.stat().st_size > 0):
            if proc.poll() is not None:
                pytest.fail(f"render exited early: {proc.stderr.read().decode()[-500:]}")
            assert time.monotonic() < deadline, "ffmpeg never started writing"
            time.sleep(0.05)
        assert processes_mentioning(str(partial)), "ffmpeg should be running now"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        deadline = time.monotonic() + 2
        while processes_mentioning(str(partial)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not processes_mentioning(str(partial)), "ffmpeg outlived the killed render"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pid in processes_mentioning(str(partial)):  # our orphaned ffmpeg, if any
            os.kill(pid, signal.SIGKILL)
        proc.stderr.close()
    assert not output.exists()
    assert partial.exists()  # the leftover never looks like a video
    assert not partial.name.endswith(".mp4")


def test_cancel_from_progress_callback(media: Path, tmp_path: Path) -> None:
    audio = make_voice(media / "voice-2s.wav", 2.0)
    job = make_job(audio, tmp_path / "out" / "cancelled.mp4", 20.0)
    plan = render_plan(job)
    cancel = threading.Event()
    calls: list[float] = []

    def progress(fraction: float, message: str) -> None:
        calls.append(fraction)
        cancel.set()

    with pytest.raises(Cancelled):
        execute(plan, progress, cancel=cancel)
    assert calls and calls[-1] < 1.0
    assert not plan.output.exists() and not plan.partial.exists()
    assert list(plan.output.parent.iterdir()) == []
    assert not processes_mentioning(str(plan.partial))


def test_exception_in_progress_callback_stops_the_render(media: Path, tmp_path: Path) -> None:
    audio = make_voice(media / "voice-2s.wav", 2.0)
    plan = render_plan(make_job(audio, tmp_path / "stopped.mp4", 20.0))

    def progress(fraction: float, message: str) -> None:
        raise RuntimeError("the UI went away")

    with pytest.raises(RuntimeError, match="UI went away"):
        execute(plan, progress)
    assert not plan.output.exists() and not plan.partial.exists()


def test_timeout_stops_ffmpeg(media: Path, tmp_path: Path) -> None:
    audio = make_voice(media / "voice-2s.wav", 2.0)
    plan = render_plan(make_job(audio, tmp_path / "slow.mp4", 30.0))
    started = time.monotonic()
    with pytest.raises(RenderError, match="超时"):
        execute(plan, timeout=0.5)
    assert time.monotonic() - started < 8
    assert not plan.output.exists() and not plan.partial.exists()


# --- 10. failures -----------------------------------------------------------------------------

def test_failed_render_reports_ffmpeg_stderr(tmp_path: Path) -> None:
    audio = tmp_path / "voice.wav"
    audio.write_text("this is not audio\n", encoding="utf-8")
    plan = render_plan(make_job(audio, tmp_path / "out.mp4", 3.0))
    with pytest.raises(RenderError) as caught:
        execute(plan)
    message = str(caught.value)
    assert "ffmpeg" in message
    assert "Invalid data" in message or "voice.wav" in message  # ffmpeg's own words
    assert not plan.output.exists() and not plan.partial.exists()


# --- 11. backgrounds --------------------------------------------------------------------------

def make_clip(path: Path, size: str, seconds: float = 2.0, *extra: str) -> Path:
    """A bright moving gradient clip (never black anywhere). Seeded: an unseeded `gradients`
    draws random points, and some barely move, which made the "not frozen" check flaky."""
    source = f"gradients=s={size}:r=30:c0=0xff4020:c1=0x20a0ff:speed=0.05:d={seconds}:seed=1"
    run_ffmpeg(["-y", "-f", "lavfi", "-i", source,
                "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", *extra,
                str(path)])
    return path


@pytest.fixture(scope="module")
def footage(media: Path) -> Path:
    folder = media / "footage"
    folder.mkdir()
    make_clip(folder / "wide.mp4", "640x360")
    make_clip(folder / "square.mov", "480x480")
    (folder / "notes.txt").write_text("ignored", encoding="utf-8")
    return folder


def test_footage_fills_the_frame_and_loops(footage: Path, media: Path, tmp_path: Path) -> None:
    audio = make_voice(media / "voice-3.5s.wav", 3.5)
    for clip in ("wide.mp4", "square.mov"):
        bg = resolve_background(footage / clip, seed=3)
        assert bg.kind == "footage" and bg.clips[0][1] == pytest.approx(2.0, abs=0.1)
        job = make_job(audio, tmp_path / f"{clip}.mp4", 3.5, background=bg, subtitles_ass=None,
                       overlays=overlay_spec(end_card_seconds=0.5))
        info = probe(execute(render_plan(job)).path)
        assert (info.width, info.height) == (W, H)
        assert info.duration == pytest.approx(3.5, abs=0.1)  # longer than the 2 s clip
        for t in (0.5, 2.9):  # 2.9: after the clip looped, before the end card
            lum = luma(frame(job.output, t))
            edges = (lum[:, :4], lum[:, -4:], lum[:4, :], lum[-4:, :])  # no black bars
            assert min(float(e.mean()) for e in edges) > 40, (clip, t)
        assert np.abs(frame(job.output, 2.3) - frame(job.output, 2.9)).mean() > 1  # not frozen


def test_footage_folder_seed_picks_clip_and_start(footage: Path, tmp_path: Path) -> None:
    backgrounds = [resolve_background(footage, seed=s) for s in range(8)]
    assert {b.clips[0][0].name for b in backgrounds} == {"wide.mp4", "square.mov"}
    assert resolve_background(footage, seed=5) == backgrounds[5]  # repeatable
    audio = tmp_path / "voice.wav"
    args = {render_plan(make_job(audio, tmp_path / "o.mp4", 3.0, background=b)).args
            for b in backgrounds}
    assert len(args) == len(backgrounds)  # every seed: another clip or another start
    starts = set()
    for b in backgrounds:
        plan = render_plan(make_job(audio, tmp_path / "o.mp4", 3.0, background=b))
        starts.add(plan.args[plan.args.index("-ss") + 1])
        assert plan.args.count("-stream_loop") == 1  # the footage loops
    assert len(starts) > 1


def make_image(path: Path, hue: int) -> Path:
    """A textured image: a pan over it is visible."""
    x = np.arange(900)[None, :]
    y = np.arange(700)[:, None]
    stripes = ((x // 24 + y // 24) % 2) * 90
    rgb = np.stack([np.broadcast_to(c, (700, 900)) for c in
                    (hue + stripes, 120 + stripes // 2, 255 - hue - stripes // 3)], axis=-1)
    Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8)).save(path)
    return path


def test_images_folder_pans(media: Path, tmp_path: Path) -> None:
    folder = tmp_path / "images"
    folder.mkdir()
    make_image(folder / "a.png", 40)
    make_image(folder / "b.png", 200)
    bg = resolve_background(folder, seed=2)
    assert bg.kind == "images" and sorted(p.name for p in bg.images) == ["a.png", "b.png"]
    audio = make_voice(media / "voice-4s.wav", 4.0)
    job = make_job(audio, tmp_path / "images.mp4", 4.0, background=bg, subtitles_ass=None,
                   overlays=overlay_spec(end_card_seconds=0.5))
    info = probe(execute(render_plan(job)).path)
    assert (info.width, info.height) == (W, H)
    assert info.duration == pytest.approx(4.0, abs=0.1)
    first, later = frame(job.output, 0.4), frame(job.output, 1.4)
    middle = slice(int(0.3 * H), int(0.6 * H))
    assert np.abs(first[middle] - later[middle]).mean() > 10  # the picture moved
    # the second image follows the first (each has an equal share: 2.5 s with the overlap)
    second = frame(job.output, 3.2)
    assert abs(first[middle, ..., 0].mean() - second[middle, ..., 0].mean()) > 30


def test_resolve_background_errors(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(InputError, match=re.escape(str(missing))):
        resolve_background(missing)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("x", encoding="utf-8")
    with pytest.raises(InputError, match=re.escape(str(empty))):
        resolve_background(empty)
    odd = tmp_path / "music.mp3"
    odd.write_bytes(b"ID3")
    with pytest.raises(InputError, match=re.escape(str(odd))):
        resolve_background(odd)
    fake = tmp_path / "fake.mp4"
    fake.write_text("not a video", encoding="utf-8")
    with pytest.raises(InputError, match=re.escape(str(fake))):
        resolve_background(fake)
    assert resolve_background(None, seed=4) == Background("page", seed=4, theme="paper")
    assert resolve_background("generated").kind == "generated"


def test_footage_tags_do_not_leak_into_the_video(media: Path, tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "phone.mp4", "640x360", 2.0,
                     "-metadata", "comment=private note", "-metadata", "location=+48.85+002.35/",
                     "-metadata", "aigc=someone else's", "-movflags", "+use_metadata_tags")
    assert ("comment", "private note") in read_tags(clip)
    audio = make_voice(media / "voice-2s.wav", 2.0)
    job = make_job(audio, tmp_path / "out.mp4", 2.0, subtitles_ass=None,
                   background=resolve_background(clip), overlays=overlay_spec(0.5),
                   metadata={"AIGC": aigc_metadata("Workbench", "test-2")})
    tags = read_tags(execute(render_plan(job)).path)
    assert check_aigc_metadata(tags, "test-2").level == "pass"
    keys = {k for k, _ in tags}
    assert not keys & {"comment", "location"}, tags


# --- 12. the plan is pure ---------------------------------------------------------------------

def test_render_plan_is_pure_and_deterministic(tmp_path: Path) -> None:
    output = tmp_path / "not-yet" / "video.mp4"
    job = make_job(tmp_path / "voice.wav", output, 12.0, bgm=tmp_path / "bgm.m4a",
                   metadata={"AIGC": aigc_metadata("Workbench", "x")})
    first, second = render_plan(job), render_plan(job)
    assert first == second
    assert not output.parent.exists()  # nothing written, nothing probed
    assert first.output == output and first.partial == partial_path(output)
    assert first.partial.parent == output.parent and not first.partial.name.endswith(".mp4")
    assert first.args[-1] == str(first.partial)
    assert ("-t", "12.000") == first.args[first.args.index("-t"):first.args.index("-t") + 2]
    graph = first.args[first.args.index("-filter_complex") + 1]
    assert "subtitles=filename=overlay.ass:fontsdir=fonts" in graph
    assert str(tmp_path) not in graph  # user paths are never escaped into the filter graph
    ass = first.files["overlay.ass"]
    for text in (*END_CARD, KEYWORD):
        assert text in ass
    static = first.files["static.ass"]  # drawn once and overlaid (static_overlay.py)
    assert LABEL in static and BANNER in static and LABEL not in ass and BANNER not in ass
    assert SUBTITLE.replace(KEYWORD, "") in ass  # the subtitles are kept
    assert first.on_screen == (BANNER, *END_CARD)
    other_seed = dataclasses.replace(job, background=Background("generated", seed=SEED + 1))
    assert render_plan(other_seed).args != first.args


@pytest.mark.parametrize("profile", ["draft", "final"])
def test_label_is_tall_enough_for_both_profiles(profile: str, tmp_path: Path) -> None:
    p = get_profile(profile)
    job = make_job(tmp_path / "voice.wav", tmp_path / "o.mp4", 6.0, profile=p)
    label = render_plan(job).label
    assert (label.frame_width, label.frame_height) == (p.width, p.height)
    assert label.text_height_px >= 0.05 * min(p.width, p.height)
    assert (label.start, label.end, label.text) == (0.0, 6.0, LABEL)
    assert check_ai_label(label).level == "pass"


# --- 13. awkward paths ------------------------------------------------------------------------

def test_paths_with_spaces_quotes_colons_and_chinese(tmp_path: Path) -> None:
    folder = tmp_path / "输出 目录 'a' \"b\" c:d, [e]; f=g"
    audio = make_voice(folder / "配音 it's: 第1段 [x].wav", 3.0)
    image = make_image(folder / "背景 100% 'bg'.png", 90)
    job = make_job(audio, folder / "成片: \"夜渡\" 'v1'.mp4", 3.0,
                   background=resolve_background(image, seed=1),
                   overlays=overlay_spec(end_card_seconds=1.0),
                   metadata={"AIGC": aigc_metadata("工作台: \"W\"", "id: 'é'")})
    result = execute(render_plan(job))
    assert result.path == job.output.absolute() and result.path.is_file()
    info = probe(result.path)
    assert (info.width, info.height) == (W, H)
    assert info.duration == pytest.approx(3.0, abs=0.1)
    assert check_aigc_metadata(read_tags(result.path), "id: 'é'").level == "pass"
    assert white(frame(result.path, 1.0)[int(0.68 * H):int(0.80 * H)]).sum() > 300  # subtitle
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [audio.name, image.name, job.output.name])
