"""The footage and music library: clips probed and tagged, broken ones refused with a reason,
`tag:` picked per seed (variants get different clips), and the seconds each package used
recorded."""

# The fixtures are imported by name, so test parameters "redefine" them:
# ruff: noqa: F811
from __future__ import annotations

import json

import pytest
from batch_fixtures import NOVEL, batch_settings, write_folder  # noqa: F401
from cli_runner import run_cli
from media_fixtures import make_episode, make_tone

from workbench.errors import InputError
from workbench.footage import add_footage, list_footage, pick


@pytest.fixture
def library(tmp_path):
    folder = tmp_path / "解压素材"
    folder.mkdir()
    for name, seconds in (("跑酷1.mp4", 3.0), ("跑酷2.mp4", 3.2), ("切肥皂.mov", 3.4)):
        make_episode(folder / name, seconds, size="180x320")  # different lengths: not the same file
    (folder / "坏的.mp4").write_bytes(b"not a video at all" * 50)
    make_tone(folder / "轻快.m4a", 4.0)
    return folder


def test_add_probes_tags_thumbnails_and_refuses_broken_files(db, settings, library):
    thumbs = settings.home / "footage" / "thumbs"
    result = add_footage(db, library, ["解压", "跑酷"], thumbs)
    assert sorted(r["filename"] for r in result.added) == ["切肥皂.mov", "跑酷1.mp4", "跑酷2.mp4",
                                                           "轻快.m4a"]
    assert len(result.refused) == 1 and result.refused[0].startswith("坏的.mp4: ")
    videos = list_footage(db, "解压", "video")
    assert len(videos) == 3 and all(3.0 <= round(v["duration"], 1) <= 3.45 for v in videos)
    assert all((v["width"], v["height"]) == (180, 320) for v in videos)
    assert all(v["thumb"] and (thumbs / v["thumb"].rsplit("/", 1)[1]).stat().st_size > 500
               for v in videos)
    music = list_footage(db, kind="music")
    assert [m["filename"] for m in music] == ["轻快.m4a"] and music[0]["thumb"] is None
    again = add_footage(db, library, ["搞笑"], thumbs)  # same files: tags merged, no duplicates
    assert not again.added and len(again.retagged) == 4
    assert list_footage(db, "搞笑")[0]["tags"] == ["解压", "跑酷", "搞笑"]
    assert len(list_footage(db)) == 4
    with pytest.raises(InputError, match="标签「a,b」无效"):
        add_footage(db, library, ["a,b"], thumbs)


def test_consecutive_seeds_pick_different_clips(db, settings, library):
    add_footage(db, library, ["解压"], settings.home / "thumbs")
    picked = [pick(db, "tag:解压", seed, "video").name for seed in range(3)]
    assert len(set(picked)) == 3
    assert pick(db, "tag:解压", 3, "video").name == picked[0]  # then they repeat, in order
    assert pick(db, "tag:解压", 0, "music").name == "轻快.m4a"
    with pytest.raises(InputError, match="没有标签为「鬼畜」的视频"):
        pick(db, "tag:鬼畜", 0, "video")


def test_a_made_video_records_the_clip_seconds_it_used(batch_settings, db, library):
    assert run_cli("footage", "add", str(library), "--tag", "解压").returncode == 0
    assert run_cli("material", "add", str(NOVEL)).returncode == 0
    made = run_cli("make", "--material", "1", "--chapter", "2", "--template", "tiny",
                   "--keyword", "夜渡迷局", "--background", "tag:解压", "--bgm", "tag:解压")
    assert made.returncode == 0, made.stderr
    uses = [dict(r) for r in db["footage_uses"].rows]
    assert len(uses) == 1
    clip = dict(db["footage"].get(uses[0]["footage_id"]))
    assert clip["kind"] == "video" and 0 <= uses[0]["start"] < uses[0]["end"] <= clip["duration"]
    shown = json.loads(run_cli("footage", "show", str(clip["id"]), "--json").stdout)
    assert [u["submission_id"] for u in shown["uses"]] == [uses[0]["submission_id"]]
    listed = json.loads(run_cli("footage", "list", "--json").stdout)
    assert {r["id"]: r["uses"] for r in listed}[clip["id"]] == 1
    manifest = json.loads(next((batch_settings.submissions_dir).glob("*/manifest.json")).read_text(
        "utf-8"))
    assert clip["path"] in json.dumps(manifest, ensure_ascii=False)


def test_briefs_name_tags_and_an_unknown_tag_is_a_brief_problem(batch_settings, db, library,
                                                                tmp_path):
    assert run_cli("footage", "add", str(library), "--tag", "解压").returncode == 0
    folder = write_folder(tmp_path / "briefs", {"ok.yaml": {"backgrounds": ["tag:解压"],
                                                            "bgms": ["tag:解压"]},
                                                "bad.yaml": {"backgrounds": ["tag:鬼畜"]}})
    result = run_cli("batch", str(folder), "--dry-run")
    assert result.returncode == 1
    assert "bad.yaml" in result.stdout + result.stderr
    assert "没有标签为「鬼畜」的视频" in result.stdout + result.stderr
