"""Render benchmark: Workbench's one-ffmpeg render against a naive moviepy composite and
against a plain encode of the background alone.

One fixed job (20 s by default, `--seconds 60` for full length):

* footage: a 6 s clip made once by ffmpeg from `mandelbrot` with temporal grain
  (`noise=alls=20:allf=t+u`, `--grain`) at 1440x1800 (4:5), so every leg must loop it and
  scale/crop it to fill 9:16, and the encoder sees textured, noisy frames (a flat test pattern
  would flatter it);
* 30 Chinese subtitle lines (~12 characters, some with the keyword 夜渡迷局), the banner, the AI
  label and a 3 s end card;
* a deterministic "voice-like" WAV (amplitude-modulated tones with pauses, 22050 Hz mono) of
  exactly the job length, plus the built-in BGM pad looped under it.

Legs, timed as the wall time of the whole encode (building the clips or the plan included):

* naive: moviepy composite the way MoneyPrinterTurbo writes it (VideoFileClip looped, per-frame
  `resized` + `cropped` to fill, one TextClip per subtitle line, TextClip banner/label/end card,
  CompositeVideoClip, CompositeAudioClip(voice, BGM looped with volume); like the peer it
  writes twice (combine_videos writes the resized footage, generate_video composites over that
  file; `--naive-passes 1` keeps only the composite), each write_videofile with threads=2 and
  moviepy's default x264 preset, medium (`--naive-preset`));
* background: ffmpeg encoding only the looped, scaled/cropped footage with the same codec
  arguments (no audio, no overlays): the floor any render of this job has to pay;
* workbench: what run_job does: measure the mix (audio only), `render_plan`, `execute`.

Repetitions are interleaved (naive, background, workbench, naive, ...) so drift in machine load
hits every leg alike; the table reports medians. One untimed 2 s workbench render first warms
fontconfig's cache and the page cache. The I/P/B column (read from the first output's slice
headers) matters on grainy footage: x264's adaptive B-frame choice is made per encode, and a
static overlay (label box, banner) can tip it towards more B-frames, i.e. fewer bits and less
time; `--breakdown` shows which part of the workbench graph costs or saves what.

    .venv/bin/python bench/render.py                  # 20 s, final profile, 2 reps
    .venv/bin/python bench/render.py --seconds 8 --skip-naive --reps 1
    .venv/bin/python bench/render.py --breakdown      # also time workbench variants
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Self

from rich.console import Console
from rich.table import Table

from workbench.compliance import aigc_metadata
from workbench.errors import RenderError, WorkbenchError
from workbench.ffmpeg import ffmpeg_exe, run_ffmpeg
from workbench.fonts import default_font_file, em_per_size
from workbench.render.backgrounds import (
    Background,
    background_graph,
    resolve_background,
    with_page_text,
)
from workbench.render.bgm import generated_bgm
from workbench.render.loudness import with_measured_loudness
from workbench.render.overlays import OverlaySpec
from workbench.render.page import PageSentence, PageText
from workbench.render.plan import (
    BGM_FADE,
    FONTS_DIR,
    OVERLAY_FILE,
    RenderJob,
    RenderPlan,
    render_plan,
)
from workbench.render.probe import probe
from workbench.render.profiles import RenderProfile, get_profile
from workbench.render.run import execute
from workbench.subtitles import (
    SubtitleEvent,
    SubtitleStyle,
    to_ass,
)
from workbench.voice.audio import write_wav

KEYWORD = "夜渡迷局"
LABEL = "本视频含AI生成内容"
BANNER = f"番茄小说搜索【{KEYWORD}】"
END_CARD = ("番茄小说搜索", f"【{KEYWORD}】", "看完整故事")
END_CARD_SECONDS = 3.0
BGM_VOLUME = 0.25
SOURCE_SECONDS = 6
SOURCE_SIZE = (1440, 1800)  # 4:5: scaled to 1536x1920 and cropped to 1080x1920
SEED = 7
VOICE_RATE = 22050
LINES = (
    "那天夜里江上起了大雾", "渡口的灯一盏接一盏熄灭", "她攥着一张褪色的船票",
    f"船票背面写着{KEYWORD}", "没人知道船夫从哪里来", "雾里传来一声低低的咳嗽",
    "他说这条船只渡有缘人", "可上船的人再也没回来", "三十年前也有这样一夜",
    f"{KEYWORD}的真相就在船上", "她数了数船上的乘客", "明明七个人却有八道影子",
    "第八个人一直背对着她", "船行到江心忽然停了", "灯笼里的火苗变成青色",
    "有人低声念出她的名字", "那是她失踪多年的父亲", "父亲的手冰凉得像江水",
    "他塞给她一把生锈的钥匙", f"钥匙能打开{KEYWORD}的门", "雾散开的一瞬间她看见了",
    "岸边站着另一个自己", "那个自己正朝她挥手", "船夫笑了笑把船掉了头",
    "回去的路比来时更长", "她终于明白船票的意思", "每张票都只能用一次",
    "而她的票三十年前就用过", f"想知道{KEYWORD}的结局吗", "答案就藏在下一章里",
)
# Targets (from the issue): how the numbers are judged in the summary.
NAIVE_BT709 = ("scale=out_color_matrix=bt709:out_range=tv,"
               "setparams=color_primaries=bt709:color_trc=bt709:colorspace=bt709:range=tv")
TARGET_SPEEDUP = 10.0  # workbench at least 10x faster than the naive composite
TARGET_RATIO = 1.10  # workbench at most 1.10x the time of the background-only encode
TARGET_PEAK_MB = 500  # peak RSS of the render's ffmpeg process

console = Console(highlight=False, width=None if sys.stdout.isatty() else 150)


# --- memory -------------------------------------------------------------------------------


def _children() -> list[int]:
    pids: list[int] = []
    for task in Path("/proc/self/task").iterdir():
        try:
            pids += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return pids


def _status_kb(pid: int | str, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


class PeakMemory:
    """Peak resident memory while a leg runs.

    Measured by polling `/proc/<pid>/status` `VmHWM` of every direct child (the kernel's own
    high-water mark of that process, so the poll only has to see each child once after its
    peak; a sample every 20 ms loses at most a peak reached in a child's last 20 ms). Workbench
    starts ffmpeg through `setpriv`, which execs ffmpeg in the same pid (VmHWM restarts at the
    exec). As a cross-check, if `getrusage(RUSAGE_CHILDREN).ru_maxrss` rose during the leg, the
    child reaped in it set a new record and that exact figure is taken when it is larger.
    For the naive leg (several ffmpeg readers/writers beside a Python composite) it also keeps
    the largest sampled sum of the live children's `VmRSS` and this process's own `VmRSS`.
    """

    def __init__(self) -> None:
        self.child_peaks: dict[int, int] = {}  # pid -> kB
        self.self_peak_kb = 0
        self.live_children_peak_kb = 0  # most RSS of children alive at the same time (sampled)
        self.rusage_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _sample(self) -> None:
        live = 0
        for pid in _children():
            hwm = _status_kb(pid, "VmHWM")
            if hwm:
                self.child_peaks[pid] = max(self.child_peaks.get(pid, 0), hwm)
            live += _status_kb(pid, "VmRSS")
        self.live_children_peak_kb = max(self.live_children_peak_kb, live)
        self.self_peak_kb = max(self.self_peak_kb, _status_kb("self", "VmRSS"))

    def _poll(self) -> None:
        while not self._stop.wait(0.02):
            self._sample()

    def __enter__(self) -> Self:
        self._before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # kB on Linux
        if after > self._before:
            self.rusage_kb = after

    @property
    def child_peak_mb(self) -> float:
        return max([*self.child_peaks.values(), self.rusage_kb, 0]) / 1024

    @property
    def live_children_mb(self) -> float:
        return self.live_children_peak_kb / 1024


# --- the job ------------------------------------------------------------------------------


@dataclass
class Setup:
    work: Path
    seconds: float
    profile: RenderProfile
    footage: Path
    background: Background
    voice: Path
    bgm: Path
    font: Path
    events: list[SubtitleEvent]
    subtitles_ass: str
    overlays: OverlaySpec
    naive_preset: str = "medium"
    naive_passes: int = 2
    static_background: Background | None = None  # images:ai: the same stills without the pan


SOURCES = {
    # fine detail changing everywhere, every frame: the hard case for any encoder
    "mandelbrot": "mandelbrot=s={w}x{h}:r=30:end_pts=60",
    # smooth moving colour fields, like the built-in generated background
    "gradient": "gradients=s={w}x{h}:r=30:n=4:speed=0.02:type=radial:seed=7",
}


def _make_footage(path: Path, grain: int, source: str = "mandelbrot") -> None:
    """A Mandelbrot zoom (smooth gradients, fine detail, motion everywhere: closer to stock
    footage than colour bars) drawn at half size, scaled up and given temporal film grain."""
    w, h = SOURCE_SIZE
    grain_filter = f"noise=alls={grain}:allf=t+u," if grain > 0 else ""
    run_ffmpeg(["-y", "-f", "lavfi",
                "-i", SOURCES[source].format(w=w // 2, h=h // 2),
                "-vf", f"scale={w}:{h}:flags=bicubic,{grain_filter}format=yuv420p",
                "-t", str(SOURCE_SECONDS),
                "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-g", "60",
                "-movflags", "+faststart", "-f", "mp4", str(path)],
               what="生成测试素材", timeout=900)


def _make_voice(path: Path, seconds: float) -> None:
    """Syllable-like bursts of a gliding two-partial tone, a pause every 3 s: deterministic."""
    pitch = "(150+30*sin(2*PI*0.7*t))"
    syllables = "pow(sin(PI*mod(t\\,0.23)/0.23)\\,2)"
    pauses = "lt(mod(t\\,3.0)\\,2.4)"
    expr = (f"0.45*{syllables}*{pauses}*(sin(2*PI*{pitch}*t)+0.5*sin(4*PI*{pitch}*t)"
            f"+0.25*sin(6*PI*{pitch}*t))/1.75")
    pcm = run_ffmpeg(["-f", "lavfi", "-i", f"aevalsrc={expr}:s={VOICE_RATE}:d={seconds:.3f}",
                      "-t", f"{seconds:.3f}", "-ac", "1", "-ar", str(VOICE_RATE),
                      "-f", "s16le", "-c:a", "pcm_s16le", "pipe:1"], what="生成测试配音")
    want = round(seconds * VOICE_RATE) * 2
    pcm = pcm[:want].ljust(want, b"\x00")
    write_wav(path, pcm, VOICE_RATE)


def _events(seconds: float) -> list[SubtitleEvent]:
    """30 lines evenly spread, ending before the end card."""
    span = max(1.0, seconds - END_CARD_SECONDS) / len(LINES)
    return [SubtitleEvent(start=round(i * span, 3), end=round(i * span + span * 0.92, 3),
                          text=text, segment=i) for i, text in enumerate(LINES)]


def page_background(events: list[SubtitleEvent]) -> Background:
    """The reading page showing the 30 lines, each highlighted from its subtitle's start."""
    sentences = tuple(PageSentence(ev.text + "。", ev.start, i % 5 == 0)
                      for i, ev in enumerate(events))
    return with_page_text(resolve_background("page"),
                          PageText(app="番茄小说", title="第二章 夜渡", sentences=sentences))


STORY_STILL_SIZE = (1024, 1536)  # what images.size asks an images endpoint for


def _story_background(work: Path, events: list[SubtitleEvent], seconds: float) -> Background:
    """`images:ai` as a job sees it once its pictures are cached: one detailed still per beat
    (a Mandelbrot view each, standing in for a generated illustration; no network), shown from
    the beat's first line, as `images.service.StoryImages.background` builds it."""
    from workbench.images.prompts import story_beats

    beats = story_beats(events, seconds, max_beats=12)
    w, h = STORY_STILL_SIZE
    stills = []
    for i in range(len(beats)):
        still = work / f"story-{i}.png"
        if not still.is_file():
            run_ffmpeg(["-y", "-f", "lavfi", "-i",
                        f"mandelbrot=s={w}x{h}:start_scale={0.8 / (i + 1):.4f}:end_pts=1",
                        "-frames:v", "1", str(still)], what="生成配图", timeout=300)
        stills.append(still)
    return Background("images", images=tuple(stills), seed=SEED,
                      starts=tuple(b.start for b in beats))


def _without_pan(chain: str) -> str:
    """The story-images chain with every still held in the middle: no zoom (its per-frame
    `scale`) and every crop centred."""
    still = re.sub(r"scale=w='[^']*':h='[^']*':eval=frame:flags=\w+,", "", chain)
    still = re.sub(r"crop=(\d+):(\d+):'[^']*':'[^']*'", r"crop=\1:\2:'(iw-ow)/2':'(ih-oh)/2'",
                   still)
    if "eval=frame" in still:
        raise SystemExit("bench: the zoom was not found in the story-images chain (out of date "
                         "with render/story_stills.py)")
    return still


def prepare(work: Path, seconds: float, profile_name: str, grain: int,
            naive_preset: str = "medium", source: str = "mandelbrot",
            naive_passes: int = 2, story: bool = False, page: bool = False) -> Setup:
    footage = work / f"footage-{source}-grain{grain}.mp4"
    if not footage.is_file():  # --keep DIR reuses it
        _make_footage(footage, grain, source)
    voice = work / "voice.wav"
    _make_voice(voice, seconds)
    bgm = generated_bgm(work / "cache")
    events = _events(seconds)
    ass = to_ass(events, SubtitleStyle(), KEYWORD).to_string("ass")
    (work / "subtitles.ass").write_text(ass, encoding="utf-8")
    overlays = OverlaySpec(label=LABEL, label_seconds=0, banner=BANNER, end_card=END_CARD,
                           end_card_seconds=END_CARD_SECONDS, keyword=KEYWORD)
    background = (_story_background(work, events, seconds) if story
                  else page_background(events) if page
                  else resolve_background(footage, seed=SEED))
    return Setup(work=work, seconds=seconds, profile=get_profile(profile_name), footage=footage,
                 background=background, voice=voice, bgm=bgm,
                 font=default_font_file(), events=events, subtitles_ass=ass, overlays=overlays,
                 naive_preset=naive_preset, naive_passes=naive_passes)


# --- legs ---------------------------------------------------------------------------------


def workbench_job(s: Setup, output: Path, seconds: float | None = None) -> RenderJob:
    return RenderJob(
        audio=s.voice, duration=seconds or s.seconds, subtitles_ass=s.subtitles_ass,
        overlays=s.overlays, background=s.background, profile=s.profile, output=output,
        font_file=s.font, bgm=s.bgm, bgm_volume=BGM_VOLUME, loudness=-14.0,
        metadata={"AIGC": aigc_metadata("Workbench", "bench-render")},
    )


def leg_workbench(s: Setup, output: Path, tweak: Callable[[RenderPlan], RenderPlan] | None = None
                  ) -> None:
    # what run_job does: measure the mix (an audio-only pass), then the one video pass
    plan = render_plan(with_measured_loudness(workbench_job(s, output)))
    if tweak is not None:
        plan = tweak(plan)
    execute(plan)


def _codec_args(p: RenderProfile) -> list[str]:
    """What render_plan uses for libx264 (and the GOP/frame-rate flags next to it)."""
    return ["-c:v", "libx264", "-preset", p.preset, "-crf", str(p.crf), "-profile:v", "high",
            "-pix_fmt", "yuv420p", "-r", str(p.fps), "-g", str(p.fps * 2)]


def leg_background(s: Setup, output: Path) -> None:
    """The same looped footage and scale/crop chain (from background_graph itself), the same
    codec arguments and +faststart, nothing else: no audio, no overlays."""
    p = s.profile
    inputs, chain = background_graph(s.background, p, s.seconds, first_input=0)
    args = ["-y", *inputs, "-filter_complex", f"{chain};[bg]format=yuv420p[vout]",
            "-map", "[vout]", "-an", *_codec_args(p), "-t", f"{s.seconds:.3f}",
            "-movflags", "+faststart", "-f", "mp4", str(output.absolute())]
    if s.background.kind == "page":  # the page's ASS and serif font, in a work folder
        _run_in_workdir(render_plan(workbench_job(s, output)), args)
        return
    run_ffmpeg(args, what="背景编码", timeout=3600)


def leg_flat_paper(s: Setup, output: Path) -> None:
    """The page's paper colour alone, no text: what encoding costs with nothing drawn."""
    p = s.profile
    inputs, _ = background_graph(s.background, p, s.seconds, first_input=0)
    run_ffmpeg(["-y", *inputs, "-filter_complex", "[0:v]setsar=1,format=yuv420p[vout]",
                "-map", "[vout]", "-an", *_codec_args(p), "-t", f"{s.seconds:.3f}",
                "-movflags", "+faststart", "-f", "mp4", str(output)],
               what="纯色编码", timeout=3600)


def leg_background_no_pan(s: Setup, output: Path) -> None:
    """images:ai only: the same stills on the same beats, held still: what the motion costs."""
    p = s.profile
    inputs, chain = background_graph(s.background, p, s.seconds, first_input=0)
    run_ffmpeg(["-y", *inputs, "-filter_complex", f"{_without_pan(chain)};[bg]format=yuv420p[vout]",
                "-map", "[vout]", "-an", *_codec_args(p), "-t", f"{s.seconds:.3f}",
                "-movflags", "+faststart", "-f", "mp4", str(output)],
               what="背景编码（无缩放平移）", timeout=3600)


def leg_naive(s: Setup, output: Path) -> None:
    """A moviepy 2 composite written the way MoneyPrinterTurbo writes its videos."""
    from moviepy import (
        AudioFileClip,
        ColorClip,
        CompositeAudioClip,
        CompositeVideoClip,
        TextClip,
        VideoFileClip,
        afx,
        vfx,
    )

    p = s.profile
    w, h, d = p.width, p.height, s.seconds
    k = w / 1080  # sizes below are for 1080 wide, like the ASS play resolution
    em = em_per_size(s.font)  # ASS font size -> pixel em, so the text matches ours in size
    font = str(s.font)

    preset = p.preset if s.naive_preset == "same" else s.naive_preset
    write = {"fps": p.fps, "codec": "libx264", "preset": preset, "threads": 2, "logger": None,
             "ffmpeg_params": ["-crf", str(p.crf), "-vf", NAIVE_BT709]}
    src = VideoFileClip(str(s.footage), audio=False)
    scale = max(w / src.w, h / src.h)
    sw, sh = math.ceil(src.w * scale), math.ceil(src.h * scale)
    background = (src.with_effects([vfx.Loop(duration=d)])
                  .resized(new_size=(sw, sh))
                  .cropped(x_center=sw / 2, y_center=sh / 2, width=w, height=h))
    combined = None
    if s.naive_passes == 2:
        # the peer's combine_videos: footage resized to the canvas and written out first,
        # then generate_video composites the text over that file and writes again
        combined_path = output.with_name(output.stem + "-combined.mp4")
        background.with_duration(d).write_videofile(str(combined_path), audio=False, **write)
        src.close()
        combined = background = VideoFileClip(str(combined_path), audio=False)

    def text(body: str, size: float, **kw) -> TextClip:
        return TextClip(font=font, text=body, font_size=round(size * em * k), **kw)

    layers = [background]
    for ev in s.events:
        clip = text(ev.text, 84, color="#FFFFFF", stroke_color="#000000",
                    stroke_width=max(1, round(4 * k)), margin=(8, 8))
        layers.append(clip.with_start(ev.start).with_duration(ev.end - ev.start)
                      .with_position(("center", h - round(480 * k) - clip.h)))
    label = text(LABEL, 90, color="#FFFFFF", bg_color=(0, 0, 0), margin=(24, 12))
    layers.append(label.with_duration(d).with_position(("center", round(80 * k))))
    banner = text(BANNER, 96, color="#FFD400", stroke_color="#000000",
                  stroke_width=max(1, round(5 * k)), margin=(8, 8))
    layers.append(banner.with_duration(d).with_position(("center", round(250 * k))))
    start = max(0.0, d - END_CARD_SECONDS)
    dim = ColorClip(size=(w, h), color=(0, 0, 0)).with_opacity(0.35)
    card = text("\n".join(END_CARD), 88, color="#FFFFFF", stroke_color="#000000",
                stroke_width=max(1, round(5 * k)), text_align="center", margin=(8, 8))
    layers += [dim.with_start(start).with_duration(d - start),
               card.with_start(start).with_duration(d - start).with_position("center")]
    video = CompositeVideoClip(layers, size=(w, h)).with_duration(d)

    voice = AudioFileClip(str(s.voice))
    bgm = AudioFileClip(str(s.bgm)).with_effects(
        [afx.MultiplyVolume(BGM_VOLUME), afx.AudioLoop(duration=d), afx.AudioFadeOut(BGM_FADE)])
    audio = CompositeAudioClip([voice, bgm]).with_duration(d)
    video = video.with_audio(audio)
    try:
        # the peer's writes: moviepy's default x264 preset (medium) unless asked otherwise,
        # threads=2, and a BT.709 conversion filter on the piped RGB frames
        video.write_videofile(str(output), audio_codec="aac", audio_fps=p.audio_rate,
                              audio_bitrate=p.audio_bitrate, temp_audiofile_path=str(s.work),
                              **write)
    finally:
        for clip in (video, audio, voice, bgm, src, combined):
            if clip is not None:
                clip.close()


# --- running ------------------------------------------------------------------------------


@dataclass
class Leg:
    key: str
    title: str
    run: Callable[[Setup, Path], None]
    times: list[float] = field(default_factory=list)
    peaks_mb: list[float] = field(default_factory=list)  # the leg's ffmpeg child(ren)
    python_mb: list[float] = field(default_factory=list)
    sizes_mb: list[float] = field(default_factory=list)
    cpu_s: list[float] = field(default_factory=list)  # user+sys of this process and children
    durations: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    frames: str = ""  # I/P/B of the first output

    @property
    def median(self) -> float | None:
        return statistics.median(self.times) if self.times else None


def run_once(leg: Leg, s: Setup, rep: int) -> None:
    out = s.work / f"{leg.key}-{rep}.mp4"
    out.unlink(missing_ok=True)
    try:
        with PeakMemory() as mem:
            cpu0 = _cpu_seconds()
            t0 = time.perf_counter()
            leg.run(s, out)
            wall = time.perf_counter() - t0
            cpu = _cpu_seconds() - cpu0
    except Exception as exc:  # noqa: BLE001 - any failure: report the leg, keep the table
        leg.errors.append(f"{type(exc).__name__}: {exc}".splitlines()[0][:200])
        console.print(f"  [red]{leg.title} 第 {rep} 次失败[/red]: {leg.errors[-1]}")
        if os.environ.get("BENCH_TRACEBACK"):
            traceback.print_exc()
        return
    leg.times.append(wall)
    leg.cpu_s.append(cpu)
    if leg.key == "naive":  # reader + writer ffmpeg run side by side with the Python composite
        leg.peaks_mb.append(mem.live_children_mb)
        leg.python_mb.append(mem.self_peak_kb / 1024)
    else:
        leg.peaks_mb.append(mem.child_peak_mb)
    if out.is_file():
        leg.sizes_mb.append(out.stat().st_size / 2**20)
        with contextlib.suppress(WorkbenchError):  # the size shows something was written
            leg.durations.append(probe(out).duration)
        if not leg.frames:
            leg.frames = frame_types(out)
    console.print(f"  {leg.title:<26} 第 {rep} 次 {wall:7.1f} s  CPU {cpu:7.1f} s  "
                  f"(ffmpeg 峰值 {leg.peaks_mb[-1]:.0f} MB)")


def _cpu_seconds() -> float:
    """CPU time (user + sys) of this process plus its finished children (every ffmpeg)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(
        resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


_FIRST_MB = re.compile(r"first_mb_in_slice\s+\S+ = (\d+)")
_SLICE_TYPE = re.compile(r"slice_type\s+\S+ = (\d+)")


def frame_types(path: Path) -> str:
    """"I/P/B" frame counts of an H.264 file, read from the slice headers (no decoding):
    x264's adaptive B-frame choice moves the encode time a lot on grainy footage."""
    proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path),
                           "-map", "0:v", "-c", "copy", "-bsf:v", "trace_headers", "-f", "null",
                           "-"], capture_output=True, text=True, errors="replace", check=False)
    counts = {"I": 0, "P": 0, "B": 0}
    first_mb = None
    for line in proc.stderr.splitlines():
        if m := _FIRST_MB.search(line):
            first_mb = int(m.group(1))
        elif (m := _SLICE_TYPE.search(line)) and first_mb == 0:
            kind = "PBI"[int(m.group(1)) % 5] if int(m.group(1)) % 5 < 3 else None
            if kind:
                counts[kind] += 1
    return "/".join(str(counts[k]) for k in "IPB") if any(counts.values()) else "?"


