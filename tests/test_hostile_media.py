"""Damaged media never hangs a render: still images, footage and music are decoded before the
render (by `make`, the batch dry run and uploads), and a stalled ffmpeg is killed by the
render's watchdog with an error naming its inputs.

The damaged files are made here from real ones (Pillow pictures, ffmpeg clips): a PNG cut to a
third, a JPEG whose data after the scan header is random bytes, an MP4 cut in half. Before the
checks, ffmpeg looping such a still (`-loop 1`) spun at 100% CPU and above 1 GB of memory
without ever failing or reporting progress.
"""

from __future__ import annotations

import dataclasses
import os
import random
import time
from pathlib import Path

import numpy as np
import pytest
from cli_runner import run_cli
from conftest import SAMPLES
from PIL import Image
from tiny_templates import write_templates

from workbench.errors import InputError, RenderError
from workbench.ffmpeg import run_ffmpeg
from workbench.fonts import default_font_file
from workbench.render.backgrounds import Background, resolve_background
from workbench.render.bgm import resolve_bgm
from workbench.render.loudness import measure_mix
from workbench.render.overlays import OverlaySpec
from workbench.render.plan import RenderJob, render_plan
from workbench.render.probe import check_media, check_still
from workbench.render.profiles import get_profile
from workbench.render.run import execute
from workbench.uploads import store_upload
from workbench.voice.audio import write_wav

pytestmark = pytest.mark.timeout(60)
SR = 22050


# --- damaged inputs, made from real ones ------------------------------------------------------

def picture(path: Path) -> Path:
    """A textured picture (a JPEG of it has a sizeable scan)."""
    x, y = np.arange(640)[None, :], np.arange(480)[:, None]
    rgb = np.stack([(x * 7 + y) % 256, (x + y * 5) % 256, (x * y) % 256], axis=-1)
    Image.fromarray(rgb.astype(np.uint8)).save(path)
    return path


