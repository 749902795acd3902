"""The sample drama 《夜渡》: three short episodes made by the project itself, so the drama
commands, `make demo-drama` and the tests have real episodes without a large file in the
repository.

Every line of the script (sample_drama.yaml) is spoken by the offline espeak voice through the
voice service (cached like any narration), the SRT beside each episode comes from the voice's
word timings, and the same lines are burned into the lower band of the picture, as on real
masters. The episodes are made once per generator version, script and engine versions, under
`cache/sample-drama/`, and copied from there to the folder asked for: a second run takes no
time and gives the same bytes.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from workbench.config import Settings
from workbench.errors import BackendError, InputError, RenderError
from workbench.files import atomic_output, sha256_file, write_text_atomic
from workbench.fonts import default_font_file
from workbench.materials.episodes import VIDEO_SUFFIXES
from workbench.materials.sample_drama_script import DramaScript, EpisodeScript, load_script
from workbench.materials.sample_episode import (
    ASS_FILE,
    FONTS_DIR,
    VOICE_FILE,
    EpisodeTimeline,
    VoicedLine,
    episode_ass,
    episode_command,
    episode_srt,
    lay_out,
    voice_track,
)
from workbench.models import Script, Segment
from workbench.store.cache import StageCache, content_hash

Progress = Callable[[float, str], None]
GENERATOR_VERSION = 1  # bump when the picture or sound changes for the same script
MANIFEST = "sample.json"
EPISODE_SECONDS = 120.0  # ffmpeg time limit per episode (it needs about one second)
MAX_SAMPLE_BYTES = 20 * 1024 * 1024  # all episodes together; they are a few MB
LOCK_WAIT = 300.0  # seconds to wait for another process making the same sample


def _quiet(fraction: float, message: str) -> None:
    pass


def episode_stem(title: str, number: int) -> str:
    """`夜渡 - 第1集`: the name real episodes carry, so add-drama orders them by it."""
    return f"{title} - 第{number}集"


def default_sample_dir(settings: Settings) -> Path:
    return settings.home / "samples" / load_script().title


def sample_key(script: DramaScript) -> str:
    """What the episodes depend on: this generator, the script, the voice and ffmpeg."""
    import imageio_ffmpeg

    from workbench.voice.espeak import EspeakBackend

    return content_hash("sample-drama", GENERATOR_VERSION, script.as_data(),
                        EspeakBackend().version, imageio_ffmpeg.get_ffmpeg_version())


def generate_sample_drama(out_dir: Path, settings: Settings,
                          progress: Progress | None = None) -> list[Path]:
    """Write `夜渡 - 第1集.mp4` … with a matching `.srt` beside each into `out_dir`; return the
    episode files in order. Made once and then served from the cache."""
    progress = progress or _quiet
    script = load_script()
    out_dir = Path(out_dir).expanduser()
    stems = [episode_stem(script.title, e.number) for e in script.episodes]
    _check_out_dir(out_dir, stems)
    source = cached_sample(settings, script, progress)
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = _read_manifest(source) or {}
    for name, digest in manifest.get("files", {}).items():
        target = out_dir / name
        if target.is_file() and sha256_file(target) == digest:
            continue
        with atomic_output(target, Path(name).suffix) as partial:
            shutil.copyfile(source / name, partial)
    return [out_dir / f"{stem}.mp4" for stem in stems]


def _check_out_dir(out_dir: Path, stems: list[str]) -> None:
    """Refuse a folder that holds other videos: add-drama on it would import them too."""
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"{out_dir} 是一个文件，不是文件夹：请用 --out 指定一个文件夹")
    if not out_dir.is_dir():
        return
    others = sorted(p.name for p in out_dir.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES
                    and p.stem not in stems and not p.name.startswith("."))
    if others:
        raise InputError(f"文件夹 {out_dir} 里已有其他视频（{'、'.join(others[:3])}），样片会和"
                         "它们混在一起导入：请用 --out 换一个空文件夹")


def cached_sample(settings: Settings, script: DramaScript, progress: Progress) -> Path:
    """The cache folder holding this script's episodes, made when missing or damaged."""
    from workbench.locks import FileLock, lock_path

    key = sample_key(script)
    folder = settings.cache_dir / "sample-drama" / f"v{GENERATOR_VERSION}-{key[:16]}"
    if _intact(folder):
        progress(1.0, "样片来自缓存")
        return folder
    lock = FileLock(lock_path(settings.home, "sample-drama"))
    if not lock.acquire(wait=LOCK_WAIT, on_wait=lambda: progress(0.0, "另一个进程正在生成样片，等待…")):
        raise RenderError(f"另一个进程生成样片超过 {LOCK_WAIT:.0f} 秒仍未完成：稍后再试")
    try:
        if _intact(folder):
            progress(1.0, "样片来自缓存")
            return folder
        _build(folder, key, script, settings, progress)
    finally:
        lock.release()
    progress(1.0, "样片已生成")
    return folder


