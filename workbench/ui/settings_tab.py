"""设置: LLM endpoint/model/key (key in a 0600 file, never shown again), voice, render
profile and fallback policy; a connection test; the active-backends badge."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import gradio as gr

from workbench.config import Settings
from workbench.errors import InputError
from workbench.render.profiles import PROFILES
from workbench.rewrite.openai_backend import check_connection
from workbench.rewrite.registry import CHOICES as REWRITE_CHOICES
from workbench.settings_file import (
    EDITABLE,
    delete_api_key,
    save_api_key,
    save_settings,
    settings_path,
    with_values,
)
from workbench.ui import choices
from workbench.ui.common import backend_badge, current_settings, handler, session
from workbench.voice.registry import CHOICES as VOICE_CHOICES

# The choices come from the registries (a backend added there shows up under its own name);
# these only give the known ones a Chinese label.
_REWRITE_LABELS = {"auto": "自动（配置了 LLM 就用，否则规则改写）", "rules": "规则改写（离线）",
                   "openai": "LLM 改写（OpenAI 兼容接口）"}
_VOICE_LABELS = {"auto": "自动（edge 在线音色，不可用时按回退策略）", "espeak": "espeak（离线）",
                 "edge": "edge-tts（在线）"}
_PROFILE_LABELS = {"final": "成片", "draft": "草稿"}
REWRITE = [(_REWRITE_LABELS.get(name, name), name) for name in REWRITE_CHOICES]
VOICE = [(_VOICE_LABELS.get(name, name), name) for name in VOICE_CHOICES]
FALLBACK = [("edge 不可用时回退到离线 espeak", True), ("不回退，直接报错", False)]
PROFILE = [(f"{_PROFILE_LABELS.get(p.name, p.name)} {p.width}×{p.height}", p.name)
           for p in PROFILES.values()]


def key_status(settings: Settings) -> str:
    source = settings.sources.get("llm_api_key", "default")
    if not settings.llm_api_key:
        return "API Key：未设置"
    where = {"file": "已保存在本机（仅本人可读的文件）", "env": "来自环境变量 OPENAI_API_KEY",
             "toml": "来自 workbench.toml"}.get(source.split(":")[0], source)
    return f"API Key：已设置，{where}（不会再显示）"


def overrides(settings: Settings) -> str:
    env = [name for name in EDITABLE if settings.sources.get(name, "").startswith("env:")]
    if not env:
        return f"保存到 `{settings_path(settings)}`"
    names = "、".join(settings.sources[n].removeprefix("env:") for n in env)
    return (f"保存到 `{settings_path(settings)}`。注意：{names} 由环境变量决定，"
            "网页里的修改在取消这些环境变量前不生效。")


def load_form() -> tuple[Any, ...]:
    s = current_settings()
    return (s.llm_base_url or "", s.llm_model, "", s.rewrite_backend, s.voice_backend,
            gr.Dropdown(choices=[(label, str(v)) for label, v in choices.voices(s)],
                        value=s.voice),
            s.voice_rate, s.voice_fallback, s.render_profile, key_status(s), overrides(s),
            backend_badge(s))


@handler
def save(base_url: str, model: str, key: str, rewrite: str, voice_backend: str, voice: str,
         rate: str, fallback: bool, profile: str) -> tuple[Any, ...]:
    """Save the form; the key (when typed) goes to its own 0600 file and the box is cleared."""
    settings = current_settings()
    save_settings(settings, {
        "llm_base_url": (base_url or "").strip(), "llm_model": (model or "").strip(),
        "rewrite_backend": rewrite, "voice_backend": voice_backend, "voice": voice,
        "voice_rate": (rate or "").strip(), "voice_fallback": fallback,
        "render_profile": profile,
    })
    if (key or "").strip():
        save_api_key(settings.home, key)
    current_settings()  # re-read: a bad value shows up now, not at the next render
    gr.Info("设置已保存")
    return load_form()


@handler
def forget_key() -> tuple[Any, ...]:
    delete_api_key(current_settings().home)
    gr.Info("已删除保存的 API Key")
    return load_form()


@handler
def test_connection(base_url: str = "", model: str = "", key: str = "") -> str:
    """One tiny request to the endpoint as typed in the form (not as saved last): the typed
    key, else the saved one. The answer names what went wrong."""
    with session() as (settings, _):
        typed = with_values(settings, {"llm_base_url": (base_url or "").strip(),
                                       "llm_model": (model or "").strip()})
        if (key or "").strip():
            typed = replace(typed, llm_api_key=key.strip())
        if not typed.llm_configured:
            raise InputError("请先填写接口地址（本地模型）或 API Key，再测试连接")
        return check_connection(typed)


def build(blocks: gr.Blocks, badge: gr.Markdown) -> None:
    with gr.Tab("设置", id="settings"):
        where = gr.Markdown()
        gr.Markdown("#### 改写（LLM）")
        with gr.Row():
            rewrite = gr.Radio(REWRITE, label="改写方式", elem_id="rewrite-backend")
        with gr.Row():
            base_url = gr.Textbox(label="接口地址（OpenAI 兼容，如 https://api.deepseek.com/v1）",
                                  elem_id="llm-base-url")
            model = gr.Textbox(label="模型", elem_id="llm-model")
        with gr.Row():
            key = gr.Textbox(label="API Key（保存后不再显示）", type="password",
                             elem_id="llm-key", scale=3)
            forget = gr.Button("删除已保存的 Key", scale=1)
        key_note = gr.Markdown()
        with gr.Row():
            test = gr.Button("测试连接", elem_id="test-connection")
            test_note = gr.Markdown(elem_id="test-result")
        gr.Markdown("#### 配音与输出")
        with gr.Row():
            voice_backend = gr.Radio(VOICE, label="配音方式")
            fallback = gr.Radio(FALLBACK, label="回退策略")
        with gr.Row():
            voice = gr.Dropdown(label="默认音色", choices=[], allow_custom_value=True)
            rate = gr.Textbox(label="默认语速（如 +10%）")
            profile = gr.Radio(PROFILE, label="默认输出规格")
        save_btn = gr.Button("保存设置", variant="primary", elem_id="save-settings")

    form = [base_url, model, key, rewrite, voice_backend, voice, rate, fallback, profile]
    shown = [*form, key_note, where, badge]
    save_btn.click(save, form, shown, api_visibility="private")
    forget.click(forget_key, None, shown, api_visibility="private")
    test.click(test_connection, [base_url, model, key], [test_note], api_name="test_connection")
    blocks.load(load_form, None, shown, api_visibility="private")
