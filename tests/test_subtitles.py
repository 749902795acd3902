"""Subtitles: Chinese line breaking, timing rules, ASS/SRT output and a real libass render."""

from __future__ import annotations

import struct
import subprocess
from itertools import pairwise
from pathlib import Path

import pysubs2
import pytest
from conftest import SAMPLES

from workbench.errors import InputError
from workbench.ffmpeg import ffmpeg_exe
from workbench.fonts import default_font_file, fonts_dir
from workbench.subtitles import (
    SubtitleEvent,
    SubtitleStyle,
    build_events,
    max_chars_for,
    to_ass,
    write_subtitles,
)
from workbench.text import jieba, split_paragraphs, visible_len
from workbench.voice.timing import SegmentSpan, TimedWord, TimingMap

KEYWORD = "夜渡迷局"  # jieba cuts it as 夜渡/迷局: the keyword rule must hold it together
STRIPPED = "，。、；：！？…,;:!?"

HOOK = "江州根本没有第十七码头，可那天晚上，有人找我买一张去那里的船票。"
CTA = "想知道沈长河那晚到底遇见了什么？去番茄小说搜索夜渡迷局，听我讲完夜渡迷局的秘密。"


def sample_paragraphs(n: int = 12) -> list[str]:
    paras = split_paragraphs((SAMPLES / "night-ferry.txt").read_text(encoding="utf-8"))
    return [p for p in paras if len(p) > 20][:n]


def _timed_runs(text: str, mode: str) -> list[tuple[int, int]]:
    """Character spans the fake TTS engine reports as words."""
    if mode == "char":
        return [(i, i + 1) for i, ch in enumerate(text) if ch.isalnum()]
    if mode == "jieba":
        spans, pos = [], 0
        for word in jieba().cut(text):
            if any(ch.isalnum() for ch in word):
                spans.append((pos, pos + len(word)))
            pos += len(word)
        return spans
    # "chunk3": runs of up to three characters that ignore jieba's words
    spans, i = [], 0
    while i < len(text):
        if not text[i].isalnum():
            i += 1
            continue
        j = i
        while j < len(text) and j - i < 3 and text[j].isalnum():
            j += 1
        spans.append((i, j))
        i = j
    return spans


def make_timing(texts: list[str], *, keyword: str = "", mode: str = "jieba",
                char_sec: float = 0.2, pause: float = 0.15, gap: float = 0.8) -> TimingMap:
    """A timing map as a TTS backend would write it: punctuation has no word, only a pause."""
    segments, words, t = [], [], 0.0
    for index, text in enumerate(texts):
        seg_start, pos = t, 0
        for a, b in _timed_runs(text, mode):
            t += pause * sum(not ch.isalnum() for ch in text[pos:a])
            words.append(TimedWord(text[a:b], t, t + char_sec * (b - a), index, a, b))
            t += char_sec * (b - a)
            pos = b
        segments.append(SegmentSpan(f"s{index}", text, seg_start, t))
        t += gap
    return TimingMap("narration.wav", 24000, t, "fake", "zh", keyword=keyword,
                     segments=segments, words=words)


def word_bounds(text: str, keyword: str) -> set[int]:
    """Offsets where jieba ends a word, with each keyword occurrence one word."""
    bounds, pos = {0}, 0
    pieces = text.split(keyword) if keyword else [text]
    for i, piece in enumerate(pieces):
        for word in jieba().cut(piece):
            pos += len(word)
            bounds.add(pos)
        if i < len(pieces) - 1:
            pos += len(keyword)
            bounds.add(pos)
    return bounds


