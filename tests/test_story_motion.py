"""The story images' motion (render/story_stills.py), measured from the frames ffmpeg makes
(the graph's raw output, before the encoder): each beat's still is on screen exactly during its
beat, zoom beats magnify from 1 to MARGIN (or back) about the middle, linearly and without
jitter, pan beats hold MARGIN, and the picture keeps its aspect."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from workbench.ffmpeg import run_ffmpeg
from workbench.render.profiles import RenderProfile
from workbench.render.story_stills import (
    MARGIN,
    Motion,
    beat_motion,
    frame_counts,
    still_size,
    timed_stills_graph,
)

PROFILE = RenderProfile("test", 360, 640, 30, 23, "ultrafast")
STILL = (512, 768)  # 2:3, like a generated picture: cropped at the sides to fill 9:16
RECT = (200, 300)  # the white rectangle in the middle of each still
GREYS = (60, 120, 180)  # each still's background: tells the beats apart


def still(folder: Path, grey: int) -> Path:
    """A flat grey still with a white rectangle in the middle."""
    w, h = STILL
    image = Image.new("L", STILL, grey)
    ImageDraw.Draw(image).rectangle([(w - RECT[0]) // 2, (h - RECT[1]) // 2,
                                     (w + RECT[0]) // 2 - 1, (h + RECT[1]) // 2 - 1], fill=255)
    path = folder / f"still-{grey}.png"
    image.convert("RGB").save(path)
    return path


def luma_frames(tmp_path: Path, starts: tuple[float, ...], duration: float) -> np.ndarray:
    images = tuple(still(tmp_path, GREYS[i % len(GREYS)]) for i in range(len(starts)))
    args, graph = timed_stills_graph(images, starts, PROFILE, duration, first_input=0)
    raw = run_ffmpeg([*args, "-filter_complex", f"{graph};[bg]format=gray[v]", "-map", "[v]",
                      "-t", f"{duration:.3f}", "-f", "rawvideo", "pipe:1"], what="test motion")
    w, h = PROFILE.width, PROFILE.height
    return np.frombuffer(raw, np.uint8).reshape(-1, h, w).astype(float)


def rect_edges(frame: np.ndarray) -> tuple[float, float, float, float]:
    """Left, right, top, bottom edges of the white rectangle, to a fraction of a pixel: where
    the profile through the middle crosses half-way between the background and the white."""
    h, w = frame.shape
    row = frame[h // 2 - 8:h // 2 + 8].mean(axis=0)
    col = frame[:, w // 2 - 8:w // 2 + 8].mean(axis=1)

    def crossings(line: np.ndarray) -> tuple[float, float]:
        level = (line[2] + 255) / 2
        above = np.nonzero(line >= level)[0]
        a, b = above[0], above[-1]
        first = a - 1 + (level - line[a - 1]) / (line[a] - line[a - 1])
        last = b + (line[b] - level) / (line[b] - line[b + 1])
        return first, last

    (left, right), (top, bottom) = crossings(row), crossings(col)
    return left, right, top, bottom


def fitted_rect() -> tuple[float, float]:
    """The rectangle's size in the frame at zoom 1: the still scaled to cover the frame."""
    w = PROFILE.width
    bw, bh = still_size(PROFILE)
    cover = max(bw / STILL[0], bh / STILL[1]) * w / bw
    return RECT[0] * cover, RECT[1] * cover


def test_beats_take_turns_zooming_in_panning_zooming_out():
    motions = [beat_motion(i) for i in range(8)]
    assert [m.zoom for m in motions] == [1, 0, -1, 0, 1, 0, -1, 0]
    assert all((m.dx, m.dy) != (0, 0) for m in motions[1::2])  # every other beat pans
    assert beat_motion(0, seed=1) == motions[1]  # the seed shifts the cycle
    assert Motion(zoom=1).zoom_at(0, 90) == 1 and Motion(zoom=1).zoom_at(89, 90) == MARGIN
    assert Motion(zoom=-1).zoom_at(0, 90) == MARGIN and Motion(dx=1).zoom_at(40, 90) == MARGIN


def test_each_still_is_on_screen_exactly_during_its_beat(tmp_path: Path) -> None:
    starts, duration = (0.0, 1.03, 2.2, 2.9), 3.5
    frames = luma_frames(tmp_path, starts, duration)
    counts = frame_counts(starts, duration, PROFILE.fps)
    assert len(frames) == round(duration * PROFILE.fps)
    # the background grey in a corner (outside the rectangle at any zoom) names the still
    corner = frames[:, 10:30, 10:30].mean(axis=(1, 2))
    shown = [int(np.argmin([abs(c - (16 + g * 219 / 255)) for g in GREYS])) for c in corner]
    expected = [i % len(GREYS) for i, n in enumerate(counts) for _ in range(n)][:len(frames)]
    assert shown == expected
    # the cuts fall on the frames of the rounded start times
    assert [sum(counts[:i]) for i in range(1, len(starts))] == [31, 66, 87]


@pytest.mark.parametrize("beat", [0, 2])  # zoom in, zoom out
def test_zoom_follows_the_plan_about_the_middle_without_jitter(tmp_path: Path, beat: int) -> None:
    starts = (0.0, 2.0, 4.0, 6.0)  # the last beat is cut by the output's length: not it
    frames = luma_frames(tmp_path, starts, 7.0)
    counts = frame_counts(starts, 7.0, PROFILE.fps)
    first = sum(counts[:beat])
    n = counts[beat]
    motion = beat_motion(beat)
    assert motion.zoom == (1 if beat == 0 else -1)
    base_w, base_h = fitted_rect()
    widths, heights = [], []
    for k in range(n):
        left, right, top, bottom = rect_edges(frames[first + k])
        widths.append(right - left)
        heights.append(bottom - top)
        # the middle stays put (the scaled size moves in steps of 2 px)
        assert abs((left + right) / 2 - (PROFILE.width - 1) / 2) <= 0.6
        assert abs((top + bottom) / 2 - (PROFILE.height - 1) / 2) <= 0.6
    zooms = np.array(widths) / base_w
    planned = np.array([motion.zoom_at(k, n) for k in range(n)])
    # at the beat's start and end as planned, and on the plan in between
    assert abs(zooms[0] - planned[0]) < 0.01 and abs(zooms[-1] - planned[-1]) < 0.01
    assert np.abs(zooms - planned).max() < 0.01
    # the aspect is kept at every zoom
    assert np.abs(np.array(heights) / base_h - zooms).max() < 0.01
    # smooth: the edges move one way only, never more than a pixel from a straight line
    steps = np.diff(widths) * motion.zoom
    assert steps.min() > -0.3
    fit = np.polyval(np.polyfit(np.arange(n), widths, 1), np.arange(n))
    assert np.abs(np.array(widths) - fit).max() < 1.0


def test_a_pan_beat_holds_the_zoom_and_moves(tmp_path: Path) -> None:
    starts = (0.0, 2.0, 4.0)
    frames = luma_frames(tmp_path, starts, 5.0)
    first, n = frame_counts(starts, 5.0, PROFILE.fps)[:2]
    base_w, _ = fitted_rect()
    start, end = rect_edges(frames[first]), rect_edges(frames[first + n - 1])
    for edges in (start, end):
        assert abs((edges[1] - edges[0]) / base_w - MARGIN) < 0.01
    motion = beat_motion(1)
    travel = still_size(PROFILE)[0] - PROFILE.width
    assert (start[0] - end[0]) * motion.dx == pytest.approx(travel, abs=1.5)
