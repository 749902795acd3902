"""Subtitle style presets, checked where it matters: the pixels libass draws.

Each preset is burned into one real 1080×1920 frame (ffmpeg + libass over the generated dark
background) and the test looks at where text pixels are and what colour they have. The layers
(job > template > settings > preset), the recipe ids, the CLI, briefs, template front matter,
the preview still and the cover's keyword box are checked too.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pysubs2
import pytest
from batch_fixtures import batch_settings, write_folder  # noqa: F401
from cli_runner import run_cli
from conftest import SAMPLES
from moviepy import VideoFileClip
from PIL import Image
from tiny_templates import write_templates

from workbench.batch import load_plan
from workbench.config import load_settings
from workbench.errors import InputError, TemplateError
from workbench.materials.library import add_material
from workbench.models import MakeJob
from workbench.pipeline import run_job
from workbench.pipeline.job_plan import plan_job
from workbench.pipeline.preview import preview_subtitles
from workbench.render.backgrounds import Background
from workbench.render.cover import make_cover
from workbench.render.subtitle_preview import render_still, sample_timing
from workbench.script.templates import template_from_source
from workbench.store.cache import content_hash
from workbench.subtitle_styles import (
    ResolvedSubtitles,
    check_overrides,
    resolve_subtitles,
    styled_ass,
)
from workbench.subtitles import SubtitleEvent

KEYWORD = "夜渡迷局"
LINE = f"我在渡口等来了{KEYWORD}"
H = 1920


def _settings(tmp_path: Path, **env: str):
    """Settings from nothing but `env` (no config file, no outside environment)."""
    return load_settings(env={"WORKBENCH_HOME": str(tmp_path / "wb"), **env}, cwd=tmp_path)


def frame(tmp_path: Path, look: ResolvedSubtitles, at: float = 1.0, text: str = LINE,
          keyword: str = KEYWORD) -> np.ndarray:
    """The 1080×1920 RGB frame at `at` s of `text` shown from 0 to 2 s in `look`, the words
    spoken evenly over those 2 s."""
    timing = sample_timing(text, 2.0)
    event = SubtitleEvent(0.0, 2.0, text, 0, 0, len(text))
    ass = styled_ass([event], look, keyword, timing).to_string("ass")
    out = tmp_path / f"still-{look.preset}-{at}.png"
    render_still(ass, Background("generated", seed=0), out, at=at, seconds=2.0)
    return np.asarray(Image.open(out).convert("RGB")).astype(int)


def white(px: np.ndarray) -> np.ndarray:
    return (px[..., 0] > 225) & (px[..., 1] > 225) & (px[..., 2] > 225)


def yellow(px: np.ndarray) -> np.ndarray:  # #FFD400 and antialiasing around it
    return (px[..., 0] > 215) & (px[..., 1] > 175) & (px[..., 1] < 235) & (px[..., 2] < 90)


def black(px: np.ndarray) -> np.ndarray:  # the outline (video black is 16 after limited-range
    return px.max(axis=-1) < 24            # YUV); the dark background is never this dark


def rows(mask: np.ndarray) -> tuple[int, int]:
    ys = np.nonzero(mask.any(axis=1))[0]
    return int(ys.min()), int(ys.max())


def test_white_outline_is_white_with_a_black_edge_low_in_the_frame(tmp_path):
    look = resolve_subtitles(_settings(tmp_path))
    assert look.preset == "white-outline" and look.is_default
    px = frame(tmp_path, look)
    text = white(px)
    assert text.sum() > 3000
    top, bottom = rows(text)
    assert 1300 < top and bottom < H - 480 + 5  # bottom-aligned, 480 px up
    band = px[top - 8:bottom + 8]
    assert black(band).sum() > text.sum() * 0.5  # the outline around every glyph
    assert yellow(band).sum() > 800  # the keyword, in the highlight colour
    assert not white(px[:1300]).any()


def test_keyword_highlight_colours_exactly_the_keyword(tmp_path):
    look = resolve_subtitles(_settings(tmp_path))
    px = frame(tmp_path, look)
    xs_white = np.nonzero(white(px[1200:1500]).any(axis=0))[0]
    xs_yellow = np.nonzero(yellow(px[1200:1500]).any(axis=0))[0]
    assert xs_yellow.min() > xs_white.max() - 4  # the keyword ends the line: yellow on the right
    off = frame(tmp_path, replace(look, keyword_highlight=False), at=1.01)
    assert yellow(off[1200:1500]).sum() < 20 and white(off[1200:1500]).sum() > 3000


def test_yellow_outline_is_yellow(tmp_path):
    look = resolve_subtitles(_settings(tmp_path), job={"style": "yellow-outline"})
    px = frame(tmp_path, look, text="我在渡口等来了一个人", keyword="")
    band = px[1250:1460]
    assert yellow(band).sum() > 3000 and white(band).sum() < 50
    assert black(band).sum() > 1500


def test_big_center_is_large_and_in_the_middle_band(tmp_path):
    look = resolve_subtitles(_settings(tmp_path), job={"style": "big-center"})
    assert look.style.font_size > 84 and look.max_chars < 16
    px = frame(tmp_path, look)
    top, bottom = rows(white(px) | yellow(px))
    assert H * 0.42 < top and bottom < H * 0.58
    assert bottom - top > 75  # bigger glyphs than the 84 px default (about 60 px of ink)


def test_karaoke_colours_a_word_once_it_is_said(tmp_path):
    look = resolve_subtitles(_settings(tmp_path), job={"style": "karaoke"})
    assert look.karaoke
    ass = styled_ass([SubtitleEvent(0.0, 2.0, LINE, 0, 0, len(LINE))], look, KEYWORD,
                     sample_timing(LINE, 2.0)).to_string("ass")
    assert "\\kf" in ass
    before, after = frame(tmp_path, look, at=0.0), frame(tmp_path, look, at=1.98)
    first_word = slice(None, 540 - 200)  # the left part of the centred line: 我在渡口
    band = slice(1250, 1460)
    assert white(before[band, first_word]).sum() > 800
    assert yellow(before[band, first_word]).sum() < 20
    assert yellow(after[band, first_word]).sum() > 800
    assert white(after[band, first_word]).sum() < 20


def test_overrides_merge_job_over_template_over_settings_over_preset(tmp_path):
    settings = _settings(tmp_path, WORKBENCH_SUBTITLE_STYLE="yellow-outline",
                         WORKBENCH_SUBTITLE_FONT_SIZE="90", WORKBENCH_SUBTITLE_OUTLINE="2")
    look = resolve_subtitles(settings)
    assert (look.preset, look.style.font_size, look.style.outline) == ("yellow-outline", 90, 2.0)
    look = resolve_subtitles(settings, {"style": "big-center", "color": "#00ff00", "size": 100},
                             {"size": 110, "position": "top"})
    assert look.preset == "big-center" and look.style.primary_colour == "#00FF00"
    assert look.style.font_size == 110 and look.style.alignment == 8
    assert look.style.outline == 2.0  # the setting still beats the preset's 6
    # a setting left at its declared default does not hide the preset's own value
    assert resolve_subtitles(_settings(tmp_path), job={"style": "big-center"}
                             ).style.font_size == 120
    with pytest.raises(InputError, match="subtitles.*size"):
        resolve_subtitles(settings, {"size": 5})
    with pytest.raises(InputError, match="--subtitle-color.*color"):
        check_overrides({"color": "red"}, "--subtitle-color")


def test_recipe_ids_stay_for_the_default_look_and_change_with_a_style(tmp_path):
    settings = load_settings(env={"WORKBENCH_HOME": "/nonexistent/wb"}, cwd=Path("/nonexistent"))
    job = MakeJob(material_id=1, chapter=2, template="tiny", keyword=KEYWORD)
    # the id this job has with the default look (RENDER_VERSION 4: story images zoom too)
    assert content_hash(job.recipe(settings)) == (
        "5179d4e2b3942ac68bb1920088382bf085aeb2b6e4f6484c8bd53fedad4bf233")
    styled = replace(job, subtitles={"style": "karaoke"})
    assert content_hash(styled.recipe(settings)) != content_hash(job.recipe(settings))
    other = load_settings(env={"WORKBENCH_HOME": "/nonexistent/wb",
                               "WORKBENCH_SUBTITLE_STYLE": "karaoke"}, cwd=Path("/nonexistent"))
    assert job.recipe(other)["subtitle_settings"] == {"style": "karaoke"}


def test_template_front_matter_subtitles(tmp_path):
    head = "---\nid: t\nname: t\nkind: novel\ntarget_seconds: 10\nsubtitles:\n"
    body = "---\n{% block hook %}a{% endblock %}{% block body %}b{% endblock %}" \
           "{% block cta %}c{% endblock %}\n"
    tpl = template_from_source(head + "  style: karaoke\n  size: 96\n" + body, tmp_path / "t.j2")
    assert tpl.subtitles == {"style": "karaoke", "size": 96}
    with pytest.raises(TemplateError, match=r"t\.j2:7: .*subtitles\.style"):
        template_from_source(head + "  style: neon\n" + body, tmp_path / "t.j2")


def test_briefs_take_a_style_and_overrides(tmp_path, batch_settings, db):  # noqa: F811
    folder = write_folder(tmp_path / "briefs", {
        "a.yaml": {"subtitle_style": "big-center", "subtitles": {"color": "#FF0000"}},
        "b.yaml": {"keyword": "另一个口令"},
    })
    a, b = load_plan(folder, batch_settings, db, import_materials=False).jobs
    assert a.job.subtitles == {"style": "big-center", "color": "#FF0000"}
    assert b.job.subtitles is None
    bad = write_folder(tmp_path / "bad", {"c.yaml": {"subtitles": {"size": "huge"}}})
    with pytest.raises(InputError, match="c.yaml:2: subtitles.size"):
        load_plan(bad, batch_settings, db, import_materials=False)


def test_cli_refuses_a_bad_subtitle_option_before_any_work():
    result = run_cli("make", "--material", "1", "--chapter", "1", "--template", "tiny",
                     "--keyword", KEYWORD, "--subtitle-style", "neon")
    assert result.returncode == 1 and "字幕设置 style" in result.stderr
    assert "karaoke" in result.stderr and "Traceback" not in result.stderr


def test_preview_still_shows_background_banner_and_styled_line(settings):
    path = preview_subtitles(settings, keyword=KEYWORD, subtitles={"style": "yellow-outline"})
    px = np.asarray(Image.open(path).convert("RGB")).astype(int)
    assert px.shape == (1920, 1080, 3)
    assert yellow(px[150:400]).sum() > 2000  # the banner 番茄小说搜索【夜渡迷局】
    assert yellow(px[1250:1460]).sum() > 2000  # the sample line in the yellow preset
    assert px[900:1100].mean() > 10  # the background, not black
    again = preview_subtitles(settings, keyword=KEYWORD, subtitles={"style": "yellow-outline"})
    assert again == path  # cached by what it shows
    with pytest.raises(InputError, match="style"):
        preview_subtitles(settings, keyword=KEYWORD, subtitles={"style": "neon"})


@pytest.mark.parametrize("style", ["white-outline", "big-center"])
def test_cover_keyword_box_stays_clear_of_the_subtitle(tmp_path, style):
    look = resolve_subtitles(_settings(tmp_path), job={"style": style})
    px = frame(tmp_path, look, text="我在渡口等来了一个人", keyword="")
    sub_top, sub_bottom = rows(white(px))
    band = look.band()
    assert band[0] * H <= sub_top and sub_bottom <= band[1] * H  # the band holds the line
    shot = Image.fromarray(px.astype("uint8"))

    def keyword_rows(avoid):
        out = tmp_path / f"cover-{style}-{avoid is None}.jpg"
        make_cover(shot, title="夜渡", keyword=KEYWORD, app="番茄小说", out=out, avoid=avoid)
        cover = np.asarray(Image.open(out).convert("RGB")).astype(int)
        box = (cover.max(axis=-1) < 30)[:, 200:880].mean(axis=1) > 0.9  # the dark box rows
        return rows(box[:, None])

    top, bottom = keyword_rows(band)
    assert bottom < sub_top or top > sub_bottom
    if style == "white-outline":  # where the box used to go, it covered the line
        top, bottom = keyword_rows(None)
        assert top < sub_bottom and bottom > sub_top


def test_a_karaoke_job_renders_with_word_timings_and_its_own_id(home, monkeypatch, db):
    """The whole job: the style reaches the ASS burned into the video, the recipe and the id."""
    monkeypatch.setenv("WORKBENCH_TEMPLATES_DIR", str(write_templates(home.parent / "tpl")))
    monkeypatch.setenv("WORKBENCH_RENDER_PROFILE", "draft")
    settings = load_settings()
    material, _ = add_material(db, SAMPLES / "night-ferry.txt")
    job = MakeJob(material_id=material["id"], chapter=2, template="tiny", keyword=KEYWORD,
                  rewrite_backend="rules", subtitles={"style": "karaoke"})
    outcome = run_job(job, settings, db)
    recipe = outcome.manifest["recipe"]
    assert recipe["subtitles"] == {"style": "karaoke"}
    plain = plan_job(replace(job, subtitles=None), settings)
    assert outcome.submission_id != plain.submission_id
    ass = (settings.outputs_dir / "jobs" / outcome.submission_id / "subtitles.ass").read_text(
        "utf-8")
    assert ass.count("\\kf") > 5
    # half-way through a spoken line, its first part is yellow and its last part still white
    events = pysubs2.load(str(settings.outputs_dir / "jobs" / outcome.submission_id
                              / "subtitles.ass"))
    line = max(events, key=lambda e: e.end - e.start)
    t = (line.start + line.end) / 2000
    with VideoFileClip(str(outcome.package / "video.mp4"), audio=False) as clip:
        px = clip.get_frame(t).astype(int)
    band = px[int(1280 * 0.6):int(1280 * 0.8)]
    assert yellow(band).sum() > 100 and white(band).sum() > 100
