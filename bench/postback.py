"""Postbacks under load: `workbench serve` receiving signed events from concurrent clients.

    .venv/bin/python bench/postback.py                          # 5000 events, 32 clients
    .venv/bin/python bench/postback.py --events 20000 --clients 64
    .venv/bin/python bench/postback.py --kill                   # SIGKILL the server mid-run

A fresh WORKBENCH_HOME gets one task, keyword and platform; `workbench serve` runs as a child
process on a free loopback port. C clients (asyncio, raw HTTP/1.1 keep-alive connections:
light enough not to be the bottleneck) send N unique events (activations, and orders with an
amount), plus retries of events already sent (the same webhook-id, signed again:
`--retry-share`) and forged requests (signed with a secret the server does not know:
`--forged-share`), shuffled. A request whose connection fails is sent again (same id), as a
sender would. With `--kill` the server is killed with SIGKILL once half the requests are
answered, and started again; the clients carry on.

Afterwards the database is read directly and checked: every unique event stored exactly once,
every event answered 200 present, no forged one stored, the tracking rollup equal to the
events (activations, orders, revenue to the cent). The last lines are machine-readable:

    events_per_s=N            # requests answered per second (unique + retries + forged)
    p99_ms=N                  # 99th percentile of request latency (send → full answer)
    stored=N                  # events in the database (must equal --events)
    duplicates_acknowledged=N # retries answered 200 {"status": "duplicate"}
    forged_rejected=N         # forged requests answered 401 (must equal the forged sent)

Exit status 1 when a check fails. Goal on a 2-core machine: ≥ 500 events/s, p99 < 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from standardwebhooks import Webhook

from workbench.platform.accounts import add_account
from workbench.platform.keywords import apply_keyword, change_status
from workbench.platform.tasks import add_task
from workbench.postback.platforms import add_platform
from workbench.postback.secrets_file import new_secret
from workbench.store import open_db

KEYWORD = "压测口令"
PLATFORM = "bench"


@dataclass
class Request:
    webhook_id: str
    body: bytes
    kind: str  # unique | retry | forged
    secret: str


@dataclass
class Results:
    latencies: list[float] = field(default_factory=list)
    answers: dict[str, int] = field(default_factory=dict)  # "stored" / "duplicate" / "401" …
    acknowledged: set[str] = field(default_factory=set)  # ids answered 200
    forged_rejected: int = 0
    resent: int = 0  # requests sent again after a failed connection
    answered: int = 0


def setup(home: Path) -> str:
    """A task settling from postbacks, its keyword, and the platform; returns the secret."""
    db = open_db(home / "workbench.db")
    task = add_task(db, {"platform": "压测", "app": "番茄小说", "title": "书", "kind": "novel",
                         "model": "CPA", "price": "1", "action": "activation",
                         "settle_source": "postback"}, "bench")
    account = add_account(db, "抖音", "bench", None, "bench")
    keyword = apply_keyword(db, task["id"], account["id"], KEYWORD, [], "bench")
    change_status(db, str(keyword["id"]), "approved", "bench")
    secret = add_platform(db, home, PLATFORM, "oceanengine", "bench")["secret"]
    db.close()
    return secret


def plan(events: int, retry_share: float, forged_share: float, secret: str,
         rng: random.Random) -> tuple[list[Request], dict[str, Decimal]]:
    """The requests in sending order, and each unique order event's amount."""
    now_ms = int(time.time() * 1000)
    unique, amounts = [], {}
    for i in range(events):
        webhook_id = f"evt_{i:07d}"
        body: dict[str, object] = {"event_type": 0, "keyword": KEYWORD, "click_id": f"c{i}",
                                   "event_time": now_ms - rng.randrange(3_600_000)}
        if i % 4 == 0:
            amount = Decimal(rng.randrange(1, 100_00)) / 100
            body.update(event_type=2, amount=str(amount))
            amounts[webhook_id] = amount
        unique.append(Request(webhook_id, json.dumps(body).encode(), "unique", secret))
    stranger = new_secret()
    forged = [Request(f"forged_{i:07d}", unique[rng.randrange(events)].body, "forged", stranger)
              for i in range(round(events * forged_share))]
    order = unique + forged
    rng.shuffle(order)
    for _ in range(round(events * retry_share)):  # a retry goes somewhere after its original
        at = rng.randrange(len(order))
        while order[at].kind != "unique":
            at = rng.randrange(len(order))
        original = order[at]
        order.insert(rng.randrange(at + 1, len(order) + 1),
                     Request(original.webhook_id, original.body, "retry", secret))
    return order, amounts


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a running process (Linux /proc; nan elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_server(home: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "WORKBENCH_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen([sys.executable, "-m", "workbench", "serve", "--port", str(port)],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               text=True)
    line = process.stdout.readline()  # printed once the port is bound
    if "http://" not in line:
        sys.exit(f"workbench serve did not start: {line!r}")
    return process


class Signer:
    def __init__(self) -> None:
        self._hooks: dict[str, Webhook] = {}

    def headers(self, request: Request) -> str:
        hook = self._hooks.get(request.secret) or self._hooks.setdefault(
            request.secret, Webhook(request.secret))
        now = int(time.time())
        signature = hook.sign(request.webhook_id, datetime.datetime.fromtimestamp(
            now, datetime.UTC), request.body.decode())
        return (f"POST /api/postback/{PLATFORM} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(request.body)}\r\n"
                f"webhook-id: {request.webhook_id}\r\nwebhook-timestamp: {now}\r\n"
                f"webhook-signature: {signature}\r\n\r\n")


async def exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: str,
                   body: bytes) -> tuple[int, bytes]:
    writer.write(head.encode() + body)
    await writer.drain()
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("closed")
    status, length = int(status_line.split()[1]), 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        if name.lower() == "content-length":
            length = int(value)
    return status, await reader.readexactly(length)


async def client(port: int, queue: list[Request], results: Results, signer: Signer,
                 deadline: float) -> None:
    reader = writer = None
    while queue:
        request = queue.pop()
        while True:
            if time.monotonic() > deadline:
                raise TimeoutError("the server stopped answering")
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                started = time.perf_counter()
                status, answer = await exchange(reader, writer, signer.headers(request),
                                                request.body)
                results.latencies.append(time.perf_counter() - started)
                break
            except (ConnectionError, OSError, asyncio.IncompleteReadError):
                if writer is not None:
                    writer.close()
                reader = writer = None
                results.resent += 1
                await asyncio.sleep(0.05)  # the server is down or restarting: send it again
        results.answered += 1
        key = json.loads(answer).get("status") if status == 200 else str(status)
        results.answers[key] = results.answers.get(key, 0) + 1
        if status == 200:
            results.acknowledged.add(request.webhook_id)
        if request.kind == "forged" and status == 401:
            results.forged_rejected += 1
    if writer is not None:
        writer.close()


async def killer(results: Results, total: int, home: Path, port: int,
                 server: list[subprocess.Popen]) -> None:
    while results.answered < total // 2:
        await asyncio.sleep(0.005)
    acknowledged_before = len(results.acknowledged)
    server[0].send_signal(signal.SIGKILL)
    server[0].wait()
    print(f"killed the server (SIGKILL) after {acknowledged_before} acknowledged requests; "
          "restarting", file=sys.stderr)
    server[0] = await asyncio.get_running_loop().run_in_executor(None, start_server, home, port)


async def run(order: list[Request], clients: int, port: int, kill: bool, home: Path,
              server: list[subprocess.Popen]) -> tuple[Results, float]:
    results, signer = Results(), Signer()
    queue = list(reversed(order))  # popped from the end: sent in order
    deadline = time.monotonic() + 600
    started = time.perf_counter()
    tasks = [client(port, queue, results, signer, deadline) for _ in range(clients)]
    if kill:
        tasks.append(killer(results, len(order), home, port, server))
    await asyncio.gather(*tasks)
    return results, time.perf_counter() - started


def check(home: Path, order: list[Request], amounts: dict[str, Decimal], results: Results
          ) -> tuple[int, list[str]]:
    """(events stored, problems) from the database itself."""
    db = open_db(home / "workbench.db")
    stored = {r["webhook_id"] for r in db.query(
        "SELECT webhook_id FROM postback_events WHERE platform = ?", [PLATFORM])}
    count = db.execute("SELECT count(*) FROM postback_events").fetchone()[0]
    tracking = db.execute("SELECT sum(activations), sum(orders), group_concat(revenue, ' ') "
                          "FROM tracking WHERE source = 'postback'").fetchone()
    db.close()
    unique = {r.webhook_id for r in order if r.kind == "unique"}
    forged = sum(r.kind == "forged" for r in order)
    problems = []
    if count != len(stored) or stored != unique:
        problems.append(f"stored {count} events ({len(stored)} ids), expected exactly the "
                        f"{len(unique)} unique ones (missing {len(unique - stored)}, extra "
                        f"{len(stored - unique)})")
    if lost := results.acknowledged - stored:
        problems.append(f"{len(lost)} acknowledged events are not in the database")
    if results.forged_rejected != forged:
        problems.append(f"{forged} forged requests, {results.forged_rejected} answered 401")
    revenue = sum((Decimal(part) for part in (tracking[2] or "").split()), Decimal(0))
    expected = (len(unique) - len(amounts), len(amounts), sum(amounts.values(), Decimal(0)))
    if (tracking[0], tracking[1], revenue) != expected:
        problems.append(f"rollup {tracking[0]} activations, {tracking[1]} orders, {revenue} "
                        f"yuan; expected {expected}")
    return count, problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000, help="unique events (N)")
    parser.add_argument("--clients", type=int, default=32, help="concurrent connections (C)")
    parser.add_argument("--retry-share", type=float, default=0.1,
                        help="retries of sent events, as a share of N")
    parser.add_argument("--forged-share", type=float, default=0.05,
                        help="forged requests, as a share of N")
    parser.add_argument("--kill", action="store_true",
                        help="SIGKILL the server half-way, restart it, verify nothing was lost")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-postback-") as tmp:
        home = Path(tmp) / "home"
        secret = setup(home)
        order, amounts = plan(args.events, args.retry_share, args.forged_share, secret,
                              random.Random(args.seed))
        port = free_port()
        server = [start_server(home, port)]
        client_cpu = time.process_time()
        try:
            results, seconds = asyncio.run(run(order, args.clients, port, args.kill, home,
                                               server))
            client_cpu = time.process_time() - client_cpu
            server_cpu = cpu_seconds(server[0].pid)
        finally:
            server[0].send_signal(signal.SIGINT)
            server[0].wait(30)
        stored, problems = check(home, order, amounts, results)
    latencies = sorted(results.latencies)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
    print(f"{len(order)} requests ({args.events} unique, "
          f"{sum(r.kind == 'retry' for r in order)} retries, "
          f"{sum(r.kind == 'forged' for r in order)} forged) from {args.clients} clients in "
          f"{seconds:.2f} s; answers {results.answers}; resent after a failed connection "
          f"{results.resent}; CPU seconds: clients {client_cpu:.2f}, server {server_cpu:.2f}"
          + (" (since its restart)" if args.kill else ""), file=sys.stderr)
    for problem in problems:
        print(f"FAILED: {problem}", file=sys.stderr)
    print(f"events_per_s={len(order) / seconds:.0f}")
    print(f"p99_ms={p99:.1f}")
    print(f"stored={stored}")
    print(f"duplicates_acknowledged={results.answers.get('duplicate', 0)}")
    print(f"forged_rejected={results.forged_rejected}")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