def _fmt(value: float | None, spec: str, missing: str = "—") -> str:
    return missing if value is None else format(value, spec)


def _verdict(ok: bool | None) -> str:
    if ok is None:
        return "[yellow]n/a[/yellow]"
    return "[green]pass[/green]" if ok else "[red]miss[/red]"


def report(legs: dict[str, Leg], s: Setup) -> tuple[float | None, float | None, float | None]:
    table = Table(title=f"渲染基准：{s.seconds:g} s，{s.profile.name} "
                        f"{s.profile.width}x{s.profile.height} {s.profile.preset}")
    for col in ("leg", "runs (s)", "median (s)", "× realtime", "CPU (s)", "peak RSS (MB)",
                "output (MB)", "duration (s)", "I/P/B", "note"):
        table.add_column(col, justify="left" if col in ("leg", "note", "runs (s)") else "right")
    for leg in legs.values():
        if leg.key == "naive" and leg.python_mb:
            peak = f"{max(leg.peaks_mb):.0f} ffmpegs + {max(leg.python_mb):.0f} py"
        else:
            peak = _fmt(max(leg.peaks_mb) if leg.peaks_mb else None, ".0f")
        speed = s.seconds / leg.median if leg.median else None
        note = "; ".join(leg.errors) if leg.errors else ""
        if not leg.times and not leg.errors:
            note = "skipped"
        table.add_row(leg.title, ", ".join(f"{t:.1f}" for t in leg.times) or "—",
                      _fmt(leg.median, ".1f"), _fmt(speed, ".2f"),
                      _fmt(statistics.median(leg.cpu_s) if leg.cpu_s else None, ".1f"), peak,
                      _fmt(statistics.median(leg.sizes_mb) if leg.sizes_mb else None, ".1f"),
                      _fmt(statistics.median(leg.durations) if leg.durations else None, ".2f"),
                      leg.frames or "—", note)
    console.print(table)

    ours, naive, bg = legs["workbench"].median, legs["naive"].median, legs["background"].median
    speedup = naive / ours if naive and ours else None
    ratio = ours / bg if ours and bg else None
    peak = max(legs["workbench"].peaks_mb) if legs["workbench"].peaks_mb else None
    targets = Table(title="目标")
    for col in ("metric", "value", "target", "result"):
        targets.add_column(col)
    targets.add_row("speedup vs naive", _fmt(speedup, ".1f", "—") + ("×" if speedup else ""),
                    f"≥ {TARGET_SPEEDUP:g}×",
                    _verdict(None if speedup is None else speedup >= TARGET_SPEEDUP))
    targets.add_row("ratio vs background only", _fmt(ratio, ".2f") + ("×" if ratio else ""),
                    f"≤ {TARGET_RATIO:.2f}×",
                    _verdict(None if ratio is None else ratio <= TARGET_RATIO))
    targets.add_row("render ffmpeg peak RSS", _fmt(peak, ".0f") + (" MB" if peak else ""),
                    f"≤ {TARGET_PEAK_MB} MB",
                    _verdict(None if peak is None else peak <= TARGET_PEAK_MB))
    console.print(targets)
    return speedup, ratio, peak