def truncated_png(path: Path) -> Path:
    data = picture(path).read_bytes()
    path.write_bytes(data[: len(data) // 3])
    return path


def garbage_jpeg(path: Path) -> Path:
    """Headers intact up to and including the start-of-scan segment, then random bytes."""
    data = picture(path).read_bytes()
    scan = data.index(b"\xff\xda")
    header_end = scan + 2 + int.from_bytes(data[scan + 2: scan + 4], "big")
    noise = random.Random(13).randbytes(len(data) - header_end)
    path.write_bytes(data[:header_end] + noise)
    return path


def clip(path: Path, *extra: str, audio: bool = False) -> Path:
    sources = ["-f", "lavfi", "-i", "testsrc2=s=160x120:r=25:d=2"]
    if audio:
        sources += ["-f", "lavfi", "-i", "sine=f=440:d=2"]
    run_ffmpeg(["-y", *sources, "-c:v", "libx264", "-preset", "ultrafast",
                "-pix_fmt", "yuv420p", *extra, str(path)])
    return path


def damaged(kind: str, folder: Path) -> Path:
    return {"png": lambda: truncated_png(folder / "cut.png"),
            "jpeg": lambda: garbage_jpeg(folder / "noise.jpg")}[kind]()


@pytest.mark.parametrize("kind", ["png", "jpeg"])
def test_damaged_still_is_refused_by_the_check(kind: str, tmp_path: Path) -> None:
    bad = damaged(kind, tmp_path)
    with Image.open(bad) as image:  # the header still reads: only a full decode tells
        assert image.size == (640, 480)
    with pytest.raises(InputError, match="背景图片已损坏或不完整") as caught:
        resolve_background(bad)
    assert str(bad) in str(caught.value) and "请换一张图片" in str(caught.value)
    # in a folder of images, too
    folder = tmp_path / "images"
    folder.mkdir()
    picture(folder / "fine.png")
    bad.rename(folder / bad.name)
    with pytest.raises(InputError, match=bad.name):
        for seed in range(8):  # whichever the seed picks, the damaged one is among them
            resolve_background(folder, seed=seed)
    assert resolve_background(folder / "fine.png").kind == "images"


def test_absurd_dimensions_are_refused_before_decoding(tmp_path: Path) -> None:
    huge = tmp_path / "huge.png"
    Image.new("1", (9000, 6000)).save(huge)  # 54 megapixels, a few kB on disk
    with pytest.raises(InputError, match="尺寸不合理.*9000×6000"):
        check_still(huge)


@pytest.fixture
def made_home(home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("WORKBENCH_TEMPLATES_DIR", str(write_templates(home.parent / "tpl")))
    monkeypatch.setenv("WORKBENCH_RENDER_PROFILE", "draft")
    added = run_cli("material", "add", str(SAMPLES / "night-ferry.txt"))
    assert added.returncode == 0, added.stderr
    return home


def make(*extra: str):
    return run_cli("make", "--material", "1", "--chapter", "2", "--template", "tiny",
                   "--keyword", "夜渡迷局", "--rewrite-backend", "rules", *extra)


@pytest.mark.parametrize("kind", ["png", "jpeg"])
def test_make_refuses_a_damaged_background_at_once(kind: str, made_home: Path,
                                                   tmp_path: Path) -> None:
    bad = damaged(kind, tmp_path)
    started = time.monotonic()
    result = make("--background", str(bad))
    assert time.monotonic() - started < 10
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "背景图片已损坏或不完整" in lines[0] and str(bad) in lines[0]
    assert "Traceback" not in result.stderr


def test_make_refuses_music_without_sound(made_home: Path, tmp_path: Path) -> None:
    silent_film = clip(tmp_path / "film.mp4")
    fake = tmp_path / "song.m4a"
    fake.write_bytes(silent_film.read_bytes())  # a video without audio, named like music
    result = make("--bgm", str(fake))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "背景音乐里没有音频" in result.stderr and str(fake) in result.stderr


def test_damaged_footage_and_music_are_refused(tmp_path: Path) -> None:
    good = clip(tmp_path / "good.mp4", audio=True)
    assert check_media(good, "video", "背景视频") == pytest.approx(2.0, abs=0.1)
    assert check_media(good, "audio", "背景音乐") == pytest.approx(2.0, abs=0.1)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(InputError, match=f"背景视频已损坏或不完整：{cut}"):
        resolve_background(cut)
    # header intact (moov first), frames replaced by noise
    front = clip(tmp_path / "front.mp4", "-movflags", "+faststart")
    data = front.read_bytes()
    mdat = data.index(b"mdat") + 4
    noisy = tmp_path / "noisy.mp4"
    noisy.write_bytes(data[:mdat] + random.Random(5).randbytes(len(data) - mdat))
    with pytest.raises(InputError, match=f"背景视频已损坏或不完整：{noisy}"):
        resolve_background(noisy)
    text = tmp_path / "notes.mp3"
    text.write_text("not music at all\n" * 50, encoding="utf-8")
    with pytest.raises(InputError, match=f"背景音乐已损坏或不完整：{text}"):
        resolve_bgm(text, tmp_path / "cache")
    with pytest.raises(InputError, match="背景音乐里没有音频"):
        fake = tmp_path / "film.wav"
        fake.write_bytes(clip(tmp_path / "film.mp4").read_bytes())
        resolve_bgm(fake, tmp_path / "cache")
    assert resolve_bgm(good.rename(tmp_path / "good.m4a"), tmp_path / "cache").is_file()


def test_batch_dry_run_refuses_damaged_media_with_file_and_line(made_home: Path,
                                                                tmp_path: Path) -> None:
    from batch_fixtures import write_folder

    folder = write_folder(tmp_path / "briefs", {
        "a.yaml": "chapters: 2\nbackground: cut.png\n",
        "b.yaml": "chapters: 2\n\nbgm: notes.mp3\n",
        "c.yaml": "chapters: 2\nbackground: pictures\n",
    })
    truncated_png(folder / "cut.png")
    (folder / "notes.mp3").write_text("not music\n" * 50, encoding="utf-8")
    (folder / "pictures").mkdir()
    picture(folder / "pictures" / "fine.png")
    garbage_jpeg(folder / "pictures" / "noise.jpg")  # a variant might pick it: refused now
    started = time.monotonic()
    result = run_cli("batch", str(folder), "--dry-run")
    assert time.monotonic() - started < 20
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert f"{folder / 'a.yaml'}:2: 背景图片已损坏或不完整：{folder / 'cut.png'}" in out, out
    assert f"{folder / 'b.yaml'}:3: 背景音乐已损坏或不完整：{folder / 'notes.mp3'}" in out, out
    assert f"{folder / 'c.yaml'}:2: 背景图片已损坏或不完整：" in out and "noise.jpg" in out, out
    assert "Traceback" not in out


def test_uploads_refuse_damaged_pictures_and_non_audio_music(settings, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="背景素材「x.png」已损坏或不完整"):
        store_upload(settings, "background", truncated_png(tmp_path / "upload1.png"), "x.png")
    notes = tmp_path / "upload2"
    notes.write_text("not music\n" * 50, encoding="utf-8")
    with pytest.raises(InputError, match="背景音乐「song.mp3」已损坏或不完整"):
        store_upload(settings, "bgm", notes, "song.mp3")
    assert not (settings.home / "uploads" / "bgm").exists() or not any(
        (settings.home / "uploads" / "bgm").iterdir())
    stored = store_upload(settings, "background", picture(tmp_path / "fine.png"))
    assert stored.is_file()


# --- the stall watchdog -----------------------------------------------------------------------

def render_job(background: Background, tmp_path: Path, **changes) -> RenderJob:
    audio = tmp_path / "voice.wav"
    write_wav(audio, bytes(2 * SR * 2), SR)  # two seconds of silence
    spec = OverlaySpec("本视频含AI生成内容", 0, "番茄小说搜索【夜渡迷局】", (), 0, "夜渡迷局")
    job = RenderJob(audio, 2.0, None, spec, background, get_profile("draft"),
                    tmp_path / "out" / "video.mp4", default_font_file())
    return dataclasses.replace(job, **changes)


def plan_over(background: Background, tmp_path: Path):
    return render_plan(render_job(background, tmp_path))


def ffmpeg_reading(path: Path) -> list[int]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if str(path).encode() in cmdline and b"ffmpeg" in cmdline:
            found.append(int(pid))
    return found


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes")
def test_watchdog_kills_an_ffmpeg_that_makes_no_progress(tmp_path: Path) -> None:
    never = tmp_path / "never.png"
    os.mkfifo(never)  # nobody writes: ffmpeg waits on it forever
    plan = plan_over(Background("images", images=(never,)), tmp_path)
    started = time.monotonic()
    with pytest.raises(RenderError, match="卡住了（stalled）：2 秒没有任何进展") as caught:
        execute(plan, stall=2)
    assert time.monotonic() - started < 10
    assert str(never) in str(caught.value)
    assert not plan.output.exists() and not plan.partial.exists()
    deadline = time.monotonic() + 5
    while ffmpeg_reading(never) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not ffmpeg_reading(never)


def test_watchdog_stops_the_spin_on_a_damaged_still(tmp_path: Path) -> None:
    """What happened before the checks: the damaged PNG reaches ffmpeg (the check bypassed)."""
    bad = truncated_png(tmp_path / "cut.png")
    plan = plan_over(Background("images", images=(bad,)), tmp_path)
    started = time.monotonic()
    with pytest.raises(RenderError, match=f"卡住了.*{bad}"):
        execute(plan, stall=2)
    assert time.monotonic() - started < 10
    assert not plan.partial.exists()


def test_other_formats_and_oversized_footage_are_refused(tmp_path: Path) -> None:
    tiff = tmp_path / "scan.png"  # a TIFF named like a PNG: Pillow reads it, ffmpeg may not
    Image.new("RGB", (64, 64), "navy").save(tiff, format="TIFF")
    with pytest.raises(InputError, match="背景图片已损坏或不完整"):
        check_still(tiff)
    huge = tmp_path / "huge.mkv"  # 43 megapixels a frame; one frame, so cheap to make
    run_ffmpeg(["-y", "-f", "lavfi", "-i", "color=c=navy:s=8200x5200:r=1:d=1", "-c:v", "mjpeg",
                "-pix_fmt", "yuvj420p", str(huge)])
    started = time.monotonic()
    with pytest.raises(InputError, match="背景视频画面太大.*8200×5200"):
        resolve_background(huge)
    assert time.monotonic() - started < 5  # refused from the header, nothing decoded


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes")
def test_loudness_pass_is_bounded_and_names_its_inputs(tmp_path: Path) -> None:
    never = tmp_path / "music.m4a"
    os.mkfifo(never)  # music that never arrives
    job = render_job(Background("generated"), tmp_path, bgm=never)
    started = time.monotonic()
    with pytest.raises(RenderError, match=f"测量响度超时.*{never}"):
        measure_mix(job, timeout=2)
    assert time.monotonic() - started < 10
    assert not ffmpeg_reading(never)


def test_the_apps_background_preview_refuses_a_damaged_still(tmp_path: Path) -> None:
    from workbench.render.thumbs import background_thumbnail

    bad = garbage_jpeg(tmp_path / "noise.jpg")
    started = time.monotonic()
    with pytest.raises(InputError, match=f"背景图片已损坏或不完整：{bad}"):
        background_thumbnail(str(bad), 0, tmp_path / "cache")
    assert time.monotonic() - started < 5
    assert background_thumbnail(str(picture(tmp_path / "fine.png")), 0,
                                tmp_path / "cache").is_file()


def test_batch_validation_decodes_each_background_once(made_home: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Many briefs over one footage folder must not decode that folder once per brief."""
    from batch_fixtures import write_folder

    from workbench.batch import validate

    folder = write_folder(tmp_path / "briefs", {
        f"{n}.yaml": "chapters: 2\nbackground: pictures\n" for n in "abcdef"})
    (folder / "pictures").mkdir()
    for name in ("one.png", "two.png"):
        picture(folder / "pictures" / name)
    calls: list[str] = []
    real = validate.check_background
    monkeypatch.setattr(validate, "check_background",
                        lambda spec: (calls.append(str(spec)), real(spec))[1])
    result = run_cli("batch", str(folder), "--dry-run")
    assert result.returncode == 0, result.stdout + result.stderr
    assert calls == [str(folder / "pictures")]
