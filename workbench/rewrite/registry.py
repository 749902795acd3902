"""Rewrite backends by name. Optional backends are imported lazily so a missing library only
disables that backend."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from workbench.errors import InputError
from workbench.rewrite.base import RewriteBackend

if TYPE_CHECKING:  # config validates names against this module
    from workbench.config import Settings


def _rules(settings: Settings) -> RewriteBackend:
    from workbench.rewrite.rules import RulesBackend

    return RulesBackend()


def _openai(settings: Settings) -> RewriteBackend:
    from workbench.rewrite.openai_backend import OpenAIBackend

    return OpenAIBackend(settings)


BACKENDS: dict[str, Callable[[Settings], RewriteBackend]] = {"rules": _rules, "openai": _openai}
CHOICES = ("auto", *BACKENDS)


@dataclass(frozen=True)
class Resolved:
    backend: RewriteBackend
    reason: str  # one line for the user: which backend runs and why


def resolve_backend(name: str, settings: Settings) -> Resolved:
    """Pick the backend; `auto` takes `openai` when a key or base URL is set, else `rules`."""
    if name == "auto":
        if settings.llm_configured:
            backend = BACKENDS["openai"](settings)
            return Resolved(backend, f"改写后端: openai（auto：已配置 LLM，模型 {backend.model}）")
        return Resolved(
            BACKENDS["rules"](settings),
            "改写后端: rules（auto：未设置 OPENAI_API_KEY / OPENAI_BASE_URL，使用离线规则改写）",
        )
    if name not in BACKENDS:
        raise InputError(f"未知的改写后端: {name}（可选 {', '.join(CHOICES)}）")
    backend = BACKENDS[name](settings)
    model = f"，模型 {backend.model}" if backend.model else ""
    return Resolved(backend, f"改写后端: {name}{model}")
