"""Images backends by name, imported lazily (the SDK is a slow import).

`auto` takes `openai` only when an images endpoint or key of its own is set
(`images.base_url` / `images.api_key`): most OpenAI-compatible chat services (DeepSeek, Qwen …)
have no images route, and a job should not send prompts anywhere nobody chose for pictures.
`openai` without an endpoint of its own uses the LLM's endpoint. `none`: no story images.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from workbench.errors import BackendUnavailable, InputError

if TYPE_CHECKING:  # config validates names against this module
    from workbench.config import Settings
    from workbench.images.base import ImagesBackend


def _openai(settings: Settings) -> ImagesBackend:
    from workbench.images.openai_backend import OpenAIImages

    return OpenAIImages(settings)


BACKENDS: dict[str, Callable[[Settings], ImagesBackend]] = {"openai": _openai}
CHOICES = ("auto", *BACKENDS, "none")
HOW_TO = ("请设置 WORKBENCH_IMAGES_BASE_URL（OpenAI 兼容的图片接口，如硅基流动、本地 Stable "
          "Diffusion 服务）和 WORKBENCH_IMAGES_API_KEY，或改用其他背景（generated、视频/图片文件夹）")


def resolve_images_backend(name: str, settings: Settings) -> ImagesBackend:
    """The backend `name` stands for; no backend is a clear error saying how to set one up
    (images:ai never falls back silently to another background)."""
    if name not in CHOICES:
        raise InputError(f"未知的图片生成后端: {name}（可选 {', '.join(CHOICES)}）")
    if name == "none":
        raise BackendUnavailable(f"images:ai 背景不可用：图片生成已关闭（images.backend = none）；{HOW_TO}")
    if name == "auto":
        if not (settings.images_base_url or settings.images_api_key):
            raise BackendUnavailable(f"images:ai 背景不可用：没有配置图片生成接口；{HOW_TO}")
        name = "openai"
    return BACKENDS[name](settings)
