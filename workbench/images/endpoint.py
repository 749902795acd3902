"""Where image requests go, and with which key (the same rules as transcription).

`images.base_url` unset: the LLM's endpoint (`OPENAI_BASE_URL`, else OpenAI's).
`images.api_key` unset: the LLM's key, but only when the request goes to the LLM's own
endpoint — a key is never sent to a host it was not set for.
"""

from __future__ import annotations

from workbench.config import Settings
from workbench.rewrite.openai_backend import OPENAI_DEFAULT_BASE_URL
from workbench.transcribe.endpoint import Endpoint


def images_endpoint(settings: Settings) -> Endpoint:
    llm_url = settings.llm_base_url or OPENAI_DEFAULT_BASE_URL
    base_url = settings.images_base_url or llm_url
    key = settings.images_api_key
    if not key and base_url.rstrip("/").lower() == llm_url.rstrip("/").lower():
        key = settings.llm_api_key
    configured = bool(settings.images_base_url or settings.images_api_key
                      or settings.llm_configured)
    return Endpoint(base_url, key, configured)
