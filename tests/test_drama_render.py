"""Drama videos: `--segments` read, checked and moved out of lines; the cut and narrated
templates rendered end to end from the sample drama in one ffmpeg pass (duration, fill, mask,
ducking, rights record, checks); the drama refusals of `make`."""

from __future__ import annotations

import json
import pickle
import wave
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pytest
from cli_runner import run_cli
from conftest import PreparedHome, isolate
from drama_fixtures import SampleDrama, sample_drama  # noqa: F401
from media_fixtures import gray_frame, rms, sound
from sqlite_utils import Database

from workbench.config import Settings, load_settings
from workbench.drama.mask import LOWER_BAND, ass_band, parse_band
from workbench.drama.rights import rights_record, share_findings
from workbench.drama.segments import (
    EpisodeTimes,
    parse_segments,
    pick_for_video,
    resolve_segments,
    snap_out,
)
from workbench.errors import InputError
from workbench.fonts import default_font_file
from workbench.materials.drama import add_drama, list_episodes
from workbench.materials.library import add_material
from workbench.materials.sidecar import SubtitleLine
from workbench.models import MakeJob, Script, Segment
from workbench.package import verify_package
from workbench.pipeline import MakeOutcome, run_job
from workbench.pipeline.drama_script import shorten
from workbench.pipeline.lifecycle import plan_bound
from workbench.render.drama_plan import (
    DramaClip,
    DramaRenderJob,
    drama_render_plan,
    fit_size_of,
    with_measured_drama_loudness,
)
from workbench.render.overlays import OverlaySpec
from workbench.render.probe import probe, read_tags
from workbench.render.profiles import get_profile
from workbench.render.run import execute
from workbench.script.lint import lint_template
from workbench.store import open_db
from workbench.voice.timing import SegmentSpan, TimingMap

PROJECT = Path(__file__).resolve().parent.parent
KEYWORD = "夜渡迷局"
# Three segments of the sample, one per episode, edges in gaps between lines; episode 2 is
# landscape. Episode 3's 11.6 s are more than half of its 22 s: a rights warning.
SEGMENTS = "1:12.44-18,2:7-17.6,3:6.28-17.88"
SECONDS = (18 - 12.44) + (17.6 - 7) + (17.88 - 6.28)








def detail(region: np.ndarray) -> float:
    """High-frequency energy: mean absolute difference between neighbouring pixels."""
    return float(np.abs(np.diff(region, axis=1)).mean() + np.abs(np.diff(region, axis=0)).mean())


# --- segments: parsing, checking, snapping -----------------------------------------------

def test_segments_parse_in_the_order_written():
    assert parse_segments("1:12.5-25.0,2:3-18") == [(1, 12.5, 25.0), (2, 3.0, 18.0)]
    assert parse_segments(" 2：3～18， 1:0-4.25 ") == [(2, 3.0, 18.0), (1, 0.0, 4.25)]


@pytest.mark.parametrize("text, message", [
    ("", "--segments 是空的"),
    ("1:3", "片段「1:3」看不懂"),
    ("a:1-2", "片段「a:1-2」看不懂"),
    ("1:-2-3", "看不懂"),
    ("1:" + "9" * 3000, "太长"),
])
def test_segments_that_do_not_parse(text, message):
    with pytest.raises(InputError, match=message):
        parse_segments(text)


LINES = (SubtitleLine(1.0, 3.0, "一句"), SubtitleLine(3.4, 6.0, "两句"),
         SubtitleLine(9.0, 12.0, "三句"))
EPISODES = {1: EpisodeTimes(1, 20.0, LINES), 2: EpisodeTimes(2, 10.0)}


@pytest.mark.parametrize("segment, message", [
    ((1, 5.0, 25.0), r"片段「1:5-25」超出了第 1 集的结尾（这一集只有 20.00 秒）"),
    ((1, 20.0, 21.0), "超出了第 1 集的结尾"),
    ((1, 8.0, 4.0), r"片段「1:8-4」的结束不晚于开始.*应写成 1:4-8"),
    ((3, 1.0, 2.0), "片段「3:1-2」：这部剧只有 2 集"),
    ((1, 1.2, 1.6), "落在一句台词中间"),
])
def test_segments_refused(segment, message):
    with pytest.raises(InputError, match=message):
        resolve_segments([segment], EPISODES)