def check_events(timing: TimingMap, events: list[SubtitleEvent], *, max_chars: int = 15,
                 min_duration: float = 0.6, max_duration: float = 5.0) -> None:
    """Every rule of the issue that holds for any input."""
    assert events
    for ev, nxt in pairwise(events):
        assert ev.end <= nxt.start + 1e-9, (ev, nxt)  # no overlaps, in time order
    for ev in events:
        text = timing.segments[ev.segment].text
        span = text[ev.char_start:ev.char_end]
        bounds = word_bounds(text, timing.keyword)
        assert ev.char_start in bounds and ev.char_end in bounds, (ev, span)
        assert ev.text and ev.text[-1] not in STRIPPED, ev.text
        assert ev.text.strip("“”《》") in span  # shown text comes from this segment's span
        if visible_len(ev.text) > max_chars:  # only a single over-long word may exceed
            inner = {b for b in bounds if ev.char_start < b < ev.char_end}
            assert all(not any(c.isalnum() for c in text[b:ev.char_end]) or
                       not any(c.isalnum() for c in text[ev.char_start:b]) for b in inner), ev
        words = [w for w in timing.words if w.segment == ev.segment
                 and w.char_start < ev.char_end and w.char_end > ev.char_start]
        first, last = min(words, key=lambda w: w.start), max(words, key=lambda w: w.end)
        if first.char_start >= ev.char_start:  # the line starts at a word
            assert abs(ev.start - first.start) < 0.05, (ev, first)
        assert ev.end - ev.start <= max_duration + 1e-9
        if last.char_end <= ev.char_end and last.end - ev.start <= max_duration:
            assert ev.end >= last.end - 1e-9, (ev, last)  # shown until its last word ends
    for ev, nxt in pairwise(events):
        if ev.end - ev.start < min_duration - 1e-9:
            assert ev.end == pytest.approx(nxt.start), ev  # held as long as the next allows
    for ev, nxt in pairwise(events):
        if ev.segment != nxt.segment:
            continue
        assert ev.char_end <= nxt.char_start  # reading order inside a segment


@pytest.mark.parametrize("mode", ["jieba", "char", "chunk3"])
@pytest.mark.parametrize("max_chars", [15, 9, 5])
def test_sample_novel_obeys_every_rule(mode: str, max_chars: int) -> None:
    timing = make_timing([HOOK, *sample_paragraphs(), CTA], keyword=KEYWORD, mode=mode)
    events = build_events(timing, max_chars=max_chars)
    check_events(timing, events, max_chars=max_chars)
    # nothing the narrator says is lost: every spoken character is inside some line's span
    for index, seg in enumerate(timing.segments):
        covered = set()
        for ev in events:
            if ev.segment == index:
                covered.update(range(ev.char_start, ev.char_end))
        assert {i for i, ch in enumerate(seg.text) if ch.isalnum()} <= covered


def test_default_line_limit_fits_the_frame() -> None:
    style = SubtitleStyle()
    assert max_chars_for(style) == 16  # floor((1080 - 2*60) / (84 * 0.69))
    assert max_chars_for(SubtitleStyle(font_size=80)) == 17
    timing = make_timing(sample_paragraphs(6))
    assert build_events(timing) == build_events(timing, max_chars=15)
    assert max(visible_len(e.text) for e in build_events(timing)) <= 15


def test_breaks_at_clauses_first_then_balanced_words() -> None:
    text = "雨水顺着他的帽檐往下滴，一滴，两滴，落在窗台上。我在售票窗口坐了整整三年卖出去的票少说也有十几万张。"
    events = build_events(make_timing([text]), max_chars=15)
    lines = [e.text for e in events]
    assert lines[:4] == ["雨水顺着他的帽檐往下滴", "一滴", "两滴", "落在窗台上"]
    rest = lines[4:]
    assert "".join(rest) == "我在售票窗口坐了整整三年卖出去的票少说也有十几万张"
    assert len(rest) == 2 and all(visible_len(x) >= 10 for x in rest)  # 25 → balanced, no orphan


def test_ellipsis_breaks_quotes_and_numbers_hold_together() -> None:
    text = "去江心岛的……可从来没有人买过一张去“第十七码头”的票，每晚23:40开船"
    timing = make_timing([text], mode="chunk3")
    events = build_events(timing, max_chars=9)
    check_events(timing, events, max_chars=9)
    lines = [e.text for e in events]
    assert lines[0] == "去江心岛的"
    assert "“第十七码头”的票" in lines  # a break inside the quotes was possible but avoided
    assert any("23:40" in line for line in lines)


