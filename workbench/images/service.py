"""Story images for one video: beats from the voice timings, prompts, images through the cache.

Images are files under `<cache>/images/`, named by a hash of everything that decides them
(prompt, backend, model, size, endpoint, seed, backend version): a second run of the same job
makes no request. A file is written under a temporary name and renamed, so an interrupted run
never leaves a half image that looks cached.
"""

from __future__ import annotations

import contextlib
import json
import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from workbench.config import Settings
from workbench.files import write_bytes_atomic, write_text_atomic
from workbench.images.base import ImagesBackend
from workbench.images.prompts import (
    Beat,
    Completer,
    StyleSheet,
    beat_prompts,
    sheet_for,
    story_beats,
)
from workbench.render.backgrounds import Background
from workbench.store.cache import content_hash
from workbench.subtitles import SubtitleEvent, build_events
from workbench.voice.timing import TimingMap

log = logging.getLogger(__name__)

_EXTS = ("png", "jpeg", "webp")


@dataclass(frozen=True)
class StoryImages:
    beats: tuple[Beat, ...]
    prompts: tuple[str, ...]
    images: tuple[Path, ...]
    generated: int  # requests made (0: every image came from the cache)
    note: str = ""  # one line for the user: how many pictures, from where

    def background(self, seed: int) -> Background:
        """The render's background: image i from beat i's start to beat i+1's."""
        return Background("images", images=self.images, seed=seed,
                          starts=tuple(b.start for b in self.beats))


def image_key(backend: ImagesBackend, prompt: str, seed: int) -> str:
    return content_hash("images", backend.name, backend.version, backend.endpoint,
                        backend.model, backend.size, prompt, seed)


def cached_image(folder: Path, key: str) -> Path | None:
    for ext in _EXTS:
        path = folder / f"{key}.{ext}"
        if path.is_file():
            return path
    return None


def image_for(backend: ImagesBackend, prompt: str, seed: int, folder: Path) -> tuple[Path, bool]:
    """The image for `prompt` (cached, or generated now): (path, whether a request was made)."""
    key = image_key(backend, prompt, seed)
    hit = cached_image(folder, key)
    if hit is not None:
        return hit, False
    image = backend.generate(prompt, seed)
    path = folder / f"{key}.{image.format}"
    write_bytes_atomic(path, image.data)
    return path, True


def _prompts(beats: list[Beat], sheet: StyleSheet, llm: Completer | None, seed: int,
             folder: Path) -> list[str]:
    """Rules prompts are made on the spot; an LLM's are kept in the cache like the images."""
    if llm is None:
        return beat_prompts(beats, sheet, None, seed)
    key = content_hash("image-prompts", [b.text for b in beats], sheet.style, sheet.characters,
                       getattr(llm, "model", ""), getattr(llm, "endpoint", ""), seed)
    path = folder / f"prompts-{key}.json"
    if path.is_file():
        with contextlib.suppress(ValueError, OSError):
            data = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(data, list) and len(data) == len(beats):
                return [str(p) for p in data]
    prompts = beat_prompts(beats, sheet, llm, seed)
    write_text_atomic(path, json.dumps(prompts, ensure_ascii=False))
    return prompts


def make_story_images(events: list[SubtitleEvent], duration: float, sheet: StyleSheet,
                      backend: ImagesBackend, cache_dir: Path, *, seed: int, max_images: int,
                      llm: Completer | None = None, progress=None) -> StoryImages:
    """Beats → prompts → images (through the cache). `progress(fraction, message)`."""
    beats = story_beats(events, duration, max_images)
    folder = cache_dir / "images"
    folder.mkdir(parents=True, exist_ok=True)
    prompts = _prompts(beats, sheet, llm, seed, folder)
    paths, made = [], 0
    for i, prompt in enumerate(prompts):
        if progress is not None:
            progress(i / len(prompts), f"生成配图 {i + 1}/{len(prompts)}")
        path, requested = image_for(backend, prompt, seed, folder)
        paths.append(path)
        made += requested
    log.info("story images: %d beats, %d generated, %d from the cache", len(beats), made,
             len(beats) - made)
    return StoryImages(tuple(beats), tuple(prompts), tuple(paths), made)


def story_images_backend(settings: Settings) -> ImagesBackend:
    """The configured images backend; none configured is a BackendUnavailable saying how."""
    from workbench.images.registry import resolve_images_backend

    return resolve_images_backend(settings.images_backend, settings)


def story_images(settings: Settings, backend: ImagesBackend, front_matter: dict[str, Any],
                 timing: TimingMap, *, seed: int, progress=None) -> StoryImages:
    """The pictures of one narration: beats from its subtitle lines, prompts from the LLM when
    one is configured (else the rules), images through the cache."""
    llm = None
    if settings.llm_configured:
        from workbench.rewrite.openai_backend import OpenAIBackend

        llm = OpenAIBackend(settings)
    sheet = sheet_for(front_matter, settings.images_style)
    try:
        out = make_story_images(build_events(timing), timing.duration, sheet, backend,
                                settings.cache_dir, seed=seed, max_images=settings.images_max,
                                llm=llm, progress=progress)
    finally:
        if llm is not None:  # its HTTP connection pool, as transcription closes its backend's
            llm.close()
    n = len(out.images)
    source = f"大模型 {llm.model}" if llm is not None else "规则（名词 + 画风）"
    note = (f"配图：{n} 张（新生成 {out.generated} 张，缓存 {n - out.generated} 张），"
            f"图片模型 {backend.model}，提示词来自{source}")
    return replace(out, note=note)