def test_edges_move_out_of_lines_to_the_nearer_gap_and_say_so():
    spans = [(1.0, 3.0), (3.4, 6.0), (9.0, 12.0)]
    assert snap_out(2.5, spans, 20.0) == 3.2  # nearer the end: half the 0.4 s gap after it
    assert snap_out(1.2, spans, 20.0) == 0.7  # nearer the start: GAP_PAD before it
    assert snap_out(7.0, spans, 20.0) == 7.0  # in a gap: stays
    segments, notes = resolve_segments([(2, 1.0, 4.0), (1, 1.2, 10.0)], EPISODES)
    assert segments == ((1, 0.7, 8.7), (2, 1.0, 4.0))  # story order, edges out of lines
    assert any("1:1.2-10 的边界落在台词中间" in n and "开头 1.2→0.7" in n and "结尾 10→8.7" in n
               for n in notes)
    assert "片段已按剧情顺序（集数、时间）排列" in notes
    with pytest.raises(InputError, match="重叠"):
        resolve_segments([(1, 7.0, 8.5), (1, 8.0, 8.8)], EPISODES)


def test_the_automatic_choice_keeps_each_episode_under_its_share_and_joins_touching():
    ranked = [(1, 0.0, 8.0), (1, 8.0, 12.0), (2, 0.0, 4.0), (1, 14.0, 18.0)]
    durations = {1: 20.0, 2: 10.0}
    assert pick_for_video(ranked, 100, durations, 0.5) == [(1, 0.0, 8.0), (2, 0.0, 4.0)]
    assert pick_for_video(ranked, 100, durations, 1.0) == [(1, 0.0, 12.0), (1, 14.0, 18.0),
                                                            (2, 0.0, 4.0)]
    assert pick_for_video(ranked, 10, durations, 0.5) == [(1, 0.0, 8.0)]
    # nothing fits the share: the budget alone decides, the checks will warn
    assert pick_for_video([(1, 0.0, 15.0)], 100, durations, 0.5) == [(1, 0.0, 15.0)]


# --- mask band and rights -----------------------------------------------------------------

def test_the_mask_band_comes_from_the_setting_or_the_sidecar(tmp_path):
    assert parse_band("auto") == "auto" and parse_band("off") is None
    assert parse_band("0.72-0.92") == (0.72, 0.92)
    for bad in ("0.9-0.7", "lower", "0.5-1.5"):
        with pytest.raises(InputError, match="drama.mask_band"):
            parse_band(bad)
    ass = tmp_path / "ep.ass"
    ass.write_text(
        "[Script Info]\nPlayResX: 1000\nPlayResY: 1000\n\n[V4+ Styles]\nFormat: Name, Fontname, "
        "Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, "
        "Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, "
        "Alignment, MarginL, MarginR, MarginV, Encoding\nStyle: Low,Arial,40,&H00FFFFFF,"
        "&H00FFFFFF,&H00000000,&H00000000,0,0,0,0,100,100,0,0,1,0,0,2,10,10,100,1\n\n[Events]\n"
        "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
        "Dialogue: 0,0:00:01.00,0:00:02.00,Low,,0,0,0,,一句\n"
        "Dialogue: 0,0:00:03.00,0:00:04.00,Low,,0,0,0,,{\\an8\\pos(500,100)}上面\n",
        encoding="utf-8")
    top, bottom = ass_band(ass)
    assert top == pytest.approx(0.1 - 0.015) and bottom == pytest.approx(0.9 + 0.015)
    assert LOWER_BAND == (0.70, 0.95)


def clip(episode: int, start: float, seconds: float, duration: float = 20.0) -> DramaClip:
    return DramaClip(Path(f"/x/{episode}.mp4"), start, seconds, 720, 1280, True,
                     episode=episode, number=episode, sha256=f"sha{episode}",
                     episode_seconds=duration)


