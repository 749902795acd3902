"""The platform tabs in a real Chromium (as tests/test_browser.py drives it): a keyword applied
for and approved in 任务与口令 and picked with its task in 创作, then a tracking export imported
through 回传与结算 — the mapping
preview before anything is stored, the rejected rows, a settlement line with a held day that
is released, and the plots drawn.

Screenshots of both tabs land in <repo>/.artifacts/screenshots/ (git-ignored).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from app_server import AppServer, start_app
from test_browser import STEP_TIMEOUT, browser, expect, no_errors, page, pick, shoot

pytestmark = pytest.mark.browser
__all__ = ["browser", "page"]  # the fixtures, shared with test_browser

KEYWORD = "星河夜渡"
EXPORT = ["日期,口令,播放量,点赞,评论,激活,备注",
          f"2026-11-01,{KEYWORD},1000,10,1,3,首日",
          f"2026-11-02,{KEYWORD},1200,12,2,4,",
          f"2026-11-03,{KEYWORD},900,2000,2,1,互动多于播放",
          "2026-11-04,没登记的口令,5,1,1,0,",
          f"2026-11-05,{KEYWORD},很多,1,1,0,"]


@pytest.fixture(scope="module")
def app(browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    """The app with one CPE task (0.10 元/互动, 抖音 only) and one 抖音 account, made through
    the library in the app's own home."""
    root = tmp_path_factory.mktemp("browser-platform")
    server = start_app(root)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WORKBENCH_HOME", str(server.home))
        from workbench.config import load_settings
        from workbench.platform.accounts import add_account
        from workbench.platform.tasks import add_task
        from workbench.store import open_db

        db = open_db(load_settings().db_path)
        add_task(db, {"platform": "推文平台", "app": "番茄小说", "title": "夜航船",
                      "kind": "novel", "model": "CPE", "price": "0.10",
                      "channels": ["抖音"]}, "test")
        add_account(db, "抖音", "studio_night", "夜渡工作室", "test")
        db.close()
    yield server
    server.stop()


def test_keyword_approved_then_a_tracking_file_imported_settled_and_plotted(
        app: AppServer, page, tmp_path: Path) -> None:
    page.goto(app.url)
    expect(page.locator("#generate")).to_be_visible(timeout=STEP_TIMEOUT)

    # 任务与口令: the task is listed; a keyword applied for (待审核), then approved (已通过)
    page.get_by_role("tab", name="任务与口令").click()
    expect(page.locator("#tasks-table")).to_contain_text("夜航船")
    expect(page.locator("#tasks-table")).to_contain_text("CPE 0.10 元/互动")
    pick(page, "#apply-task", re.compile("夜航船"))
    pick(page, "#apply-account", re.compile("studio_night"))
    page.locator("#apply-text textarea").fill(KEYWORD)
    page.locator("#keyword-apply").click()
    expect(page.locator("#keyword-note")).to_contain_text("待审核")
    badge = page.locator("#keywords-table .kw-badge").first  # the table draws cells twice
    expect(badge).to_have_text("待审核")
    expect(page.locator("#keyword-pick input")).to_have_value(re.compile(KEYWORD))
    page.locator("#keyword-approve").click()
    expect(page.locator("#keyword-note")).to_contain_text("已通过")
    expect(badge).to_have_text("已通过")
    expect(page.locator("#keywords-table .kw-pending")).to_have_count(0)
    no_errors(page)
    shoot(page, "tasks")

    # 创作: the task picked, its one approved keyword and its app filled in; without a task a
    # free keyword is checked as it is typed
    page.get_by_role("tab", name="创作").click()
    pick(page, "#create-task", re.compile("夜航船"))
    expect(page.locator("#keyword textarea")).to_have_value(KEYWORD)
    expect(page.locator("#app-name textarea")).to_have_value("番茄小说")
    expect(page.locator("#keyword-hint")).to_contain_text("符合任务 #1 的规则")
    pick(page, "#create-task", re.compile("不绑定任务"))
    page.locator("#keyword textarea").fill("")
    page.locator("#keyword textarea").press_sequentially("星河 夜渡")
    expect(page.locator("#keyword-hint")).to_contain_text("第 3 个字符")
    shoot(page, "create-task")

    # 回传与结算: the file's mapping and first rows before anything is stored
    export = tmp_path / "回传.csv"
    export.write_bytes(("\r\n".join(EXPORT) + "\r\n").encode("gbk"))
    page.get_by_role("tab", name="回传与结算").click()
    page.locator("#tracking-file input[type=file]").set_input_files(str(export))
    mapping = page.locator("#tracking-mapping")
    expect(mapping).to_contain_text("generic-cn")
    expect(mapping).to_contain_text("不导入的列：备注")
    preview = page.locator("#tracking-preview")
    expect(preview).to_contain_text("可导入")
    expect(preview).to_contain_text("口令「没登记的口令」未登记")
    expect(page.locator("#tracking-summary")).to_have_text("")  # nothing stored yet

    # imported: the summary and the rejected rows with their line and reason
    page.locator("#tracking-import").click()
    expect(page.locator("#tracking-summary")).to_contain_text("新增 3 行")
    rejected = page.locator("#tracking-rejected")
    expect(rejected).to_contain_text("未登记")
    expect(rejected).to_contain_text("「播放量」列应为不小于 0 的整数")

    # the settlement follows: a line for the keyword, the odd day held, then released
    table = page.locator("#settle-table")
    expect(table).to_contain_text(KEYWORD)
    expect(table).to_contain_text("2.50")  # (11 + 14) interactions × 0.10 on the clean days
    expect(page.locator("#held-table")).to_contain_text("互动量 2002 多于播放量 900")
    expect(page.locator("#settle-summary")).to_contain_text("暂扣 200.20 元")
    with page.expect_download() as download:
        page.locator("#settle-csv").click()
    body = Path(download.value.path()).read_bytes()
    assert download.value.suggested_filename.endswith(".csv")
    assert body.startswith(b"\xef\xbb\xbf") and KEYWORD.encode() in body  # Excel reads the BOM
    for plot in ("#plot-daily", "#plot-task", "#plot-account"):
        expect(page.locator(f"{plot} canvas, {plot} svg.marks").first).to_be_visible()
    shoot(page, "tracking")

    pick(page, "#held-pick", re.compile("2026-11-03"))
    page.locator("#release-reason textarea").fill("核对过：活动日")
    page.locator("#release").click()
    expect(page.locator("#release-note")).to_contain_text("已放行")
    expect(page.locator("#settle-summary")).to_contain_text("应结 202.70 元")
    expect(page.locator("#held-table")).not_to_contain_text("2026-11-03")
    no_errors(page)
    assert "Traceback" not in app.log.read_text("utf-8", "replace")


