"""`POST /api/postback/{platform}`: the ASGI route that `workbench serve` runs on its own and
the web app mounts beside its pages (outside its login: a postback authenticates by its
signature).

The body is read up to 64 KB: a larger Content-Length is answered 413 before reading, and a
body that grows past the limit while streaming is cut off the same way (the connection is
closed, the rest never read). Everything after that runs on one connection, one request at a
time (SQLite writes one transaction at a time anyway): in `workbench serve` on the event loop
itself, in the web app on a writer thread so its pages never wait on the database. In order:
the platform, the signature, a repeated webhook-id, the body; then the event is committed, and
only then answered 200. The connection uses WAL with synchronous=NORMAL: a
committed event survives the process being killed (not a power cut: that may lose the last
moment of commits, which senders then retry).

Answers: 200 {"status": "stored"} or {"status": "duplicate"}; a refused request
{"status": "rejected", "reason", "message"} with the status of stats.REASONS; 503
{"status": "error", "message"} when the database stays busy or cannot be written (nothing is
stored, so the sender's retry is welcome).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from collections.abc import AsyncIterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlite_utils import Database
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from workbench.config import Settings
from workbench.postback.events import check_event, is_stored, parse_body, store_event
from workbench.postback.platforms import get_platform
from workbench.postback.secrets_file import SecretsCache
from workbench.postback.stats import (
    UNKNOWN_PLATFORM,
    Rejected,
    count_rejection,
    log_rejection,
)
from workbench.postback.verify import verify
from workbench.store import database_error, open_db

MAX_BODY = 64 * 1024
PATH = "/api/postback/{platform}"
log = logging.getLogger(__name__)


class Receiver:
    """The postback logic for one server process, on its one writer thread (or, `inline`, on
    the event loop's thread): one connection, one write at a time."""

    def __init__(self, db_path: Path, home: Path, inline: bool = False) -> None:
        self.db_path = db_path
        self.secrets = SecretsCache(home)
        self.executor = None if inline else ThreadPoolExecutor(max_workers=1,
                                                               thread_name_prefix="postback")
        self._local = threading.local()
        self._platforms: dict[str, dict[str, Any]] = {}  # registered ones (never change)

    def _db(self) -> Database:
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = open_db(self.db_path)
            db.execute("PRAGMA synchronous = NORMAL")  # durable across a process kill (WAL)
        return db

    async def run(self, method: Any, *args: Any) -> tuple[int, dict[str, Any]]:
        if self.executor is None:
            return method(*args)
        return await asyncio.get_running_loop().run_in_executor(self.executor, method, *args)

    def _platform(self, db: Database, name: str) -> dict[str, Any] | None:
        """The registered platform; a platform row is never edited or deleted, so one found
        is kept, and a name not found is looked up again next time (it may be added)."""
        found = self._platforms.get(name)
        if found is None and (found := get_platform(db, name)) is not None:
            self._platforms[name] = found
        return found

    def handle(self, platform: str, headers: Mapping[str, str], body: bytes
               ) -> tuple[int, dict[str, Any]]:
        db = self._db()
        known = self._platform(db, platform)
        try:
            if known is None:
                raise Rejected("unknown_platform", f"没有名为 {platform[:40]} 的回传平台")
            webhook_id = verify(self.secrets.get(platform), headers, body)
            if is_stored(db, platform, webhook_id):
                return 200, {"status": "duplicate"}
            event = check_event(db, parse_body(body), known["event_map"])
            stored = store_event(db, platform, webhook_id, event)
            return 200, {"status": "stored" if stored else "duplicate"}
        except Rejected as rejected:
            return self._refuse(db, platform if known else UNKNOWN_PLATFORM, rejected,
                                headers.get("webhook-id"))
        except sqlite3.OperationalError as exc:  # nothing was stored: the sender retries
            problem = database_error(exc, self.db_path)
            if problem is None:
                raise
            log.error("postback not stored: %s", problem)
            return 503, {"status": "error", "message": str(problem)}

    def refuse(self, platform: str, rejected: Rejected, webhook_id: str | None
               ) -> tuple[int, dict[str, Any]]:
        """Count and log a request refused before its body was read (413)."""
        db = self._db()
        known = self._platform(db, platform) is not None
        return self._refuse(db, platform if known else UNKNOWN_PLATFORM, rejected, webhook_id)

    def _refuse(self, db: Database, platform: str, rejected: Rejected, webhook_id: str | None
                ) -> tuple[int, dict[str, Any]]:
        count_rejection(db, platform, rejected.reason)
        log_rejection(platform, rejected, webhook_id)
        return rejected.status, rejected.answer()

    def close(self) -> None:
        def close_db() -> None:
            db = getattr(self._local, "db", None)
            if db is not None:
                db.close()
                self._local.db = None

        if self.executor is None:
            close_db()
        else:
            self.executor.submit(close_db).result()
            self.executor.shutdown()


def _answer(status: int, body: dict[str, Any], close: bool = False) -> JSONResponse:
    headers = {"connection": "close"} if close else None
    return JSONResponse(body, status_code=status, headers=headers)


async def _too_large(receiver: Receiver, request: Request, platform: str) -> JSONResponse:
    rejected = Rejected("too_large", f"请求体超过 {MAX_BODY // 1024} KB")
    status, body = await receiver.run(receiver.refuse, platform, rejected,
                                      request.headers.get("webhook-id"))
    return _answer(status, body, close=True)  # the rest of the body is never read


def postback_routes(settings: Settings, inline: bool = False) -> list[Route]:
    """The route, bound to one Receiver for `settings`' store and secrets. `inline` runs the
    database work on the event loop itself (`workbench serve`, a process of its own: no thread
    handoff per request, which on a busy machine means no wait for the scheduler twice per
    event); otherwise on the Receiver's writer thread (the web app, whose pages share the
    loop and must not wait on a busy database)."""
    receiver = Receiver(settings.db_path, settings.home, inline)

    async def postback(request: Request) -> JSONResponse:
        platform = request.path_params["platform"]
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > MAX_BODY:
            return await _too_large(receiver, request, platform)
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                return await _too_large(receiver, request, platform)
        status, answer = await receiver.run(receiver.handle, platform, request.headers,
                                            bytes(body))
        return _answer(status, answer)

    route = Route(PATH, postback, methods=["POST"])
    route.receiver = receiver  # type: ignore[attr-defined]  # closed by its app's shutdown
    return [route]


def postback_app(settings: Settings) -> Starlette:
    """The app `workbench serve` runs: the postback route alone."""
    routes = postback_routes(settings, inline=True)
    settings.ensure_dirs()
    open_db(settings.db_path).close()  # migrate now, not on the first request

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        for route in routes:
            route.receiver.close()  # type: ignore[attr-defined]

    return Starlette(routes=routes, lifespan=lifespan)
