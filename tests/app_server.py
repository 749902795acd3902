"""Start the real web app (`python app.py`) on a free port in its own WORKBENCH_HOME."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from conftest import PROJECT_ROOT
from tiny_templates import write_templates


@dataclass
class AppServer:
    url: str
    home: Path
    process: subprocess.Popen
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_app(root: Path, *, auth: str | None = None, extra_env: dict[str, str] | None = None,
              timeout: float = 60) -> AppServer:
    """The app with a short `tiny` template, offline voice, draft renders; waits until up."""
    home, templates = root / "home", write_templates(root / "templates")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("WORKBENCH_", "OPENAI_", "GRADIO_"))}
    env.update({"WORKBENCH_HOME": str(home), "WORKBENCH_TEMPLATES_DIR": str(templates),
                "WORKBENCH_VOICE_BACKEND": "espeak", "WORKBENCH_RENDER_PROFILE": "draft",
                "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONUNBUFFERED": "1"})
    if auth:
        env["WORKBENCH_AUTH"] = auth
    env.update(extra_env or {})
    port = free_port()
    log = root / "app.log"
    process = subprocess.Popen(
        [sys.executable, str(PROJECT_ROOT / "app.py"), "--port", str(port)], cwd=root, env=env,
        stdout=log.open("wb"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"app exited early:\n{log.read_text('utf-8', 'replace')}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                break
        except urllib.error.HTTPError:  # answering (e.g. 401 before login): it is up
            break
        except OSError:
            time.sleep(0.3)
    else:
        process.kill()
        raise RuntimeError(f"app did not start in {timeout}s:\n{log.read_text('utf-8')}")
    return AppServer(url, home, process, log)
