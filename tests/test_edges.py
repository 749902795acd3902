"""Wrong input at the edges is one clear line; fine input is accepted (issue: hostile input).

Real SQLite files, the real CLI entry point in process (tests/cli_runner.py)."""

from __future__ import annotations

import pytest
from cli_runner import run_cli
from conftest import SAMPLES

from workbench.config import load_settings
from workbench.errors import InputError
from workbench.materials.library import add_material, get_chapter, get_material
from workbench.platform.submissions_lifecycle import publish


def test_numbers_beyond_sqlite_are_clear_errors(db):
    material, _ = add_material(db, SAMPLES / "night-ferry.txt")
    with pytest.raises(InputError, match="没有第 100000000000000000000 章：共 7 章"):
        get_chapter(db, material["id"], 10**20)
    with pytest.raises(InputError, match="素材编号无效"):
        get_material(db, 10**30)
    shown = run_cli("material", "show", "1", "--chapter", str(10**20))
    assert shown.returncode == 1 and "请选择 1–7" in shown.stderr
    assert "Traceback" not in shown.stderr and "OverflowError" not in shown.stderr
    usage = run_cli("material", "show", "1", "--chapter", "abc")
    assert usage.returncode == 2 and "--chapter" in usage.stderr and "Traceback" not in usage.stderr


def test_a_home_that_is_a_file_is_named(tmp_path, monkeypatch):
    home = tmp_path / "home-file"
    home.write_text("not a folder")
    result = run_cli("material", "list", env={"WORKBENCH_HOME": str(home)})
    assert result.returncode == 1 and "是一个文件，不是文件夹" in result.stderr
    assert "Traceback" not in result.stderr and home.read_text() == "not a folder"


@pytest.mark.parametrize(("name", "value"), [
    ("WORKBENCH_CHARS_PER_SECOND", "0"), ("WORKBENCH_CHARS_PER_SECOND", "-3"),
    ("WORKBENCH_LOUDNESS", "1e5000"), ("WORKBENCH_BGM_VOLUME", "nan"),
    ("WORKBENCH_EDGE_RETRIES", "9" * 5000), ("WORKBENCH_SUBTITLE_FONT_SIZE", "0"),
])
def test_settings_out_of_range_are_refused(name, value, monkeypatch):
    monkeypatch.setenv(name, value)
    with pytest.raises(InputError, match=f"来自 {name}，应(在 .* 之间|为 int)") as refused:
        load_settings()
    assert len(str(refused.value)) < 120  # a huge value is not echoed whole


def test_settings_in_range_are_accepted(monkeypatch):
    monkeypatch.setenv("WORKBENCH_CHARS_PER_SECOND", "6.5")
    monkeypatch.setenv("WORKBENCH_LOUDNESS", "-16")
    settings = load_settings()
    assert (settings.chars_per_second, settings.loudness) == (6.5, -16.0)


def test_publish_date_takes_only_a_date(db):
    db["submissions"].insert({"id": "abc123def456", "recipe_hash": "abc123def456", "keyword": "k",
                              "path": "/nowhere", "status": "ready"}, pk="id")
    for bad in ("yesterday", "2026-13-01", "11/22/2026", "2026-11-22 rm -rf"):
        with pytest.raises(InputError, match="发布时间格式不对"):
            publish(db, "abc123", "https://v.douyin.com/x", bad, actor="test")
    assert publish(db, "abc123", "https://v.douyin.com/x", "2026-11-22", actor="test")[
        "published_at"] == "2026-11-22"
    assert publish(db, "abc123", "https://v.douyin.com/x", "2026-11-22T20:00",
                   actor="test")[
        "published_at"] == "2026-11-22T20:00"
    cli = run_cli("submissions", "publish", "abc123", "--url", "https://v.douyin.com/x",
                  "--date", "tomorrow-ish")
    assert cli.returncode == 1 and "发布时间格式不对" in cli.stderr