def test_keyword_is_never_split_and_highlighted_only_in_ass(tmp_path: Path) -> None:
    assert list(jieba().cut(KEYWORD)) == ["夜渡", "迷局"]
    timing = make_timing([CTA, f"{KEYWORD}{KEYWORD}，《{KEYWORD}》"], keyword=KEYWORD)
    for max_chars in (15, 6, 4, 3):
        events = build_events(timing, max_chars=max_chars)
        check_events(timing, events, max_chars=max_chars)
        for index, seg in enumerate(timing.segments):
            start = seg.text.find(KEYWORD)
            while start >= 0:
                assert any(e.segment == index and e.char_start <= start
                           and start + len(KEYWORD) <= e.char_end for e in events)
                start = seg.text.find(KEYWORD, start + 1)
        if max_chars == 3:  # longer than the limit: the keyword stands alone
            assert [e.text for e in events].count(KEYWORD) >= 2
    assert list(jieba().cut(KEYWORD)) == ["夜渡", "迷局"]  # jieba's dictionary untouched

    events = build_events(timing)
    ass_path, srt_path = write_subtitles(events, tmp_path / "cta", keyword=KEYWORD)
    ass, srt = ass_path.read_text(encoding="utf-8"), srt_path.read_text(encoding="utf-8")
    highlighted = "{\\c&H00D4FF&}" + KEYWORD + "{\\r}"
    assert ass.count(highlighted) == sum(e.text.count(KEYWORD) for e in events) == 5
    assert "《" + highlighted + "》" in ass
    assert srt.count(KEYWORD) == 5 and "{" not in srt and "\\c" not in srt


def test_starts_follow_the_first_word_even_mid_tts_word() -> None:
    text = "那是一双很浑浊的眼睛可被它盯着的时候我后背一阵阵发凉"
    timing = make_timing([text], mode="chunk3", char_sec=0.15)
    events = build_events(timing, max_chars=8)
    check_events(timing, events, max_chars=8)
    for ev in events:  # a line that starts inside a TTS word starts at its character's share
        word = next(w for w in timing.words if w.char_start <= ev.char_start < w.char_end)
        share = (ev.char_start - word.char_start) / (word.char_end - word.char_start)
        assert ev.start == pytest.approx(word.start + share * (word.end - word.start), abs=0.05)


def test_min_duration_holds_short_lines_into_the_gap_but_not_past_the_next() -> None:
    timing = make_timing(["嗯。对。走吧，快走！", "他没动。"], char_sec=0.1, pause=0.4, gap=1.0)
    events = build_events(timing, min_duration=0.6)
    check_events(timing, events)
    assert [e.text for e in events] == ["嗯", "对", "走吧", "快走", "他没动"]
    hm = events[0]
    assert hm.end == pytest.approx(events[1].start)  # 0.1 s word + 0.4 s pause < 0.6 s
    assert events[3].end - events[3].start == pytest.approx(0.6)  # into the segment pause
    assert events[3].end < events[4].start  # the gap between segments stays


def test_small_gaps_close_inside_a_segment_only() -> None:
    timing = make_timing(["江州的末班渡轮，每晚从东门码头开出。", "我在售票窗口坐了整整三年。"],
                         pause=0.2, gap=0.25)
    events = build_events(timing)
    check_events(timing, events)
    for ev, nxt in pairwise(events):
        if ev.segment == nxt.segment:
            assert ev.end == pytest.approx(nxt.start)
        else:
            assert ev.end < nxt.start - 0.1  # a segment change keeps its pause


