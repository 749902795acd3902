"""创作's projects in a real Chromium (as tests/test_browser.py drives it): two projects made,
switched and reloaded with every field restored; a script edit guarded from 生成脚本 and one
segment regenerated alone; a failed generate and upload that keep the inputs; a reload in the
middle of a render that follows it to the end; 取消; and the whole flow at phone size
(390×844) with no horizontal scroll and a screenshot per step in /tmp/proj_phone_*.png.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from app_server import AppServer, start_app
from conftest import SAMPLES
from test_browser import (
    ARGS,
    CHROMIUM,
    STEP_TIMEOUT,
    browser,
    expect,
    no_errors,
    pick,
    rendered,
)

pytestmark = pytest.mark.browser
__all__ = ["ARGS", "CHROMIUM", "browser"]  # the fixture, shared with test_browser

KEYWORD = "夜渡迷局"
TITLE = "项目一的标题"
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def app(browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    server = start_app(tmp_path_factory.mktemp("browser-projects"))
    yield server
    server.stop()


@pytest.fixture
def context(browser) -> Iterator[Any]:
    """A browser of its own (its own localStorage: its own projects)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    yield context
    context.close()


def stored(app: AppServer, name: str, column: str = "fields") -> dict[str, Any]:
    """The project called `name` as stored (read from the app's own database)."""
    import sqlite3

    with sqlite3.connect(app.home / "workbench.db") as conn:
        row = conn.execute(f"SELECT {column} FROM projects WHERE name = ?", [name]).fetchone()
    return json.loads(row[0]) if row and row[0] else {}


def fields_of(app: AppServer, name: str) -> dict[str, Any]:
    return stored(app, name)


def rendering(app: AppServer, name: str) -> None:
    """Wait until the project's render has started."""
    deadline = time.monotonic() + STEP_TIMEOUT / 1000
    while stored(app, name, "render").get("status") != "running":
        assert time.monotonic() < deadline, f"{name}: the render never started"
        time.sleep(0.1)


def saved(app: AppServer, name: str, check: Callable[[dict[str, Any]], bool]) -> None:
    """Wait until the project's stored fields pass `check` (saves are asynchronous)."""
    deadline = time.monotonic() + STEP_TIMEOUT / 1000
    while time.monotonic() < deadline:
        if check(fields_of(app, name)):
            return
        time.sleep(0.2)
    raise AssertionError(f"project {name!r} never saved as expected: {fields_of(app, name)}")


def opened(page, app: AppServer) -> None:
    page.goto(app.url)
    expect(page.locator("#generate")).to_be_visible(timeout=STEP_TIMEOUT)
    expect(page.locator("#project input")).to_have_value(re.compile("#"))


def upload_and_generate(page) -> None:
    page.locator("#create-upload input[type=file]").set_input_files(
        str(SAMPLES / "night-ferry.gbk.txt"))
    expect(page.locator("#material input")).to_have_value(re.compile("末班夜渡"),
                                                          timeout=STEP_TIMEOUT)
    pick(page, "#chapter", re.compile(r"^2\. "))
    pick(page, "#template", re.compile(r"（tiny，"))
    page.locator("#keyword textarea").fill(KEYWORD)
    page.locator("#keyword textarea").blur()
    page.locator("#generate").click()
    expect(page.locator("#segments [data-testid=cell-2-1]")).to_contain_text(
        KEYWORD, timeout=STEP_TIMEOUT)


def slider(page, elem: str, value: int) -> None:
    box = page.locator(f"{elem} input[type=number]")
    box.fill(str(value))
    box.press("Enter")
    box.blur()


def no_error_pills(page) -> None:
    """A failed event leaves the form's components as they were (no red 错误 box on them)."""
    for elem in ("#material", "#chapter", "#segments", "#title", "#caption", "#hashtags"):
        expect(page.locator(f"{elem} [data-testid=status-tracker] .error")).to_have_count(0)


