"""Template versions in the lab: history in the real SQLite store, the active file `make`
reads, submissions per version, export and import, and the `workbench lab` commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_runner import run_cli, run_subprocess
from tiny_templates import TINY

from workbench.config import PROJECT_ROOT, load_settings
from workbench.errors import InputError
from workbench.lab.versions import (
    adopt,
    export_versions,
    get_version,
    import_file,
    list_versions,
    parse_ref,
    save_version,
    submissions_of,
    usage,
    with_version,
)
from workbench.script.templates import get_template, load_template, template_from_source
from workbench.store.submissions import record_submission

CHANGED = TINY.replace("{{ app }}搜索【{{ keyword }}】", "快去{{ app }}搜索【{{ keyword }}】")


def test_save_makes_a_version_only_when_the_text_changes(settings, db):
    first = save_version(db, settings, TINY, note="第一版", actor="cli:lab")
    assert first.created and first.version.version == 1
    again = save_version(db, settings, TINY)
    assert not again.created and again.version == first.version
    # the number in the editor does not make a change: only the content does
    renumbered = save_version(db, settings, TINY.replace("version: 1", "version: 7"))
    assert not renumbered.created

    second = save_version(db, settings, CHANGED, note="结尾加快去")
    assert second.created and second.version.version == 2
    assert [v.version for v in list_versions(db, "tiny")] == [1, 2]

    old = get_version(db, "tiny", 1)  # the old version is kept, loadable, unchanged
    assert old.source == TINY and old.note == "第一版" and old.actor == "cli:lab"
    template = old.template()
    assert template.version == "1" and template.content_hash == old.content_hash
    new = get_version(db, "tiny").template()
    assert new.id == "tiny" and new.version == "2" and "快去" in new.source
    # the hash is the template's own content hash, stable across loads
    assert get_version(db, "tiny", 2).content_hash == \
        template_from_source(with_version(CHANGED, 2), Path("x.j2")).content_hash
    assert old.content_hash != get_version(db, "tiny", 2).content_hash


def test_saving_writes_the_active_file_make_reads(settings, db):
    save_version(db, settings, TINY)
    result = save_version(db, settings, CHANGED)
    assert result.written == settings.home / "templates" / "tiny.j2"
    active = get_template("tiny", settings.template_dirs)
    assert active.version == "2" and active.content_hash == result.version.content_hash


def test_a_bundled_template_is_recorded_as_it_is_then_overridden(settings, db):
    bundled = load_template(PROJECT_ROOT / "templates" / "suspense.j2")
    edited = bundled.source.replace("看看真相到底是什么", "看看到底是谁干的")
    result = save_version(db, settings, edited, note="改结尾")
    versions = list_versions(db, "suspense")
    # the bundled file first, exactly (so packages made from it match by hash), then the edit
    assert result.adopted is not None and versions[0].content_hash == bundled.content_hash
    assert versions[0].version == int(bundled.version) and versions[0].origin.startswith("file:")
    assert result.version.version == int(bundled.version) + 1
    assert (PROJECT_ROOT / "templates" / "suspense.j2").read_text(encoding="utf-8") == \
        bundled.source  # bundled files are never written
    assert get_template("suspense", settings.template_dirs).version == str(result.version.version)
    assert adopt(db, settings, "suspense") is None  # nothing new to record


def test_a_template_with_errors_is_not_saved(settings, db):
    broken = TINY.replace("{% block cta %}", "{% block cta %}{{ mystery }}")
    with pytest.raises(InputError, match=r"未知变量 mystery.*没有保存"):
        save_version(db, settings, broken)
    assert list_versions(db, "tiny") == []
    assert not (settings.home / "templates" / "tiny.j2").exists()


def test_a_different_file_at_the_target_is_never_overwritten(settings, db):
    target = settings.home / "templates" / "tiny.j2"
    target.parent.mkdir(parents=True)
    target.write_text("---\nbroken: [\n---\n", encoding="utf-8")
    with pytest.raises(InputError, match="为免覆盖"):
        save_version(db, settings, TINY)
    assert target.read_text(encoding="utf-8") == "---\nbroken: [\n---\n"
    assert list_versions(db, "tiny") == []


def _submission(db, sid: str, version: str, content_hash: str | None) -> None:
    record_submission(db, {"id": sid, "template_id": "tiny", "template_version": version,
                           "template_hash": content_hash, "status": "ready", "keyword": "口令",
                           "title": sid, "path": f"/x/{sid}", "recipe_hash": sid})


def test_submissions_per_version(settings, db):
    v1 = save_version(db, settings, TINY).version
    v2 = save_version(db, settings, CHANGED).version
    _submission(db, "a1", "1", v1.content_hash)
    _submission(db, "a2", "1", v1.content_hash)
    _submission(db, "b1", "2", v2.content_hash)
    _submission(db, "old", "2", None)  # a row without a hash: matched by number
    _submission(db, "elsewhere", "1", "0123456789abcdef")  # a text the lab never saw
    used = usage(db, "tiny")
    assert used.counts == {1: 2, 2: 2} and used.unmatched == 1
    assert {r["id"] for r in submissions_of(db, v1)} == {"a1", "a2"}
    assert {r["id"] for r in submissions_of(db, v2)} == {"b1", "old"}


def test_export_and_import_keep_number_and_hash(settings, db, home, tmp_path):
    save_version(db, settings, TINY)
    save_version(db, settings, CHANGED)
    files = export_versions(list_versions(db, "tiny"), tmp_path / "out")
    assert [f.name for f in files] == ["tiny.v1.j2", "tiny.v2.j2"]
    assert load_template(files[1]).version == "2"

    # another studio's fresh home: the import keeps version 2 and its hash
    other_home = tmp_path / "other"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WORKBENCH_HOME", str(other_home))
        other = load_settings()
        from workbench.store import open_db

        other_db = open_db(other.db_path)
        imported = import_file(other_db, other, files[1])
        assert imported.created and imported.version.version == 2
        assert imported.version.content_hash == get_version(db, "tiny", 2).content_hash
        assert not import_file(other_db, other, files[1]).created  # the same again: nothing
        other_db.close()

    # importing an old version here restores it as the newest
    restored = import_file(db, settings, files[0])
    assert restored.version.version == 3 and "快去" not in restored.version.source


def test_refs_and_version_lines():
    assert parse_ref("suspense@v3") == ("suspense", 3) and parse_ref("tiny") == ("tiny", None)
    with pytest.raises(InputError, match="模板引用"):
        parse_ref("../etc/passwd")
    no_version = "---\nid: x\nname: y\n---\nbody {{ version }}\n"
    assert with_version(no_version, 4) == "---\nid: x\nversion: 4\nname: y\n---\nbody {{ version }}\n"
    assert with_version(TINY, 9).count("version: 9") == 1


def test_lab_version_commands(home):
    edited = home.parent / "tiny.j2"
    edited.write_text(TINY, encoding="utf-8")
    saved = run_cli("lab", "save", str(edited), "--note", "初版")
    assert saved.returncode == 0, saved.stderr
    assert saved.stdout.strip().splitlines()[-1] == "1"
    edited.write_text(CHANGED, encoding="utf-8")
    saved = run_cli("lab", "save", str(edited))
    assert saved.stdout.strip().splitlines()[-1] == "2" and "make --template tiny" in saved.stderr
    same = run_cli("lab", "save", str(edited))
    assert same.stdout.strip() == "2" and "没有新增版本" in same.stderr

    listed = json.loads(run_cli("lab", "versions", "tiny", "--json").stdout)
    assert [(v["version"], v["submissions"]) for v in listed["versions"]] == [(1, 0), (2, 0)]
    assert listed["versions"][0]["note"] == "初版"

    source = run_cli("lab", "show", "tiny@1", "--source")
    assert source.stdout == TINY
    shown = run_cli("lab", "show", "tiny@2")
    assert "version: 2" in shown.stdout and "用 tiny@2 做的成品" in shown.stdout
    missing = run_cli("lab", "show", "tiny@9")
    assert missing.returncode == 1 and "已有版本：1, 2" in missing.stderr

    exported = run_cli("lab", "export", "tiny@1", "--out", str(home.parent / "one.j2"))
    assert exported.returncode == 0 and exported.stdout.strip().endswith("one.j2")
    assert (home.parent / "one.j2").read_text(encoding="utf-8") == TINY
    imported = run_cli("lab", "import", str(home.parent / "one.j2"))
    assert imported.returncode == 0 and imported.stdout.strip().splitlines()[-1] == "3"

    bad = home.parent / "bad.j2"
    bad.write_text(TINY.replace("{{ keyword }}", "{{ keyword.__class__ }}"), encoding="utf-8")
    refused = run_cli("lab", "import", str(bad))
    assert refused.returncode == 1 and "没有保存" in refused.stderr
    assert len(json.loads(run_cli("lab", "versions", "tiny", "--json").stdout)["versions"]) == 3


def test_lab_group_in_a_real_process(home):
    result = run_subprocess("lab", "versions", "comeback", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["versions"][0]["origin"].startswith("file:")
