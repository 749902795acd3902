"""The built-in background music: a soft chord pad made by ffmpeg, so the default render
needs no music file. Written once into the cache and looped under the voice by the render."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from workbench.errors import InputError
from workbench.ffmpeg import run_ffmpeg

GENERATED = "generated"
NONE = "none"
AUDIO_EXTS = {".mp3", ".m4a", ".aac", ".wav", ".flac", ".ogg", ".opus"}
_VERSION = 1
# A–F–C–G, four seconds each: (root, third, fifth) in Hz.
_CHORDS = ((220.00, 261.63, 329.63), (174.61, 220.00, 261.63),
           (261.63, 329.63, 392.00), (196.00, 246.94, 293.66))


def _pick(freqs: list[float]) -> str:
    """An ffmpeg expression choosing freqs[k] for chord k = floor(mod(t,16)/4)."""
    expr = f"{freqs[-1]}"
    for k in range(len(freqs) - 2, -1, -1):
        expr = f"if(eq(floor(mod(t\\,16)/4)\\,{k})\\,{freqs[k]}\\,{expr})"
    return expr


def _pad_expression() -> str:
    env = "min(1\\,mod(t\\,4)/0.8)*min(1\\,(4-mod(t\\,4))/0.8)"
    tones = [f"sin(2*PI*t*{_pick([c[i] for c in _CHORDS])})" for i in range(3)]
    bass = f"0.6*sin(PI*t*{_pick([c[0] for c in _CHORDS])})"
    return f"0.18*{env}*({'+'.join(tones)}+{bass})"


def generated_bgm(cache_dir: Path) -> Path:
    """Path of the built-in pad (16 s, loops seamlessly), made on first use."""
    path = cache_dir / "bgm" / f"pad-v{_VERSION}.m4a"
    if path.is_file() and path.stat().st_size > 0:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    # A name of its own: a render and a 背景音乐 preview may make the pad at the same time.
    fd, partial = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    try:
        run_ffmpeg(["-y", "-f", "lavfi", "-i", f"aevalsrc={_pad_expression()}:s=48000:d=16",
                    "-af", "lowpass=f=1800,aformat=channel_layouts=stereo",
                    "-c:a", "aac", "-b:a", "128k", "-f", "mp4", partial],
                   what="生成内置背景音乐")
        os.replace(partial, path)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    return path


def resolve_bgm(spec: str | Path | None, cache_dir: Path) -> Path | None:
    """`generated` (default) → the built-in pad; `none` → no music; else an audio file."""
    if spec is None or str(spec) in ("", GENERATED):
        return generated_bgm(cache_dir)
    if str(spec) == NONE:
        return None
    path = Path(spec).expanduser().absolute()
    if not path.is_file():
        raise InputError(f"背景音乐文件不存在: {path}（给一个音频文件，或用 generated / none）")
    if path.suffix.lower() not in AUDIO_EXTS:
        raise InputError(f"不支持的背景音乐格式: {path.name}（支持 {', '.join(sorted(AUDIO_EXTS))}）")
    return path
