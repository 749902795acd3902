import json
from pathlib import Path

import pytest

from workbench.compliance import (
    AIGC_FIELDS,
    BannedWord,
    ComplianceReport,
    Finding,
    aigc_metadata,
    bundled_banned_words_file,
    check_ai_label,
    check_aigc_metadata,
    check_duration,
    check_keyword,
    load_banned_words,
    run_checks,
    scan_banned_words,
)
from workbench.config import load_settings
from workbench.errors import InputError
from workbench.render.overlays import LabelPlan


@pytest.fixture(scope="module")
def words() -> list[BannedWord]:
    return load_banned_words()


def found(findings: list[Finding]) -> set[tuple[str, str, str]]:
    """(where, level, quoted word) of each banned-word finding."""
    out = set()
    for f in findings:
        word = f.message.split("「", 1)[1].split("」", 1)[0]
        out.add((f.where, f.level, word))
    return out


def write_tsv(tmp_path: Path, text: str, name: str = "words.tsv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- word list -------------------------------------------------------------------------------

def test_bundled_list_loads_with_levels_and_exceptions(words):
    by_word = {w.word: w for w in words}
    assert bundled_banned_words_file().is_file()
    assert len(words) >= 30
    for word in ("国家级", "最高级", "最佳", "最好", "NO.1", "TOP1", "100%", "全网第一"):
        assert by_word[word].level == "block", word
    for word in ("最", "第一", "唯一", "顶级", "独家"):
        assert by_word[word].level == "warn", word
    assert {"最后", "最终", "最近", "最初"} <= set(by_word["最"].exceptions)
    assert {"第一次", "第一章", "第一天", "第一眼", "第一时间"} <= set(by_word["第一"].exceptions)
    assert all(w.note for w in words)


def test_bad_lines_name_file_and_line(tmp_path):
    cases = {
        "最佳 block 空格分隔\n": "Tab",
        "最佳\tmaybe\n": "warn",
        "\tblock\n": "第一列",
        "最佳\tblock\tnote\t\textra\n": "列数",
        "最\twarn\t\t最后,第一次\n": "第一次",
        "最佳\tblock\n最佳\twarn\n": "第 3 行重复",
    }
    for text, hint in cases.items():
        path = write_tsv(tmp_path, "# my list\n\n" + text)
        with pytest.raises(InputError) as info:
            load_banned_words(path)
        message = str(info.value)
        line = 4 if "重复" in hint else 3
        assert f"{path}:{line}" in message, message
        assert hint in message, message


def test_missing_or_undecodable_list_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="WORKBENCH_BANNED_WORDS"):
        load_banned_words(tmp_path / "nope.tsv")
    gbk = tmp_path / "gbk.tsv"
    gbk.write_bytes("最佳\tblock\n".encode("gbk"))
    with pytest.raises(InputError, match="UTF-8"):
        load_banned_words(gbk)


def test_user_list_replaces_bundled(tmp_path, monkeypatch):
    path = write_tsv(tmp_path, "# mine\n神作\twarn\t夸大\n逆天\tblock\n")
    monkeypatch.setenv("WORKBENCH_BANNED_WORDS", str(path))
    settings = load_settings()
    assert settings.banned_words_file == path
    mine = load_banned_words(settings.banned_words_file)
    assert [(w.word, w.level, w.note) for w in mine] == [("神作", "warn", "夸大"), ("逆天", "block", "")]
    findings = scan_banned_words({"caption": "逆天神作，全网最佳"}, mine)
    assert found(findings) == {("caption", "block", "逆天"), ("caption", "warn", "神作")}


# --- scanning --------------------------------------------------------------------------------

def test_planted_words_found_with_where(words):
    texts = {
        "title": "国家级神医归来",
        "caption": "全网最好看的小说，速看！",
        "subtitles": ["她推开门。", "这是世界级的阴谋。", "无事发生。", "他是TOP1的杀手"],
    }
    findings = scan_banned_words(texts, words)
    assert found(findings) == {
        ("title", "block", "国家级"),
        ("caption", "warn", "全网"),
        ("caption", "block", "最好"),
        ("subtitles:2", "block", "世界级"),
        ("subtitles:4", "block", "TOP1"),
    }
    caption_block = next(f for f in findings if f.where == "caption" and f.level == "block")
    assert "发布文案" in caption_block.message and "全网最好看的小说" in caption_block.message
    assert "改写" in caption_block.message
    assert {f.check for f in findings} == {"banned_words"}


