"""A real local HTTP server that speaks the OpenAI images protocol, for tests.

`POST /v1/images/generations` (JSON: model, prompt, n, size, response_format, seed) answers
`{"created": …, "data": [{"b64_json": …}]}` with a PNG it draws with Pillow: a flat colour per
distinct prompt (the first prompt red, the second green, …: `server.colours[prompt]`) crossed by
dark grid lines every 32 px, so a pan shows. `response_format="url"` (or `server.as_url`) gets
a URL on this server instead, served by `GET /files/<n>.png`. Everything `LLMServer` offers
works here too (`Planned(status=…, body=…, delay=…, huge=…)`, chat completions for the LLM
prompts), since this is an `LLMServer` with two more routes.
"""

from __future__ import annotations

import base64
import io
import time
from collections.abc import Iterator

import pytest
from llm_server import LLMServer, Planned, RecordedRequest, error_body

PALETTE = ((220, 40, 40), (40, 200, 60), (40, 80, 230), (230, 210, 40), (210, 50, 210),
           (40, 210, 210), (240, 140, 30), (140, 90, 40), (160, 160, 160), (120, 40, 160))


def draw_png(colour: tuple[int, int, int], width: int, height: int) -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (width, height), colour)
    draw = ImageDraw.Draw(image)
    for x in range(0, width, 32):
        draw.line([(x, 0), (x, height)], fill=(10, 10, 10), width=2)
    for y in range(0, height, 32):
        draw.line([(0, y), (width, y)], fill=(10, 10, 10), width=2)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


class ImagesServer(LLMServer):
    def __init__(self) -> None:
        super().__init__()
        self.colours: dict[str, tuple[int, int, int]] = {}
        self.files: list[bytes] = []
        self.as_url = False

    @property
    def image_requests(self) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if _is_images(r)]

    @property
    def prompts(self) -> list[str]:
        return [str((r.body or {}).get("prompt", "")) for r in self.image_requests]

    def colour_of(self, prompt: str) -> tuple[int, int, int]:
        with self._lock:
            if prompt not in self.colours:
                self.colours[prompt] = PALETTE[len(self.colours) % len(PALETTE)]
            return self.colours[prompt]

    def _answer(self, request: RecordedRequest) -> Planned:
        path = request.path.split("?", 1)[0]
        if request.method == "GET" and path.startswith("/files/"):
            with self._lock:
                self.requests.append(request)
            index = int(path.rsplit("/", 1)[1].split(".")[0])
            return Planned(body=self.files[index], headers={"Content-Type": "image/png"})
        if not (request.method == "POST" and _is_images(request)):
            return super()._answer(request)
        with self._lock:
            self.requests.append(request)
            planned = self._queue.popleft() if self._queue else None
        return planned if planned is not None else self._draw(request)

    def _draw(self, request: RecordedRequest) -> Planned:
        body = request.body or {}
        prompt = body.get("prompt")
        if not isinstance(prompt, str) or not prompt:
            return Planned(status=400, body=error_body("prompt is required", param="prompt"))
        try:
            width, height = (int(v) for v in str(body.get("size", "256x384")).split("x"))
        except ValueError:
            return Planned(status=400, body=error_body("bad size", param="size"))
        png = draw_png(self.colour_of(prompt), width, height)
        if self.as_url or body.get("response_format") == "url":
            with self._lock:
                self.files.append(png)
                n = len(self.files) - 1
            return Planned(body={"created": int(time.time()),
                                 "data": [{"url": f"{self.url}/files/{n}.png"}]})
        return Planned(body={"created": int(time.time()),
                             "data": [{"b64_json": base64.b64encode(png).decode()}]})


def b64_answer(data: bytes) -> dict:
    return {"created": 0, "data": [{"b64_json": base64.b64encode(data).decode()}]}


def _is_images(request: RecordedRequest) -> bool:
    return request.path.split("?", 1)[0].rstrip("/").endswith("/images/generations")


@pytest.fixture
def images_server() -> Iterator[ImagesServer]:
    with ImagesServer() as server:
        yield server
