"""The built-in background music: a soft chord pad made by ffmpeg, so the default render
needs no music file. Written once into the cache and looped under the voice by the render."""

from __future__ import annotations

from pathlib import Path

from workbench.errors import InputError
from workbench.ffmpeg import run_ffmpeg
from workbench.files import atomic_output
from workbench.render.probe import check_media

GENERATED = "generated"
NONE = "none"
AUDIO_EXTS = {".mp3", ".m4a", ".aac", ".wav", ".flac", ".ogg", ".opus"}
_VERSION = 1
# Chord progressions, four seconds a chord, as (root, third, fifth) in Hz around A3. Variant 0
# is the original pad (A–F–C–G); variants mix a progression with a transposition so that
# sibling videos of a batch do not share their music.
_PROGRESSIONS = (
    ((220.00, 261.63, 329.63), (174.61, 220.00, 261.63),  # Am–F–C–G
     (261.63, 329.63, 392.00), (196.00, 246.94, 293.66)),
    ((261.63, 329.63, 392.00), (196.00, 246.94, 293.66),  # C–G–Am–F
     (220.00, 261.63, 329.63), (174.61, 220.00, 261.63)),
    ((220.00, 261.63, 329.63), (146.83, 174.61, 220.00),  # Am–Dm–G–C
     (196.00, 246.94, 293.66), (261.63, 329.63, 392.00)),
    ((174.61, 220.00, 261.63), (196.00, 246.94, 293.66),  # F–G–Em–Am
     (164.81, 196.00, 246.94), (220.00, 261.63, 329.63)),
)
_TRANSPOSE = (0, -3, 2)  # semitones
PAD_VARIANTS = len(_PROGRESSIONS) * len(_TRANSPOSE)


def _pick(freqs: list[float]) -> str:
    """An ffmpeg expression choosing freqs[k] for chord k = floor(mod(t,16)/4)."""
    expr = f"{freqs[-1]:.2f}"
    for k in range(len(freqs) - 2, -1, -1):
        expr = f"if(eq(floor(mod(t\\,16)/4)\\,{k})\\,{freqs[k]:.2f}\\,{expr})"
    return expr


def _pad_expression(variant: int = 0) -> str:
    chords = _PROGRESSIONS[variant % len(_PROGRESSIONS)]
    factor = 2 ** (_TRANSPOSE[variant // len(_PROGRESSIONS) % len(_TRANSPOSE)] / 12)
    chords = tuple(tuple(f * factor for f in chord) for chord in chords)
    env = "min(1\\,mod(t\\,4)/0.8)*min(1\\,(4-mod(t\\,4))/0.8)"
    tones = [f"sin(2*PI*t*{_pick([c[i] for c in chords])})" for i in range(3)]
    bass = f"0.6*sin(PI*t*{_pick([c[0] for c in chords])})"
    return f"0.18*{env}*({'+'.join(tones)}+{bass})"


def generated_bgm(cache_dir: Path, variant: int = 0) -> Path:
    """Path of built-in pad number `variant` (16 s, loops seamlessly), made on first use."""
    variant %= PAD_VARIANTS
    suffix = f"-{variant}" if variant else ""
    path = cache_dir / "bgm" / f"pad-v{_VERSION}{suffix}.m4a"
    if path.is_file() and path.stat().st_size > 0:
        return path
    # A name of its own: a render and a 背景音乐 preview may make the pad at the same time.
    with atomic_output(path) as partial:
        run_ffmpeg(["-y", "-f", "lavfi", "-i",
                    f"aevalsrc={_pad_expression(variant)}:s=48000:d=16",
                    "-af", "lowpass=f=1800,aformat=channel_layouts=stereo",
                    "-c:a", "aac", "-b:a", "128k", "-f", "mp4", str(partial)],
                   what="生成内置背景音乐")
    return path


def generated_variant(spec: str | Path | None) -> int | None:
    """`generated` → 0, `generated:N` → N, anything else → None."""
    text = "" if spec is None else str(spec)
    if text in ("", GENERATED):
        return 0
    name, sep, number = text.partition(":")
    if name != GENERATED or not sep:
        return None
    if not (number.isdigit() and len(number) <= 3 and int(number) < PAD_VARIANTS):
        raise InputError(f"内置背景音乐编号无效: {text[:40]}（写 generated 或 generated:0 到 "
                         f"generated:{PAD_VARIANTS - 1}）")
    return int(number)


def resolve_bgm(spec: str | Path | None, cache_dir: Path) -> Path | None:
    """`generated` (default) or `generated:N` → a built-in pad; `none` → no music; else an
    audio file."""
    variant = generated_variant(spec)
    if variant is not None:
        return generated_bgm(cache_dir, variant)
    if str(spec) == NONE:
        return None
    return check_bgm_file(Path(spec).expanduser().absolute())


def check_bgm_file(path: Path) -> Path:
    """`path` when it is a music file whose audio decodes; else InputError (a damaged file or
    one without sound is refused before the render, by `make`, the batch dry run and uploads)."""
    if not path.is_file():
        raise InputError(f"背景音乐文件不存在: {path}（给一个音频文件，或用 generated / none）")
    if path.suffix.lower() not in AUDIO_EXTS:
        raise InputError(f"不支持的背景音乐格式: {path.name}（支持 {', '.join(sorted(AUDIO_EXTS))}）")
    check_media(path, "audio", "背景音乐")
    return path