def test_story_narration_exceptions_not_flagged(words):
    lines = ["最后，我还是推开了门", "第一次见他，是在雨里", "最终她也没有回头。", "第一章 重生",
             "那是我第一眼看到她", "你最好别过来", "最近总有人跟着我", "他第一时间报了警"]
    assert scan_banned_words({"subtitles": lines}, words) == []


def test_exception_covers_only_its_own_occurrence(words):
    findings = scan_banned_words({"subtitles": ["最后他成了最强的人", "第一次拿了第一"]}, words)
    assert found(findings) == {("subtitles:1", "block", "最强"), ("subtitles:2", "warn", "第一")}


def test_longer_word_wins_once_per_word_and_place(words):
    findings = scan_banned_words({"title": "最佳男主，最佳女主", "caption": "全网第一"}, words)
    assert found(findings) == {("title", "block", "最佳"), ("caption", "block", "全网第一")}
    title = next(f for f in findings if f.where == "title")
    assert "共 2 处" in title.message


def test_full_width_and_case_variants(words):
    texts = {"title": "ＮＯ．１的复仇", "caption": "no.1 爽文", "subtitles": ["好评率１００％", "Top1"]}
    findings = scan_banned_words(texts, words)
    assert {(f.where, f.level) for f in findings} == {
        ("title", "block"), ("caption", "block"), ("subtitles:1", "block"), ("subtitles:2", "block")}
    title = next(f for f in findings if f.where == "title")
    assert "ＮＯ．１" in title.message and "NO.1" in title.message


def test_latin_words_need_word_edges(words):
    assert scan_banned_words({"caption": "本周TOP10书单，score 1100%"}, words) == []


# --- visible AI label ------------------------------------------------------------------------

def label(text: str = "本视频含AI生成内容", start: float = 0.0, end: float = 60.0,
          text_height_px: float = 61, frame_width: int = 1080,
          frame_height: int = 1920) -> LabelPlan:
    return LabelPlan(text, start, end, text_height_px, frame_width, frame_height)


def test_good_label_passes():
    f = check_ai_label(label())
    assert (f.check, f.level) == ("ai_label", "pass")
    assert "61px ≥ 54px" in f.message and "0–60.0 秒" in f.message
    assert check_ai_label(label(text="本内容由人工智能合成")).level == "pass"
    assert check_ai_label(label(text="ａｉ生成")).level == "pass"


@pytest.mark.parametrize("changes, hint", [
    ({"text": "本视频为原创内容"}, "人工智能"),
    ({"text": "AI 配音"}, "生成"),
    ({"start": 0.5}, "0.5 秒"),
    ({"start": 0.0, "end": 1.5}, "1.5 秒"),
    ({"text_height_px": 40}, "54px"),
    ({"text_height_px": 30, "frame_width": 720, "frame_height": 1280}, "36px"),
])
def test_bad_label_blocks(changes, hint):
    f = check_ai_label(label(**changes))
    assert f.level == "block" and hint in f.message, f.message


def test_missing_label_blocks():
    f = check_ai_label(None)
    assert f.level == "block" and "render.ai_label" in f.message


# --- AIGC metadata ---------------------------------------------------------------------------

def test_aigc_metadata_is_compact_json_in_field_order():
    text = aigc_metadata("Workbench", "task-7")
    assert " " not in text
    data = json.loads(text)
    assert list(data) == list(AIGC_FIELDS)
    assert data["Label"] == "1" and data["ProduceID"] == "task-7"
    assert "工作室" in aigc_metadata("工作室", "x")  # ensure_ascii=False


def test_aigc_good():
    tags = [("encoder", "Lavf61"), ("aigc", aigc_metadata("Workbench", "task-7"))]
    f = check_aigc_metadata(tags, "task-7")
    assert (f.check, f.level) == ("aigc_metadata", "pass")
    assert check_aigc_metadata(tags).level == "pass"


def test_aigc_bad_cases():
    good = aigc_metadata("Workbench", "task-7")
    partial = json.dumps({k: "1" for k in AIGC_FIELDS if k != "PropagateID"})
    cases = {
        "absent": ([("title", "x")], "没有"),
        "duplicated": ([("AIGC", good), ("aigc", good)], "2 个"),
        "missing field": ([("AIGC", partial)], "PropagateID"),
        "not json": ([("AIGC", "Label=1")], "不是 JSON"),
        "not object": ([("AIGC", "[1]")], "对象"),
        "label 0": ([("AIGC", good.replace('"Label":"1"', '"Label":"0"'))], "Label"),
        "number": ([("AIGC", good.replace('"Label":"1"', '"Label":1'))], "字符串"),
        "wrong id": ([("AIGC", good)], "task-8"),
    }
    for name, (tags, hint) in cases.items():
        f = check_aigc_metadata(tags, "task-8" if name == "wrong id" else None)
        assert f.level == "block", name
        assert hint in f.message, (name, f.message)


