"""build_app(): the tabs composed in one place; launch(): queue, login, upload limits."""

from __future__ import annotations

import json
import logging
import os
import threading

import gradio as gr
from starlette.middleware import Middleware

from workbench.config import Settings, load_settings
from workbench.drama.uploads import MAX_ZIP_MB
from workbench.errors import InputError
from workbench.fonts import default_font_file
from workbench.postback.server import postback_routes
from workbench.ui import (
    batch_tab,
    create_page,
    lab_tab,
    materials,
    settings_tab,
    submissions,
    tasks_tab,
    tracking_tab,
)
from workbench.ui.common import backend_badge
from workbench.ui.locale import ChineseLocale
from workbench.ui.phone_css import PHONE_CSS
from workbench.ui.platform_choices import BADGE_CSS
from workbench.uploads import MAX_UPLOAD_MB
from workbench.voice import reach
from workbench.voice.registry import plan_voice

log = logging.getLogger(__name__)
TITLE = "Workbench · 推文视频工作台"
FONT = "WB Noto Sans SC"
CJK_FONTS = ["PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", FONT]
FONTS = ["system-ui", *CJK_FONTS, "sans-serif"]
# Tables use the mono font: without the CJK fallbacks their Chinese cells show as boxes.
FONTS_MONO = [gr.themes.LocalFont("IBM Plex Mono"), "ui-monospace", "Consolas", *CJK_FONTS,
              "monospace"]
# The bundled font covers CJK, kana, CJK punctuation and full-width forms; Latin keeps the
# system font.
CJK_RANGE = "U+2E80-2FFF, U+3000-303F, U+3040-9FFF, U+F900-FAFF, U+FE30-FE4F, U+FF00-FFEF"


