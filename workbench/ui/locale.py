"""Gradio's own strings in Chinese whatever the browser's language.

Gradio's page picks its language (upload area, toasts, queue position, screen-reader text)
from `navigator.language` as its scripts start, and offers no server-side setting. The page's
`head` option is inserted only after that choice is made, so this middleware puts one small
script at the top of the page's `<head>`, before Gradio's own: it answers `zh-CN` for
`navigator.language(s)`. Only HTML pages are touched; everything else passes through.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

LOCALE = "zh-CN"
SCRIPT = (
    "<script>(function(){var p=Navigator.prototype;try{"
    f"Object.defineProperty(p,'language',{{get:function(){{return '{LOCALE}';}},"
    "configurable:true});"
    f"Object.defineProperty(p,'languages',{{get:function(){{return ['{LOCALE}','zh'];}},"
    "configurable:true});}catch(e){}})();</script>"
).encode()
MAX_PAGE = 8 * 1024 * 1024  # a page larger than this passes through untouched

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def with_script(page: bytes) -> bytes:
    """The page with SCRIPT as the first thing in its <head> (unchanged without a <head>)."""
    at = page.find(b"<head")
    end = page.find(b">", at) if at >= 0 else -1
    return page if end < 0 else page[:end + 1] + SCRIPT + page[end + 1:]


class ChineseLocale:
    """ASGI middleware: HTML answers to GET get SCRIPT; other answers stream as they are."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "GET":
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        body: list[bytes] = []
        size = 0
        passing = False

        async def relay(message: Message) -> None:
            nonlocal start, size, passing
            if passing:
                await send(message)
                return
            if message["type"] == "http.response.start":
                headers = dict(message.get("headers") or [])
                html = headers.get(b"content-type", b"").startswith(b"text/html")
                if not html or b"content-encoding" in headers:
                    passing = True
                    await send(message)
                else:
                    start = message
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            body.append(message.get("body", b""))
            size += len(body[-1])
            if size > MAX_PAGE:  # not a page we rewrite: send what we held and go on
                passing = True
                await send(start)
                await send({"type": "http.response.body", "body": b"".join(body),
                            "more_body": message.get("more_body", False)})
                return
            if message.get("more_body"):
                return
            page = with_script(b"".join(body))
            headers = [(k, v) for k, v in start.get("headers") or [] if k != b"content-length"]
            headers.append((b"content-length", str(len(page)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": page})

        await self.app(scope, receive, relay)