def test_the_rights_record_and_the_episode_share_warning():
    record = rights_record([clip(1, 2.0, 6.0), clip(2, 0.0, 3.0), clip(1, 10.0, 5.0)], 3.0)
    first = record["episodes"][0]
    assert first["sha256"] == "sha1" and first["ranges"] == [[2.0, 8.0], [10.0, 15.0]]
    assert first["seconds"] == 11.0 and first["share"] == 0.55
    assert [s["at"] for s in record["segments"]] == [0.0, 6.0, 9.0]
    assert record["segments_seconds"] == 14.0 and record["end_card_seconds"] == 3.0
    warned = share_findings(record, 0.5)
    assert [f.level for f in warned] == ["warn"] and "第 1 集用了 11.0 秒，占该集 55%" in \
        warned[0].message
    assert [f.level for f in share_findings(record, 0.6)] == ["pass"]


# --- templates ------------------------------------------------------------------------------

def test_the_drama_templates_lint_clean_and_drama_variables_are_checked(tmp_path):
    for name in ("cut", "narrated"):
        assert lint_template(PROJECT / "templates" / f"{name}.j2") == []
    wrong = tmp_path / "wrong.j2"
    wrong.write_text("---\nid: wrong\nname: 错\nkind: drama\ntarget_seconds: 30\n---\n"
                     "{% block hook %}{{ chapter_text }}{% endblock %}\n"
                     "{% block cta %}{{ app }}搜索【{{ keyword }}】{% endblock %}\n",
                     encoding="utf-8")
    assert any("未知变量 chapter_text" in i.message for i in lint_template(wrong))
    novel = tmp_path / "novel.j2"
    novel.write_text((PROJECT / "templates" / "suspense.j2").read_text("utf-8").replace(
        "kind: novel", "kind: novel\nnarrated: true"), encoding="utf-8")
    assert any("narrated 只用于短剧模板" in i.message for i in lint_template(novel))


# --- the narration fits the segments --------------------------------------------------------

def test_a_narration_longer_than_the_segments_loses_body_sentences_then_is_refused():
    body = "第一句很长很长很长。第二句也很长很长。第三句还是很长很长。"
    script = Script([Segment("hook", "钩子。"), Segment("body", body),
                     Segment("cta", "搜索【口令】")], keyword="口令")
    timing = TimingMap("n.wav", 24000, 12.0, "espeak", "cmn", segments=[
        SegmentSpan("hook", "钩子。", 0.0, 1.0), SegmentSpan("body", body, 1.0, 10.0),
        SegmentSpan("cta", "搜索【口令】", 10.0, 12.0)])
    shorter, note = shorten(script, timing, 10.0)
    kept = shorter.segment("body").text
    assert kept == "第一句很长很长很长。第二句也很长很长。" and "比片段总长 10.0 秒长" in note
    assert shorter.segment("cta").text == "搜索【口令】"
    dropped, _ = shorten(script, timing, 4.0)
    assert [s.name for s in dropped.segments] == ["hook", "cta"]
    with pytest.raises(InputError, match="删掉正文后开头和结尾引导也放不下"):
        shorten(dropped, replace(timing, segments=[timing.segments[0], timing.segments[2]]),
                2.0)


# --- end to end -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Made:
    cut: MakeOutcome
    narrated: MakeOutcome
    material: int
    settings: Settings
    db: Database


def drama_job(material: int, template: str, segments: str | None = SEGMENTS,
              **fields) -> MakeJob:
    return MakeJob(material_id=material, chapter=None, template=template, keyword=KEYWORD,
                   profile="draft", segments=tuple(parse_segments(segments)) if segments
                   else None, **fields)