def test_projects_keep_every_field_across_switches_and_reloads(app: AppServer, context,
                                                             tmp_path: Path) -> None:
    page = context.new_page()
    opened(page, app)
    page.locator("#project-name textarea").fill("夜渡一")
    page.locator("#project-rename").click()
    expect(page.locator("#project input")).to_have_value(re.compile("夜渡一"))
    upload_and_generate(page)

    # every field changed from its default
    title = page.locator("#title textarea")
    title.fill(TITLE)
    title.blur()
    slider(page, "#rate", 35)
    slider(page, "#pitch", -10)
    slider(page, "#voice-volume", 15)
    pick(page, "#background", "内置动画 · 配色 3")
    pick(page, "#bgm", "不要背景音乐")
    slider(page, "#bgm-volume", 40)
    pick(page, "#subtitle-style", re.compile("逐词高亮"))
    page.locator("#profile input[value=final]").check()
    page.locator("#app-name textarea").fill("七猫")
    page.locator("#app-name textarea").blur()
    saved(app, "夜渡一", lambda f: f.get("rate") == 35 and f.get("pitch") == -10
          and f.get("volume") == 15 and f.get("bgm_level") == 40 and f.get("profile") == "final"
          and f.get("background") == "generated:2" and f.get("bgm") == "none"
          and f.get("app") == "七猫" and f.get("subtitle_style")
          and f.get("script", {}).get("title") == TITLE)
    form = fields_of(app, "夜渡一")

    def restored() -> None:
        expect(page.locator("#project input")).to_have_value(re.compile("夜渡一"))
        expect(page.locator("#material input")).to_have_value(re.compile("末班夜渡"))
        expect(page.locator("#chapter input")).to_have_value(re.compile(r"^2\. "))
        expect(page.locator("#template input")).to_have_value(re.compile(r"（tiny，"))
        expect(page.locator("#keyword textarea")).to_have_value(KEYWORD)
        expect(page.locator("#app-name textarea")).to_have_value("七猫")
        expect(title).to_have_value(TITLE)
        expect(page.locator("#segments [data-testid=cell-2-1]")).to_contain_text(KEYWORD)
        expect(page.locator("#rate input[type=number]")).to_have_value("35")
        expect(page.locator("#pitch input[type=number]")).to_have_value("-10")
        expect(page.locator("#voice-volume input[type=number]")).to_have_value("15")
        expect(page.locator("#bgm-volume input[type=number]")).to_have_value("40")
        expect(page.locator("#background input")).to_have_value("内置动画 · 配色 3")
        expect(page.locator("#bgm input")).to_have_value("不要背景音乐")
        expect(page.locator("#subtitle-style input")).to_have_value(re.compile("逐词高亮"))
        expect(page.locator("#profile input[value=final]")).to_be_checked()

    # a second project starts empty; the first is untouched by it
    page.locator("#project-name textarea").fill("空白二")
    page.locator("#project-new").click()
    expect(page.locator("#project input")).to_have_value(re.compile("空白二"))
    expect(page.locator("#keyword textarea")).to_have_value("")
    expect(page.locator("#material input")).to_have_value("")
    expect(page.locator("#segments [data-testid=cell-0-1]")).to_have_count(0)
    expect(page.locator("#profile input[value=draft]")).to_be_checked()
    page.locator("#keyword textarea").fill("另一个口令")
    page.locator("#keyword textarea").blur()
    saved(app, "空白二", lambda f: f.get("keyword") == "另一个口令")

    pick(page, "#project", re.compile("夜渡一"))
    restored()
    page.reload()
    restored()
    assert fields_of(app, "夜渡一") == form  # opening and switching changed nothing

    # 生成脚本 over an edited script asks first; one segment is regenerated alone
    page.locator("#generate").click()
    expect(page.locator("#script-note")).to_contain_text("脚本已有你的修改")
    overwrite = page.locator("#generate-overwrite")
    expect(overwrite).to_be_visible()
    expect(title).to_have_value(TITLE)
    body = page.locator("#segments [data-testid=cell-1-1]")
    body.dblclick()
    body.locator("textarea").fill("我改过的正文。")
    body.locator("textarea").press("Enter")
    expect(body).to_contain_text("我改过的正文。")
    page.locator("#segments [data-testid=cell-1-0]").click()
    expect(page.locator("#segment-row input")).to_have_value("2")
    page.locator("#regen-segment").click()
    expect(page.locator("#script-note")).to_contain_text("已重新生成第 2 段")
    expect(body).not_to_contain_text("我改过的正文。")
    expect(title).to_have_value(TITLE)  # the other edits stay
    overwrite.click()
    expect(title).not_to_have_value(TITLE)
    expect(overwrite).to_be_hidden()

    # a failed generate keeps the inputs as they were, and says why
    page.locator("#keyword textarea").fill("")
    page.locator("#generate").click()
    expect(page.locator("[data-testid=toast-text]")).to_contain_text("请填写口令")
    expect(page.locator("#segments [data-testid=cell-2-1]")).to_contain_text(KEYWORD)
    no_error_pills(page)
    # and so does a refused upload
    binary = tmp_path / "坏文件.txt"
    binary.write_bytes(bytes(range(256)) * 64)
    page.locator("#create-upload input[type=file]").set_input_files(str(binary))
    expect(page.locator("[data-testid=toast-text]").last).to_contain_text("坏文件")
    expect(page.locator("#material input")).to_have_value(re.compile("末班夜渡"))
    no_error_pills(page)
    assert "Traceback" not in app.log.read_text("utf-8", "replace")


