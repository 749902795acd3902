"""The 模板实验室 tab in a real Chromium (as tests/test_browser.py drives it): a mistake typed
into the editor is found with its line while typing, the fix is saved as a new version, the
template is tried on the sample chapter (durations per segment, a draft preview), the two
versions are compared with the difference highlighted, the versions table lists both with the
packages made from each, and 收益 ranks them from tracking seeded through the library.

Screenshots of each section land in <repo>/.artifacts/screenshots/lab-*.png (git-ignored).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from app_server import AppServer, start_app
from conftest import SAMPLES
from lab_fixtures import keyword, track, video
from test_browser import browser, expect, no_errors, page, pick, shoot

pytestmark = pytest.mark.browser
__all__ = ["browser", "page"]  # the fixtures, shared with test_browser

KEYWORD = "夜渡迷局"
ADDED = "快去看结局"
PLANTED = "{{ nosuchvar }}"


@pytest.fixture(scope="module")
def app(browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    """The app with the sample novel, and three published packages of the `tiny` template
    (two made with version 1, one with version 2) with tracking for their keyword — all made
    through the library in the app's own home."""
    root = tmp_path_factory.mktemp("browser-lab")
    server = start_app(root)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WORKBENCH_HOME", str(server.home))
        from workbench.config import load_settings
        from workbench.materials.library import add_material
        from workbench.platform.tasks import add_task
        from workbench.store import open_db

        db = open_db(load_settings().db_path)
        add_material(db, SAMPLES / "night-ferry.txt")
        task = add_task(db, {"platform": "推文平台", "app": "番茄小说", "title": "末班夜渡",
                             "kind": "novel", "model": "CPE", "price": "0.5"}, "test")
        kw = keyword(db, task, KEYWORD)
        video(db, "s1", kw, "tiny", "1", "2026-11-01")
        video(db, "s2", kw, "tiny", "1", "2026-11-01")
        video(db, "s3", kw, "tiny", "2", "2026-11-02")
        track(db, root, [
            {"date": "2026-11-01", "keyword": KEYWORD, "views": 1000, "likes": 40},
            {"date": "2026-11-02", "keyword": KEYWORD, "views": 3000, "likes": 90}])
        db.close()
    yield server
    server.stop()


