"""Is edge reachable? A cheap check (resolve its host) for the start-up probe and the app's
badge, so the badge never says 在线模式 just because an old "down" mark ran out.

The mark itself lives in voice/service.py (`mark_down`, `down_reason`): a failure there keeps
`auto` on espeak for DOWN_FOR_SECONDS. When that time is over, whoever asks for the state (the
badge on a page load) checks again instead of assuming edge is back.
"""

from __future__ import annotations

import socket
import threading

from workbench.voice.service import clear_mark, down_reason, mark_down, mark_expired

EDGE_HOST = "speech.platform.bing.com"
PROBE_SECONDS = 3.0  # a resolver that hangs counts as unreachable after this long


def probe_host(host: str, timeout: float = PROBE_SECONDS) -> str | None:
    """None when `host` resolves within `timeout`, else why not (in Chinese)."""
    outcome: list[str | None] = []

    def resolve() -> None:
        try:
            socket.getaddrinfo(host, 443)
            outcome.append(None)
        except OSError as exc:
            outcome.append(f"连不上 {host}（{exc}）")

    thread = threading.Thread(target=resolve, name="edge-probe", daemon=True)
    thread.start()
    thread.join(timeout)
    return outcome[0] if outcome else f"连不上 {host}（{timeout:g} 秒内没有解析出地址）"


def probe_edge(when: str = "") -> str | None:
    """Check edge now and record the answer: a failure marks it down, a success clears an
    expired mark. Returns the reason it is down, or None."""
    reason = probe_host(EDGE_HOST)
    if reason:
        mark_down("edge", f"{when}{reason}")
        return down_reason("edge")
    clear_mark("edge")
    return None


def edge_down_reason() -> str | None:
    """Why edge is down: the current mark, or, when the last mark has run out, a fresh check."""
    if mark_expired("edge"):
        return probe_edge("再次检查：")
    return down_reason("edge")