def _read_manifest(folder: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("files"), dict) else None


def _intact(folder: Path) -> bool:
    """Whether the folder's manifest exists and every file it lists has its recorded sha256."""
    manifest = _read_manifest(folder)
    if not manifest or not manifest["files"]:
        return False
    return all((folder / name).is_file() and sha256_file(folder / name) == digest
               for name, digest in manifest["files"].items())


def _build(folder: Path, key: str, script: DramaScript, settings: Settings,
           progress: Progress) -> None:
    """Make every episode in a staging folder, then move it into place in one rename."""
    from workbench.store import open_db

    settings.ensure_dirs()
    folder.parent.mkdir(parents=True, exist_ok=True)
    for stale in folder.parent.glob(".v*"):  # left by a killed run (we hold the lock)
        shutil.rmtree(stale, ignore_errors=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    db = open_db(settings.db_path)
    try:
        files: dict[str, str] = {}
        episodes = []
        for i, episode in enumerate(script.episodes):
            share = 1 / len(script.episodes)
            stem = episode_stem(script.title, episode.number)
            progress(i * share, f"样片 {stem}：配音")
            voiced = _voice_lines(script, episode, settings, db)
            progress((i + 0.3) * share, f"样片 {stem}：合成画面")
            timeline = lay_out(voiced)
            _render(script, episode, voiced, timeline, staging / f"{stem}.mp4")
            write_text_atomic(staging / f"{stem}.srt", episode_srt(timeline))
            for name in (f"{stem}.mp4", f"{stem}.srt"):
                files[name] = sha256_file(staging / name)
            episodes.append({"number": episode.number, "duration": timeline.duration,
                             "size": [episode.width, episode.height],
                             "lines": len(timeline.lines)})
        total = sum((staging / name).stat().st_size for name in files)
        if total > MAX_SAMPLE_BYTES:
            raise RenderError(f"样片共 {total / 1e6:.1f} MB，超过上限 "
                              f"{MAX_SAMPLE_BYTES / 1e6:.0f} MB：生成器的设置有误")
        # written last: a folder without it is never taken for a finished sample
        write_text_atomic(staging / MANIFEST, json.dumps(
            {"version": GENERATOR_VERSION, "key": key, "title": script.title,
             "episodes": episodes, "files": files}, ensure_ascii=False, indent=1) + "\n")
        if folder.exists():
            shutil.rmtree(folder)  # damaged: it failed the check above
        os.replace(staging, folder)
    finally:
        db.close()
        shutil.rmtree(staging, ignore_errors=True)


def _voice_lines(script: DramaScript, episode: EpisodeScript, settings: Settings,
                 db: Database) -> list[VoicedLine]:
    """Every line spoken by its character's espeak voice through the voice service (so it is
    cached in the stage cache like any narration)."""
    from workbench.voice.registry import plan_voice
    from workbench.voice.service import voice_script

    cache, cache_dir = StageCache(db), settings.cache_dir / "voice"
    voiced: list[VoicedLine] = []
    for line in episode.lines:
        who = script.characters[line.who]
        plan = plan_voice(settings, backend="espeak", voice=who.voice, rate=who.rate,
                          pitch=who.pitch, volume="+0%")
        spoken = voice_script(Script([Segment(line.who, line.text)]), plan, cache, cache_dir,
                              pause=0)
        words = spoken.timing.words
        if not words:
            raise BackendError(f"espeak 没有给出台词「{line.text}」的词时间，无法写字幕")
        voiced.append(VoicedLine(line, spoken.pcm, spoken.sample_rate, words[0].start,
                                 words[-1].end))
    if len({v.sample_rate for v in voiced}) != 1:
        raise BackendError("espeak 返回了不同采样率的音频，无法拼成一条音轨")
    return voiced


def _render(script: DramaScript, episode: EpisodeScript, voiced: list[VoicedLine],
            timeline: EpisodeTimeline, output: Path) -> None:
    """One ffmpeg run in a work folder holding the subtitles, the voice track and the font."""
    from workbench.ffmpeg import run_ffmpeg
    from workbench.voice.audio import write_wav

    with tempfile.TemporaryDirectory(prefix="workbench-sample-") as tmp:
        work = Path(tmp)
        (work / ASS_FILE).write_text(episode_ass(script, episode, timeline), encoding="utf-8")
        write_wav(work / VOICE_FILE, voice_track(voiced, timeline), voiced[0].sample_rate)
        font = default_font_file()
        (work / FONTS_DIR).mkdir()
        try:
            (work / FONTS_DIR / font.name).symlink_to(font)
        except OSError:  # e.g. Windows without symlink rights
            shutil.copyfile(font, work / FONTS_DIR / font.name)
        run_ffmpeg(episode_command(script, episode, timeline, str(output.absolute())),
                   cwd=work, timeout=EPISODE_SECONDS, what=f"生成样片第{episode.number}集")
