"""The web app in a real Chromium (Debian's, driven by Playwright): 创作 clicked through to a
rendered draft that survives a reload, login, a user error, and a screenshot of every tab.

Screenshots land in <repo>/.artifacts/screenshots/ (git-ignored) for a human to look at.
Without Chromium at /usr/bin/chromium (or $CHROMIUM) every test here skips and says why.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from app_server import AppServer, start_app
from conftest import PROJECT_ROOT, SAMPLES

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

pytestmark = pytest.mark.browser

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SHOTS = PROJECT_ROOT / ".artifacts" / "screenshots"
KEYWORD = "夜渡迷局"
TITLE = "改过的标题｜末班夜渡"
BODY = "改过的正文：末班渡轮在午夜靠岸。"
RENDER_TIMEOUT = 90_000  # ms; a draft render takes 5–15 s here, more on a busy machine
STEP_TIMEOUT = 30_000
expect.set_options(timeout=STEP_TIMEOUT)  # every check waits like a user on a busy machine


@pytest.fixture(scope="module")
def browser() -> Iterator:
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.skip(f"Chromium not found at {CHROMIUM}: install Debian's chromium package "
                    "(make test does it with apt as root), or point $CHROMIUM at one")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                              args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def app(browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    server = start_app(tmp_path_factory.mktemp("browser-app"))
    yield server
    server.stop()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    yield page
    context.close()


def pick(page, dropdown: str, option: str | re.Pattern) -> None:
    """Gradio's dropdowns are comboboxes: open the list, click the option."""
    page.locator(f"{dropdown} input").click()
    page.get_by_role("option", name=option).click()