def render_slots(cpus: int | None = None) -> int:
    """How many renders run at once: x264 already uses every core it is given, so about one
    per two cores (at least one). WORKBENCH_RENDER_SLOTS overrides."""
    override = os.environ.get("WORKBENCH_RENDER_SLOTS")
    if override:
        try:
            return max(1, int(override))
        except ValueError:
            raise InputError(f"WORKBENCH_RENDER_SLOTS 应为正整数，而不是 {override!r}") from None
    return max(1, (cpus or os.cpu_count() or 1) // 2)


def parse_auth(value: str | None) -> list[tuple[str, str]] | None:
    """WORKBENCH_AUTH="alice:pw1,bob:pw2" → [(alice, pw1), (bob, pw2)]; unset → no login."""
    if not value or not value.strip():
        return None
    pairs = []
    for item in value.split(","):
        user, sep, password = item.strip().partition(":")
        if not sep or not user or not password:
            raise InputError("WORKBENCH_AUTH 格式应为 用户名:密码，多个用逗号分隔"
                             f"（有一项是「{user or item.strip()}」，缺少用户名或密码）")
        pairs.append((user, password))
    return pairs


def probe_edge(settings: Settings) -> threading.Thread | None:
    """When `auto` would speak with edge: resolve its host once, in the background. Offline,
    that fails at once, so `auto` goes straight to espeak (no retries per click) and the badge
    says 离线模式 from the first page load."""
    plan = plan_voice(settings)
    if plan.primary.backend.name != "edge" or plan.fallback is None:
        return None

    thread = threading.Thread(target=reach.probe_edge, args=("启动时",), name="edge-probe",
                              daemon=True)
    thread.start()
    return thread


def font_css() -> str:
    # Gradio's own sans stack (table labels, toolbars) knows no Chinese font: use the theme's.
    return ("body { --font-sans: var(--font); }\n"
            "#create-status p, #render-report p { margin: 0.2em 0; }\n")


# Chromium (seen on Linux without Chinese fonts) keeps showing boxes for text laid out while
# the bundled font was loading, and the font becomes usable a few frames after `loadingdone`:
# restating the font lists a little later makes it lay that text out again.
RELAYOUT_JS = """
document.fonts.addEventListener("loadingdone", (event) => {
  const family = FAMILY;
  if (!event.fontfaces.some((face) => face.family.includes(family))) return;
  const relayout = () => {
    const root = document.documentElement, style = getComputedStyle(root);
    for (const name of ["--font", "--font-mono"]) {
      root.style.setProperty(name, `${style.getPropertyValue(name)}, '${family}'`);
    }
  };
  for (const ms of [300, 1500]) setTimeout(relayout, ms);
});
""".replace("FAMILY", json.dumps(FONT))


def font_head() -> str:
    """The bundled Noto Sans SC, used only when the browser has no Chinese font of its own:
    declared and fetched while the page boots, text laid out again once it has loaded."""
    url = f"/gradio_api/file={default_font_file()}"
    return (f'<link rel="preload" href="{url}" as="font" type="font/otf" crossorigin>\n'
            f"<style>@font-face {{ font-family: '{FONT}'; src: url('{url}') format('opentype'); "
            f"font-display: swap; unicode-range: {CJK_RANGE}; }}</style>\n"
            f"<script>{RELAYOUT_JS}</script>")


def build_app(settings: Settings | None = None) -> gr.Blocks:
    """The whole app. Later tabs (batch, tasks, template lab) add a module and a line here."""
    settings = settings or load_settings()
    slots = render_slots()
    with gr.Blocks(title=TITLE) as blocks:
        with gr.Row():
            gr.Markdown(f"## {TITLE}")
            badge = gr.Markdown(backend_badge(settings), elem_id="backend-badge")
        with gr.Tabs():
            create_page.build(blocks, slots)
            materials.build(blocks)
            submissions.build(blocks)
            tasks_tab.build(blocks)
            tracking_tab.build(blocks)
            batch_tab.build(blocks, slots)
            lab_tab.build(blocks)
            settings_tab.build(blocks, badge)
    return blocks


def launch(host: str | None = None, port: int | None = None, *, block: bool = True
           ) -> tuple[gr.Blocks, str]:
    """Start the app (127.0.0.1:7860 by default; WORKBENCH_HOST / WORKBENCH_PORT)."""
    settings = load_settings()
    settings.ensure_dirs()
    # Uploads land under WORKBENCH_HOME, not in a shared /tmp.
    os.environ.setdefault("GRADIO_TEMP_DIR", str(settings.home / "ui" / "tmp"))
    auth = parse_auth(os.environ.get("WORKBENCH_AUTH"))
    probe_edge(settings)
    blocks = build_app(settings)
    blocks.queue(default_concurrency_limit=8, max_size=200)
    served = [settings.submissions_dir, settings.home / "ui" / "zips",
              settings.home.joinpath(*tracking_tab.EXPORTS),
              settings.cache_dir / "thumbs", settings.cache_dir / "previews",
              settings.cache_dir / "bgm", batch_tab.reports_dir(settings), default_font_file()]
    _, url, _ = blocks.launch(
        server_name=host or os.environ.get("WORKBENCH_HOST", "127.0.0.1"),
        server_port=port or int(os.environ.get("WORKBENCH_PORT", "7860")),
        auth=auth, auth_message="请登录 Workbench" if auth else None,
        max_file_size=f"{max(MAX_UPLOAD_MB, MAX_ZIP_MB)}mb", allowed_paths=[str(p) for p in served],
        blocked_paths=[str(settings.home / "secrets"), str(settings.db_path)],
        footer_links=["api"], prevent_thread_lock=not block, quiet=not block,
        theme=gr.themes.Soft(primary_hue="orange", font=FONTS, font_mono=FONTS_MONO),
        css=font_css() + BADGE_CSS + PHONE_CSS, head=font_head(),
        show_error=False,
        # POST /api/postback/{platform} beside the pages, outside the login (it checks its
        # own signatures): the same route `workbench serve` runs.
        app_kwargs={"routes": postback_routes(settings),
                    "middleware": [Middleware(ChineseLocale)]},
    )
    return blocks, url
