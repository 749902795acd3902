"""One episode of the sample drama, as plain data and one ffmpeg command: where every line and
every shot falls (`lay_out`), the burned-in subtitles and captions (`episode_ass`), the SRT
(`episode_srt`) and the encode (`episode_command`). Pure: no files, no processes.

An episode is a title card followed by one shot per line. A line's voice starts a little after
its shot begins; the cut to the next shot falls in the middle of the pause after the line, so a
frame just after a line ends still shows that line's shot, only without its subtitle (which is
what lets a test, or the drama mask, find the subtitle band). On screen and in the SRT a line
lasts from its first spoken word to its last, as the voice's word timings say.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import pysubs2

from workbench.materials.sample_drama_script import DramaScript, EpisodeScript, Line
from workbench.subtitles import escape_ass

FPS = 25
TITLE_SECONDS = 1.0  # the title card (剧名, 集数, place)
LEAD_SECONDS = 0.3  # from a shot's start to its line's voice
GAP_SECONDS = 0.5  # silence between two lines; the cut is in its middle
TAIL_SECONDS = 1.0  # after the last line's voice
AUDIO_RATE = 44100
ASS_FILE = "episode.ass"
VOICE_FILE = "voice.wav"
FONTS_DIR = "fonts"
FONT_NAME = "Noto Sans SC"
# The burned-in dialogue sits in the lower band, as on real masters: its baseline this share of
# the frame height above the bottom edge.
LOWER_MARGIN = 0.1
TITLE_COLOURS = ("0x05060a", "0x181c28")


@dataclass(frozen=True)
class VoicedLine:
    """A line as the voice spoke it: mono s16le PCM and where its words start and end."""

    line: Line
    pcm: bytes
    sample_rate: int
    first_word: float  # seconds into `pcm`
    last_word: float

    @property
    def duration(self) -> float:
        return len(self.pcm) / 2 / self.sample_rate


@dataclass(frozen=True)
class TimedLine:
    who: str
    text: str
    audio_start: float  # where its voice starts in the episode
    start: float  # on screen and in the SRT: its first word …
    end: float  # … to its last


@dataclass(frozen=True)
class Shot:
    who: str  # the speaker, "" for the title card
    first_frame: int
    frames: int

    @property
    def start(self) -> float:
        return self.first_frame / FPS

    @property
    def end(self) -> float:
        return (self.first_frame + self.frames) / FPS


@dataclass(frozen=True)
class EpisodeTimeline:
    lines: tuple[TimedLine, ...]
    shots: tuple[Shot, ...]
    frames: int

    @property
    def duration(self) -> float:
        return self.frames / FPS


def lay_out(voiced: Sequence[VoicedLine]) -> EpisodeTimeline:
    """Where every line and shot of an episode falls, from its lines' voice lengths."""
    title_frames = round(TITLE_SECONDS * FPS)
    t = title_frames / FPS + LEAD_SECONDS
    lines: list[TimedLine] = []
    voice_ends: list[float] = []
    for v in voiced:
        lines.append(TimedLine(v.line.who, v.line.text, round(t, 3), round(t + v.first_word, 3),
                               round(t + v.last_word, 3)))
        voice_ends.append(t + v.duration)
        t += v.duration + GAP_SECONDS
    cuts = [title_frames, *(round((end + GAP_SECONDS / 2) * FPS) for end in voice_ends[:-1])]
    total = math.ceil((voice_ends[-1] + TAIL_SECONDS) * FPS)
    bounds = [*cuts, total]
    shots = [Shot("", 0, title_frames)] + [
        Shot(line.who, bounds[i], bounds[i + 1] - bounds[i]) for i, line in enumerate(lines)]
    return EpisodeTimeline(tuple(lines), tuple(shots), total)


def voice_track(voiced: Sequence[VoicedLine], timeline: EpisodeTimeline) -> bytes:
    """All lines' voices placed at their times in one mono s16le track as long as the episode."""
    rate = voiced[0].sample_rate
    track = bytearray(2 * round(timeline.duration * rate))
    for v, line in zip(voiced, timeline.lines, strict=True):
        at = 2 * round(line.audio_start * rate)
        track[at:at + len(v.pcm)] = v.pcm
    return bytes(track[:2 * round(timeline.duration * rate)])


def _colour(hex_rgb: str, alpha: int = 0) -> pysubs2.Color:
    value = int(hex_rgb, 16)
    return pysubs2.Color(value >> 16, (value >> 8) & 0xFF, value & 0xFF, alpha)


def _style(size: int, colour: str, alignment: pysubs2.Alignment, margin_lr: int, margin_v: int,
           *, outline: float, box: bool = False) -> pysubs2.SSAStyle:
    return pysubs2.SSAStyle(
        fontname=FONT_NAME, fontsize=size, primarycolor=_colour(colour),
        secondarycolor=_colour(colour), outlinecolor=_colour("0x000000", 0x50 if box else 0),
        backcolor=_colour("0x000000", 0x80), outline=outline, shadow=0 if box else 1,
        borderstyle=3 if box else 1, alignment=alignment, marginl=margin_lr, marginr=margin_lr,
        marginv=margin_v)


