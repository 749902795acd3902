"""The drama render plan: a pure function from a drama render job to one ffmpeg command.

One process does everything, as for novels (plan.py): every segment is trimmed from its
episode (`-ss`/`-t` on its own input), its burned-in subtitle band blurred when Workbench adds
subtitles of its own, brought to the output size (fitted over a blurred, enlarged copy of
itself, or cropped) and to the output frame rate, so episodes of different sizes and rates
concatenate; the last frame is held under the end card; the label and banner are drawn once
and overlaid (static_overlay.py, as for novels), the hook caption, end card and narration
subtitles are one libass pass; the episodes' own sound is kept (cut) or
ducked under the narration by a volume envelope over the narration's spans (narrated) — a
fixed curve from the voice timings, so the same job always gives the same mix; then the
loudness tail and the encode of the novel render.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import pysubs2

from workbench.render.loudness import measure_graph
from workbench.render.overlays import (
    PLAY_H,
    PLAY_W,
    LabelPlan,
    OverlaySpec,
    build_overlay_ass,
    fit_size,
)
from workbench.render.plan import (
    BGM_FADE,
    OVERLAY_FILE,
    RenderPlan,
    loudness_tail,
    output_args,
    overlay_graph,
    partial_path,
)
from workbench.render.profiles import RenderProfile
from workbench.render.static_overlay import STATIC_FILE
from workbench.subtitles import escape_ass

HOOK_TOP = 430  # px from the top of the 1080×1920 frame: below the label and the banner
SAME_SHAPE = 0.01  # aspect ratios this close fill the frame by scaling alone
FILL_SHRINK = 10  # the blurred fill is made at 1/10 of the frame and scaled up
MASK_SHRINK = 12  # the subtitle band is blurred by scaling it down this much and back up
RAMP = 0.25  # seconds the original sound takes to dip under the narration and come back
SPAN_JOIN = 0.8  # a pause this long (plus both ramps) between spoken words keeps the dip
CLIP_FADE = 0.02  # seconds of fade at every segment edge: no click where two are joined
TAIL_FADE = 0.3  # the original sound fades out over this before the end card
LEAD = 0.2  # seconds read past a segment's end, so the trim never runs short
END_CARD_FRAMES = 2  # the end card starts on the segments' last frames (ASS times are 1/100 s)


@dataclass(frozen=True)
class DramaClip:
    """One segment, resolved: the file, where in it, its picture and its rights record."""

    path: Path
    start: float
    seconds: float  # a whole number of output frames
    width: int
    height: int
    has_audio: bool
    band: tuple[float, float] | None = None  # burned-in subtitles to blur (fractions of height)
    episode: int = 0  # position in the material
    number: int | None = None  # the episode number its file name gives
    sha256: str = ""
    episode_seconds: float = 0.0
    source: str = ""  # the episode file as stored (`path` may be a worker's local copy)

    @property
    def end(self) -> float:
        return round(self.start + self.seconds, 3)


@dataclass(frozen=True)
class DramaRenderJob:
    """Everything a drama render needs, already resolved to files and values."""

    clips: tuple[DramaClip, ...]
    overlays: OverlaySpec
    profile: RenderProfile
    output: Path
    font_file: Path
    fit: str = "blur"  # blur | crop
    narration: Path | None = None  # narrated: the voice (WAV), from 0 s
    narration_spans: tuple[tuple[float, float], ...] = ()  # where the voice speaks
    narration_seconds: float = 0.0
    subtitles_ass: str | None = None  # narrated: Workbench's subtitles of the narration
    hook: str = ""  # cut: the hook caption, shown from the first frame
    hook_seconds: float = 3.0
    original_volume: float = 1.0
    duck_volume: float = 0.25
    bgm: Path | None = None
    bgm_volume: float = 0.25
    loudness: float = -14.0
    encoder_args: tuple[str, ...] = ()
    encoder_input_args: tuple[str, ...] = ()
    encoder_filter_suffix: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    measured_loudness: float | None = None

    @property
    def segments_seconds(self) -> float:
        return round(sum(c.seconds for c in self.clips), 3)

    @property
    def end_card_seconds(self) -> float:
        shown = self.overlays.end_card and self.overlays.end_card_seconds > 0
        return self.overlays.end_card_seconds if shown else 0.0

    @property
    def duration(self) -> float:
        """The video: the segments, then the end card appended after them."""
        return round(self.segments_seconds + self.end_card_seconds, 3)

    def input_files(self) -> list[Path]:
        """Files the render reads (besides the bundled font), each once."""
        files = [c.path for c in self.clips] + [p for p in (self.narration, self.bgm) if p]
        return list(dict.fromkeys(files))

    def with_files(self, mapping: dict[Path, Path]) -> DramaRenderJob:
        """The same job reading its files from other paths (`mapping[old] = new`)."""
        def moved(path: Path | None) -> Path | None:
            return None if path is None else mapping.get(path, path)

        return replace(self, clips=tuple(replace(c, path=mapping.get(c.path, c.path))
                                         for c in self.clips),
                       narration=moved(self.narration), bgm=moved(self.bgm),
                       font_file=mapping.get(self.font_file, self.font_file))


def frame_seconds(seconds: float, fps: int) -> float:
    """`seconds` as a whole number of output frames (at least one)."""
    return max(1, round(seconds * fps)) / fps


def _even(value: float) -> int:
    return max(2, round(value / 2) * 2)


def fit_size_of(width: int, height: int, frame: tuple[int, int]) -> tuple[int, int]:
    """The largest even size of `width`×`height`'s shape that fits inside `frame`."""
    w, h = frame
    scale = min(w / width, h / height)
    return min(w, _even(width * scale)), min(h, _even(height * scale))