def test_a_reload_mid_render_follows_it_and_cancel_clears_the_result(app: AppServer,
                                                                    context) -> None:
    page = context.new_page()
    opened(page, app)
    page.locator("#project-name textarea").fill("渲染三")
    page.locator("#project-rename").click()
    expect(page.locator("#project input")).to_have_value(re.compile("渲染三"))
    upload_and_generate(page)
    page.locator("#profile input[value=final]").check()  # long enough to reload in between
    page.locator("#render").click()
    rendering(app, "渲染三")
    page.reload()
    expect(page.locator("#render-report")).to_contain_text("渲染中", timeout=STEP_TIMEOUT)
    rendered(page)  # followed to the end: the video, cover, caption and zip appear
    expect(page.locator("#render-report")).to_contain_text("1080×1920")
    no_errors(page)

    # 取消 in the middle of a render: the page says so and the old video is gone
    page.locator("#profile input[value=draft]").check()
    page.locator("#render").click()
    rendering(app, "渲染三")
    page.locator("#cancel").click()
    expect(page.locator("#render-report")).to_contain_text("已取消")
    expect(page.locator("#video video")).to_have_count(0)
    page.reload()  # and the project remembers it
    expect(page.locator("#render-report")).to_contain_text("已取消", timeout=STEP_TIMEOUT)
    expect(page.locator("#video video")).to_have_count(0)
    assert "Traceback" not in app.log.read_text("utf-8", "replace")


def test_the_whole_flow_at_phone_size(app: AppServer, browser) -> None:
    context = browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True,
                                  has_touch=True, device_scale_factor=2)
    page = context.new_page()
    step = 0

    def shot(name: str) -> None:
        nonlocal step
        step += 1
        width = page.evaluate("document.documentElement.scrollWidth")
        page.screenshot(path=f"/tmp/proj_phone_{step}_{name}.png", full_page=True)
        assert width <= PHONE["width"], f"{name}: the page scrolls sideways ({width}px)"

    try:
        opened(page, app)
        shot("opened")
        upload_and_generate(page)
        shot("script")
        segment_name = page.locator("#segments [data-testid=cell-0-0]")
        box = segment_name.bounding_box()
        assert box and box["width"] >= 48, "segment names squeezed unreadable"
        thumbs = page.locator("#bg-gallery button.thumbnail-item")
        expect(thumbs).to_have_count(6)
        assert thumbs.first.bounding_box()["width"] < PHONE["width"] / 2
        thumbs.nth(4).tap()
        expect(page.locator("#background input")).to_have_value("内置动画 · 配色 3")
        shot("background")
        page.locator("#render").tap()
        rendered(page)
        shot("rendered")
        no_errors(page)
    finally:
        context.close()