@pytest.fixture(scope="module")
def made_once(tmp_path_factory, sample_drama: SampleDrama):  # noqa: F811
    """The sample drama imported and made into a cut and a narrated package, once."""
    root = tmp_path_factory.mktemp("drama-render")
    with pytest.MonkeyPatch.context() as mp:
        isolate(mp, root)
        settings = load_settings()
        db = open_db(settings.db_path)
        try:
            material = add_drama(db, [sample_drama.folder]).material["id"]
            cut = run_job(drama_job(material, "cut"), settings, db)
            narrated = run_job(drama_job(material, "narrated"), settings, db)
        finally:
            db.close()
    return PreparedHome.freeze(root), material, cut, narrated


@pytest.fixture
def made(made_once, monkeypatch):
    prepared, material, cut, narrated = made_once
    prepared.restore(monkeypatch)
    settings = load_settings()
    db = open_db(settings.db_path)
    yield Made(cut, narrated, material, settings, db)
    db.close()


def manifest(outcome: MakeOutcome) -> dict:
    return json.loads((outcome.package / "manifest.json").read_text("utf-8"))


@pytest.mark.parametrize("which", ["cut", "narrated"])
def test_both_templates_make_verified_packages_with_a_rights_record(made, which):
    outcome = getattr(made, which)
    assert verify_package(outcome.package) == []
    data = manifest(outcome)
    assert not outcome.compliance.blocked
    passed = {f.check for f in outcome.compliance.findings if f.level == "pass"}
    assert {"ai_label", "aigc_metadata", "keyword", "banned_words"} <= passed
    assert json.loads(dict(read_tags(outcome.package / "video.mp4"))["AIGC"])["Label"] == "1"
    rows = {row["idx"]: row for row in list_episodes(made.db, made.material)}
    rights = data["drama"]
    assert [(e["episode"], e["path"], e["sha256"]) for e in rights["episodes"]] == [
        (i, rows[i]["path"], rows[i]["sha256"]) for i in (1, 2, 3)]
    assert [e["ranges"][0][0] for e in rights["episodes"]] == [12.44, 7.0, 6.28]
    for entry in rights["episodes"]:
        low, high = entry["ranges"][0]
        assert entry["seconds"] == pytest.approx(high - low, abs=0.001)
    assert rights["end_card_seconds"] == 3.0
    assert data["recipe"]["drama"]["episodes"] == [[i, rows[i]["sha256"]] for i in (1, 2, 3)]
    assert data["recipe"]["segments"] == [[1, 12.44, 18.0], [2, 7.0, 17.6], [3, 6.28, 17.88]]
    warned = [f for f in outcome.compliance.findings if f.check == "episode_share"]
    assert [f.level for f in warned] == ["warn"] and "第 3 集" in warned[0].message
    assert "第 3 集" in (outcome.package / "checklist.md").read_text("utf-8")


@pytest.mark.parametrize("which", ["cut", "narrated"])
def test_the_video_is_the_segments_plus_the_end_card(made, which):
    outcome = getattr(made, which)
    info = probe(outcome.package / "video.mp4")
    assert (info.width, info.height, info.fps) == (720, 1280, 30.0)
    assert info.duration == pytest.approx(SECONDS + 3.0, abs=0.1)
    assert manifest(outcome)["durations"]["segments"] == pytest.approx(SECONDS, abs=0.1)


def test_the_cut_keeps_the_original_sound_and_shows_a_hook(made):
    data = manifest(made.cut)
    assert data["voice"]["backend"] is None and data["render"]["narrated"] is False
    assert data["render"]["mask"] == []  # no subtitles of ours: the master's stay visible
    srt = (made.cut.package / "subtitles.srt").read_text("utf-8")
    assert "你爸那晚，根本没喝酒。" in srt  # the episodes' own lines, on the video's timeline
    hook = data["render"]["hook"]
    assert hook and hook in srt  # the strongest line of the segments, shown first
    assert data["caption"].startswith("《夜渡》第1、2、3集") and KEYWORD in data["caption"]
    track = sound(made.cut.package / "video.mp4")
    assert rms(track, 1.0, 5.0) > 0.01  # the episode's voice and river, not silence
    assert rms(track, SECONDS + 0.5, SECONDS + 2.5) < rms(track, 1.0, 5.0) / 10  # end card