def test_edit_lint_save_try_compare_versions_and_earnings(app: AppServer, page) -> None:
    page.goto(app.url)
    page.get_by_role("tab", name="模板实验室").click()
    # opened with nothing in the editor: the first template is there to edit at once
    expect(page.locator("#lab-editor .cm-content")).to_contain_text("{% block hook %}")
    expect(page.locator("#lab-source input")).not_to_have_value("")

    # 编辑: the tiny template loaded and clean; a planted mistake is found while typing
    pick(page, "#lab-source", re.compile(r"（tiny）"))
    expect(page.locator("#lab-version input")).to_have_value(re.compile("当前文件"))
    page.locator("#lab-load").click()
    expect(page.locator("#lab-status")).to_contain_text("tiny@1")
    summary = page.locator("#lab-lint-summary")
    expect(summary).to_contain_text("没有发现问题")
    page.locator("#lab-editor .cm-content").click()
    page.keyboard.press("Control+End")
    page.keyboard.type("\n" + PLANTED)
    findings = page.locator("#lab-findings")
    expect(findings).to_contain_text("未知变量 nosuchvar")  # no click: linted as typed
    expect(findings.locator("[data-testid=cell-0-0]")).to_have_text("21")  # its line
    expect(summary).to_contain_text("1 个错误")
    page.locator("#lab-save").click()  # refused while the mistake is there
    expect(page.locator("[data-testid=toast-body].error").first).to_contain_text("nosuchvar")
    expect(page.locator("#lab-saved")).not_to_contain_text("已保存")
    page.locator("[data-testid=toast-close]").first.click()
    expect(page.locator("[data-testid=toast-body].error")).to_have_count(0)

    # fixed, the cta changed, saved as version 2
    page.locator("#lab-editor .cm-content").click()
    page.keyboard.press("Control+End")
    for _ in range(len(PLANTED) + 1):
        page.keyboard.press("Backspace")
    expect(summary).to_contain_text("没有发现问题")
    page.locator("#lab-editor .cm-line", has_text="搜索【").click()
    page.keyboard.press("End")
    page.keyboard.type(f"，{ADDED}")
    expect(summary).to_contain_text("没有发现问题")
    page.locator("#lab-note textarea").fill("结尾加一句")
    page.locator("#lab-save").click()
    expect(page.locator("#lab-saved")).to_contain_text("已保存为 tiny@2")
    expect(page.locator("#lab-editor .cm-content")).to_contain_text("version: 2")
    expect(page.locator("#lab-version input")).to_have_value(re.compile("^v2"))
    no_errors(page)
    shoot(page, "lab-edit")

    # 试用: the editor's text on chapter 2: segments with their estimated seconds
    page.get_by_role("tab", name="试用").click()
    pick(page, "#lab-try-material", re.compile("末班夜渡"))
    pick(page, "#lab-try-chapter", re.compile(r"^2\. "))
    page.locator("#lab-try-keyword textarea").fill(KEYWORD)
    page.locator("#lab-try-run").click()
    result = page.locator("#lab-try-summary")
    expect(result).to_contain_text("合计约")
    expect(result).to_contain_text(f"口令「{KEYWORD}」在 cta 段")
    table = page.locator("#lab-try-segments")
    expect(table).to_contain_text("预计秒数")
    expect(table).to_contain_text(ADDED)
    expect(table.locator("[data-testid=cell-2-0]")).to_have_text("cta")
    expect(table.locator("[data-testid=cell-2-3]")).to_have_text(re.compile(r"^\s*\d+\.\d\s*$"))
    expect(page.locator("#lab-try-checks")).to_contain_text(f"cta 段包含口令「{KEYWORD}」")
    page.locator("#lab-try-seconds input").fill("2")
    page.locator("#lab-try-preview").click()
    expect(page.locator("#lab-try-clip video")).to_have_attribute(
        "src", re.compile(r"\.mp4"), timeout=120_000)
    expect(page.locator("#lab-try-clip-note")).to_contain_text("前 2 秒")
    no_errors(page)
    shoot(page, "lab-try")

    # 对比: version 1 against version 2 on the same chapter: the added words highlighted
    page.get_by_role("tab", name="对比").click()
    pick(page, "#lab-compare-refs", "tiny@1")
    pick(page, "#lab-compare-refs", re.compile(r"^tiny@2"))
    page.keyboard.press("Escape")  # a multiselect stays open
    pick(page, "#lab-compare-material", re.compile("末班夜渡"))
    pick(page, "#lab-compare-chapter", re.compile(r"^2\. "))
    page.locator("#lab-compare-keyword textarea").fill(KEYWORD)
    page.locator("#lab-compare-run").click()
    compared = page.locator("#lab-compare-table")
    expect(compared.locator("thead")).to_contain_text("tiny@1（基准）")
    added = compared.locator("tbody ins")  # the legend has its own <ins>
    expect(added).to_have_count(1)  # only the words version 2 added, nothing else
    expect(added).to_have_text(f"，{ADDED}")
    expect(compared).to_contain_text("相似度")
    no_errors(page)
    shoot(page, "lab-compare")

    # 版本: both versions, with the packages made from each
    page.get_by_role("tab", name="版本").click()
    pick(page, "#lab-ver-template", re.compile(r"（tiny）"))
    page.locator("#lab-ver-show").click()
    versions = page.locator("#lab-ver-table")
    expect(page.locator("#lab-ver-note")).to_contain_text("2 个版本")
    expect(versions).to_contain_text("结尾加一句")
    for row, (number, used) in enumerate([("2", "1"), ("1", "2")]):  # newest first
        expect(versions.locator(f"[data-testid=cell-{row}-0]")).to_have_text(number)
        expect(versions.locator(f"[data-testid=cell-{row}-5]")).to_have_text(used)
    expect(versions.locator("[data-testid=cell-2-0]")).to_have_count(0)
    expect(page.locator("#lab-ver-download")).to_contain_text("tiny.v2.j2")
    expect(page.locator("#lab-ver-made")).to_contain_text("s3")
    pick(page, "#lab-ver-pick", re.compile("^v1"))
    expect(page.locator("#lab-ver-made")).to_contain_text("s1")
    expect(page.locator("#lab-ver-download")).to_contain_text("tiny.v1.j2")
    no_errors(page)
    shoot(page, "lab-versions")

    # 收益: per version, with the chart and the small-sample flag
    page.get_by_role("tab", name="收益").click()
    page.locator("#lab-earn-run").click()
    stats = page.locator("#lab-earn-table")
    expect(stats).to_contain_text("tiny v1")
    expect(stats).to_contain_text("tiny v2")
    expect(stats).to_contain_text("样本太少")
    expect(page.locator("#lab-earn-chart svg")).to_be_visible()
    expect(page.locator("#lab-earn-notes")).to_contain_text("样本太少")
    no_errors(page)
    shoot(page, "lab-earnings")
    assert "Traceback" not in app.log.read_text("utf-8", "replace")