def cover_crop(width: int, height: int, frame: tuple[int, int]) -> tuple[int, int]:
    """The centred part of a `width`×`height` picture that has the frame's shape."""
    w, h = frame
    if width * h > height * w:  # wider than the frame: keep the full height
        return min(width, _even(height * w / h)), height
    return width, min(height, _even(width * h / w))


def _mask_chain(clip: DramaClip, i: int) -> str:
    """Filters that blur the clip's subtitle band in its own picture ("" without a band)."""
    if clip.band is None:
        return ""
    top = _even(clip.band[0] * clip.height - 1)
    bottom = min(clip.height, _even(clip.band[1] * clip.height + 1))
    rows = max(2, bottom - top)
    small = (_even(clip.width / MASK_SHRINK), _even(rows / MASK_SHRINK))
    return (f"split=2[m{i}a][m{i}b];[m{i}b]crop={clip.width}:{rows}:0:{top},"
            f"scale={small[0]}:{small[1]}:flags=area,boxblur=1:1,"
            f"scale={clip.width}:{rows}:flags=bicubic[m{i}c];[m{i}a][m{i}c]overlay=0:{top}")


def _fill_chain(clip: DramaClip, fit: str, size: tuple[int, int], i: int) -> str:
    """The clip's picture brought to the frame: cropped, scaled, or fitted over a blurred,
    enlarged copy of itself (made small and scaled up: cheap, and smooth)."""
    w, h = size
    if abs(clip.width / clip.height - w / h) < SAME_SHAPE:
        return f"scale={w}:{h}"
    if fit == "crop":  # crop the source first: scaling a landscape picture up whole is costly
        cw, ch = cover_crop(clip.width, clip.height, size)
        return f"crop={cw}:{ch},scale={w}:{h}"
    fw, fh = fit_size_of(clip.width, clip.height, size)
    sw, sh = _even(w / FILL_SHRINK), _even(h / FILL_SHRINK)
    cw, ch = cover_crop(clip.width, clip.height, (sw, sh))
    return (f"split=2[f{i}a][f{i}b];"
            f"[f{i}b]crop={cw}:{ch},scale={sw}:{sh}:flags=area,"
            f"boxblur=4:1,scale={w}:{h}:flags=bilinear[f{i}c];"
            f"[f{i}a]scale={fw}:{fh}[f{i}d];[f{i}c][f{i}d]overlay={(w - fw) // 2}:{(h - fh) // 2}")


def clip_inputs(clips: Sequence[DramaClip]) -> list[str]:
    """One input per segment, read from its start for its length (and a little more)."""
    args: list[str] = []
    for clip in clips:
        args += ["-ss", f"{clip.start:.3f}", "-t", f"{clip.seconds + LEAD:.3f}",
                 "-i", str(clip.path.absolute())]
    return args


def video_graph(job: DramaRenderJob) -> str:
    """Segments → `[segv]`: each normalised to the frame and frame rate, then joined."""
    p = job.profile
    chains, labels = [], []
    for i, clip in enumerate(job.clips):
        mask = _mask_chain(clip, i)
        steps = ["setpts=PTS-STARTPTS", *([mask] if mask else []),
                 _fill_chain(clip, job.fit, (p.width, p.height), i),
                 (f"setsar=1,fps={p.fps},format=yuv420p,tpad=stop_mode=clone:stop_duration=1,"
                 f"trim=duration={clip.seconds:.6f},setpts=PTS-STARTPTS")]
        chains.append(f"[{i}:v]{','.join(steps)}[v{i}]")
        labels.append(f"[v{i}]")
    joined = (f"{''.join(labels)}concat=n={len(labels)}:v=1:a=0" if len(labels) > 1
              else "[v0]null")
    return ";".join([*chains, f"{joined}[segv]"])


