"""The render plan: a pure function from a render job to one ffmpeg command.

One process does everything: background (generated, footage or images), subtitles + end card
(one libass pass), label + banner (drawn once by libass, then overlaid: static_overlay.py),
voice + BGM (ducked with a sidechain compressor, faded out, loudness-normalised), H.264/AAC encode, AIGC metadata and +faststart. Nothing is
composited frame by frame in Python.

Files the command needs besides its inputs (the overlay ASS and a fonts folder) are listed in
`RenderPlan.files`/`font_file` and referred to by relative names, so the runner writes them into
a work folder and starts ffmpeg there: no filter-graph escaping of user paths is needed.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from workbench.render.backgrounds import (
    FONTS_DIR,
    Background,
    background_files,
    background_fonts,
    background_graph,
)
from workbench.render.overlays import (
    LabelPlan,
    OverlaySpec,
    build_overlay_ass,
    end_card_dim,
    top_layout,
)
from workbench.render.profiles import RenderProfile
from workbench.render.static_overlay import STATIC_FILE, static_ass, static_overlay_graph

OVERLAY_FILE = "overlay.ass"
BGM_FADE = 2.5  # seconds of BGM fade-out at the end
TRUE_PEAK_LIMIT = 0.84  # linear, ≈ −1.5 dBFS


@dataclass(frozen=True)
class RenderJob:
    """Everything the render needs, already resolved to files and values."""

    audio: Path  # the narration (WAV/M4A)
    duration: float  # narration length in seconds: the video is exactly this long
    subtitles_ass: str | None  # ASS text from the subtitles stage (None: no subtitles)
    overlays: OverlaySpec
    background: Background
    profile: RenderProfile
    output: Path
    font_file: Path
    bgm: Path | None = None  # looped under the voice; None: voice only
    bgm_volume: float = 0.25
    loudness: float = -14.0  # LUFS integrated
    encoder_args: tuple[str, ...] = ()  # from encoders.encoder_args; () → libx264 per profile
    encoder_input_args: tuple[str, ...] = ()  # e.g. a VAAPI device
    encoder_filter_suffix: str = ""  # e.g. ",format=nv12,hwupload" for VAAPI
    metadata: dict[str, str] = field(default_factory=dict)  # container tags, e.g. AIGC
    measured_loudness: float | None = None  # LUFS of the unnormalised mix, if measured


@dataclass(frozen=True)
class RenderPlan:
    args: tuple[str, ...]  # after the ffmpeg binary
    files: dict[str, str]  # relative name → text, written into the work folder
    font_file: Path  # made available as fonts/<name> in the work folder
    output: Path
    partial: Path  # where ffmpeg writes; renamed to `output` only when complete
    duration: float
    label: LabelPlan
    on_screen: tuple[str, ...]  # texts shown over the video (banner, end card)
    extra_fonts: tuple[Path, ...] = ()  # also made available under fonts/ (the page's serif)


def partial_path(output: Path) -> Path:
    """A name that never looks like a finished video (not .mp4), in the same folder."""
    return output.with_name(f".{output.name}.part")


def mix_graph(job: RenderJob, voice: int, bgm: int | None, out: str = "mix") -> str:
    """Voice (padded to the full length) plus BGM ducked under it, as `[out]`."""
    rate = job.profile.audio_rate
    voice_in = (f"[{voice}:a]aresample={rate},aformat=sample_fmts=fltp:channel_layouts=stereo,"
                f"apad=whole_dur={job.duration:.3f}")
    if bgm is None:
        return f"{voice_in}[{out}]"
    fade_start = max(0.0, job.duration - BGM_FADE)
    return ";".join([
        f"{voice_in},asplit=2[voice][key]",
        (f"[{bgm}:a]aresample={rate},aformat=sample_fmts=fltp:channel_layouts=stereo,"
         f"volume={job.bgm_volume:g},atrim=0:{job.duration:.3f},"
         f"afade=t=out:st={fade_start:.3f}:d={BGM_FADE}[bed]"),
        # the voice keys the compressor: BGM dips while someone speaks
        "[bed][key]sidechaincompress=threshold=0.02:ratio=8:attack=15:release=350[ducked]",
        f"[voice][ducked]amix=inputs=2:duration=first:normalize=0[{out}]",
    ])


def loudness_tail(loudness: float, measured: float | None, audio_rate: int) -> str:
    """`[mix]` → `[aout]` at the target loudness. With the mix measured beforehand
    (`loudness.with_measured_loudness`) this is one linear gain plus a true-peak limiter, so
    quiet stretches stay quiet; unmeasured, ffmpeg's dynamic loudnorm is the fallback."""
    fmt = f"aformat=sample_fmts=fltp:channel_layouts=stereo,aresample={audio_rate}"
    if measured is not None:
        gain = loudness - measured
        return (f"[mix]volume={gain:.2f}dB,alimiter=limit={TRUE_PEAK_LIMIT}:level=false:"
                f"attack=5:release=50,{fmt}[aout]")
    # loudnorm works at 192 kHz internally; resample back to the output rate
    return f"[mix]loudnorm=I={loudness:g}:TP=-1.5:LRA=11,{fmt}[aout]"


