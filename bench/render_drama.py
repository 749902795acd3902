"""Drama render benchmark: a drama cut against encoding the same segments with no overlays.

The sample drama 《夜渡》 (made offline by `workbench drama sample`, cached) gives three real
episodes, one of them landscape (1280×720) and the others 720×1280, at 25 fps. The job is three
segments, one per episode (`--segments`, default about 28 s), brought to the profile's size and
frame rate:

* plain: one ffmpeg process that trims the same segments (`-ss`/`-t` per input), scales each
  to fit the frame (black bars for the landscape one), converts it to the output frame rate,
  joins pictures and sounds and encodes with the same codec arguments — the floor any drama
  render has to pay;
* workbench: what a cut costs in `run_job`'s render phase: the audio-only loudness pass, then
  `drama_render_plan` + `execute`: the blurred fill behind the landscape episode, the end card
  held on the last frame (3 s more video), the AI label, banner, hook caption and end card in
  one libass pass, the sound faded at every join and normalised.

Repetitions are interleaved (plain, workbench, plain, …) and the medians compared. The last
line is machine-readable: `ratio_vs_plain=N.NN` (wall time, target ≤ 1.10). Since the workbench
video is 3 s longer (the end card), `ratio_per_second=N.NN` divides each leg's time by its video
length; `cpu_ratio_vs_plain=N.NN` compares the CPU seconds of the legs' ffmpeg processes, which
another load on the machine moves less than wall time.

    .venv/bin/python bench/render_drama.py                   # final profile, 3 reps, grain 20
    .venv/bin/python bench/render_drama.py --grain 0         # the flat sample as generated
    .venv/bin/python bench/render_drama.py --profile draft --reps 1
    .venv/bin/python bench/render_drama.py --fit crop --mask  # the crop fit, a masked band
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from workbench.compliance import aigc_metadata
from workbench.config import load_settings
from workbench.drama.mask import LOWER_BAND
from workbench.drama.segments import parse_segments
from workbench.ffmpeg import run_ffmpeg
from workbench.fonts import default_font_file
from workbench.materials.drama import probe_episode
from workbench.materials.sample_drama import generate_sample_drama
from workbench.render.drama_plan import (
    DramaClip,
    DramaRenderJob,
    clip_inputs,
    drama_render_plan,
    fit_size_of,
    frame_seconds,
    with_measured_drama_loudness,
)
from workbench.render.overlays import OverlaySpec
from workbench.render.plan import RenderPlan, output_args, partial_path
from workbench.render.probe import probe
from workbench.render.profiles import get_profile
from workbench.render.run import execute

KEYWORD = "夜渡迷局"
SEGMENTS = "1:12.44-18,2:7-17.6,3:6.28-17.88"
TARGET_RATIO = 1.10


def plain_plan(job: DramaRenderJob, output: Path) -> RenderPlan:
    """The same segments, fitted with black bars, at the output rate, joined, encoded alike."""
    p = job.profile
    chains, labels = [], []
    for i, clip in enumerate(job.clips):
        w, h = fit_size_of(clip.width, clip.height, (p.width, p.height))
        chains.append(f"[{i}:v]setpts=PTS-STARTPTS,scale={w}:{h},pad={p.width}:{p.height}:"
                      f"(ow-iw)/2:(oh-ih)/2,setsar=1,fps={p.fps},format=yuv420p,"
                      f"trim=duration={clip.seconds:.6f},setpts=PTS-STARTPTS[v{i}]")
        chains.append(f"[{i}:a]asetpts=PTS-STARTPTS,aresample={p.audio_rate},"
                      f"aformat=channel_layouts=stereo,apad,atrim=0:{clip.seconds:.6f}[a{i}]")
        labels.append(f"[v{i}][a{i}]")
    graph = ";".join([*chains, f"{''.join(labels)}concat=n={len(labels)}:v=1:a=1[vout][aout]"])
    seconds = job.segments_seconds
    partial = partial_path(output)
    args = ("-y", *clip_inputs(job.clips), "-filter_complex", graph,
            *output_args(p, job.encoder_args, seconds, {}, partial))
    label = drama_render_plan(job).label
    return RenderPlan(args=args, files={}, font_file=job.font_file, output=output,
                      partial=partial, duration=seconds, label=label, on_screen=())


def build_job(folder: Path, profile: str, segments: str, fit: str, mask: bool,
              output: Path) -> DramaRenderJob:
    episodes = sorted(folder.glob("*.mp4"), key=lambda p: p.name)
    info = {i + 1: (path, probe_episode(path)) for i, path in enumerate(episodes)}
    prof = get_profile(profile)
    clips = []
    for idx, start, end in parse_segments(segments):
        path, row = info[idx]
        clips.append(DramaClip(path, start, frame_seconds(end - start, prof.fps), row["width"],
                               row["height"], bool(row["audio_codec"]),
                               LOWER_BAND if mask else None, idx))
    overlays = OverlaySpec("本视频含AI生成内容", 0, f"红果短剧搜索【{KEYWORD}】",
                           ("红果短剧搜索", f"【{KEYWORD}】", "看全集"), 3.0, KEYWORD)
    return DramaRenderJob(
        clips=tuple(clips), overlays=overlays, profile=prof, output=output,
        font_file=default_font_file(), fit=fit, hook="十年前的事故报告，也是你签的字吧？",
        metadata={"AIGC": aigc_metadata("Workbench", "bench", reserved1="bench")})


def add_grain(folder: Path, grain: int) -> Path:
    """The episodes re-encoded with temporal grain (not timed), like camera masters: the sample's
    still gradients are far cheaper to encode than real footage, which flatters any overhead
    on top of the encode less than it should."""
    grainy = folder.with_name(f"{folder.name}-grain{grain}")
    grainy.mkdir()
    for episode in sorted(folder.glob("*.mp4")):
        run_ffmpeg(["-y", "-i", str(episode), "-vf", f"noise=alls={grain}:allf=t+u",
                    "-c:v", "libx264", "-preset", "ultrafast", "-crf", "18", "-c:a", "copy",
                    str(grainy / episode.name)], what="给示例剧集加颗粒")
    return grainy


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="final", choices=("final", "draft"))
    parser.add_argument("--segments", default=SEGMENTS)
    parser.add_argument("--fit", default="blur", choices=("blur", "crop"))
    parser.add_argument("--mask", action="store_true", help="blur the subtitle band too")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--grain", type=int, default=20,
                        help="re-encode the episodes with this much temporal grain first, like "
                             "camera masters and like bench/render.py's footage (default 20; "
                             "0: the flat synthetic sample as made)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-drama-") as tmp:
        root = Path(tmp)
        settings = replace(load_settings(), home=root / "home")
        settings.ensure_dirs()
        folder = root / "夜渡"
        generate_sample_drama(folder, settings)
        if args.grain:
            folder = add_grain(folder, args.grain)
        job = build_job(folder, args.profile, args.segments, args.fit, args.mask,
                        root / "workbench.mp4")
        legs = {"plain": [], "workbench": []}
        lengths = {}

        def plain() -> None:
            execute(plain_plan(job, root / "plain.mp4"))
            lengths["plain"] = probe(root / "plain.mp4").duration

        def workbench() -> None:
            execute(drama_render_plan(with_measured_drama_loudness(job)))
            lengths["workbench"] = probe(job.output).duration

        execute(drama_render_plan(replace(job, clips=job.clips[:1])))  # warm caches
        cpu: dict[str, list[float]] = {"plain": [], "workbench": []}
        for _ in range(args.reps):
            for name, leg in (("plain", plain), ("workbench", workbench)):
                started, used = time.monotonic(), _children_cpu()
                leg()
                legs[name].append(time.monotonic() - started)
                cpu[name].append(_children_cpu() - used)
    medians = {name: statistics.median(times) for name, times in legs.items()}
    cpus = {name: statistics.median(times) for name, times in cpu.items()}
    print(f"segments {args.segments}  profile {args.profile}  fit {args.fit}"
          f"{'  mask' if args.mask else ''}  grain {args.grain}  reps {args.reps}")
    for name, times in legs.items():
        print(f"{name:10s} median {medians[name]:6.2f} s  cpu {cpus[name]:6.2f} s  video "
              f"{lengths[name]:6.2f} s  runs {', '.join(f'{t:.2f}' for t in times)}")
    ratio = medians["workbench"] / medians["plain"]
    per_second = ratio * lengths["plain"] / lengths["workbench"]
    print(f"target ratio ≤ {TARGET_RATIO}: {'met' if ratio <= TARGET_RATIO else 'NOT met'}")
    print(f"cpu_ratio_vs_plain={cpus['workbench'] / cpus['plain']:.2f}")
    print(f"ratio_per_second={per_second:.2f}")
    print(f"ratio_vs_plain={ratio:.2f}")
    return 0


def _children_cpu() -> float:
    """User + system CPU seconds of every finished child process (the ffmpeg runs)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


if __name__ == "__main__":
    sys.exit(main())
