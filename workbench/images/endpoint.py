"""Where image requests go, and with which key (the same rules as transcription).

`images.base_url` unset: the LLM's endpoint (`OPENAI_BASE_URL`, else OpenAI's).
`images.api_key` unset: the LLM's key, but only when the request goes to the LLM's own
endpoint — a key is never sent to a host it was not set for.
"""

from __future__ import annotations

from workbench.config import Settings
from workbench.transcribe.endpoint import Endpoint, service_endpoint


def images_endpoint(settings: Settings) -> Endpoint:
    return service_endpoint(settings, settings.images_base_url, settings.images_api_key)
