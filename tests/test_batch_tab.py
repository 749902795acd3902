"""The app's 批量 tab without a browser: a zip of briefs unpacked safely, checked (problems with
file and line, no server paths), planned like `workbench batch --dry-run`, and run through the
same runner (real espeak, ffmpeg, worker processes, SQLite)."""
# The fixtures are imported by name, so test parameters "redefine" them:
# ruff: noqa: F811

from __future__ import annotations

import io
import shutil
import stat
import zipfile
from pathlib import Path

import gradio as gr
import pytest
from batch_fixtures import NOVEL, batch_settings, write_folder  # noqa: F401

from workbench.batch import brief_zip
from workbench.batch.brief_zip import briefs_dir, store_brief_zip
from workbench.errors import InputError
from workbench.ui import batch_tab


def cells(table: gr.Dataframe) -> list[list]:
    """A table update's rows."""
    return table.value["data"] if table.visible else []


def zip_folder(folder: Path, target: Path, *, top: str | None = None) -> Path:
    """`folder` zipped (under `top/` when given), as a user's archiver would."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                name = path.relative_to(folder).as_posix()
                archive.write(path, f"{top}/{name}" if top else name)
    return target


def brief_folder(root: Path, briefs: dict[str, dict | str]) -> Path:
    """A prompt folder that carries its own novel (as an uploaded one would)."""
    folder = write_folder(root, briefs, defaults={"material": "novel/夜渡.txt"})
    (folder / "novel").mkdir()
    shutil.copyfile(NOVEL, folder / "novel" / "夜渡.txt")
    return folder


def raw_zip(target: Path, members: dict[str, bytes], *, symlink: str | None = None) -> Path:
    with zipfile.ZipFile(target, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, "/etc/passwd")
    return target


def test_an_uploaded_zip_is_checked_problems_first_then_the_plan(tmp_path, batch_settings):
    # a brief with a mistake: the problems table names the file and line, no server path
    bad = brief_folder(tmp_path / "bad", {"good.yaml": {"variants": 2},
                                          "typo.yaml": "chapters: 2\nvarients: 3\n"})
    dropdown, note, emptied = batch_tab.upload_zip(str(zip_folder(bad, tmp_path / "夜渡简报.zip",
                                                         top="夜渡简报")))
    assert "已解压" in note and emptied is None
    choice = dropdown.value
    assert choice.startswith("upload:") and choice in {v for _, v in dropdown.choices}
    problems, plan, summary = batch_tab.check(choice, 1, False)
    assert problems.visible and not plan.visible and "发现 1 个问题" in summary
    [[file, line, message]] = cells(problems)
    assert (file, line) == ("typo.yaml", 2) and "varients" in message and "variants" in message
    assert str(batch_settings.home) not in message + file

    # fixed and uploaded again: the plan, like `workbench batch --dry-run`, and nothing written
    fixed = brief_folder(tmp_path / "fixed", {"good.yaml": {"variants": 2},
                                              "hooks.md": "---\nhooks: [船票背面写着死期。]\n---\n"})
    choice = batch_tab.upload_zip(str(zip_folder(fixed, tmp_path / "fixed.zip")))[0].value
    problems, plan, summary = batch_tab.check(choice, 1, False)
    assert not problems.visible
    plan = cells(plan)
    assert [(r[0], r[1], r[2], r[3], r[8], r[9]) for r in plan] == [
        ("good.yaml", 1, "2", "tinyhook", "夜渡迷局", "待生成"),
        ("good.yaml", 2, "2", "tinyhook", "夜渡迷局", "待生成"),
        ("hooks.md", 1, "2", "tinyhook", "夜渡迷局", "待生成")]
    assert plan[2][4] == "船票背面写着死期。"
    assert "共 3 个任务：0 个已有成品（跳过），3 个待生成" in summary
    assert str(batch_settings.home) not in summary and summary.endswith("输出目录：output")
    from workbench.store import open_db

    with open_db(batch_settings.db_path) as db:
        assert db["materials"].count == 0 and db["batches"].count == 0

    # the same zip again reuses its folder (its batch resumes); both folders are choices
    again = batch_tab.upload_zip(str(zip_folder(fixed, tmp_path / "fixed.zip")))
    assert again[0].value == choice and "之前上传过" in again[1]
    assert len([v for _, v in batch_tab.folder_choices(batch_settings)
                if v.startswith("upload:")]) == 2


def test_a_zip_cannot_escape_its_folder_or_exhaust_the_disk(tmp_path, settings, monkeypatch):
    brief = b"chapters: 1\n"
    for members, symlink, refusal in (
            ({"a.yaml": brief, "../../evil.yaml": b"x"}, None, "指向文件夹之外"),
            ({"a.yaml": brief, "/etc/evil.yaml": b"x"}, None, "绝对路径"),
            ({"a.yaml": brief}, "link.txt", "符号链接"),
            ({"notes.pdf": b"%PDF", "sub/a.yaml": brief, "other/b.yaml": brief}, None,
             "zip 里没有简报")):
        with pytest.raises(InputError, match=refusal):
            store_brief_zip(settings, raw_zip(tmp_path / "z.zip", members, symlink=symlink),
                            "z.zip")
    with pytest.raises(InputError, match="不是有效的 zip"):
        (tmp_path / "fake.zip").write_bytes(b"not a zip")
        store_brief_zip(settings, tmp_path / "fake.zip", "fake.zip")
    # what is unpacked is counted as it is written (a header can lie): past the cap, nothing kept
    monkeypatch.setattr(brief_zip, "MAX_TOTAL_MB", 0.01)
    big = raw_zip(tmp_path / "big.zip", {"a.yaml": brief, "novel.txt": "夜" * 10_000})
    with pytest.raises(InputError, match="解压后超过"):
        store_brief_zip(settings, big, "big.zip")
    assert not briefs_dir(settings).exists() or not any(briefs_dir(settings).iterdir())


def test_zip_names_from_chinese_windows_and_odd_files(tmp_path, settings):
    names = {"夜渡.yaml": b"chapters: 1\n", "小说/夜渡.txt": "夜".encode()}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for i, (name, data) in enumerate(names.items()):  # ASCII stand-ins of the same length
            archive.writestr(f"{i}".ljust(len(name.encode("gbk")), "_"), data)
        archive.writestr("__MACOSX/._a.yaml", b"junk")
        archive.writestr(".DS_Store", b"junk")
        archive.writestr("封面.psd", b"junk")
    raw = buffer.getvalue()
    for i, name in enumerate(names):  # GBK bytes without the UTF-8 flag, as Windows writes
        stand_in = f"{i}".ljust(len(name.encode("gbk")), "_").encode()
        raw = raw.replace(stand_in, name.encode("gbk"))
    (tmp_path / "gbk.zip").write_bytes(raw)
    stored = store_brief_zip(settings, tmp_path / "gbk.zip", "我的简报.zip")
    assert stored.created and stored.skipped == ["封面.psd"]
    assert stored.folder.parent == briefs_dir(settings) and stored.folder.name.startswith("我的简报-")
    assert sorted(p.relative_to(stored.folder).as_posix() for p in stored.folder.rglob("*")
                  if p.is_file()) == ["夜渡.yaml", "小说/夜渡.txt"]


def test_only_known_folders_can_be_chosen(tmp_path, settings):
    for choice in ("", "upload:../../etc", "upload:", "/etc", "upload:.hidden", "upload:nope"):
        with pytest.raises(InputError):
            batch_tab.resolve_folder(settings, choice)
    assert batch_tab.resolve_folder(settings, "examples") == batch_tab.EXAMPLES
    with pytest.raises(gr.Error, match="请先上传简报文件夹的 zip"):
        batch_tab.check("", 1, False)


def test_the_tab_runs_the_batch_and_a_second_run_of_the_folder_is_refused(
        tmp_path, batch_settings):
    folder = brief_folder(tmp_path / "run", {"one.yaml": {}})
    choice = batch_tab.upload_zip(str(zip_folder(folder, tmp_path / "run.zip")))[0].value
    stored = batch_tab.resolve_folder(batch_settings, choice)

    held = batch_tab._claim(stored)  # as if this folder's batch were running
    try:
        with pytest.raises(gr.Error, match="这个简报文件夹的批量正在运行"):
            list(batch_tab.run(choice, 1, False, None))
    finally:
        batch_tab._runs.pop(stored)
    del held

    updates = list(batch_tab.run(choice, 1, False, None))
    table, status, files, page = updates[-1]
    assert [r[:3] for r in cells(table)] == [["one.yaml #1 第2章 默认", "完成", "100%"]]
    assert "**批量结束**。批次" in status and "完成 1，复用 0，失败 0" in status
    files = [Path(f["path"] if isinstance(f, dict) else f.path) for f in files.value]
    assert [f.name for f in files] == ["report.html", "report.csv"]
    served = batch_tab.reports_dir(batch_settings)  # the copies launch() serves
    assert sorted(p.name for p in served.glob("*/report.*")) == ["report.csv", "report.html"]
    assert page.visible and page.value.startswith("<iframe") and "批量生成报告" in page.value
    assert str(batch_settings.home) not in page.value  # the report in the page, without paths
    assert str(batch_settings.home) not in status
    assert batch_tab.cancel(choice) == "这个文件夹没有正在运行的批量"

    # run again: the package is reused, not made twice
    table, status, _, _ = list(batch_tab.run(choice, 1, False, None))[-1]
    assert cells(table)[0][1] == "已有成品" and "完成 1，复用 0" in status


def test_an_uploaded_brief_cannot_read_the_key_or_the_database(tmp_path, batch_settings):
    key = batch_settings.home / "secrets" / "llm_api_key"
    key.parent.mkdir(parents=True)
    key.write_text("sk-secret-batch-tab\n", encoding="utf-8")
    folder = brief_folder(tmp_path / "sneaky", {
        "key.yaml": {"material": "../../../secrets/llm_api_key"},
        "db.yaml": {"material": "../../../workbench.db"},
        "tpl.yaml": {"template": "../../../secrets/llm_api_key"}})
    choice = batch_tab.upload_zip(str(zip_folder(folder, tmp_path / "sneaky.zip")))[0].value
    problems, _, summary = batch_tab.check(choice, 1, False)
    found = {(row[0], row[2]) for row in cells(problems)}
    assert {file for file, _ in found} == {"key.yaml", "db.yaml", "tpl.yaml"}, found
    assert all("私密文件" in message for _, message in found), found
    assert "sk-secret" not in repr(found) + summary
