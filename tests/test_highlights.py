"""Drama highlights on real tiny episodes made by ffmpeg: scene cuts where they were made,
loudness of quiet and loud parts, the cliffhanger ranking first, no edge inside a line, the
total length; the LLM story arc against the local OpenAI-protocol server (times past the end,
overlaps, answers that do not parse, one repair round); the command's JSON."""
# The `llm_server` fixture is imported by name, so test parameters "redefine" it:
# ruff: noqa: F811

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from cli_runner import run_cli, run_subprocess
from llm_server import LLMServer, llm_server  # noqa: F401

from workbench.config import load_settings
from workbench.drama.arc import find_arc
from workbench.drama.dialogue import CLIFFHANGER, scene_endings, score_line
from workbench.drama.edges import snap_points, span_at, speech_spans
from workbench.drama.facts import OFFLINE_NOTE, gather
from workbench.drama.highlights import MAX_SECONDS, MIN_SECONDS, find_highlights
from workbench.drama.loudness import loudness, measure
from workbench.drama.scenes import detect_cuts, scene_cuts
from workbench.errors import BackendError, BackendUnavailable, InputError
from workbench.ffmpeg import ffmpeg_exe
from workbench.materials.drama import add_drama, list_episodes
from workbench.materials.episode_ranges import parse_episode_range
from workbench.materials.library import add_material
from workbench.materials.sidecar import SubtitleLine
from workbench.store.cache import StageCache

CLIFF = "等等，原来你就是那个人……"
# Episode 1: three 8-second scenes (cuts at 8 and 16), the last one loud. Line 4 runs across
# the cut at 8; line 8, the cliffhanger, ends scene 2.
LINES = [
    (0.5, 2.0, "今天天气不错。"), (2.5, 4.0, "我们去吃饭吧。"), (4.5, 6.0, "好啊，走吧。"),
    (7.6, 8.6, "走吧，我们进去看看。"), (8.9, 10.2, "你来这里做什么"), (10.5, 12.0, "我只是路过。"),
    (12.5, 13.8, "路过就请回吧。"), (14.0, 15.6, CLIFF), (17.0, 18.5, "第二天早上。"),
    (19.0, 20.5, "我去上班了。"), (21.0, 22.5, "路上小心。"),
]


