"""What the lab renders for real: a draft preview of a template's first seconds, and `make`
using the version the lab saved (the submission records it). Short templates keep each
render to a few seconds."""

from __future__ import annotations

import json

import pytest
from cli_runner import run_cli
from conftest import SAMPLES
from tiny_templates import TINY, write_templates

from workbench.config import load_settings
from workbench.lab.preview import preview_clip
from workbench.lab.refs import resolve
from workbench.lab.trial import Material
from workbench.materials.library import add_material
from workbench.render.probe import probe
from workbench.store import open_db

KEYWORD = "夜渡迷局"


@pytest.fixture
def tiny_home(home, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("WORKBENCH_TEMPLATES_DIR", str(write_templates(home.parent / "tpl")))
    settings = load_settings()
    db = open_db(settings.db_path)
    material, _ = add_material(db, SAMPLES / "night-ferry.txt")
    yield settings, db, int(material["id"])
    db.close()


def test_a_preview_is_the_first_seconds_of_a_draft_render(tiny_home):
    settings, db, material = tiny_home
    lab = resolve(db, settings, "tiny")
    chosen = Material(material, chapter=2, keyword=KEYWORD)
    clip = preview_clip(settings, db, lab, chosen, 2.0)
    info = probe(clip.path)
    assert not clip.cached and clip.seconds == 2.0
    assert info.duration == pytest.approx(2.0, abs=0.1)
    assert (info.width, info.height) == (720, 1280)  # the draft profile
    assert db["submissions"].count == 0  # a preview is no package
    job = next(db["jobs"].rows_where("kind = 'lab_preview'"))
    assert job["status"] == "done" and db["jobs"].count_where("parent_id = ?", [job["id"]]) == 2

    again = preview_clip(settings, db, lab, chosen, 2.0)
    assert again.cached and again.path == clip.path
    assert db["jobs"].count_where("kind = 'lab_preview'") == 1


def test_make_uses_the_version_the_lab_saved(tiny_home):
    settings, db, material = tiny_home
    edited = settings.home.parent / "tiny-edit.j2"
    edited.write_text(TINY.replace("{{ app }}搜索", "快去{{ app }}搜索"), encoding="utf-8")
    saved = run_cli("lab", "save", str(edited), "--note", "结尾加快去")
    assert saved.returncode == 0, saved.stderr
    assert saved.stdout.strip() == "2"  # the file's v1 was recorded first
    made = run_cli("make", "--material", str(material), "--chapter", "2", "--template", "tiny",
                   "--keyword", KEYWORD, "--profile", "draft")
    assert made.returncode == 0, made.stderr
    row = next(db["submissions"].rows)
    versions = json.loads(run_cli("lab", "versions", "tiny", "--json").stdout)["versions"]
    assert row["template_version"] == "2"
    assert row["template_hash"] == versions[1]["hash"]
    assert [(v["version"], v["submissions"]) for v in versions] == [(1, 0), (2, 1)]
    shown = run_cli("lab", "show", "tiny@2")
    assert row["id"] in shown.stdout