def episode_ass(script: DramaScript, episode: EpisodeScript, timeline: EpisodeTimeline) -> str:
    """The title card, a name caption per shot (top left) and the dialogue (lower band)."""
    w, h = episode.width, episode.height
    short = min(w, h)
    subs = pysubs2.SSAFile()
    subs.info.update({"PlayResX": str(w), "PlayResY": str(h), "WrapStyle": "0",
                      "ScaledBorderAndShadow": "yes"})
    A = pysubs2.Alignment
    subs.styles["Line"] = _style(round(short * 0.066), "0xffffff", A.BOTTOM_CENTER,
                                 round(w * 0.05), round(h * LOWER_MARGIN), outline=3)
    subs.styles["Name"] = _style(round(short * 0.042), "0xffd27f", A.TOP_LEFT, round(w * 0.05),
                                 round(h * 0.05), outline=6, box=True)
    subs.styles["Title"] = _style(round(short * 0.16), "0xffffff", A.MIDDLE_CENTER, 0, 0,
                                  outline=0)
    small = round(short * 0.05)
    title = (f"{escape_ass(script.title)}\\N{{\\fs{small}}}第{episode.number}集"
             + (f"  {escape_ass(episode.place)}" if episode.place else ""))
    first = timeline.shots[0]
    subs.append(pysubs2.SSAEvent(start=0, end=round(first.end * 1000), text=title,
                                 style="Title"))
    for shot in timeline.shots[1:]:
        subs.append(pysubs2.SSAEvent(start=round(shot.start * 1000), end=round(shot.end * 1000),
                                     text=escape_ass(shot.who), style="Name"))
    for line in timeline.lines:
        subs.append(pysubs2.SSAEvent(start=round(line.start * 1000), end=round(line.end * 1000),
                                     text=escape_ass(line.text), style="Line"))
    return subs.to_string("ass")


def episode_srt(timeline: EpisodeTimeline) -> str:
    """The dialogue as SRT, with the same times as the burned-in lines."""
    subs = pysubs2.SSAFile()
    for line in timeline.lines:
        subs.append(pysubs2.SSAEvent(start=round(line.start * 1000), end=round(line.end * 1000),
                                     text=line.text))
    return subs.to_string("srt")


def _figure(script: DramaScript, who: str, w: int, h: int) -> str:
    """The speaker as a dark figure (a head over a body), on the left, right or in the middle by
    character, so a cut from one speaker to the next changes the whole frame."""
    place = list(script.characters).index(who) % 3
    body_h = h * 9 // 20
    body_w = body_h * 11 // 20
    x = (w // 10, w - w // 10 - body_w, (w - body_w) // 2)[place]
    head = body_w // 2
    return (f"drawbox=x={x}:y={h - body_h}:w={body_w}:h={body_h}:color=black@0.8:t=fill,"
            f"drawbox=x={x + (body_w - head) // 2}:y={h - body_h - head * 6 // 5}:w={head}"
            f":h={head}:color=black@0.8:t=fill,")


def _shot_source(script: DramaScript, episode: EpisodeScript, shot: Shot, index: int) -> str:
    """A still gradient in the speaker's colours with the speaker's figure, drawn at a quarter of
    the size and scaled up (soft, and nearly free); its type and seed change from shot to shot,
    so every cut is a clear one. Still, so that within a shot only the subtitles change."""
    colours = (script.characters[shot.who].colours if shot.who else TITLE_COLOURS)
    kind = ("linear", "radial", "circular")[index % 3]
    w, h = episode.width // 4, episode.height // 4
    named = ":".join(f"c{i}={c}" for i, c in enumerate(colours))
    figure = _figure(script, shot.who, w, h) if shot.who else ""
    return (f"gradients=s={w}x{h}:r={FPS}:{named}:n={len(colours)}:type={kind}"
            f":speed=0:seed={episode.number * 100 + index}:d={shot.frames / FPS + 0.2:.3f},"
            f"trim=end_frame={shot.frames},setpts=PTS-STARTPTS,{figure}"
            f"scale={episode.width}:{episode.height}:flags=bicubic,setsar=1[s{index}]")


def episode_command(script: DramaScript, episode: EpisodeScript, timeline: EpisodeTimeline,
                    output: str) -> list[str]:
    """ffmpeg arguments, run in a folder holding ASS_FILE, VOICE_FILE and FONTS_DIR: the shots
    cut together with the captions and dialogue burned in, the voices over a quiet bed of river
    noise and engine hum, H.264 + AAC."""
    seconds = f"{timeline.duration:.3f}"
    shots = [_shot_source(script, episode, shot, i) for i, shot in enumerate(timeline.shots)]
    joined = "".join(f"[s{i}]" for i in range(len(shots)))
    picture = (f"{joined}concat=n={len(shots)}:v=1:a=0,"
               f"subtitles=filename={ASS_FILE}:fontsdir={FONTS_DIR},format=yuv420p[v]")
    voice = f"[0:a]aresample={AUDIO_RATE},volume=2,apad=whole_dur={seconds}[voice]"
    river = (f"anoisesrc=color=brown:amplitude=0.08:seed={episode.number}:r={AUDIO_RATE}"
             f":d={seconds},lowpass=f=400[river]")
    hum = (f"aevalsrc=0.015*sin(2*PI*55*t)*(0.7+0.3*sin(2*PI*0.3*t)):s={AUDIO_RATE}"
           f":d={seconds}[hum]")
    mix = ("[voice][river][hum]amix=inputs=3:duration=first:normalize=0,"
           "aformat=sample_fmts=fltp:channel_layouts=stereo[a]")
    return ["-y", "-i", VOICE_FILE, "-filter_complex", ";".join([*shots, picture, voice, river,
                                                                  hum, mix]),
            "-map", "[v]", "-map", "[a]", "-c:v", "libx264", "-preset", "ultrafast", "-crf", "27",
            "-pix_fmt", "yuv420p", "-r", str(FPS), "-g", str(FPS * 2), "-c:a", "aac",
            "-b:a", "96k", "-ar", str(AUDIO_RATE), "-t", seconds, "-map_metadata", "-1",
            "-movflags", "+faststart", "-f", "mp4", output]