def cpu_ratio(legs: dict[str, Leg]) -> float | None:
    """Naive CPU seconds per workbench CPU second: what the speedup becomes once there are
    enough cores for x264 (the naive composite stays bound to one Python thread)."""
    ours, naive = legs["workbench"].cpu_s, legs["naive"].cpu_s
    if not ours or not naive:
        return None
    return statistics.median(naive) / statistics.median(ours)


# --- breakdown: where the workbench time goes ----------------------------------------------


def _graph_tweak(fn: Callable[[str], str], *, drop_audio: bool = False
                 ) -> Callable[[RenderPlan], RenderPlan]:
    def tweak(plan: RenderPlan) -> RenderPlan:
        args = list(plan.args)
        i = args.index("-filter_complex") + 1
        args[i] = fn(args[i])
        if drop_audio:
            j = args.index("[aout]")
            del args[j - 1:j + 1]  # -map [aout]
            j = args.index("-c:a")
            args[j:j + 6] = ["-an"]  # -c:a aac -b:a X -ar Y
        return replace(plan, args=tuple(args))
    return tweak


def _no_subs(graph: str) -> str:
    """The graph without Workbench's overlays: the libass pass (wherever it sits in the [bg]
    chain) and the label and banner laid over it (render/static_overlay.py)."""
    bare = re.sub(r"null\[under\];.*?\[topped\];\[topped\]", "null,", graph)
    bare = re.sub(rf"subtitles=filename={re.escape(str(OVERLAY_FILE))}:fontsdir="
                  rf"{re.escape(str(FONTS_DIR))},", "", bare)
    if bare == graph or "top_" in bare:
        raise SystemExit("bench: the overlay pass was not found in the graph (--breakdown is out "
                         "of date with render/plan.py)")
    return bare