def shoot(page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def no_errors(page) -> None:
    expect(page.locator("[data-testid=toast-body].error")).to_have_count(0)
    assert "Traceback" not in page.content()


def rendered(page) -> None:
    """The video, the cover and the caption of a finished render are on the page."""
    expect(page.locator("#video video")).to_have_attribute("src", re.compile(r"video\.mp4"),
                                                           timeout=RENDER_TIMEOUT)
    expect(page.locator("#cover img")).to_have_attribute("src", re.compile(r"cover\.jpg"))
    expect(page.locator("#caption-out textarea")).to_have_value(re.compile(KEYWORD))
    expect(page.locator("#package")).to_contain_text(".zip")


def test_create_renders_a_draft_and_a_reload_restores_it(app: AppServer, page) -> None:
    page.goto(app.url)
    expect(page.locator("#generate")).to_be_visible(timeout=STEP_TIMEOUT)
    # the upload box is usable once the page has opened its project (not before: a file then
    # would race the page's own load)
    expect(page.locator("#project input")).to_have_value(re.compile("#"))

    # 1 · the GBK sample uploaded here, chapter 2 picked
    page.locator("#create-upload input[type=file]").set_input_files(
        str(SAMPLES / "night-ferry.gbk.txt"))
    expect(page.locator("#create-status")).to_contain_text("已导入《末班夜渡》",
                                                           timeout=STEP_TIMEOUT)
    expect(page.locator("#material input")).to_have_value(re.compile("末班夜渡"))
    pick(page, "#chapter", re.compile(r"^2\. "))
    expect(page.locator("#chapter input")).to_have_value(re.compile(r"^2\. "))

    # 2 · template and keyword → 3 · the script. A template that asks for a voice (悬疑钩子:
    # male, +20%) sets the 配音 controls; one that asks for nothing (tiny) leaves them.
    pick(page, "#template", re.compile(r"（suspense，"))
    expect(page.locator("#voice input")).to_have_value(re.compile(r"（cmn，离线）"))
    expect(page.locator("#rate input[type=number]")).to_have_value("20")
    pick(page, "#template", re.compile(r"（tiny，"))
    page.locator("#keyword textarea").fill(KEYWORD)
    page.locator("#generate").click()
    cta = page.locator("#segments [data-testid=cell-2-1]")
    expect(cta).to_contain_text(KEYWORD, timeout=STEP_TIMEOUT)
    expect(page.locator("#segments [data-testid=cell-0-0]")).to_have_text("hook")
    title = page.locator("#title textarea")
    expect(title).not_to_have_value("")
    title.fill(TITLE)  # like pasted or typed with an input method: no key presses, then away
    title.blur()
    body = page.locator("#segments [data-testid=cell-1-1]")
    body.dblclick()
    body.locator("textarea").fill(BODY)
    body.locator("textarea").press("Enter")
    expect(body).to_contain_text(BODY)

    # 4 · the hook spoken with the offline voice
    expect(page.locator("#voice input")).to_have_value(re.compile("离线"))
    page.locator("#listen").click()
    expect(page.locator("#hook-audio audio[src]").first).to_be_attached(
        timeout=STEP_TIMEOUT)
    expect(page.locator("#hook-audio #duration")).not_to_have_text("0:00")

    # 5 · a background picked by its thumbnail
    thumbs = page.locator("#bg-gallery button.thumbnail-item")
    expect(thumbs).to_have_count(6)  # the reading page (paper, night) and 4 gradients
    thumbs.nth(4).click()
    expect(page.locator("#background input")).to_have_value("内置动画 · 配色 3")

    # 6 · a draft render
    expect(page.locator("#profile input[value=draft]")).to_be_checked()
    page.locator("#render").click()
    rendered(page)
    expect(page.locator("#render-report")).to_contain_text("720×1280")
    link = page.locator("#package a[href*='.zip']").first
    zipped = page.request.get(link.get_attribute("href"))
    assert zipped.ok and zipped.body()[:2] == b"PK"
    no_errors(page)
    shoot(page, "create")

    # the draft is the user's: a reload shows every step again, the edits included
    page.reload()
    expect(page.locator("#create-status")).to_contain_text("已恢复上次的成品",
                                                           timeout=STEP_TIMEOUT)
    expect(title).to_have_value(TITLE)
    expect(body).to_contain_text(BODY)
    expect(cta).to_contain_text(KEYWORD)
    expect(page.locator("#material input")).to_have_value(re.compile("末班夜渡"))
    expect(page.locator("#chapter input")).to_have_value(re.compile(r"^2\. "))
    expect(page.locator("#keyword textarea")).to_have_value(KEYWORD)
    expect(page.locator("#hook-audio audio[src]").first).to_be_attached()
    expect(page.locator("#background input")).to_have_value("内置动画 · 配色 3")
    rendered(page)

    # the other tabs, each as a user sees it after this render
    page.get_by_role("tab", name="素材").click()
    expect(page.locator("#material-table")).to_contain_text("末班夜渡", timeout=STEP_TIMEOUT)
    shoot(page, "materials")
    page.get_by_role("tab", name="提交记录").click()
    expect(page.locator("#submissions-table")).to_contain_text(KEYWORD, timeout=STEP_TIMEOUT)
    shoot(page, "submissions")
    page.get_by_role("tab", name="设置").click()
    expect(page.locator("#rewrite-backend")).to_be_visible()
    shoot(page, "settings")
    no_errors(page)

    # back on 创作 (its tab select refreshes the choices) nothing was lost
    page.get_by_role("tab", name="创作").click()
    expect(page.locator("#material input")).to_have_value(re.compile("末班夜渡"))
    expect(page.locator("#background input")).to_have_value("内置动画 · 配色 3")
    # and the server logged no unexpected error (handlers log those with a traceback)
    assert "Traceback" not in app.log.read_text("utf-8", "replace")


def test_login_rejects_a_wrong_password_and_a_user_error_reads_as_chinese(
        browser, page, tmp_path: Path) -> None:
    server = start_app(tmp_path / "app", auth="alice:pw1")
    try:
        page.goto(server.url)  # the browser asks for Chinese: Gradio's login page is too
        username, password = page.get_by_label("用户名"), page.get_by_label("密码")
        login = page.get_by_role("button", name="登录")
        expect(username).to_be_visible(timeout=STEP_TIMEOUT)
        expect(page.get_by_text("请登录 Workbench")).to_be_visible()
        username.fill("alice")
        password.fill("wrong")
        login.click()
        expect(page.get_by_text("凭据不正确")).to_be_visible(timeout=STEP_TIMEOUT)
        expect(page.locator("#generate")).to_have_count(0)

        username.fill("alice")  # the failed attempt emptied the form
        password.fill("pw1")
        login.click()
        expect(page.locator("#generate")).to_be_visible(timeout=STEP_TIMEOUT)

        # nothing chosen yet: the app says what to do, in Chinese, and shows no trace
        page.locator("#generate").click()
        toast = page.locator("[data-testid=toast-text]")
        expect(toast).to_contain_text("请先在第 1 步选择或上传小说素材", timeout=STEP_TIMEOUT)
        assert "Traceback" not in page.content()
    finally:
        server.stop()
    assert "Traceback" not in server.log.read_text("utf-8", "replace")


def test_a_drama_is_imported_its_highlights_found_and_one_ticked_rendered(
        app: AppServer, page, tmp_path_factory: pytest.TempPathFactory) -> None:
    from workbench.materials.sample_drama import generate_sample_drama

    with pytest.MonkeyPatch.context() as mp:  # the sample drama, made offline in its own home
        mp.setenv("WORKBENCH_HOME", str(app.home))
        from workbench.config import load_settings
        folder = tmp_path_factory.mktemp("browser-drama") / "夜渡"
        episodes = generate_sample_drama(folder, load_settings())
    page.goto(app.url)
    expect(page.locator("#generate")).to_be_visible(timeout=STEP_TIMEOUT)
    # the upload box is usable once the page has opened its project (not before: a file then
    # would race the page's own load)
    expect(page.locator("#project input")).to_have_value(re.compile("#"))

    # 素材: the episodes and their subtitles, chosen at once
    page.get_by_role("tab", name="素材").click()
    page.locator("#drama-upload input[type=file]").set_input_files(
        [str(p) for e in episodes for p in (e, e.with_suffix(".srt"))])
    expect(page.locator("#drama-note")).to_contain_text("已导入短剧《夜渡》：3 集",
                                                        timeout=STEP_TIMEOUT)
    expect(page.locator("#material-table")).to_contain_text("短剧")

    # 创作: the drama chosen, the chapter picker gives way to the 片段 section
    page.get_by_role("tab", name="创作").click()
    pick(page, "#material", re.compile("夜渡.*短剧"))
    expect(page.locator("#drama-section")).to_be_visible()
    expect(page.locator("#chapter")).to_be_hidden()
    expect(page.locator("#template input")).to_have_value(re.compile(r"（cut，"))
    page.locator("#keyword textarea").fill(KEYWORD)
    page.locator("#find-highlights").click()
    expect(page.locator("#highlights-note")).to_contain_text("按得分排名", timeout=STEP_TIMEOUT)
    page.locator("#highlights [data-testid=cell-0-0] input[type=checkbox]").check()
    page.locator("#highlights [data-testid=cell-1-6]").click()  # a row clicked: previewed
    expect(page.locator("#preview-row input")).to_have_value("2")
    page.locator("#preview-segment").click()
    expect(page.locator("#segment-preview video")).to_have_attribute(
        "src", re.compile(r"\.mp4"), timeout=STEP_TIMEOUT)
    page.locator("#render-drama").click()
    rendered(page)
    expect(page.locator("#render-report")).to_contain_text("720×1280")
    no_errors(page)
    shoot(page, "create-drama")
    assert "Traceback" not in app.log.read_text("utf-8", "replace")