def _audio_format(rate: int) -> str:
    return f"aresample={rate},aformat=sample_fmts=fltp:channel_layouts=stereo"


def duck_expression(job: DramaRenderJob) -> str:
    """The original sound's gain over time: `original_volume`, falling to `duck_volume` over
    RAMP seconds before each narration span and rising after it."""
    high, low = job.original_volume, job.duck_volume
    terms = [f"clip((t-{a - RAMP:.3f})/{RAMP}\\,0\\,1)*clip(({b + RAMP:.3f}-t)/{RAMP}\\,0\\,1)"
             for a, b in duck_spans(job.narration_spans)]
    if not terms:
        return f"{high:g}"
    return f"{high:g}-{high - low:g}*min(1\\,{'+'.join(terms)})"


def duck_spans(spans: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """Narration spans joined across short pauses, so the sound does not pump between words."""
    joined: list[list[float]] = []
    for start, end in sorted(spans):
        if joined and start - joined[-1][1] < SPAN_JOIN + 2 * RAMP:
            joined[-1][1] = max(joined[-1][1], end)
        else:
            joined.append([start, end])
    return [(a, b) for a, b in joined]


def audio_graph(job: DramaRenderJob) -> str:
    """The episodes' sound (trimmed, joined, at its volume or ducked) with the narration and
    any BGM, as `[mix]`. Inputs are numbered as in `drama_render_plan`."""
    rate, total, n = job.profile.audio_rate, job.duration, len(job.clips)
    chains, labels = [], []
    for i, clip in enumerate(job.clips):
        fades = (f"afade=t=in:d={CLIP_FADE},"
                 f"afade=t=out:st={max(0.0, clip.seconds - CLIP_FADE):.3f}:d={CLIP_FADE}")
        source = (f"[{i}:a]asetpts=PTS-STARTPTS,{_audio_format(rate)},apad,"
                  if clip.has_audio else f"anullsrc=r={rate}:cl=stereo,{_audio_format(rate)},")
        chains.append(f"{source}atrim=0:{clip.seconds:.6f},asetpts=N/SR/TB,{fades}[a{i}]")
        labels.append(f"[a{i}]")
    joined = f"{''.join(labels)}concat=n={n}:v=0:a=1" if n > 1 else "[a0]anull"
    seg_end = job.segments_seconds
    envelope = (f"volume='{duck_expression(job)}':eval=frame" if job.narration is not None
                else f"volume={job.original_volume:g}")
    chains.append(f"{joined},{envelope},afade=t=out:st={max(0.0, seg_end - TAIL_FADE):.3f}"
                  f":d={TAIL_FADE},apad=whole_dur={total:.3f}[orig]")
    mixed = ["[orig]"]
    next_input = n
    voice = None
    if job.narration is not None:
        voice = next_input
        next_input += 1
        chains.append(f"[{voice}:a]{_audio_format(rate)},apad=whole_dur={total:.3f}"
                      + (",asplit=2[voice][key]" if job.bgm is not None else "[voice]"))
        mixed.append("[voice]")
    if job.bgm is not None:
        bed = (f"[{next_input}:a]{_audio_format(rate)},volume={job.bgm_volume:g},"
               f"atrim=0:{total:.3f},afade=t=out:st={max(0.0, total - BGM_FADE):.3f}:"
               f"d={BGM_FADE}")
        if voice is not None:
            chains += [f"{bed}[bed]",
                       ("[bed][key]sidechaincompress=threshold=0.02:ratio=8:attack=15:"
                       "release=350[ducked]")]
        else:
            chains.append(f"{bed}[ducked]")
        mixed.append("[ducked]")
    chains.append(f"{''.join(mixed)}amix=inputs={len(mixed)}:duration=first:normalize=0[mix]"
                  if len(mixed) > 1 else "[orig]anull[mix]")
    return ";".join(chains)


def audio_inputs(job: DramaRenderJob) -> list[str]:
    """Every input of the plan: the segments, then the narration, then the BGM."""
    args = clip_inputs(job.clips)
    if job.narration is not None:
        args += ["-i", str(job.narration.absolute())]
    if job.bgm is not None:
        args += ["-stream_loop", "-1", "-i", str(job.bgm.absolute())]
    return args


def hook_ass(hook: str, seconds: float, font_file: Path) -> str | None:
    """The hook caption as an ASS script (1080×1920), for the overlay pass to add to."""
    if not hook.strip():
        return None
    subs = pysubs2.SSAFile()
    subs.info.update({"PlayResX": str(PLAY_W), "PlayResY": str(PLAY_H), "WrapStyle": "0",
                      "ScaledBorderAndShadow": "yes"})
    size = fit_size(font_file, hook, 86, PLAY_W - 2 * 80)
    white = pysubs2.Color(0xFF, 0xFF, 0xFF)
    subs.styles["Hook"] = pysubs2.SSAStyle(
        fontname="Noto Sans SC", fontsize=size, primarycolor=white, secondarycolor=white,
        outlinecolor=pysubs2.Color(0xC0, 0x10, 0x20, 0x10), backcolor=pysubs2.Color(0, 0, 0, 0x80),
        outline=14, shadow=0, borderstyle=3, alignment=pysubs2.Alignment(8),
        marginl=80, marginr=80, marginv=HOOK_TOP)
    subs.append(pysubs2.SSAEvent(start=0, end=round(seconds * 1000), style="Hook",
                                 text=escape_ass(hook)))
    return subs.to_string("ass")


def segment_overlays(job: DramaRenderJob) -> OverlaySpec:
    """The overlays as drawn on the segments' frames: the end card on their last frames
    (END_CARD_FRAMES), which are then held for the end card's seconds, so it is drawn once
    instead of on every held frame. What is on the last frame — label, banner — stays on
    through the hold."""
    if job.end_card_seconds <= 0:
        return job.overlays
    shown = min(job.segments_seconds, END_CARD_FRAMES / job.profile.fps)
    return replace(job.overlays, end_card_seconds=shown)


def overlay_ass(job: DramaRenderJob, subtitles: str | None) -> tuple[str, LabelPlan]:
    """The libass script for the segments' frames: subtitles or hook, and the end card (the
    label and banner are drawn once and overlaid: `static_overlay`; the end card's veil is a
    lookup table: `overlays.end_card_dim`); and where the label is."""
    p = job.profile
    seg_end, total = job.segments_seconds, job.duration
    length = seg_end if job.end_card_seconds > 0 else total
    ass, label = build_overlay_ass(subtitles, segment_overlays(job), length, job.font_file,
                                   (p.width, p.height), static=True)
    if job.end_card_seconds > 0 and label.end >= seg_end - 1e-6:  # held with the last frame
        label = replace(label, end=total)
    return ass, label


def drama_render_plan(job: DramaRenderJob) -> RenderPlan:
    """The ffmpeg arguments for `job`. Pure: reads nothing but the font's metrics."""
    p = job.profile
    total, card = job.duration, job.end_card_seconds
    subtitles = job.subtitles_ass if job.narration is not None else hook_ass(
        job.hook, min(job.hook_seconds, job.segments_seconds), job.font_file)
    ass, label = overlay_ass(job, subtitles)
    length = job.segments_seconds if card > 0 else total
    hold = f",tpad=stop_mode=clone:stop_duration={card:.3f}" if card > 0 else ""
    overlays, static = overlay_graph("segv", segment_overlays(job), length, job.font_file, p,
                                     job.encoder_filter_suffix, hold)
    graph = ";".join([video_graph(job), overlays, audio_graph(job),
                      loudness_tail(job.loudness, job.measured_loudness, p.audio_rate)])
    output = job.output.absolute()
    partial = partial_path(output)
    args = ("-y", *job.encoder_input_args, *audio_inputs(job), "-filter_complex", graph,
            *output_args(p, job.encoder_args, total, job.metadata, partial))
    hook = (job.hook,) if job.narration is None and job.hook.strip() else ()
    on_screen = (job.overlays.banner, *job.overlays.end_card, *hook)
    files = {OVERLAY_FILE: ass, STATIC_FILE: static}
    return RenderPlan(args=args, files=files, font_file=job.font_file,
                      output=output, partial=partial, duration=total, label=label,
                      on_screen=on_screen)


def with_measured_drama_loudness(job: DramaRenderJob) -> DramaRenderJob:
    """The job with its mix measured (an audio-only pass over the same inputs and graph), so
    the render applies one exact gain."""
    measured = measure_graph(audio_inputs(job), audio_graph(job), job.duration)
    return replace(job, measured_loudness=measured)


def drama_manifest(job: DramaRenderJob) -> dict[str, object]:
    """The manifest's render entries that describe a drama's picture and sound."""
    return {"fit": job.fit, "narrated": job.narration is not None,
            "mask": [[c.episode, list(c.band)] for c in job.clips if c.band is not None],
            "original_volume": job.original_volume,
            "duck_volume": job.duck_volume if job.narration is not None else None,
            "hook": job.hook or None}