def test_max_duration_splits_at_a_word_or_clips_one_word() -> None:
    slow = make_timing(["我整个人都僵住了窗外空空荡荡", "啊"], char_sec=0.6)
    events = build_events(slow, max_duration=5.0)
    check_events(slow, events, max_duration=5.0)
    assert len([e for e in events if e.segment == 0]) >= 2
    assert "".join(e.text for e in events if e.segment == 0) == "我整个人都僵住了窗外空空荡荡"

    one_word = TimingMap("a.wav", 24000, 9.0, "fake", "zh", segments=[
        SegmentSpan("hook", "空空荡荡。", 0.0, 8.0)], words=[TimedWord("空空荡荡", 0.5, 8.0, 0, 0, 4)])
    (event,) = build_events(one_word, max_duration=5.0)
    assert (event.start, event.end, event.text) == (0.5, 5.5, "空空荡荡")


def test_trailing_punctuation_is_stripped_quotes_and_titles_kept() -> None:
    text = "“一张票。”窗外的人声音沙哑，“到第十七码头。”去读《末班夜渡》！真的……"
    events = build_events(make_timing([text]))
    assert [e.text for e in events] == [
        "“一张票”", "窗外的人声音沙哑", "“到第十七码头”", "去读《末班夜渡》", "真的"]


def test_segments_never_share_a_line() -> None:
    timing = make_timing(["钩子没有句号", "正文接着说"])  # together they would fit one line
    events = build_events(timing)
    assert [(e.segment, e.text) for e in events] == [(0, "钩子没有句号"), (1, "正文接着说")]


def test_lines_without_timed_characters_are_dropped() -> None:
    timing = make_timing(["……", "他没动。"])
    timing.words.append(TimedWord("", 0.0, 0.0, 1, 3, 3))  # empty word: ignored
    assert [e.text for e in build_events(timing)] == ["他没动"]
    unknown_length = make_timing(["他没动。"])
    unknown_length.duration = 0.0  # a map that does not know its audio length
    (last,) = build_events(unknown_length)
    assert last.end - last.start == pytest.approx(0.6)
    untimed = TimingMap("a.wav", 24000, 1.0, "fake", "zh",
                        segments=[SegmentSpan("hook", "没有时间的一句。", 0, 1)])
    assert build_events(untimed) == []


@pytest.mark.parametrize("kwargs", [
    {"max_chars": 1}, {"min_duration": 3.0, "max_duration": 2.0}, {"min_duration": -1.0}])
def test_bad_settings_are_input_errors(kwargs: dict) -> None:
    with pytest.raises(InputError):
        build_events(make_timing([HOOK]), **kwargs)


def test_bad_timing_and_style_are_input_errors(tmp_path: Path) -> None:
    timing = make_timing([HOOK])
    timing.words.append(TimedWord("多", 9.0, 9.2, 3, 0, 1))
    with pytest.raises(InputError, match="段落"):
        build_events(timing)
    with pytest.raises(InputError, match="#RRGGBB"):
        to_ass([], SubtitleStyle(keyword_colour="yellow"), KEYWORD)
    with pytest.raises(InputError):
        to_ass([], SubtitleStyle(alignment=0), KEYWORD)


def test_write_is_atomic_and_parses_back(tmp_path: Path) -> None:
    timing = make_timing([HOOK, CTA], keyword=KEYWORD)
    events = build_events(timing)
    base = tmp_path / "out" / "job1" / "subtitles"
    ass_path, srt_path = write_subtitles(events, base, keyword=KEYWORD)
    assert (ass_path.name, srt_path.name) == ("subtitles.ass", "subtitles.srt")
    assert sorted(p.name for p in base.parent.iterdir()) == ["subtitles.ass", "subtitles.srt"]

    ass = pysubs2.load(str(ass_path))
    assert ass.info["PlayResX"] == "1080" and ass.info["PlayResY"] == "1920"
    assert ass.info["WrapStyle"] == "2"
    style = ass.styles["Default"]
    assert (style.fontname, style.fontsize, style.marginv, style.alignment) == (
        "Noto Sans SC", 84, 480, pysubs2.Alignment.BOTTOM_CENTER)
    assert (style.outline, style.shadow, style.bold) == (4, 1, False)
    assert style.primarycolor == pysubs2.Color(255, 255, 255, 0)
    assert [e.plaintext for e in ass] == [e.text for e in events]
    for parsed, ev in zip(ass, events):
        assert abs(parsed.start / 1000 - ev.start) <= 0.011  # ASS keeps centiseconds
        assert abs(parsed.end / 1000 - ev.end) <= 0.011

    srt = pysubs2.load(str(srt_path))
    assert [e.text for e in srt] == [e.text for e in events]
    assert all(abs(p.start / 1000 - e.start) <= 0.002 for p, e in zip(srt, events))