def test_aigc_empty_producer_warns():
    f = check_aigc_metadata([("AIGC", aigc_metadata("", "task-7"))], "task-7")
    assert f.level == "warn" and "ContentProducer" in f.message


# --- keyword, duration -----------------------------------------------------------------------

def test_keyword_present_everywhere():
    findings = check_keyword("夜渡迷局", ["番茄小说搜索【夜渡迷局】", "片尾"], "搜索【夜渡迷局】看全文")
    assert [(f.where, f.level) for f in findings] == [("screen", "pass"), ("caption", "pass")]


def test_keyword_missing_from_screen_or_caption():
    findings = check_keyword("夜渡迷局", ["番茄小说"], "好看")
    assert [(f.where, f.level) for f in findings] == [("screen", "block"), ("caption", "block")]
    assert all("夜渡迷局" in f.message for f in findings)
    assert [f.level for f in check_keyword("夜渡迷局", [], "夜渡迷局")] == ["block", "pass"]


def test_keyword_matches_after_full_width_and_space_normalisation():
    findings = check_keyword("夜渡 ABC123", ["搜索【夜渡ＡＢＣ１２３】"], "夜 渡 A B C 1 2 3")
    assert [f.level for f in findings] == ["pass", "pass"]


def test_empty_keyword_blocks():
    findings = check_keyword("  ", ["x"], "y")
    assert len(findings) == 1 and findings[0].level == "block"


def test_duration():
    for limit in (None, 0):
        f = check_duration(75.0, limit)
        assert f.level == "info" and "render.max_seconds" in f.message
    assert check_duration(59.5, 60).level == "pass"
    f = check_duration(75.3, 60)
    assert f.level == "block" and "75.3" in f.message and "60" in f.message


# --- report ----------------------------------------------------------------------------------

def checks(words, **changes) -> ComplianceReport:
    args = {
        "title": "夜渡：她回来了", "caption": "番茄小说搜索【夜渡】看全文",
        "subtitles": ["最后，我推开了门。"], "keyword": "夜渡", "on_screen": ["番茄小说搜索【夜渡】"],
        "label": label(), "metadata": [("AIGC", aigc_metadata("Workbench", "t1"))],
        "expected_produce_id": "t1", "duration": 50.0, "max_seconds": 60.0, "words": words,
    }
    return run_checks(**(args | changes))


def test_run_checks_clean(words):
    report = checks(words)
    assert not report.blocked and report.blocks == [] and report.warnings == []
    assert report.summary() == "合规检查：6 项通过，0 项提醒，0 项阻止"
    assert report.block_message() == ""
    # metadata None: not rendered yet, no AIGC finding at all
    report = checks(words, metadata=None, max_seconds=None)
    assert "aigc_metadata" not in {f.check for f in report.findings}
    assert report.summary() == "合规检查：4 项通过，0 项提醒，0 项阻止，1 项说明"


def test_run_checks_blocked_and_round_trip(words):
    report = checks(words, caption="全网最好看的小说", on_screen=["独家连载", "夜渡"],
                    subtitles=["第一次见他", "他是唯一的证人", "国家级机密"], duration=75.0)
    assert report.blocked
    blocks = {(f.check, f.where) for f in report.blocks}
    assert blocks == {("keyword", "caption"), ("banned_words", "caption"),
                      ("banned_words", "subtitles:3"), ("duration", "duration")}
    assert {f.where for f in report.warnings} == {"caption", "subtitles:2", "screen:1"}
    message = report.block_message()
    assert len(message.splitlines()) == 1 + len(report.blocks)
    assert "字幕第 3 条" in message and "发布文案" in message and "75" in message
    data = json.loads(json.dumps(report.to_dict(), ensure_ascii=False))
    assert data["blocked"] is True
    assert data["counts"] == {"pass": 3, "info": 0, "warn": 3, "block": 4}
    assert [Finding(**f) for f in data["findings"]] == report.findings
    assert report.summary() == "合规检查：3 项通过，3 项提醒，4 项阻止"
