"""Conversion postbacks (回传) over HTTP: platforms send signed events (Standard Webhooks v1)
to `POST /api/postback/{platform}`; each is stored once and rolled up into the daily tracking
counts under source "postback", which tasks with `settle_source = postback` settle from.

Modules: secrets_file (the 0600 secrets), event_maps (event names and platform codes),
verify (signatures), events (body → event → store + rollup), stats (rejections), platforms
(registry), server (the ASGI route). What the app and the CLI use is re-exported here.
"""

from __future__ import annotations

from workbench.postback.events import list_events
from workbench.postback.platforms import example_request, list_platforms
from workbench.postback.stats import rejection_stats

__all__ = ["example_request", "list_events", "list_platforms", "rejection_stats"]