def test_ffmpeg_errors_are_cut_to_the_lines_that_matter():
    from workbench.errors import RenderError
    from workbench.ffmpeg import MAX_LINE_CHARS, error_summary, run_ffmpeg

    noise = "\n".join(["[h264 @ 0x1] error while decoding MB 3 4"] * 2000)
    graph = "[0:v]" + "scale=1080:1920," * 500 + "null[v]"
    text = f"{noise}\n{graph}\nInput #0, png_pipe\n[in#0] Error opening input: Invalid data\n"
    summary = error_summary(text)
    assert summary.count("error while decoding") == 1 and "Invalid data" in summary
    assert all(len(part) <= MAX_LINE_CHARS for part in summary.split(" / "))
    with pytest.raises(RenderError) as failed:  # a real ffmpeg failure reads as one short line
        run_ffmpeg(["-i", "/no/such/input.mp4", "-f", "null", "-"], what="测试")
    assert "No such file" in str(failed.value) and len(str(failed.value)) < 400


@pytest.fixture
def read_only_home(tmp_path):
    """A home whose file system is read-only (a bind mount remounted ro; root only)."""
    import subprocess

    source, mounted = tmp_path / "src", tmp_path / "ro"
    source.mkdir()
    mounted.mkdir()
    assert run_cli("material", "add", str(SAMPLES / "night-ferry.txt"),
                   env={"WORKBENCH_HOME": str(source / "h")}).returncode == 0
    steps = (["mount", "--bind", str(source), str(mounted)],
             ["mount", "-o", "remount,bind,ro", str(mounted)])
    for step in steps:
        if subprocess.run(step, capture_output=True, check=False).returncode != 0:
            subprocess.run(["umount", str(mounted)], capture_output=True, check=False)
            pytest.skip("needs root and mount (a read-only bind mount) to make a read-only home")
    yield mounted / "h"
    subprocess.run(["umount", "--lazy", str(mounted)], check=True)  # the store may be open


def test_a_read_only_home_is_not_called_a_damaged_database(read_only_home):
    env = {"WORKBENCH_HOME": str(read_only_home)}
    listed = run_cli("material", "list", env=env)  # reading may work (SQLite can, in WAL)
    assert listed.returncode == 0 or "不可写" in listed.stderr, listed.stderr
    added = run_cli("material", "add", str(SAMPLES / "night-ferry.gbk.txt"), env=env)
    assert added.returncode == 1 and "不可写" in added.stderr, added.stderr
    for result in (listed, added):
        assert "损坏或不是 SQLite" not in result.stderr and "Traceback" not in result.stderr


def test_broken_user_templates_are_skipped_with_their_names(home):
    folder = home / "templates"
    folder.mkdir(parents=True)
    head = "---\nid: {id}\nname: x\nkind: novel\ntarget_seconds: {seconds}\n---\n"
    blocks = "{% block hook %}{{ keyword }}{% endblock %}{% block body %}x{% endblock %}" \
             "{% block cta %}{{ keyword }}{% endblock %}\n"
    (folder / "huge.j2").write_text(head.format(id="huge", seconds="9" * 5000) + blocks)
    (folder / "deep.j2").write_text(head.format(id="deep", seconds=60)
                                    + "{% if true %}" * 1000 + "{% endif %}" * 1000 + blocks)
    (folder / "binary.j2").write_bytes(b"\xff\xfe\x00 not text")
    (folder / "dir.j2").mkdir()
    listed = run_cli("template", "list")
    assert listed.returncode == 0 and "suspense" in listed.stdout, listed.stderr
    for name in ("huge.j2", "deep.j2", "binary.j2", "dir.j2"):
        assert name in listed.stderr  # each named in a warning
    assert "Traceback" not in listed.stderr
    assert run_cli("material", "add", str(SAMPLES / "night-ferry.txt")).returncode == 0
    script = run_cli("script", "--material", "1", "--chapter", "2", "--template", "suspense",
                     "--keyword", "夜渡迷局")
    assert script.returncode == 0, script.stderr
