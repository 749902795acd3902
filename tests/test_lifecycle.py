"""One job lifecycle for every front end: a step added in one place reaches `workbench make`
and `workbench batch`; a batch plans each job and verifies each package once per run; a
template's voice wishes reach the rendered video unless the user chose otherwise.

Everything is real: espeak, ffmpeg, SQLite, the local worker pool; the CLI runs in process
(through its real entry point) so the added step can be patched in.
"""
# The fixtures are imported by name, so test parameters "redefine" them:
# ruff: noqa: F811

from __future__ import annotations

import csv
import json
from dataclasses import astuple, replace

import pytest
from batch_fixtures import NOVEL, batch_settings, write_folder  # noqa: F401
from cli_runner import run_cli
from tiny_templates import TINY

from workbench.config import load_settings
from workbench.errors import InputError
from workbench.materials.library import add_material
from workbench.models import MakeJob
from workbench.pipeline import lifecycle, run_job
from workbench.voice.base import VoiceHint
from workbench.voice.registry import plan_voice


def test_a_step_added_to_prepare_job_reaches_make_and_batch(batch_settings, db, tmp_path,
                                                             monkeypatch):
    """What the platform-records issue will do: refuse a job whose keyword has expired. Added
    once, by replacing `lifecycle.prepare_job`, it must hold for both front ends."""
    seen: list[str] = []
    original = lifecycle.prepare_job

    def with_keyword_check(plan, make_id, settings, db, progress):
        seen.append(plan.job.keyword)
        if plan.job.keyword == "过期口令":
            raise InputError("口令「过期口令」已过期，请重新申请")
        return original(plan, make_id, settings, db, progress)

    monkeypatch.setattr(lifecycle, "prepare_job", with_keyword_check)
    code, out, err = astuple(run_cli("material", "add", str(NOVEL)))
    assert code == 0, err
    make = ["make", "--material", "1", "--chapter", "2", "--template", "tiny"]
    code, out, err = astuple(run_cli(*make, "--keyword", "过期口令"))
    assert code == 1 and "口令「过期口令」已过期" in err and "Traceback" not in err
    code, out, err = astuple(run_cli(*make, "--keyword", "夜渡迷局"))
    assert code == 0 and "成品包: " in out, err
    assert seen == ["过期口令", "夜渡迷局"]

    folder = write_folder(tmp_path / "briefs", {"ok.yaml": {"keyword": "夜渡迷局新"},
                                                "stale.yaml": {"keyword": "过期口令"}})
    code, out, err = astuple(run_cli("batch", str(folder), "--workers", "1"))
    assert code == 1 and "失败  stale.yaml #1：口令「过期口令」已过期" in out, out + err
    assert "完成 1，复用 0，失败 1" in out
    assert sorted(seen[2:]) == ["夜渡迷局新", "过期口令"]
    failed = [r for r in db["jobs"].rows_where("kind = 'make' and status = 'failed'")]
    assert len(failed) == 2 and all("已过期" in r["error"] for r in failed)


def test_a_batch_plans_each_job_and_verifies_each_package_once(batch_settings, db, tmp_path,
                                                               monkeypatch):
    calls = {"plan": 0, "verify": 0}
    plan_job, verify = lifecycle.plan_job, lifecycle.verify_package

    def counting_plan(job, settings, drama=None):
        calls["plan"] += 1
        return plan_job(job, settings, drama)

    def counting_verify(folder):
        calls["verify"] += 1
        return verify(folder)

    monkeypatch.setattr(lifecycle, "plan_job", counting_plan)
    monkeypatch.setattr(lifecycle, "verify_package", counting_verify)
    folder = write_folder(tmp_path / "briefs", {"two.yaml": {"variants": 2}})
    code, out, err = astuple(run_cli("batch", str(folder), "--workers", "2"))
    assert code == 0 and "完成 2" in out, out + err
    assert calls == {"plan": 2, "verify": 0}  # nothing to reuse yet: no package is hashed

    calls.update(plan=0, verify=0)
    code, out, err = astuple(run_cli("batch", str(folder)))
    assert code == 0 and "2 个已有成品（跳过），0 个待生成" in out, out + err
    assert calls == {"plan": 2, "verify": 2}  # the plan table and the run share one survey
    rows = list(csv.DictReader((folder / "output" / "report.csv").read_text("utf-8-sig")
                               .splitlines()))
    assert [r["status"] for r in rows] == ["done", "done"]


