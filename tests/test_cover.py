"""Cover images: frame grabbing from a tiny real video, layout, fitting and the bundled font."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from workbench.errors import InputError, RenderError
from workbench.ffmpeg import ffmpeg_exe
from workbench.render.cover import (
    ELLIPSIS,
    WIDTH_SHARE,
    cover_from_video,
    fit_title,
    grab_frame,
    load_font,
    make_cover,
)

W, H = 1080, 1920
LONG_TITLE = "她在雨夜里醒来，发现整座城市都忘记了她的名字，只有那个陌生人记得" * 3


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("video") / "clip.mp4"
    cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin",
           "-f", "lavfi", "-i", "testsrc2=s=360x640:r=10:d=2",
           "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(path)]
    subprocess.run(cmd, check=True, capture_output=True, timeout=60)
    return path


@pytest.fixture(scope="module")
def frame(video: Path) -> Image.Image:
    return grab_frame(video, 1.0)


def _cover(frame: Image.Image, out: Path, *, title: str = "夜渡迷局", keyword: str = "夜渡迷局",
           app: str = "番茄小说") -> np.ndarray:
    make_cover(frame, title=title, keyword=keyword, app=app, out=out)
    return np.asarray(Image.open(out).convert("RGB")).astype(int)


def test_grab_frame_size_and_time(video: Path, frame: Image.Image) -> None:
    assert frame.size == (360, 640) and frame.mode == "RGB"
    early = grab_frame(video, 0.1)
    assert np.abs(np.asarray(frame, int) - np.asarray(early, int)).mean() > 1


def test_grab_frame_clamps_time(video: Path) -> None:
    last = grab_frame(video, 99.0)
    assert last.size == (360, 640)
    assert np.array_equal(np.asarray(grab_frame(video, -5.0)), np.asarray(grab_frame(video, 0)))


def test_grab_frame_missing_video(tmp_path: Path) -> None:
    missing = tmp_path / "nope.mp4"
    with pytest.raises(InputError, match="nope.mp4"):
        grab_frame(missing, 1.0)
    with pytest.raises(InputError, match="nope.mp4"):
        cover_from_video(missing, tmp_path / "c.jpg", at=1, title="t", keyword="k", app="a")
    assert not (tmp_path / "c.jpg").exists()


def test_grab_frame_unreadable_video(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_text("not a video")
    with pytest.raises(RenderError, match="bad.mp4"):
        grab_frame(bad, 0.5)


def test_make_cover_writes_rgb_jpeg(frame: Image.Image, tmp_path: Path) -> None:
    out = tmp_path / "sub" / "cover.jpg"
    assert make_cover(frame, title="夜渡迷局", keyword="夜渡迷局", app="番茄小说", out=out) == out
    with Image.open(out) as img:
        assert img.format == "JPEG" and img.mode == "RGB" and img.size == (W, H)
    assert stat.S_IMODE(out.stat().st_mode) == 0o644
    assert [p.name for p in out.parent.iterdir()] == ["cover.jpg"]  # no temp file left


def test_keyword_box_is_yellow_and_title_drawn(frame: Image.Image, tmp_path: Path) -> None:
    full = _cover(frame, tmp_path / "full.jpg")
    no_title = _cover(frame, tmp_path / "no_title.jpg", title="")
    no_keyword = _cover(frame, tmp_path / "no_kw.jpg", keyword="")
    band = slice(int(H * 0.6), int(H * 0.8))

    def yellow(img: np.ndarray) -> int:
        r, g, b = img[band, ..., 0], img[band, ..., 1], img[band, ..., 2]
        return int(((r > 220) & (g > 180) & (g < 240) & (b < 80)).sum())

    assert yellow(full) > 500
    assert yellow(full) > 5 * max(yellow(no_keyword), 1)
    title_band = slice(int(H * 0.2), int(H * 0.5))
    assert np.abs(full[title_band] - no_title[title_band]).mean() > 2
    assert np.array_equal(full[: int(H * 0.1)], no_title[: int(H * 0.1)])  # nothing drawn above


def test_long_title_stays_inside_margins(frame: Image.Image, tmp_path: Path) -> None:
    long = _cover(frame, tmp_path / "long.jpg", title=LONG_TITLE)
    empty = _cover(frame, tmp_path / "empty.jpg", title="")
    edge = int(W * 0.05)
    for cols in (slice(0, edge), slice(W - edge, W)):
        assert np.abs(long[:, cols] - empty[:, cols]).max() <= 16
    assert np.abs(long[int(H * 0.2):int(H * 0.5)] - empty[int(H * 0.2):int(H * 0.5)]).mean() > 2


def test_fit_title_shrinks_then_ellipsizes() -> None:
    width = WIDTH_SHARE * W
    font, lines = fit_title("夜渡迷局", width, max_size=108, min_size=59)
    assert font.size == 108 and lines == ["夜渡迷局"]
    font, lines = fit_title("重生后我成了摄政王的掌心宠", width, max_size=108, min_size=59)
    assert font.size == 108 and "".join(lines) == "重生后我成了摄政王的掌心宠"
    assert len(lines) == 2 and abs(len(lines[0]) - len(lines[1])) <= 1  # balanced
    font, lines = fit_title("一二三四五六七八九十" * 3, width, max_size=108, min_size=59)
    assert font.size < 108 and len(lines) <= 3 and not lines[-1].endswith(ELLIPSIS)
    font, lines = fit_title(LONG_TITLE, width, max_size=108, min_size=59)
    assert font.size == 59 and len(lines) == 3 and lines[-1].endswith(ELLIPSIS)
    assert all(font.getlength(line) <= width for line in lines)


def test_punctuation_never_starts_a_line() -> None:
    _, lines = fit_title("她醒来，城市忘了她，只有他记得。" * 2, WIDTH_SHARE * W,
                         max_size=108, min_size=59)
    assert len(lines) > 1 and all(line[0] not in "，。" for line in lines)


def test_bundled_font_has_chinese_glyphs() -> None:
    font = load_font(64)
    ye, du = bytes(font.getmask("夜")), bytes(font.getmask("渡"))
    tofu = bytes(font.getmask("\U000f0000"))  # a private-use code point: no glyph
    assert ye != du and tofu not in (ye, du)


def test_cover_from_video(video: Path, tmp_path: Path) -> None:
    out = cover_from_video(video, tmp_path / "c.jpg", at=1.5, title="夜渡迷局",
                           keyword="夜渡迷局", app="番茄小说", size=(540, 960))
    with Image.open(out) as img:
        assert img.size == (540, 960)


def test_bad_options(frame: Image.Image, tmp_path: Path) -> None:
    with pytest.raises(InputError):
        make_cover(frame, title="t", keyword="k", app="a", out=tmp_path / "c.jpg", quality=0)
    with pytest.raises(InputError):
        make_cover(frame, title="t", keyword="k", app="a", out=tmp_path / "c.jpg", size=(0, 10))