def _loudness_tail(job: RenderJob) -> str:
    return loudness_tail(job.loudness, job.measured_loudness, job.profile.audio_rate)


def output_args(profile: RenderProfile, encoder_args: tuple[str, ...], duration: float,
                metadata: dict[str, str], partial: Path) -> tuple[str, ...]:
    """Everything after the filter graph: `[vout]` and `[aout]` encoded as H.264 + AAC MP4
    of `duration` seconds with only our metadata, into `partial`."""
    p = profile
    codec = encoder_args or (
        "-c:v", "libx264", "-preset", p.preset, "-crf", str(p.crf), "-profile:v", "high",
        "-pix_fmt", "yuv420p",
    )
    meta: list[str] = []
    for key, value in metadata.items():
        meta += ["-metadata", f"{key}={value}"]
    return (
        "-map", "[vout]", "-map", "[aout]",
        *codec, "-r", str(p.fps), "-g", str(p.fps * 2),
        "-c:a", "aac", "-b:a", p.audio_bitrate, "-ar", str(p.audio_rate),
        "-t", f"{duration:.3f}",
        # use_metadata_tags: keep custom keys such as AIGC in the MP4 (udta/keys)
        # only our tags: nothing from the inputs (a phone clip's GPS location, titles, chapters)
        "-map_metadata", "-1", "-map_chapters", "-1",
        "-movflags", "+faststart+use_metadata_tags", *meta,
        "-f", "mp4", str(partial),
    )


def overlay_graph(src: str, spec: OverlaySpec, duration: float, font_file: Path,
                  profile: RenderProfile, encoder_filter_suffix: str, hold: str = ""
                  ) -> tuple[str, str]:
    """Filter chains from the picture `[src]` to `[vout]`: the end card's veil
    (`end_card_dim`), the label and banner drawn once and overlaid (static_overlay.py), then
    the subtitles and end card by libass (`OVERLAY_FILE`), `hold` (a filter after a comma, or
    ""), the output's pixel format; and the label-and-banner script (`STATIC_FILE`)."""
    layout = top_layout(spec, duration, font_file)
    graph = ";".join([
        f"[{src}]{end_card_dim(spec, duration)}null[under]",
        static_overlay_graph(spec, duration, layout, font_file,
                             (profile.width, profile.height), profile.fps, FONTS_DIR,
                             src="under", out="topped"),
        (f"[topped]subtitles=filename={OVERLAY_FILE}:fontsdir={FONTS_DIR}"
         f"{hold},format=yuv420p{encoder_filter_suffix}[vout]"),
    ])
    return graph, static_ass(spec, duration, layout, profile.height)


def render_plan(job: RenderJob) -> RenderPlan:
    """The ffmpeg arguments for `job`. Pure: reads nothing but the font's metrics."""
    p = job.profile
    bg_args, bg_chain = background_graph(job.background, p, job.duration, first_input=0)
    n_bg = bg_args.count("-i")
    voice_idx = n_bg
    # ffmpeg runs in a work folder: every path it gets must be absolute
    inputs = [*bg_args, "-i", str(job.audio.absolute())]
    bgm_idx = None
    if job.bgm is not None:
        bgm_idx = voice_idx + 1
        inputs += ["-stream_loop", "-1", "-i", str(job.bgm.absolute())]

    ass, label = build_overlay_ass(job.subtitles_ass, job.overlays, job.duration,
                                   job.font_file, (p.width, p.height), static=True)
    overlays, static = overlay_graph("bg", job.overlays, job.duration, job.font_file, p,
                                     job.encoder_filter_suffix)
    graph = f"{bg_chain};{overlays};{mix_graph(job, voice_idx, bgm_idx)};{_loudness_tail(job)}"

    output = job.output.absolute()
    partial = partial_path(output)
    args = ("-y", *job.encoder_input_args, *inputs, "-filter_complex", graph,
            *output_args(p, job.encoder_args, job.duration, job.metadata, partial))
    on_screen = (job.overlays.banner, *job.overlays.end_card)
    files = {**background_files(job.background, job.duration), OVERLAY_FILE: ass,
             STATIC_FILE: static}
    return RenderPlan(args=args, files=files, font_file=job.font_file,
                      output=output, partial=partial, duration=job.duration, label=label,
                      on_screen=on_screen, extra_fonts=background_fonts(job.background))


def first_seconds(plan: RenderPlan, seconds: float) -> RenderPlan:
    """The same render stopped after its first `seconds` (a preview): only the output's `-t`
    changes — the last one in the arguments, as `output_args` comes last (a drama's clip
    inputs have their own) — so the frames shown are exactly the full video's."""
    if seconds <= 0:
        raise ValueError("seconds must be positive")
    args = list(plan.args)
    at = len(args) - 1 - args[::-1].index("-t")
    cut = min(seconds, plan.duration)
    args[at + 1] = f"{cut:.3f}"
    return replace(plan, args=tuple(args), duration=cut)