def _no_loudnorm(graph: str) -> str:
    return re.sub(r"(loudnorm=[^,]*|volume=-?[\d.]+dB,alimiter=[^,]*),", "", graph)


def _video_only(graph: str) -> str:
    return graph[:graph.index("[vout]") + len("[vout]")]


def _run_in_workdir(plan: RenderPlan, args: list[str]) -> None:
    """ffmpeg with `args` in a folder holding the plan's files, as `execute` prepares it."""
    with tempfile.TemporaryDirectory(prefix="bench-null-") as tmp:
        for name, text in plan.files.items():
            (Path(tmp) / name).write_text(text, encoding="utf-8")
        (Path(tmp) / FONTS_DIR).mkdir()
        for font in (plan.font_file, *plan.extra_fonts):
            (Path(tmp) / FONTS_DIR / font.name).symlink_to(font)
        proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error",
                               *args], cwd=tmp, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RenderError(f"ffmpeg exit {proc.returncode}: {proc.stderr.strip()[-300:]}")


def leg_workbench_no_encode(s: Setup, output: Path) -> None:
    """The whole workbench graph (decode, scale, libass, audio) into the null muxer: what the
    graph costs without x264, whose frame-type choices depend on the picture."""
    plan = render_plan(workbench_job(s, output))
    args = list(plan.args[:plan.args.index("-c:v")])
    _run_in_workdir(plan, [*args, "-t", f"{s.seconds:.3f}", "-f", "null", "-"])