def test_the_narration_is_voiced_with_subtitles_and_the_sound_ducked(made):
    data = manifest(made.narrated)
    assert data["voice"]["backend"] == "espeak" and data["rewrite"]["backend"] == "rules"
    assert data["prompt"]["id"] == "drama-narration" and data["render"]["narrated"] is True
    assert 0 < data["durations"]["narration"] <= data["durations"]["segments"]
    assert data["render"]["duck_volume"] == 0.25
    assert KEYWORD in (made.narrated.package / "subtitles.srt").read_text("utf-8")


def test_a_landscape_episode_fills_the_frame_and_its_subtitle_band_is_masked(made):
    at = (18 - 12.44) + 1.3  # episode 2 (1280×720), 8.3 s in: a burned-in line is on screen
    plain, masked = (gray_frame(o.package / "video.mp4", at) for o in (made.cut, made.narrated))
    _, height = fit_size_of(1280, 720, (720, 1280))
    top = (1280 - height) // 2
    for frame in (plain, masked):  # blurred fill above and below, no black bars
        assert frame[:top - 20].mean() > 25 and frame[top + height + 20:].mean() > 25
        assert frame[:, :8].mean() > 25 and frame[:, -8:].mean() > 25
    band = slice(top + round(0.72 * height), top + round(0.93 * height))
    assert detail(plain[band]) > 3 * detail(masked[band])  # the text is blurred away
    above = slice(top + round(0.2 * height), top + round(0.6 * height))
    assert detail(masked[above]) > 0.5 * detail(plain[above])  # the rest of the picture is not