def make_parts(path: Path, parts: list[tuple[str, float, float | None]]) -> Path:
    """An episode of consecutive parts: (lavfi video source, seconds, tone volume or None for
    no sound at all), 180x320 at 25 fps."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-v", "error", "-y"]
    for source, seconds, _ in parts:
        sep = ":" if "=" in source else "="
        cmd += ["-f", "lavfi", "-i", f"{source}{sep}size=180x320:rate=25:duration={seconds}"]
    sound = parts[0][2] is not None
    n = len(parts)
    graph = []
    if sound:
        for i, (_, seconds, volume) in enumerate(parts):
            cmd += ["-f", "lavfi", "-i", f"sine=frequency=330:sample_rate=16000:duration={seconds}"]
            graph.append(f"[{n + i}:a]volume={volume}[a{i}]")
        graph.append("".join(f"[{i}:v][a{i}]" for i in range(n))
                     + f"concat=n={n}:v=1:a=1[v][a]")
    else:
        graph.append("".join(f"[{i}:v]" for i in range(n)) + f"concat=n={n}:v=1:a=0[v]")
    cmd += ["-filter_complex", ";".join(graph), "-map", "[v]"]
    if sound:
        cmd += ["-map", "[a]", "-c:a", "aac"]
    cmd += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(path)]
    subprocess.run(cmd, check=True, capture_output=True)
    return path


def srt(lines: list[tuple[float, float, str]]) -> str:
    def stamp(t: float) -> str:
        ms = round(t * 1000)
        return f"00:{ms // 60000:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"
    return "\n".join(f"{i}\n{stamp(a)} --> {stamp(b)}\n{text}\n"
                     for i, (a, b, text) in enumerate(lines, start=1))


@pytest.fixture(scope="module")
def drama(tmp_path_factory) -> Path:
    """第1集 with subtitles (above); 第2集 without: 4 s quiet, then 4 s loud after a cut."""
    folder = tmp_path_factory.mktemp("drama") / "试剧"
    folder.mkdir()
    make_parts(folder / "试剧 - 第1集.mp4", [("testsrc2", 8, 0.02), ("color=c=red", 8, 0.02),
                                            ("smptebars", 8, 0.8)])
    (folder / "试剧 - 第1集.srt").write_text(srt(LINES), encoding="utf-8")
    make_parts(folder / "试剧 - 第2集.mp4", [("testsrc2", 4, 0.02), ("color=c=blue", 4, 0.8)])
    return folder


@pytest.fixture
def material(db, drama) -> int:
    return add_drama(db, [drama]).material["id"]


def inside_a_line(t: float, lines=LINES) -> bool:
    return any(a < t < b for a, b, _ in lines)


# Scene cuts and loudness ------------------------------------------------------------------
def test_scene_cuts_are_found_where_they_were_made_and_cached(db, material):
    episode = list_episodes(db, material)[0]
    assert detect_cuts(Path(episode["path"]), episode["duration"]) == pytest.approx(
        [8.0, 16.0], abs=0.1)
    cache = StageCache(db)
    assert scene_cuts(episode, cache) == pytest.approx([8.0, 16.0], abs=0.1)
    Path(episode["path"]).rename(Path(episode["path"]).with_suffix(".moved"))
    try:  # the second time comes from the cache: the file is not even opened
        assert scene_cuts(episode, cache) == pytest.approx([8.0, 16.0], abs=0.1)
        with pytest.raises(InputError, match="第 1 集的文件不见了"):
            scene_cuts(episode, cache, threshold=0.5)  # another threshold is another key
    finally:
        Path(episode["path"]).with_suffix(".moved").rename(episode["path"])


def test_loudness_tells_quiet_from_loud_and_silence_is_none(db, material, tmp_path):
    episode = list_episodes(db, material)[0]
    sound = loudness(episode, StageCache(db))
    assert len(sound.values) == pytest.approx(48, abs=1)  # 24 s in half-second windows
    quiet, loud = sound.between(1, 15), sound.between(17, 23)
    assert loud - quiet > 20 and abs(sound.median - quiet) < 1
    mute = make_parts(tmp_path / "mute.mp4", [("testsrc2", 2, None)])
    assert measure({"idx": 1, "path": str(mute), "duration": 2.0, "audio_codec": None}
                   ).values == ()


# Dialogue, edges, ranges -----------------------------------------------------------------
def test_line_scores_and_reasons():
    cliff = score_line(CLIFF, ends_scene=True)
    assert cliff.cliffhanger and cliff.reasons[0] == CLIFFHANGER
    assert not score_line(CLIFF, ends_scene=False).cliffhanger
    assert score_line(CLIFF).score < cliff.score
    betrayal = score_line("你竟敢背叛我？")
    assert {"冲突台词", "疑问句"} <= set(betrayal.reasons)
    assert score_line("你到底想怎么样？！", ends_scene=True).cliffhanger
    assert "冲突台词" in score_line("我打死你").reasons
    assert score_line("他打电话来了。").reasons == ()  # 打 alone is a word, not part of one
    assert score_line("今天天气不错。").score == 0


def test_a_line_ends_a_scene_when_the_next_cut_follows_it():
    lines = [SubtitleLine(a, b, t) for a, b, t in LINES]
    ends = scene_endings(lines, [7.6, 16.0], 24.0)
    assert [i for i, e in enumerate(ends) if e] == [2, 7, 10]  # before each cut, and the last


def test_edges_are_never_inside_a_line_and_cuts_move_to_the_nearer_edge():
    lines = [SubtitleLine(a, b, t) for a, b, t in LINES]
    spans = speech_spans(lines, 24.0)
    points = snap_points(spans, [8.0, 16.0], 24.0)
    assert not [p.time for p in points if inside_a_line(p.time)]
    scene_points = [p.time for p in points if p.scene]
    assert scene_points == [0.0, 7.6, 16.0, 24.0]  # 8.0 was inside 7.6–8.6
    overlapping = [SubtitleLine(1, 3, "a"), SubtitleLine(2, 5, "b")]
    assert speech_spans(overlapping, 4.0) == [(1, 4.0)]
    assert span_at(3.5, speech_spans(overlapping, 10)) == (1, 5)


@pytest.mark.parametrize(("text", "episodes"), [
    ("2", [2]), ("1-3", [1, 2, 3]), ("1,3-4", [1, 3, 4]), ("4-5，1 , 1", [1, 4, 5]),
    ("2～3", [2, 3]),
])
def test_episode_ranges(text, episodes):
    assert parse_episode_range(text, 5) == episodes


@pytest.mark.parametrize(("text", "message"), [
    ("", "是空的"), ("0", "超出"), ("6", "超出"), ("2-9", "超出"), ("3-1", "倒过来"),
    ("一", "看不懂"), ("1-", "看不懂"),
])
def test_bad_episode_ranges(text, message):
    with pytest.raises(InputError, match=message):
        parse_episode_range(text, 5)


# Ranking ----------------------------------------------------------------------------------
def test_the_cliffhanger_ranks_first_and_no_edge_is_inside_a_line(db, material):
    report = find_highlights(db, material, [1], max_seconds=60)
    top = report.highlights[0]
    assert CLIFF in top.text and CLIFFHANGER in top.reasons
    assert top.end == pytest.approx(16.0)  # ends with its scene, right after the line
    assert report.notes == []
    for h in report.highlights:
        assert not inside_a_line(h.start) and not inside_a_line(h.end), h
        assert MIN_SECONDS - 1e-6 <= h.seconds <= MAX_SECONDS + 1e-6
    assert sum(h.seconds for h in report.highlights) <= 60
    for i, a in enumerate(report.highlights):
        assert not any(a.overlaps(b) for b in report.highlights[i + 1:])
    assert [h.score for h in report.highlights] == sorted(
        (h.score for h in report.highlights), reverse=True)


@pytest.mark.parametrize("limit", [5, 12, 20])
def test_max_seconds_is_respected(db, material, limit):
    chosen = find_highlights(db, material, max_seconds=limit).highlights
    assert chosen and sum(h.seconds for h in chosen) <= limit + 1e-6
    assert all(not inside_a_line(h.start) and not inside_a_line(h.end)
               for h in chosen if h.episode == 1)


def test_without_lines_scenes_and_sound_choose(db, material):
    report = find_highlights(db, material, [2], max_seconds=60)
    assert report.notes == [OFFLINE_NOTE]
    top = report.highlights[0]
    assert top.episode == 2 and top.start >= 4.0 - 0.1 and top.text == ""
    assert "声音激烈" in top.reasons
    both = find_highlights(db, material, max_seconds=60)
    assert both.notes == ["第 2 集没有字幕：这几集只根据镜头和声音挑选片段"]


def test_lines_can_come_from_elsewhere(db, material):
    """A transcript stands in for missing subtitles through `lines_for`."""
    def transcript(episode):
        if episode["idx"] == 2:
            return [SubtitleLine(4.5, 7.0, "你到底是谁……")], "第 2 集用的是语音识别的字幕"
        return [], None
    report = find_highlights(db, material, [2], lines_for=transcript)
    assert report.notes == ["第 2 集用的是语音识别的字幕"]
    assert report.highlights[0].text == "你到底是谁……"
    assert CLIFFHANGER in report.highlights[0].reasons
    two_rows = gather(db, material, [2], lines_for=lambda e: (
        [SubtitleLine(1.0, 2.0, "你到底\n是谁？"), SubtitleLine(9.0, 9.5, "结尾之后")], None))[0]
    assert [line.text for line in two_rows[0].lines] == ["你到底 是谁？"]  # one line, no tail
    with pytest.raises(InputError, match="只有 2 集"):
        gather(db, material, [3])


# The command ------------------------------------------------------------------------------
def test_cli_json_shape_and_table(material):
    result = run_cli("drama", "highlights", "--material", str(material), "--episodes", "1",
                     "--max-seconds", "30", "--json")
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown and sum(h["end"] - h["start"] for h in shown) <= 30
    for h in shown:
        assert list(h) == ["episode", "start", "end", "score", "reasons", "text"]
        assert h["episode"] == 1 and isinstance(h["reasons"], list)
        assert all(isinstance(h[k], (int, float)) for k in ("start", "end", "score"))
    assert CLIFF in shown[0]["text"]
    table = run_cli("drama", "highlights", "--material", str(material))
    assert table.returncode == 0 and "悬念结尾" in table.stdout and "高光片段" in table.stdout
    offline = run_cli("drama", "highlights", "--material", str(material), "--episodes", "2")
    assert offline.returncode == 0 and OFFLINE_NOTE in offline.stderr


def test_the_installed_command_runs(material):
    result = run_subprocess("drama", "highlights", "--material", str(material), "--episodes",
                            "1", "--max-seconds", "10", "--json")
    assert result.returncode == 0, result.stderr
    assert CLIFF in json.loads(result.stdout)[0]["text"]


def test_cli_refusals(db, material, tmp_path):
    bad = run_cli("drama", "highlights", "--material", str(material), "--episodes", "3")
    assert bad.returncode == 1 and "超出：这部剧共 2 集" in bad.stderr
    novel = tmp_path / "书.txt"
    novel.write_text("第一章 开始\n" + "正文。" * 200, encoding="utf-8")
    novel_id = add_material(db, novel)[0]["id"]
    wrong = run_cli("drama", "highlights", "--material", str(novel_id))
    assert wrong.returncode == 1 and "是小说，不是短剧" in wrong.stderr
    arc = run_cli("drama", "highlights", "--material", str(material), "--arc")
    assert arc.returncode == 1 and "OPENAI_API_KEY" in arc.stderr
    assert len([line for line in arc.stderr.splitlines() if line.strip()]) == 1


# The LLM's story arc ----------------------------------------------------------------------
@pytest.fixture
def llm_settings(llm_server: LLMServer, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", llm_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-arc1234567890")
    monkeypatch.setenv("WORKBENCH_LLM_MAX_RETRIES", "0")
    monkeypatch.setenv("WORKBENCH_LLM_TIMEOUT", "10")
    return load_settings()


def arc_answer(*segments: tuple[int, float, float]) -> str:
    return json.dumps({"segments": [{"episode": e, "start": s, "end": t, "reason": "冲突升级"}
                                    for e, s, t in segments]}, ensure_ascii=False)


def test_arc_clamps_past_the_end_snaps_out_of_lines_and_drops_overlaps(
        db, material, llm_settings, llm_server: LLMServer):
    duration = list_episodes(db, material)[0]["duration"]
    llm_server.plan_reply(arc_answer((1, 17.0, 99.0), (1, 9.5, 15.0), (1, 12.0, 14.5)))
    report = find_arc(db, llm_settings, material, [1], max_seconds=60)
    assert [(h.start, h.end) for h in report.highlights] == [
        (17.0, pytest.approx(duration)), (8.9, 15.6)]  # story order, as the model gave it
    assert any("超出了剧集时长" in n for n in report.notes)
    assert any("重叠" in n for n in report.notes)
    assert report.highlights[0].reasons[0] == "故事线：冲突升级"
    assert CLIFF in report.highlights[1].text
    assert len(llm_server.chat_requests) == 1
    prompt = llm_server.chat_requests[0].text()
    assert "第1集（时长 24.0 秒）" in prompt and "[8] 14.00-15.60 " + CLIFF in prompt
    assert "第2集" not in prompt  # asked for episode 1 only
    again = find_arc(db, llm_settings, material, [1], max_seconds=60)
    assert again.highlights == report.highlights and len(llm_server.chat_requests) == 1


def test_an_answer_that_does_not_parse_gets_one_repair_then_a_clear_error(
        db, material, llm_settings, llm_server: LLMServer):
    llm_server.plan_reply("好的，我挑了这几段：第一段从 3 秒开始")
    llm_server.plan_reply('{"segments": [{"episode": 1, "start": "三秒"}]}')
    with pytest.raises(BackendError) as caught:
        find_arc(db, llm_settings, material, max_seconds=60)
    message = str(caught.value)
    assert "故事线无效（已重试一次）" in message and "\n" not in message
    assert "WORKBENCH_LLM_MODEL" in message
    requests = llm_server.chat_requests
    assert len(requests) == 2
    repair = requests[1].messages
    assert repair[-2] == {"role": "assistant", "content": "好的，我挑了这几段：第一段从 3 秒开始"}
    assert "没有完整、合法的 JSON" in repair[-1]["content"]


@pytest.mark.parametrize(("first", "complaint"), [
    (arc_answer((7, 1.0, 5.0)), "只给了第 1 集"),
    (arc_answer((1, 100.0, 120.0)), "没有一个可用的片段"),
    (arc_answer((1, 9.0, 5.0)), "必须大于 start"),
    ('{"segments": []}', "至少要有 1 项"),
])
def test_a_bad_answer_is_repaired_once(db, material, llm_settings, llm_server: LLMServer,
                                      first, complaint):
    llm_server.plan_reply(first)
    llm_server.plan_reply(arc_answer((1, 0.5, 6.0)))
    report = find_arc(db, llm_settings, material, [1], max_seconds=60)
    assert [(h.start, h.end) for h in report.highlights] == [(0.5, 6.0)]
    assert len(llm_server.chat_requests) == 2
    assert complaint in llm_server.chat_requests[1].messages[-1]["content"]


def test_arc_respects_max_seconds_and_needs_lines(db, material, llm_settings,
                                                  llm_server: LLMServer):
    llm_server.plan_reply(arc_answer((1, 8.9, 15.6), (1, 0.5, 6.0)))
    report = find_arc(db, llm_settings, material, [1], max_seconds=6)  # 6.7 s + 5.5 s
    assert [(h.start, h.end) for h in report.highlights] == [(0.5, 6.0)]
    assert any("超出总时长 6 秒" in n for n in report.notes)
    with pytest.raises(InputError, match="没有字幕"):
        find_arc(db, llm_settings, material, [2])
    assert len(llm_server.chat_requests) == 1


def test_arc_without_an_llm_says_how_to_configure_one(db, material, settings):
    with pytest.raises(BackendUnavailable, match="OPENAI_BASE_URL"):
        find_arc(db, settings, material)
    facts, _ = gather(db, material, [1])
    assert facts[0].cuts == pytest.approx([7.6, 16.0], abs=0.1)  # 8.0 moved out of a line


def test_cli_arc_json(material, llm_server: LLMServer):
    llm_server.plan_reply(arc_answer((1, 14.0, 16.0), (2, 0.0, 30.0)))  # 2 has no lines
    llm_server.plan_reply(arc_answer((1, 14.0, 16.0)))
    env = {"OPENAI_BASE_URL": llm_server.base_url, "WORKBENCH_LLM_MAX_RETRIES": "0"}
    result = run_cli("drama", "highlights", "--material", str(material), "--arc", "--json",
                     env=env)
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert [(h["episode"], h["start"], h["end"]) for h in shown] == [(1, 14.0, 16.0)]
    assert list(shown[0]) == ["episode", "start", "end", "score", "reasons", "text"]
    assert shown[0]["reasons"][0].startswith("故事线") and shown[0]["text"] == CLIFF
    assert "第 2 集没有字幕" in result.stderr
    assert len(llm_server.chat_requests) == 2
