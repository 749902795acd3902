# ruff: noqa: F811  (pytest fixtures imported from images_server are parameters here)
"""Story images (background `images:ai`): beats from the voice timings, prompts that share one
style and character sheet, an OpenAI-compatible images endpoint (a real local server speaking
the protocol, through the real SDK), the image cache, and the render: each picture on screen
during its beat, panning slowly."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from batch_fixtures import batch_settings, write_folder  # noqa: F401
from cli_runner import run_cli
from images_server import ImagesServer, b64_answer, draw_png, images_server  # noqa: F401
from llm_server import Planned, error_body

from workbench.config import Settings
from workbench.errors import BackendError, BackendUnavailable
from workbench.images.openai_backend import OpenAIImages
from workbench.images.prompts import StyleSheet, beat_prompts, rules_scene, story_beats
from workbench.images.registry import resolve_images_backend
from workbench.images.service import make_story_images
from workbench.subtitles import SubtitleEvent

KEY = "sk-images-SECRET-0123456789"
STYLE = "水墨漫画风"
CHARACTERS = "林晚：二十岁女子，黑色长发，青色长衫"


@pytest.fixture
def online(settings: Settings, images_server: ImagesServer) -> Settings:
    return replace(settings, images_base_url=images_server.base_url, images_api_key=KEY,
                   images_size="256x384", llm_max_retries=0, images_deadline=10.0)


def events(*spans: tuple[float, float, str]) -> list[SubtitleEvent]:
    return [SubtitleEvent(start=s, end=e, text=t, segment=0) for s, e, t in spans]


# Beats and prompts -----------------------------------------------------------------------
def test_beats_start_with_their_first_line_and_are_capped():
    lines = events((0.3, 1.5, "江上起了大雾"), (1.6, 3.0, "渡口的灯熄灭了"),
                   (4.5, 6.0, "她攥着一张船票"), (6.1, 8.0, "船夫从雾里走来"),
                   (9.0, 10.0, "他说只渡有缘人"))
    beats = story_beats(lines, 10.5, max_beats=12)
    assert [b.start for b in beats] == [0.0, 4.5, 9.0]  # the first from 0: no gap before it
    assert [b.end for b in beats] == [4.5, 9.0, 10.5]
    assert beats[0].text == "江上起了大雾渡口的灯熄灭了"
    assert len(story_beats(lines, 10.5, max_beats=2)) == 2
    assert len(story_beats(lines * 20, 200.0, max_beats=3)) <= 3


def test_rules_prompts_keep_style_and_characters_and_name_the_nouns():
    sheet = StyleSheet(STYLE, CHARACTERS)
    beats = story_beats(events((0, 2, "渡口的灯笼在大雾里熄灭"), (5, 7, "船夫递给她一把钥匙")),
                        8.0, 12)
    prompts = beat_prompts(beats, sheet, None, seed=0)
    assert len(prompts) == 2 and all(STYLE in p and CHARACTERS in p for p in prompts)
    assert "灯笼" in prompts[0] and "渡口" in prompts[0] and "钥匙" in prompts[1]
    assert "灯笼" not in rules_scene("船夫递给她一把钥匙")


# The backend against a server speaking the images protocol ---------------------------------
def test_generate_sends_the_prompt_size_and_seed_and_checks_the_png(online, images_server):
    image = OpenAIImages(online).generate("一条雾中的船", seed=7)
    assert (image.format, image.width, image.height) == ("png", 256, 384)
    (request,) = images_server.image_requests
    assert request.body["prompt"] == "一条雾中的船" and request.body["size"] == "256x384"
    assert request.body["seed"] == 7 and request.body["response_format"] == "b64_json"
    assert request.headers["authorization"] == f"Bearer {KEY}"


def test_a_server_that_refuses_response_format_is_asked_again_without_it(online, images_server):
    images_server.plan(Planned(status=400, body=error_body(
        "Unknown parameter: 'response_format'.", param="response_format")))
    backend = OpenAIImages(online)
    assert backend.generate("船", seed=1).width == 256
    backend.generate("船", seed=2)
    bodies = [r.body for r in images_server.image_requests]
    assert "response_format" in bodies[0]
    assert all("response_format" not in b for b in bodies[1:])  # remembered
    assert len(bodies) == 3


def test_an_answer_with_a_url_is_downloaded(online, images_server):
    images_server.as_url = True
    assert OpenAIImages(online).generate("船", seed=1).height == 384
    assert any(r.path.startswith("/files/") for r in images_server.requests)


@pytest.mark.parametrize(("planned", "words"), [
    (Planned(body=b64_answer(b"not a picture at all")), "不是可解码的"),
    (Planned(body=b64_answer(draw_png((1, 2, 3), 32, 32))), "尺寸不合理"),
    (Planned(body={"data": []}), "没有 data[0]"),
    (Planned(body=b"<html>gateway</html>", headers={"Content-Type": "application/json"}),
     "不是 JSON"),
    (Planned(huge=30_000_000), "超过 24 MB"),
    (Planned(status=500, body=error_body("boom", type="server_error")), "返回错误 500"),
    (Planned(status=401, body=error_body(f"bad key {KEY}")), "WORKBENCH_IMAGES_API_KEY"),
    (Planned(delay=3.0), "总时限"),
])
def test_bad_answers_are_one_clear_line_without_the_key(online, images_server, planned, words):
    images_server.plan(planned)
    with pytest.raises(BackendError) as caught:
        OpenAIImages(replace(online, images_deadline=1.5)).generate("船", seed=1)
    message = str(caught.value)
    assert words in message and "\n" not in message and KEY not in message
    assert caught.value.__context__ is None or KEY not in repr(caught.value.__context__)


def test_no_images_backend_is_a_clear_error_not_a_silent_fallback(settings):
    with pytest.raises(BackendUnavailable, match="WORKBENCH_IMAGES_BASE_URL"):
        resolve_images_backend("auto", settings)
    with pytest.raises(BackendUnavailable, match="images.backend = none"):
        resolve_images_backend("none", replace(settings, images_base_url="http://x/v1"))
    # an LLM alone does not make auto send pictures' prompts to it
    with pytest.raises(BackendUnavailable):
        resolve_images_backend("auto", replace(settings, llm_api_key="sk-llm-0123456789"))


# The cache ---------------------------------------------------------------------------------
def test_one_request_per_beat_then_the_cache(online, images_server, tmp_path):
    lines = events((0.2, 2.0, "渡口的灯笼熄灭了"), (4.2, 6.0, "船夫递给她钥匙"),
                   (8.5, 9.5, "雾散了"))
    backend = resolve_images_backend("openai", online)
    sheet = StyleSheet(STYLE, CHARACTERS)
    first = make_story_images(lines, 10.0, sheet, backend, tmp_path, seed=3, max_images=12)
    assert first.generated == 3 and len(images_server.image_requests) == 3
    assert all(STYLE in p and CHARACTERS in p for p in images_server.prompts)
    again = make_story_images(lines, 10.0, sheet, backend, tmp_path, seed=3, max_images=12)
    assert again.generated == 0 and again.images == first.images
    assert len(images_server.image_requests) == 3
    other_seed = make_story_images(lines, 10.0, sheet, backend, tmp_path, seed=4, max_images=12)
    assert other_seed.generated == 3


def test_llm_prompts_are_validated_repaired_once_and_cached(online, images_server, tmp_path):
    llm_settings = replace(online, llm_base_url=images_server.base_url, llm_api_key="sk-llm-x")
    from workbench.rewrite.openai_backend import OpenAIBackend

    images_server.plan_reply(json.dumps({"prompts": ["只有一条"]}, ensure_ascii=False))
    images_server.plan_reply(json.dumps({"prompts": ["灯笼熄灭的渡口", "船夫递出钥匙"]},
                                        ensure_ascii=False))
    lines = events((0.2, 2.0, "渡口的灯笼熄灭了"), (4.2, 6.0, "船夫递给她钥匙"))
    backend = resolve_images_backend("openai", llm_settings)
    sheet = StyleSheet(STYLE, CHARACTERS)
    out = make_story_images(lines, 8.0, sheet, backend, tmp_path, seed=0, max_images=12,
                            llm=OpenAIBackend(llm_settings))
    assert len(images_server.chat_requests) == 2  # the bad answer, then the repair
    assert "应为 2 条" in images_server.chat_requests[1].text()
    assert out.prompts[1].endswith("船夫递出钥匙") and CHARACTERS in out.prompts[1]
    make_story_images(lines, 8.0, sheet, backend, tmp_path, seed=0, max_images=12,
                      llm=OpenAIBackend(llm_settings))
    assert len(images_server.chat_requests) == 2 and len(images_server.image_requests) == 2


# The whole job: make --background images:ai ---------------------------------------------------
STORY_TEMPLATE = f"""---
id: storytest
name: 配图测试
kind: novel
version: 1
description: 测试用：几句话，配几张图。
target_seconds: 12
images:
  style: {STYLE}
  characters: {CHARACTERS}
