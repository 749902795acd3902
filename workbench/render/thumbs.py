"""Small still previews of a background choice (for pickers), cached by what they show."""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path

from workbench.ffmpeg import run_ffmpeg
from workbench.files import atomic_output
from workbench.render.backgrounds import (
    background_files,
    background_fonts,
    background_graph,
    resolve_background,
)
from workbench.render.profiles import RenderProfile
from workbench.render.run import write_workdir

THUMB = RenderProfile("thumb", 180, 320, 10, 30, "ultrafast")

# One frame of a checked background takes well under a second; the app waits on this.
PREVIEW_SECONDS = 60


def background_thumbnail(spec: str | None, seed: int, cache_dir: Path, at: float = 1.0) -> Path:
    """A 180×320 JPEG of what the background shows `at` seconds in, through the same filter
    graph the render uses (so the palette, the crop and the start offset are the real ones)."""
    background = resolve_background(spec, seed=seed)
    key = hashlib.sha256(json.dumps([background.describe(), at, _mtimes(background)],
                                    sort_keys=True).encode()).hexdigest()[:16]
    out = cache_dir / "thumbs" / f"bg-{key}.jpg"
    if out.is_file():
        return out
    inputs, chain = background_graph(background, THUMB, duration=at + 1.0, first_input=0)
    # A name of its own: two page loads may draw the same thumbnail at the same time.
    with atomic_output(out, ".jpg") as partial, tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)  # the files and fonts the chain names (the reading page's)
        write_workdir(work, background_files(background, at + 1.0),
                      background_fonts(background))
        run_ffmpeg([*inputs, "-filter_complex", chain, "-map", "[bg]", "-ss", f"{at:.2f}",
                    "-frames:v", "1", "-q:v", "4", "-y", str(partial.absolute())],
                   what="背景预览图", timeout=PREVIEW_SECONDS, cwd=work)
    return out


def _mtimes(background) -> list[float]:
    files = [p for p, _ in background.clips] + list(background.images)
    return [Path(p).stat().st_mtime for p in files]