def leg_background_no_encode(s: Setup, output: Path) -> None:
    inputs, chain = background_graph(s.background, s.profile, s.seconds, first_input=0)
    _run_in_workdir(render_plan(workbench_job(s, output)),
                    ["-y", *inputs, "-filter_complex", f"{chain};[bg]format=yuv420p[vout]",
                     "-map", "[vout]", "-an", "-t", f"{s.seconds:.3f}", "-f", "null", "-"])


BREAKDOWN: tuple[tuple[str, str, Callable[[Setup, Path], None]], ...] = (
    ("wb-no-subs", "workbench − overlays", partial(leg_workbench, tweak=_graph_tweak(_no_subs))),
    ("wb-no-loudnorm", "workbench − loudnorm",
     partial(leg_workbench, tweak=_graph_tweak(_no_loudnorm))),
    ("wb-video-only", "workbench − audio",
     partial(leg_workbench, tweak=_graph_tweak(_video_only, drop_audio=True))),
    ("wb-bare", "workbench − audio − overlays",
     partial(leg_workbench, tweak=_graph_tweak(lambda g: _no_subs(_video_only(g)),
                                               drop_audio=True))),
    ("bg-null", "(b) graph only, no encode", leg_background_no_encode),
    ("wb-null", "workbench graph, no encode", leg_workbench_no_encode),
)