# The template's voice block ------------------------------------------------------------------
def test_template_voice_hints_fill_only_what_nobody_chose(settings, monkeypatch):
    male_fast = VoiceHint(gender="male", rate="+25%", pitch="+5Hz")
    plan = plan_voice(settings, "espeak", hint=male_fast).primary.params
    assert (plan.voice, plan.rate, plan.pitch) == ("cmn", "+25%", "+5Hz")
    female = VoiceHint(gender="female", rate="+10%")
    assert plan_voice(settings, "espeak", hint=female).primary.params.voice == "cmn+f3"
    edge = plan_voice(settings, "edge", hint=male_fast).primary.params
    assert edge.voice == "zh-CN-YunxiNeural"
    auto = plan_voice(settings, "auto", hint=female)
    assert auto.primary.params.voice == "zh-CN-XiaoxiaoNeural"
    assert auto.fallback is not None and auto.fallback.params.voice == "cmn+f3"
    # the job's own choice wins ...
    chosen = plan_voice(settings, "espeak", voice="cmn+m3", rate="-10%", hint=male_fast)
    assert (chosen.primary.params.voice, chosen.primary.params.rate) == ("cmn+m3", "-10%")
    # ... and so does what the user set in the settings
    monkeypatch.setenv("WORKBENCH_VOICE_RATE", "+5%")
    monkeypatch.setenv("WORKBENCH_OFFLINE_VOICE", "cmn+f4")
    configured = plan_voice(load_settings(), "espeak", hint=male_fast).primary.params
    assert (configured.voice, configured.rate, configured.pitch) == ("cmn+f4", "+5%", "+5Hz")


def test_the_rendered_job_speaks_with_the_template_voice(batch_settings, db, home):
    folder = home.parent / "tpl"
    (folder / "tinyfemale.j2").write_text(
        TINY.replace("id: tiny\n", "id: tinyfemale\n")
        .replace("target_seconds: 8\n", 'target_seconds: 8\nvoice: {gender: female, rate: "+30%"}\n'),
        encoding="utf-8")
    material, _ = add_material(db, NOVEL)
    job = MakeJob(material_id=material["id"], chapter=2, template="tinyfemale",
                  keyword="夜渡迷局", bgm="none")
    hinted = run_job(job, batch_settings, db)
    assert (hinted.manifest["voice"]["voice"], hinted.manifest["voice"]["rate"]) == (
        "cmn+f3", "+30%")
    timings = json.loads((batch_settings.outputs_dir / "jobs" / hinted.submission_id
                          / "timings.json").read_text("utf-8"))
    assert timings["voice"] == "cmn+f3"
    chosen = run_job(replace(job, voice="cmn+m3"), batch_settings, db)  # the user's choice wins
    assert (chosen.manifest["voice"]["voice"], chosen.manifest["voice"]["rate"]) == (
        "cmn+m3", "+30%")
    plain = run_job(MakeJob(material_id=material["id"], chapter=2, template="tiny",
                            keyword="夜渡迷局", bgm="none"), batch_settings, db)
    assert (plain.manifest["voice"]["voice"], plain.manifest["voice"]["rate"]) == ("cmn", "+0%")
    # a faster voice makes a shorter narration of the same text
    assert hinted.manifest["durations"]["narration"] < plain.manifest["durations"]["narration"]