def test_the_original_sound_is_ducked_while_the_narration_speaks(made, tmp_path):
    """The same segment with and without narration: the narration is silent, so what is heard
    is the original alone; where the narration 'speaks' it is lower by the duck volume."""
    episode = next(r for r in list_episodes(made.db, made.material) if r["idx"] == 1)
    silent = tmp_path / "silent.wav"
    with wave.open(str(silent), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(24000)
        out.writeframes(b"\0\0" * 24000 * 10)
    overlays = OverlaySpec("本视频含AI生成内容", 0, f"搜索【{KEYWORD}】", (), 0, KEYWORD)
    base = DramaRenderJob(
        clips=(DramaClip(Path(episode["path"]), 1.0, 10.0, 720, 1280, True, episode=1),),
        overlays=overlays, profile=get_profile("draft"), output=tmp_path / "plain.mp4",
        font_file=default_font_file())
    ducked = replace(base, output=tmp_path / "ducked.mp4", narration=silent,
                     narration_spans=((4.0, 7.0),))
    levels = []
    for job in (base, ducked):
        execute(drama_render_plan(with_measured_drama_loudness(job)))
        track = sound(job.output)
        levels.append(rms(track, 4.3, 6.7) / rms(track, 0.5, 3.3))  # spoken / not spoken
    ratio_db = 20 * np.log10(levels[1] / levels[0])
    assert ratio_db < -8  # 0.25 is −12 dB; nothing else differs between the two renders


def test_crop_fills_the_frame_by_cropping(made, tmp_path):
    episode = next(r for r in list_episodes(made.db, made.material) if r["idx"] == 2)
    job = DramaRenderJob(
        clips=(DramaClip(Path(episode["path"]), 4.0, 1.0, 1280, 720, True, episode=2),),
        overlays=OverlaySpec("本视频含AI生成内容", 0, f"搜索【{KEYWORD}】", (), 0, KEYWORD),
        profile=get_profile("draft"), output=tmp_path / "crop.mp4",
        font_file=default_font_file(), fit="crop")
    execute(drama_render_plan(job))
    assert probe(job.output).duration == pytest.approx(1.0, abs=0.1)
    frame = gray_frame(job.output, 0.5)  # a burned-in line is on screen in the episode
    assert frame[:, :8].mean() > 25 and frame[-8:].mean() > 10  # no bars
    # the episode's own lower band, enlarged to the whole height, is the frame's lower band:
    # sharp text there (a fitted picture would put blurred fill there)
    text = slice(round(0.82 * 1280), round(0.92 * 1280))
    assert detail(frame[text]) > 3 * detail(frame[round(0.45 * 1280):round(0.65 * 1280)])


def test_the_lifecycle_chooses_highlights_in_story_order_out_of_lines(made):
    plan = plan_bound(drama_job(made.material, "cut", None, max_seconds=20), made.settings,
                      made.db)
    segments = plan.job.segments
    assert segments == tuple(sorted(segments))
    assert sum(e - s for _, s, e in segments) <= 20 - 3.0 + 1e-6
    assert any("自动选了" in note for note in plan.notes)
    for idx, start, end in segments:
        lines = plan.drama.episode(idx).lines
        assert not any(line.start < t < line.end for line in lines for t in (start, end))
    share = {}
    for idx, start, end in segments:
        share[idx] = share.get(idx, 0) + end - start
    assert all(share[i] <= 0.5 * plan.drama.episode(i).duration + 1e-6 for i in share)


def test_an_edge_inside_a_line_is_moved_and_the_notes_say_so(made):
    plan = plan_bound(drama_job(made.material, "cut", "2:8.3-12"), made.settings, made.db)
    (_, start, end), = plan.job.segments
    lines = plan.drama.episode(2).lines
    inside = [line for line in lines for t in (8.3, 12.0) if line.start < t < line.end]
    assert len(inside) == 2  # both edges asked for were inside a line …
    assert not any(line.start < t < line.end for line in lines for t in (start, end))  # … no more
    assert abs(start - 8.3) < 1.5 and abs(end - 12.0) < 1.0  # to the nearer gap
    assert any("2:8.3-12 的边界落在台词中间" in note for note in plan.notes)


def test_the_novel_recipe_is_unchanged_by_the_drama_fields(made):
    job = MakeJob(material_id=1, chapter=2, template="suspense", keyword=KEYWORD)
    recipe = job.recipe(made.settings)
    assert "segments" not in recipe and "fit" not in recipe and recipe["chapter"] == 2


@pytest.mark.parametrize("template, args, message", [
    ("cut", ["--segments", "1:12-40"], "片段「1:12-40」超出了第 1 集的结尾"),
    ("cut", ["--segments", "1:18-12"], "片段「1:18-12」的结束不晚于开始"),
    ("cut", ["--segments", "7:1-5"], "片段「7:1-5」：这部剧只有 3 集"),
    ("cut", ["--segments", "1:1,5"], "片段「1:1」看不懂"),
    ("cut", ["--segments", "1:2-9,1:8-12"], "重叠"),
    ("cut", ["--chapter", "1"], "是短剧，没有章节：去掉 --chapter"),
    ("cut", ["--fit", "stretch"], "--fit 只能是 blur 或 crop"),
    ("cut", ["--background", "/tmp/x.mp4"], "画面就是所选片段：去掉 --background"),
    ("suspense", [], "模板 suspense 是小说模板"),
    ("narrated", ["--segments", SEGMENTS, "--max-seconds", "10"], "超过时长上限 10 秒"),
])
def test_make_refuses_a_drama_job_in_one_line_before_any_work(made, template, args, message):
    before = made.db["jobs"].count
    result = run_cli("make", "--material", str(made.material), "--template", template,
                     "--keyword", KEYWORD, "--profile", "draft", *args)
    assert result.returncode == 1, result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and errors[0].startswith("错误") and message in errors[0], errors
    assert made.db["jobs"].count == before  # nothing recorded, nothing voiced


def test_a_novel_needs_a_chapter_and_a_novel_template(made):
    novel, _ = add_material(made.db, PROJECT / "assets" / "samples" / "night-ferry.txt")
    result = run_cli("make", "--material", str(novel["id"]), "--template", "suspense",
                     "--keyword", KEYWORD)
    assert result.returncode == 1 and "是小说：请用 --chapter 指定章节" in result.stderr
    result = run_cli("make", "--material", str(novel["id"]), "--chapter", "1", "--template",
                     "cut", "--keyword", KEYWORD)
    assert result.returncode == 1 and "模板 cut 是短剧模板" in result.stderr


def test_a_narration_too_long_for_its_segments_is_trimmed(made):
    outcome = run_job(drama_job(made.material, "narrated", "1:12.44-18,2:7-9.6"),
                      made.settings, made.db)
    assert any("比片段总长" in note and "正文从" in note for note in outcome.notes)
    data = manifest(outcome)
    assert data["durations"]["narration"] <= data["durations"]["segments"]
    info = probe(outcome.package / "video.mp4")
    assert info.duration == pytest.approx(5.56 + 2.6 + 3.0, abs=0.1)
    result = run_cli("make", "--material", str(made.material), "--template", "narrated",
                     "--keyword", KEYWORD, "--profile", "draft", "--segments", "1:12.44-16")
    assert result.returncode == 1 and "开头和结尾引导也放不下" in result.stderr


def test_a_prepared_drama_job_is_plain_data_for_a_worker(made, tmp_path):
    from workbench.pipeline import lifecycle

    plan = lifecycle.claim(plan_bound(drama_job(made.material, "cut", "1:1-5"), made.settings,
                                      made.db), made.settings, made.db)
    prepared = lifecycle.prepare(plan, lifecycle.start(plan, made.db), made.settings, made.db)
    copy = pickle.loads(pickle.dumps(prepared))
    stored = Path(next(r for r in list_episodes(made.db, made.material) if r["idx"] == 1)["path"])
    assert isinstance(copy.render_job, DramaRenderJob) and copy.voice_job_id is None
    assert set(copy.input_files()) == {prepared.srt, stored}
    local = tmp_path / "0-episode.mp4"
    moved = copy.with_files({stored: local})
    assert moved.render_job.clips[0].path == local
    # a worker reads its own copy; the rights record still names the stored file
    assert rights_record(moved.render_job.clips, 3.0)["episodes"][0]["path"] == str(stored)


def test_the_label_and_banner_are_overlaid_once_and_stay_bright_over_the_end_card(made, tmp_path):
    """The label and banner are drawn once and laid over the frames (static_overlay), over the
    end card's veil, and held with the last frame under the end card."""
    from workbench.render.overlays import top_layout
    from workbench.render.plan import OVERLAY_FILE
    from workbench.render.static_overlay import STATIC_FILE, bands

    episode = next(r for r in list_episodes(made.db, made.material) if r["idx"] == 1)
    overlays = OverlaySpec("本视频含AI生成内容", 0, f"搜索【{KEYWORD}】", ("看全集",), 1.0,
                           KEYWORD)
    job = DramaRenderJob(
        clips=(DramaClip(Path(episode["path"]), 1.0, 2.0, 720, 1280, True, episode=1),),
        overlays=overlays, profile=get_profile("draft"), output=tmp_path / "card.mp4",
        font_file=default_font_file())
    plan = drama_render_plan(job)
    assert "AiLabel" in plan.files[STATIC_FILE] and "AiLabel" not in plan.files[OVERLAY_FILE]
    assert "EndCard" in plan.files[OVERLAY_FILE] and "top_lab" in " ".join(plan.args)
    execute(plan)
    assert probe(job.output).duration == pytest.approx(3.0, abs=0.1)
    during, held = gray_frame(job.output, 1.0), gray_frame(job.output, 2.6)
    label, banner = bands(overlays, top_layout(overlays, 2.0, job.font_file), job.font_file,
                          (720, 1280))
    for band in (label, banner):
        box = (slice(band.y, band.y + band.h), slice(band.x, band.x + band.w))
        lit = (during[box] > 170).sum()
        assert lit > 150 and (held[box] > 170).sum() > 0.8 * lit  # not under the veil
    corner = (slice(1100, 1250), slice(0, 120))  # no text there: only the picture, dimmed
    assert held[corner].mean() < 0.6 * during[corner].mean() + 8