# --- main ---------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=20.0, help="job length (60 = full length)")
    ap.add_argument("--reps", type=int, default=2, help="interleaved repetitions per leg")
    ap.add_argument("--profile", choices=("final", "draft"), default="final")
    ap.add_argument("--skip-naive", action="store_true", help="leave out the moviepy leg")
    ap.add_argument("--breakdown", action="store_true",
                    help="also time workbench with parts of the graph removed")
    ap.add_argument("--grain", type=int, default=20,
                    help="strength of the footage's temporal grain (ffmpeg noise alls; 0: none)")
    ap.add_argument("--footage", choices=tuple(SOURCES), default="mandelbrot",
                    help="generated footage: mandelbrot (detailed, the hard case) or gradient "
                         "(smooth, like the built-in background)")
    ap.add_argument("--naive-passes", type=int, choices=(1, 2), default=2,
                    help="2: the peer's two moviepy writes (footage resized to the canvas, then "
                         "the composite); 1: only the composite")
    ap.add_argument("--naive-preset", default="medium",
                    help="x264 preset of the naive leg: the peer writes with moviepy's default "
                         "(medium); 'same' uses the profile's preset")
    ap.add_argument("--background", choices=("footage", "images:ai", "page"), default="footage",
                    help="footage (the generated clip, looped), images:ai (one still per "
                         "beat, made locally as if cached, zooming or panning slowly; leaves "
                         "out the naive leg and adds '(b0) stills, no zoom or pan') or page "
                         "(the reading page over its paper colour; adds '(b0) flat paper, no "
                         "text')")
    ap.add_argument("--keep", type=Path, metavar="DIR", help="keep inputs and outputs in DIR")
    args = ap.parse_args(argv)
    if args.seconds < 2 * END_CARD_SECONDS or args.reps < 1:
        ap.error(f"--seconds must be ≥ {2 * END_CARD_SECONDS:g} and --reps ≥ 1")

    began = time.perf_counter()
    if args.keep:
        work = args.keep.expanduser().absolute()
        work.mkdir(parents=True, exist_ok=True)
    else:
        work = Path(tempfile.mkdtemp(prefix="workbench-bench-"))
    try:
        console.print(f"ffmpeg: {ffmpeg_exe()}  ·  CPUs: {os.cpu_count()}  ·  work: {work}")
        console.print(f"准备素材（6 s {SOURCE_SIZE[0]}x{SOURCE_SIZE[1]} {args.footage} + 颗粒 "
                      f"alls={args.grain}，配音，BGM，30 行字幕）…")
        story = args.background == "images:ai"
        s = prepare(work, args.seconds, args.profile, args.grain, args.naive_preset,
                    args.footage, args.naive_passes, story=story,
                    page=args.background == "page")
        legs = {
            "naive": Leg("naive", "(a) naive moviepy", leg_naive),
            "background": Leg("background", "(b) background only", leg_background),
            "workbench": Leg("workbench", "workbench", leg_workbench),
        }
        extra: dict[str, Leg] = {}
        if args.background == "page":
            extra["flat"] = Leg("flat", "(b0) flat paper, no text", leg_flat_paper)
        if story:
            args.skip_naive = True  # the peer has no story images to compare with
            console.print(f"背景：images:ai，{len(s.background.images)} 张配图（本地生成，不联网）")
            extra["bg-no-pan"] = Leg("bg-no-pan", "(b0) stills, no zoom or pan", leg_background_no_pan)
        if args.breakdown:
            for key, title, run in BREAKDOWN:
                extra[key] = Leg(key, title, run)
        order = [leg for key, leg in legs.items() if not (key == "naive" and args.skip_naive)]
        order += list(extra.values())
        # Untimed warm-up: fontconfig's cache, the page cache and the ffmpeg binary are warm
        # before the first timed repetition of any leg.
        try:
            execute(render_plan(workbench_job(s, work / "warmup.mp4", seconds=2.0)))
        except WorkbenchError as exc:  # the timed workbench legs will fail and say why
            console.print(f"[red]预热渲染失败[/red]: {exc}")
        for rep in range(1, args.reps + 1):
            console.print(f"[bold]第 {rep}/{args.reps} 轮[/bold]")
            for leg in order:
                run_once(leg, s, rep)
        speedup, ratio, peak = report({**legs, **extra} if extra else legs, s)
        print(f"speedup_vs_naive={_fmt(speedup, '.1f', 'nan')}")
        print(f"ratio_vs_background_only={_fmt(ratio, '.2f', 'nan')}")
        if "flat" in extra and extra["flat"].median and legs["workbench"].median:
            print(f"ratio_vs_flat_paper={legs['workbench'].median / extra['flat'].median:.2f}")
        print(f"render_peak_mb={_fmt(peak, '.0f', 'nan')}")
        print(f"cpu_ratio_vs_naive={_fmt(cpu_ratio(legs), '.1f', 'nan')}")
        ours_cpu, bg_cpu = legs["workbench"].cpu_s, legs["background"].cpu_s
        if ours_cpu and bg_cpu:  # steadier than wall time when other work shares the cores
            print(f"cpu_ratio_vs_background_only="
                  f"{statistics.median(ours_cpu) / statistics.median(bg_cpu):.2f}")
        if story:
            still, ours = extra["bg-no-pan"].median, legs["workbench"].median
            print(f"ratio_vs_stills_no_pan={_fmt(ours / still if ours and still else None, '.2f', 'nan')}")
        console.print(f"基准共用时 {time.perf_counter() - began:.0f} s")
        failed = any(leg.errors for leg in order)
        return 1 if failed else 0
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