---
{{% block hook %}}
{{{{ chapter_text|striking(18) }}}}
{{% endblock %}}

{{% block body %}}
{{{{ chapter_text|excerpt(40) }}}}
{{% endblock %}}

{{% block cta %}}
{{{{ app }}}}搜索【{{{{ keyword }}}}】
{{% endblock %}}
"""


def frame(video: Path, at: float) -> tuple[int, int, bytes]:
    """The decoded frame at `at` seconds, RGB, full size."""
    import subprocess

    from workbench.ffmpeg import ffmpeg_exe
    from workbench.render.probe import probe

    info = probe(video)
    raw = subprocess.run([ffmpeg_exe(), "-v", "error", "-ss", f"{at:.3f}", "-i", str(video),
                          "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         capture_output=True, check=True).stdout
    return info.width, info.height, raw


def centre_colour(shot: tuple[int, int, bytes]) -> tuple[int, ...]:
    """Median colour of a 40×40 patch in the middle of the frame (clear of text)."""
    import statistics

    w, h, raw = shot
    pixels = [raw[(y * w + x) * 3:(y * w + x) * 3 + 3]
              for y in range(h // 2 - 20, h // 2 + 20) for x in range(w // 2 - 20, w // 2 + 20)]
    return tuple(int(statistics.median(p[c] for p in pixels)) for c in range(3))


def close(a: tuple[int, ...], b: tuple[int, ...], tolerance: int = 30) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(a, b, strict=True))


@pytest.fixture
def story_settings(online, home: Path, db) -> tuple[Settings, int]:
    from workbench.materials.library import add_material

    folder = home.parent / "tpl"
    folder.mkdir()
    (folder / "storytest.j2").write_text(STORY_TEMPLATE, encoding="utf-8")
    samples = Path(__file__).resolve().parent.parent / "assets" / "samples"
    material, _ = add_material(db, samples / "night-ferry.txt")
    return (replace(online, templates_dir=folder, render_profile="draft", end_card_seconds=0.0),
            material["id"])


def test_make_shows_each_picture_during_its_beat_panning(story_settings, db, images_server):
    from workbench.models import MakeJob
    from workbench.pipeline import run_job

    settings, material_id = story_settings
    job = MakeJob(material_id=material_id, chapter=2, template="storytest", keyword="夜渡迷局",
                  rewrite_backend="rules", background="images:ai")
    outcome = run_job(job, settings, db)
    background = outcome.manifest["render"]["background"]
    starts, images = background["starts"], background["images"]
    assert len(starts) >= 2 and len(images) == len(starts)
    # one request per beat, every prompt carrying the template's style and characters
    assert len(images_server.image_requests) == len(starts)
    assert all(STYLE in p and CHARACTERS in p for p in images_server.prompts)
    assert any(n.startswith("配图：") for n in outcome.notes)

    video = outcome.package / "video.mp4"
    colours = [images_server.colours[p] for p in images_server.prompts]
    assert colours[0] != colours[1]
    ends = [*starts[1:], outcome.manifest["durations"]["narration"]]
    for beat in (0, 1):
        inside = (starts[beat] + 0.3, ends[beat] - 0.3)
        shots = [frame(video, t) for t in inside]
        for shot in shots:
            assert close(centre_colour(shot), colours[beat]), (beat, centre_colour(shot))
        # the pan moves the picture: two frames of one beat differ, but only slightly
        a, b = shots[0][2], shots[1][2]
        changed = sum(1 for i in range(0, len(a), 97) if abs(a[i] - b[i]) > 40) / (len(a) / 97)
        assert 0.01 < changed < 0.6, changed

    # the same job again, forced: a new render, but every picture from the cache
    rerun = run_job(job, settings, db, force=True)
    assert len(images_server.image_requests) == len(starts)
    assert any("新生成 0 张" in n for n in rerun.notes)


def test_make_without_an_images_backend_says_how_to_set_one_up(db):
    from workbench.materials.library import add_material

    samples = Path(__file__).resolve().parent.parent / "assets" / "samples"
    material, _ = add_material(db, samples / "night-ferry.txt")
    result = run_cli("make", "--material", str(material["id"]), "--chapter", "1", "--template",
                     "suspense", "--keyword", "夜渡迷局", "--background", "images:ai")
    assert result.returncode != 0
    (line,) = [x for x in result.stderr.splitlines() if x.strip()]
    assert "images:ai" in line and "WORKBENCH_IMAGES_BASE_URL" in line
    # refused before the script and the voice cost anything
    assert db.execute("select count(*) from jobs where kind in ('script', 'voice')").fetchone()[0] == 0


# Briefs and the app ---------------------------------------------------------------------------
def test_a_brief_with_images_ai_needs_an_images_backend(tmp_path, batch_settings, db,
                                                        images_server):
    from workbench.batch import BriefErrors, load_plan

    folder = write_folder(tmp_path / "briefs", {"story.yaml": {"backgrounds": ["images:ai"]}})
    with pytest.raises(BriefErrors) as caught:
        load_plan(folder, batch_settings, db, import_materials=False)
    assert any("WORKBENCH_IMAGES_BASE_URL" in str(p) for p in caught.value.problems)
    online = replace(batch_settings, images_base_url=images_server.base_url)
    plan = load_plan(folder, online, db, import_materials=False)
    assert {p.job.background for p in plan.jobs} == {"images:ai"}
    assert images_server.requests == []  # checking a brief sends nothing


def test_the_app_offers_ai_pictures_only_with_an_images_backend(settings, online):
    from workbench.errors import InputError
    from workbench.render.backgrounds import resolve_background
    from workbench.ui.choices import background_spec, backgrounds

    assert "images:ai" not in [value for _, value in backgrounds(settings)]
    assert "images:ai" in [value for _, value in backgrounds(online)]
    assert background_spec(online, "images:ai") == ("images:ai", 0)
    with pytest.raises(InputError, match="配音完成后"):  # no preview of pictures not yet made
        resolve_background("images:ai")


def test_the_template_front_matter_carries_the_style_sheet(tmp_path):
    from workbench.errors import TemplateError
    from workbench.script.templates import template_from_source

    template = template_from_source(STORY_TEMPLATE, tmp_path / "storytest.j2")
    assert template.images == {"style": STYLE, "characters": CHARACTERS}
    bad = STORY_TEMPLATE.replace(f"  style: {STYLE}", "  style: 3\n  colour: red")
    with pytest.raises(TemplateError, match="images"):
        template_from_source(bad, tmp_path / "bad.j2")
