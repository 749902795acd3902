"""Trying templates on the sample novel (and the sample drama) and comparing them side by
side: real material in a real store, the real rules rewrite, no voice, no render, no network."""

from __future__ import annotations

import json
import socket
import subprocess

import pytest
from cli_runner import run_cli
from conftest import SAMPLES
from drama_fixtures import sample_drama  # noqa: F401  (fixture)
from tiny_templates import TINY

from workbench.errors import InputError
from workbench.lab.compare import compare_trials, diff_spans, marked_text
from workbench.lab.estimate import estimate_seconds, spoken_chars
from workbench.lab.refs import from_text, resolve
from workbench.lab.trial import Material, run_trial
from workbench.lab.versions import save_version
from workbench.materials.drama import add_drama
from workbench.materials.library import add_material

KEYWORD = "夜渡迷局"
LOUDER = TINY.replace("{{ app }}搜索【{{ keyword }}】", "想看结局？快去{{ app }}搜索【{{ keyword }}】")


@pytest.fixture
def novel(db) -> int:
    material, _ = add_material(db, SAMPLES / "night-ferry.txt")
    return int(material["id"])


def go_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """From here on, any child process (ffmpeg, a voice engine) or network connection fails
    the test."""
    def refuse(*args, **kwargs):
        raise AssertionError(f"a trial must not start processes or connect: {args[:1]}")

    monkeypatch.setattr(subprocess, "Popen", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    go_offline(monkeypatch)


def test_a_trial_on_the_sample_novel(settings, db, novel, offline, home):
    lab = resolve(db, settings, "suspense")
    trial = run_trial(settings, db, lab, Material(novel, chapter=2, keyword=KEYWORD))
    assert trial.label == "suspense@2" and trial.backend == "rules"
    assert [s.name for s in trial.segments] == ["hook", "body", "cliffhanger", "cta"]
    for seg in trial.segments:
        assert seg.chars == spoken_chars(seg.text) > 0
        assert seg.seconds == pytest.approx(
            estimate_seconds(seg.text, settings.chars_per_second, "+20%"), abs=0.01)
        assert seg.chars_per_second == pytest.approx(seg.chars / seg.seconds, abs=0.01)
    assert trial.segments[1].start == pytest.approx(trial.segments[0].end + 0.35, abs=0.01)
    cta = trial.segments[-1]
    spot = trial.keyword_at
    assert spot is not None and spot.segment == "cta"
    assert cta.text[spot.index:spot.index + len(KEYWORD)] == KEYWORD
    before = spoken_chars(cta.text[:spot.index])
    assert spot.second == pytest.approx(cta.start + cta.seconds * before / cta.chars, abs=0.01)
    assert cta.start < spot.second < cta.end
    checks = {(f.check, f.level) for f in trial.checks}
    assert ("keyword", "pass") in checks and ("duration", "pass") in checks
    # nothing rendered or voiced (the offline fixture), and no job recorded: only the
    # rewrite's cache row
    assert db["jobs"].count == 0
    again = run_trial(settings, db, lab, Material(novel, chapter=2, keyword=KEYWORD))
    assert again.cached and again.segments == trial.segments


def test_a_trial_names_a_missing_keyword_and_a_wrong_material(settings, db, novel, offline):
    lab = resolve(db, settings, "suspense")
    with pytest.raises(InputError, match="--chapter"):
        run_trial(settings, db, lab, Material(novel, keyword=KEYWORD))
    with pytest.raises(InputError, match="口令不能为空"):
        run_trial(settings, db, lab, Material(novel, chapter=2, keyword=" "))
    with pytest.raises(InputError, match="没有第 99 章"):
        run_trial(settings, db, lab, Material(novel, chapter=99, keyword=KEYWORD))


def test_an_unsaved_text_can_be_tried(settings, db, novel, offline, home):
    lab = from_text(LOUDER, home.parent / "editor.j2", settings)
    trial = run_trial(settings, db, lab, Material(novel, chapter=1, keyword=KEYWORD))
    assert trial.label == "editor.j2" and trial.keyword_at.segment == "cta"


def test_comparing_two_versions_marks_what_changed(settings, db, novel, offline):
    save_version(db, settings, TINY)
    save_version(db, settings, LOUDER)
    material = Material(novel, chapter=2, keyword=KEYWORD)
    trials = [run_trial(settings, db, resolve(db, settings, ref), material)
              for ref in ("tiny@1", "tiny@2")]
    comparison = compare_trials(trials)
    assert [c.label for c in comparison.columns] == ["tiny@1", "tiny@2"]
    rows = {row.segment: row for row in comparison.rows}
    assert list(rows) == ["hook", "body", "cta"]
    # the same hook and body: nothing marked
    for name in ("hook", "body"):
        base, other = rows[name].cells
        assert {s.op for s in base.spans} == {"equal"} and {s.op for s in other.spans} == {"equal"}
    base, other = rows["cta"].cells
    inserted = "".join(s.text for s in other.spans if s.op == "insert")
    assert "想看结局" in inserted and KEYWORD not in inserted
    assert all(s.op == "equal" for s in base.spans)  # v2 only adds: v1 keeps every word
    assert "".join(s.text for s in other.spans) == other.text
    assert marked_text(other).startswith("{+")
    # where the keyword falls: later in v2, in its cta, after the added words
    first, second = comparison.columns
    assert first.keyword_at.segment == second.keyword_at.segment == "cta"
    assert second.keyword_at.second > first.keyword_at.second
    assert second.total_seconds > first.total_seconds and first.similarity == 1.0
    assert 0.5 < second.similarity < 1.0


def test_diff_spans_by_token():
    spans = diff_spans("最好的NO.1选择", "最棒的NO.2选择")
    assert [(s.op, s.text, s.removed) for s in spans] == [
        ("equal", "最", ""), ("replace", "棒", "好"), ("equal", "的", ""),
        ("replace", "NO.2", "NO.1"), ("equal", "选择", "")]
    assert [s.op for s in diff_spans("一二三", "一三")] == ["equal", "delete", "equal"]
    with pytest.raises(InputError, match="2 到 4"):
        compare_trials([])


def test_lab_try_and_compare_commands(home, db, novel):
    tried = run_cli("lab", "try", "comeback", "--material", str(novel), "--chapter", "2",
                    "--keyword", KEYWORD, "--json")
    assert tried.returncode == 0, tried.stderr
    data = json.loads(tried.stdout)
    assert data["label"] == "comeback@2" and data["keyword_at"]["segment"] == "cta"
    assert data["total_seconds"] > 0 and data["segments"][0]["name"] == "hook"

    shown = run_cli("lab", "try", "comeback", "--material", str(novel), "--chapter", "2",
                    "--keyword", KEYWORD)
    assert f"口令「{KEYWORD}」在 cta 段" in shown.stdout and "字/秒" in shown.stdout

    compared = run_cli("lab", "compare", "suspense", "emotional", "comeback", "--material",
                       str(novel), "--chapter", "2", "--keyword", KEYWORD, "--json")
    assert compared.returncode == 0, compared.stderr
    data = json.loads(compared.stdout)
    assert [c["label"] for c in data["columns"]] == ["suspense@2", "emotional@2", "comeback@2"]
    assert {"equal", "insert"} <= {s["op"] for row in data["rows"] for cell in row["cells"]
                                   if cell for s in cell["spans"]}
    table = run_cli("lab", "compare", "suspense", "emotional", "--material", str(novel),
                    "--chapter", "2", "--keyword", KEYWORD)
    assert table.returncode == 0 and "{+" in table.stdout and "相似度" in table.stdout

    one = run_cli("lab", "compare", "suspense", "--material", str(novel), "--chapter", "2")
    assert one.returncode == 2 and "2 到 4" in one.stderr


def test_a_trial_on_drama_segments(settings, db, sample_drama, monkeypatch):  # noqa: F811
    material = add_drama(db, [sample_drama.folder]).material["id"]  # probes: ffmpeg
    go_offline(monkeypatch)
    lab = resolve(db, settings, "cut")
    trial = run_trial(settings, db, lab, Material(material, segments="1:0-6,2:0-5",
                                                  keyword=KEYWORD, app="红果短剧"))
    assert trial.kind == "drama" and trial.backend == ""  # a cut is not rewritten
    # the segments' length (edges moved out of spoken lines, as `make` moves them)
    assert 8 < trial.target_seconds < 12
    assert trial.keyword_at is not None and trial.keyword_at.segment == "cta"
    with pytest.raises(InputError, match="短剧"):
        run_trial(settings, db, resolve(db, settings, "suspense"),
                  Material(material, segments="1:0-6", keyword=KEYWORD))