def test_ass_text_cannot_inject_override_tags() -> None:
    subs = to_ass([SubtitleEvent(0.0, 1.0, "括号{\\b1}不是标签", 0)], SubtitleStyle(), "")
    assert "{" not in subs[0].text and "\\" not in subs[0].text


def _family_names(font: Path) -> set[str]:
    """Family names (name id 1) from an OpenType 'name' table."""
    data = font.read_bytes()
    (num_tables,) = struct.unpack_from(">H", data, 4)
    for i in range(num_tables):
        tag, _, offset, _ = struct.unpack_from(">4sIII", data, 12 + 16 * i)
        if tag == b"name":
            _, count, strings = struct.unpack_from(">HHH", data, offset)
            names = set()
            for j in range(count):
                pid, _, _, nid, length, off = struct.unpack_from(">6H", data, offset + 6 + 12 * j)
                if nid == 1 and pid in (0, 3):
                    start = offset + strings + off
                    names.add(data[start:start + length].decode("utf-16-be"))
            return names
    return set()


def test_bundled_font_is_noto_sans_sc() -> None:
    font = default_font_file()
    assert font.parent == fonts_dir() and font.stat().st_size > 1_000_000
    assert _family_names(font) == {SubtitleStyle().font_name}


def test_libass_renders_chinese_with_a_yellow_keyword(tmp_path: Path) -> None:
    """One real frame: libass must pick the bundled font (no tofu) and colour the keyword."""
    event = SubtitleEvent(0.0, 2.0, f"去番茄小说搜索{KEYWORD}", 0)
    write_subtitles([event], tmp_path / "frame", keyword=KEYWORD)
    (tmp_path / "fonts").symlink_to(fonts_dir())  # relative paths: no filter-graph escaping
    width, top, height = 1080, 1200, 400
    proc = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "debug",
         "-f", "lavfi", "-i", "color=c=black:s=1080x1920:d=1",
         "-vf", f"subtitles=frame.ass:fontsdir=fonts,crop={width}:{height}:0:{top}",
         "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        capture_output=True, cwd=tmp_path, timeout=60, check=False)
    log = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 0, log[-2000:]
    assert "fontselect: (Noto Sans SC, 400, 0) -> NotoSansSC-Regular" in log
    assert "not found" not in log  # libass looks for another font when a glyph is missing
    pixels = proc.stdout
    assert len(pixels) == width * height * 3

    white_rows, white_x, yellow_x = set(), [], []
    for y in range(0, height, 2):
        row = pixels[y * width * 3:(y + 1) * width * 3]
        for x in range(0, width, 2):
            r, g, b = row[3 * x], row[3 * x + 1], row[3 * x + 2]
            if r > 200 and g > 200 and b > 200:
                white_rows.add(top + y)
                white_x.append(x)
            elif r > 200 and 150 < g < 240 and b < 90:
                yellow_x.append(x)
    assert len(white_x) > 500 and len(yellow_x) > 200
    # bottom-centred, its baseline about MarginV (480 px) above the bottom of the frame
    assert 1920 - 480 - 100 < min(white_rows) and max(white_rows) <= 1920 - 480 + 20
    assert abs((min(white_x) + max(yellow_x)) / 2 - width / 2) < 60
    assert min(yellow_x) > max(white_x) - 10  # the keyword is the end of the line
