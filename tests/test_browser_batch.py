"""批量 in a real Chromium: a zip of two tiny briefs uploaded, the plan shown, the batch run
with its progress to the end and the report opened; a second batch cancelled part-way says
已取消. Screenshots at desktop and phone size land in .artifacts/screenshots/ (batch-*.png).

Uses test_browser's Chromium, page helpers and skip rule; draft renders of a 6-second template.
"""
# The fixtures are imported by name, so test parameters "redefine" them:
# ruff: noqa: F811

from __future__ import annotations

import re
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from app_server import AppServer, start_app
from conftest import SAMPLES
from test_browser import STEP_TIMEOUT, browser, expect, no_errors, shoot  # noqa: F401

pytestmark = pytest.mark.browser

RUN_TIMEOUT = 120_000  # ms: two draft renders on a busy 2-core machine
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def app(browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    server = start_app(tmp_path_factory.mktemp("browser-batch"),
                       extra_env={"WORKBENCH_END_CARD_SECONDS": "1",
                                  "WORKBENCH_RENDER_SLOTS": "1"})
    yield server
    server.stop()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    yield page
    context.close()


def briefs_zip(root: Path, name: str, briefs: dict[str, dict]) -> Path:
    """A prompt folder with its own novel, zipped under one top folder (as archivers do)."""
    folder = root / name
    (folder / "novel").mkdir(parents=True)
    shutil.copyfile(SAMPLES / "night-ferry.txt", folder / "novel" / "夜渡.txt")
    defaults = {"material": "novel/夜渡.txt", "keyword": "夜渡迷局", "template": "tinyhook",
                "chapters": 2, "rewrite_backend": "rules", "voice_backend": "espeak",
                "profile": "draft"}
    for file, values in {"_defaults.yaml": defaults, **briefs}.items():
        (folder / file).write_text(yaml.safe_dump(values, allow_unicode=True), encoding="utf-8")
    target = root / f"{name}.zip"
    with zipfile.ZipFile(target, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, f"{name}/{path.relative_to(folder).as_posix()}")
    return target


def no_sideways_scroll(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page scrolls sideways at phone width ({width}px)"


def test_a_zip_of_briefs_is_planned_run_reported_and_a_second_batch_cancelled(
        app: AppServer, page, tmp_path: Path) -> None:
    page.goto(app.url)
    page.get_by_role("tab", name="批量").click()
    expect(page.locator("#batch-upload")).to_be_visible(timeout=STEP_TIMEOUT)

    # upload → 检查: the plan, like `workbench batch --dry-run`
    page.locator("#batch-upload input[type=file]").set_input_files(
        str(briefs_zip(tmp_path, "夜渡两条", {"hooks.yaml": {"matrix": {
            "hooks": ["船票背面写着死期。", "末班渡轮只剩我。"]}}})))
    expect(page.locator("#batch-note")).to_contain_text("已解压")
    expect(page.locator("#batch-folder input")).to_have_value(re.compile("上传：夜渡两条"))
    page.locator("#batch-check").click()
    plan = page.locator("#batch-plan")
    expect(plan).to_contain_text("船票背面写着死期。")
    expect(plan).to_contain_text("待生成")
    expect(page.locator("#batch-summary")).to_contain_text("共 2 个任务：0 个已有成品（跳过），2 个待生成")
    shoot(page, "batch-plan")
    page.set_viewport_size(PHONE)
    expect(plan).to_be_visible()
    no_sideways_scroll(page)
    shoot(page, "batch-plan-phone")
    page.set_viewport_size({"width": 1280, "height": 900})

    # 运行: per-job progress to the end, the report downloadable and shown in the page
    page.locator("#batch-run").click()
    status, jobs = page.locator("#batch-status"), page.locator("#batch-jobs")
    expect(status).to_contain_text("运行中")
    expect(status).to_contain_text("批量结束", timeout=RUN_TIMEOUT)
    expect(status).to_contain_text("完成 2，复用 0，失败 0")
    expect(jobs).to_contain_text("hooks.yaml #2")
    for row in (0, 1):
        expect(jobs.locator(f"[data-testid=cell-{row}-1]")).to_have_text("完成")
    link = page.locator("#batch-report a[href*='report.html']").first
    report = page.request.get(link.get_attribute("href"))
    assert report.ok and "批量生成报告" in report.text() and "data:image/jpeg" in report.text()
    frame = page.frame_locator("#batch-report-page iframe")
    expect(frame.locator("h1")).to_have_text("批量生成报告")
    expect(frame.locator("body")).to_contain_text("完成 2，复用 0")
    no_errors(page)
    shoot(page, "batch-done")
    page.locator("#batch-report-page iframe").screenshot(
        path=str(shoot(page, "batch-report").with_name("batch-report.png")))
    page.set_viewport_size(PHONE)
    expect(jobs).to_be_visible()
    no_sideways_scroll(page)
    shoot(page, "batch-done-phone")
    page.set_viewport_size({"width": 1280, "height": 900})

    # a second batch, cancelled while its first job is being made
    page.locator("#batch-upload input[type=file]").set_input_files(
        str(briefs_zip(tmp_path, "夜渡三条", {"three.yaml": {"variants": 3, "chapters": 3}})))
    expect(page.locator("#batch-folder input")).to_have_value(re.compile("上传：夜渡三条"))
    expect(plan).to_be_hidden()  # the other folder's plan and report are gone
    expect(page.locator("#batch-report-page iframe")).to_have_count(0)
    page.locator("#batch-run").click()
    expect(jobs).to_contain_text(re.compile("准备|进行中"), timeout=RUN_TIMEOUT)
    page.locator("#batch-cancel").click()
    expect(status).to_contain_text("已取消", timeout=RUN_TIMEOUT)
    expect(status).to_contain_text("完成的成品包都保留了")
    expect(jobs).to_contain_text("已取消")
    no_errors(page)
    page.set_viewport_size(PHONE)
    no_sideways_scroll(page)
    shoot(page, "batch-cancelled-phone")
    assert "Traceback" not in app.log.read_text("utf-8", "replace")