def test_a_postback_platform_registered_in_the_page_receives_a_signed_event(
        app: AppServer, page) -> None:
    """回传平台: registered here with its secret shown once; the app's own server takes a signed
    event for the approved keyword and refuses a forged one; both show up in the section."""
    import json
    import time
    import uuid

    import httpx

    from workbench.postback.verify import sign

    page.goto(app.url)
    page.get_by_role("tab", name="回传与结算").click()
    page.locator("#postback-section").get_by_text("回传平台（HTTP 推送）").click()
    expect(page.locator("#postback-note")).to_contain_text("还没有登记回传平台")
    page.locator("#postback-name textarea").fill("kuaishou-ads")
    pick(page, "#postback-map", re.compile("预设 kuaishou"))
    page.locator("#postback-add").click()
    expect(page.locator("#postback-added")).to_contain_text("只显示这一次")
    secret = page.locator("#postback-secret textarea").input_value()
    assert secret.startswith("whsec_")
    expect(page.locator("#postback-platforms")).to_contain_text("kuaishou-ads")
    expect(page.locator("#postback-example")).to_contain_text("/api/postback/kuaishou-ads")
    assert secret not in page.locator("#postback-example").inner_text()

    body = json.dumps({"event_type": 1, "keyword": KEYWORD,
                       "event_time": int(time.time() * 1000)}).encode()
    sent, now = f"msg_{uuid.uuid4().hex}", int(time.time())
    headers = {"content-type": "application/json", "webhook-id": sent,
               "webhook-timestamp": str(now), "webhook-signature": sign(secret, sent, now, body)}
    url = f"{app.url.rstrip('/')}/api/postback/kuaishou-ads"
    stored = httpx.post(url, content=body, headers=headers, timeout=20)
    assert stored.status_code == 200 and stored.json() == {"status": "stored"}
    forged = httpx.post(url, content=body, timeout=20, headers={
        **headers, "webhook-id": "msg_forged", "webhook-signature": "v1,AAAA"})
    assert forged.status_code == 401

    page.locator("#postback-refresh").click()
    expect(page.locator("#postback-events")).to_contain_text(KEYWORD)
    expect(page.locator("#postback-events")).to_contain_text("激活")
    expect(page.locator("#postback-rejections")).to_contain_text("bad_signature")
    expect(page.locator("#postback-platforms")).to_contain_text("kuaishou（1=激活")
    page.reload()
    page.get_by_role("tab", name="回传与结算").click()
    page.locator("#postback-section").get_by_text("回传平台（HTTP 推送）").click()
    expect(page.locator("#postback-platforms")).to_contain_text("kuaishou-ads")
    expect(page.locator("#postback-secret textarea")).to_have_value("")  # shown once only
    no_errors(page)
    shoot(page, "postback")


def test_gradios_own_words_are_chinese_in_an_english_browser(app: AppServer, browser) -> None:
    """Upload areas, the footer and the queue's words come from Gradio, which follows the
    browser's language; the app answers zh-CN whatever the browser says."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    try:
        english = context.new_page()
        english.goto(app.url)
        english.get_by_role("tab", name="回传与结算").click()
        expect(english.locator("#tracking-file")).to_contain_text("将文件拖放到此处",
                                                                 timeout=STEP_TIMEOUT)
        body = english.locator("body").inner_text()
        assert "Drop File Here" not in body and "Click to Upload" not in body
        assert english.evaluate("navigator.language") == "zh-CN"
    finally:
        context.close()