# Published packages and concurrent makers ------------------------------------------------------
def test_a_published_package_is_never_overwritten(batch_settings, db):
    from workbench.platform.submissions_lifecycle import publish
    from workbench.store.submissions import get_submission

    material, _ = add_material(db, NOVEL)
    job = MakeJob(material_id=material["id"], chapter=2, template="tiny", keyword="夜渡迷局",
                  bgm="none")
    first = run_job(job, batch_settings, db)
    publish(db, first.submission_id, "https://www.douyin.com/video/1", "2026-11-29", actor="test")
    video = first.package / "video.mp4"
    before = (video.stat().st_mtime_ns, video.read_bytes())

    forced = run_job(job, batch_settings, db, force=True)  # a remake makes a new take
    assert forced.submission_id != first.submission_id and not forced.reused
    assert any("已发布，不会被覆盖" in n for n in forced.notes)
    assert (video.stat().st_mtime_ns, video.read_bytes()) == before
    row = get_submission(db, first.submission_id)
    assert (row["status"], row["publish_url"]) == ("published", "https://www.douyin.com/video/1")
    assert run_job(job, batch_settings, db).submission_id == forced.submission_id  # reused

    # a damaged published package is reported and kept as it is, never silently replaced
    cover = first.package / "cover.jpg"
    cover.write_bytes(b"damaged")
    (forced.package / "caption.txt").write_text("改坏了", encoding="utf-8")
    again = run_job(job, batch_settings, db)
    assert not again.reused and again.submission_id == forced.submission_id  # the take, remade
    assert any(f"已发布的成品包 {first.submission_id} 有问题" in n for n in again.notes)
    assert cover.read_bytes() == b"damaged"
    assert get_submission(db, first.submission_id)["status"] == "published"


def test_two_makes_of_the_same_job_make_one_package(batch_settings, db):
    import os
    import subprocess
    import sys
    import time

    add_material(db, NOVEL)
    args = [sys.executable, "-m", "workbench", "make", "--material", "1", "--chapter", "2",
            "--template", "tiny", "--keyword", "夜渡迷局", "--bgm", "none"]
    env = {**os.environ}
    first = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=env)
    time.sleep(1.0)  # the second starts while the first is working on the same job
    second = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=env)
    outs = [p.communicate(timeout=120) for p in (first, second)]
    assert [p.returncode for p in (first, second)] == [0, 0], outs
    assert sum("复用已有成品" in out for out, _ in outs) == 1  # one made it, the other reused it
    assert db["submissions"].count == 1
    packages = [p for p in batch_settings.submissions_dir.iterdir()]
    assert len(packages) == 1  # and no staging folder was left behind


def test_a_batch_leaves_a_job_another_process_is_making(batch_settings, db, tmp_path):
    from workbench.batch import load_plan
    from workbench.batch.runner import survey
    from workbench.locks import FileLock
    from workbench.pipeline.lifecycle import job_lock

    folder = write_folder(tmp_path / "briefs", {"one.yaml": {}})
    plan = load_plan(folder, batch_settings, db, import_materials=True)
    held = job_lock(survey(plan, batch_settings, db)[0].plan, batch_settings)
    assert isinstance(held, FileLock) and held.acquire()  # as a `workbench make` would
    try:
        code, out, err = astuple(run_cli("batch", str(folder)))
    finally:
        held.release()
    assert code == 1 and "同一个视频正在另一个进程里生成" in out, out + err
    code, out, err = astuple(run_cli("batch", str(folder)))  # once it is free: made
    assert code == 0 and "完成 1" in out, out + err



def test_a_database_lock_at_the_last_step_leaves_no_package_and_no_running_row(
        batch_settings, db, monkeypatch):
    """Another process takes the write lock while this job renders and keeps it past the
    wait: the job fails with 数据库正忙, no package folder exists without its row, and the
    job row says failed once the lock is gone (never left `running`)."""
    from db_lock import hold_write_lock

    import workbench.store
    from workbench.errors import StoreError

    material, _ = add_material(db, NOVEL)
    monkeypatch.setattr(workbench.store, "BUSY_TIMEOUT_MS", 300)
    db.execute("PRAGMA busy_timeout = 300")  # as open_db sets it
    holders = []

    def progress(fraction: float, message: str) -> None:
        if message == "打包" and not holders:  # the render is done; the package is next
            holders.append(hold_write_lock(batch_settings.db_path, seconds=1.5))

    job = MakeJob(material_id=material["id"], chapter=2, template="tiny", keyword="夜渡迷局",
                  bgm="none")
    with pytest.raises(StoreError, match="数据库正忙"):
        run_job(job, batch_settings, db, progress)
    holders[0].wait(timeout=30)
    assert holders and list(batch_settings.submissions_dir.iterdir()) == []
    assert db["submissions"].count == 0
    make = list(db["jobs"].rows_where("kind = 'make'"))[-1]
    assert make["status"] == "failed" and "数据库正忙" in make["error"]
