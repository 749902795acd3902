"""A real postback server for tests: the ASGI app of `workbench serve` under uvicorn on a free
loopback port, in a thread, over its own WORKBENCH_HOME; and a client that signs like a sender
(Standard Webhooks v1, through the `standardwebhooks` package)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from app_server import free_port

from workbench.config import Settings, load_settings
from workbench.postback.server import postback_app
from workbench.postback.verify import sign


@dataclass
class PostbackServer:
    url: str  # http://127.0.0.1:PORT
    settings: Settings
    client: httpx.Client

    @property
    def home(self) -> Path:
        return self.settings.home

    def post(self, platform: str, body: dict[str, Any] | bytes, *, secret: str | None = None,
             webhook_id: str | None = None, timestamp: int | str | None = None,
             signature: str | None = None, headers: dict[str, str] | None = None,
             omit: tuple[str, ...] = ()) -> httpx.Response:
        """POST a body signed with `secret` (or carrying `signature` as given); `omit` leaves
        those webhook-* headers out."""
        raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
        webhook_id = webhook_id or f"msg_{uuid.uuid4().hex}"
        timestamp = int(time.time()) if timestamp is None else timestamp
        if signature is None and secret is not None:
            signature = sign(secret, webhook_id, int(timestamp), raw)
        sent = {"content-type": "application/json", "webhook-id": webhook_id,
                "webhook-timestamp": str(timestamp), "webhook-signature": signature or ""}
        sent = {k: v for k, v in sent.items() if k not in omit and v != ""}
        return self.client.post(f"{self.url}/api/postback/{platform}", content=raw,
                                headers={**sent, **(headers or {})})


@contextmanager
def running_server(root: Path) -> Iterator[PostbackServer]:
    """The server over `root`/home until the block ends."""
    settings = load_settings(env={"WORKBENCH_HOME": str(root / "home")}, cwd=root)
    app = postback_app(settings)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, access_log=False,
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, name="postback-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the postback server did not start")
        time.sleep(0.02)
    try:
        with httpx.Client(timeout=10) as client:
            yield PostbackServer(f"http://127.0.0.1:{port}", settings, client)
    finally:
        server.should_exit = True
        thread.join(15)
