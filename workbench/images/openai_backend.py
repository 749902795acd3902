"""Story images through any OpenAI-compatible images endpoint (OpenAI, SiliconFlow's
Kolors/FLUX, a local Stable Diffusion or ComfyUI behind a compatible server), with the official
SDK's `images.generate`.

Like the rewrite and transcription backends: every call is bounded (bounded_http.py: a total
deadline per image, `images.deadline`, SDK retries included, and a cap on the answer's size,
counted as it arrives); the answer is read raw and checked here (JSON, `data[0].b64_json` or
`data[0].url`, then the bytes decode completely as a PNG/JPEG/WebP of a sane size), so a server
that answers with anything else is a one-line error naming the endpoint, never the key.

`response_format="b64_json"` and a `seed` are asked for; a server that rejects either (gpt-image-1
always answers base64 and refuses `response_format`; some servers refuse unknown fields) is asked
once more without it, and the backend remembers. An answer with a URL is downloaded through the
same bounded client, within the same deadline.
"""

from __future__ import annotations

import base64
import binascii
import io
import logging
import time
from typing import Any, ClassVar

from workbench.config import Settings
from workbench.errors import BackendError, BackendUnavailable
from workbench.images.base import GeneratedImage
from workbench.images.endpoint import images_endpoint
from workbench.images.registry import HOW_TO
from workbench.rewrite.openai_backend import decode_json, refusal_text
from workbench.transcribe.endpoint import SdkBackend, translate_sdk_error

log = logging.getLogger(__name__)

ANSWER_MAX_BYTES = 24_000_000  # a 1024x1536 PNG is 2-4 MB, ~5 MB as base64
MIN_SIDE, MAX_SIDE = 64, 4096
MAX_PIXELS = 4096 * 4096
_FORMATS = ("PNG", "JPEG", "WEBP")
_OPTIONAL = ("response_format", "seed")  # dropped, one at a time, when a server refuses them
_CHECK = "请确认 WORKBENCH_IMAGES_BASE_URL（未设置时用 OPENAI_BASE_URL）指向 OpenAI 兼容的图片生成接口"


class _Refused(Exception):
    def __init__(self, field: str) -> None:
        self.field = field


class OpenAIImages(SdkBackend):
    name: ClassVar[str] = "openai"
    version: ClassVar[str] = "1"

    def __init__(self, settings: Settings) -> None:
        self._endpoint = images_endpoint(settings)
        if not self._endpoint.configured:
            raise BackendUnavailable(f"openai 图片生成不可用：没有配置接口；{HOW_TO}")
        self._connect(settings, self._endpoint, settings.images_deadline)
        self._dropped: set[str] = set()

    def __repr__(self) -> str:
        return f"OpenAIImages(model={self.model!r}, endpoint={self.endpoint!r})"

    @property
    def model(self) -> str:
        return self._settings.images_model

    @property
    def size(self) -> str:
        return self._settings.images_size

    def generate(self, prompt: str, seed: int) -> GeneratedImage:
        started = time.monotonic()
        for _ in range(len(_OPTIONAL) + 1):
            kwargs: dict[str, Any] = {"model": self.model, "prompt": prompt, "n": 1,
                                      "size": self.size}
            extra: dict[str, Any] = {}
            if "response_format" not in self._dropped:
                kwargs["response_format"] = "b64_json"
            if "seed" not in self._dropped:
                extra["seed"] = seed
            try:
                data = self._call(kwargs, extra)
            except _Refused as refused:
                log.info("%s refused %s; asking again without it", self._endpoint.host,
                         refused.field)
                self._dropped.add(refused.field)
                continue
            image = check_image(data, self._endpoint.display_url)
            log.info("image generated: model=%s host=%s latency=%.2fs bytes=%d size=%dx%d",
                     self.model, self._endpoint.host, time.monotonic() - started,
                     len(image.data), image.width, image.height)
            return image
        raise BackendError(f"图片生成服务 {self._endpoint.host} 拒绝了请求参数；{_CHECK}")

    def _call(self, kwargs: dict[str, Any], extra: dict[str, Any]) -> bytes:
        """One bounded request → the image's bytes (decoded base64, or the URL downloaded)."""
        import httpx2

        from workbench.rewrite.bounded_http import call_with_limits

        client = self._get_client()
        failure: Exception | None = None

        def request() -> bytes:
            raw = client.images.with_raw_response.generate(**kwargs, extra_body=extra or None)
            url = answer_image(raw.content, self._endpoint)
            if isinstance(url, bytes):
                return url
            response = self._http.get(url)  # the SDK's bounded httpx client
            if response.status_code != 200:
                raise BackendError(f"下载生成的图片失败：{self._endpoint.host} 给出的图片地址返回 "
                                   f"{response.status_code}；{_CHECK}")
            return response.content

        try:
            return call_with_limits(request, self._settings.images_deadline, ANSWER_MAX_BYTES)
        except self._openai.OpenAIError as exc:
            failure = exc
        except httpx2.HTTPError as exc:  # the URL download
            failure = exc
        log.info("image request failed: model=%s host=%s error=%s status=%s", self.model,
                 self._endpoint.host, type(failure).__name__,
                 getattr(failure, "status_code", "-"))
        refused = _refused_field(self._openai, failure, kwargs, extra)
        if refused:
            raise _Refused(refused)
        raise translate_error(self._openai, failure, self._endpoint, self._settings)


def _refused_field(openai_mod: Any, exc: Exception, kwargs: dict[str, Any],
                   extra: dict[str, Any]) -> str | None:
    """The optional field a 400/422 complains about, if it is one we sent."""
    text = refusal_text(openai_mod, exc)
    if text is None:
        return None
    for field in _OPTIONAL:
        if (field in kwargs or field in extra) and field in text:
            return field
    return None


def answer_image(body: bytes, endpoint: Any) -> bytes | str:
    """The image bytes (base64 decoded) or its URL from a raw images answer; else BackendError."""
    where = f"图片生成服务（{endpoint.display_url}）的回答"
    data = decode_json(body, where, _CHECK, endpoint.redact)
    items = data.get("data") if isinstance(data, dict) else None
    if not isinstance(items, list) or not items or not isinstance(items[0], dict):
        raise BackendError(f"{where}格式不对：没有 data[0]；{_CHECK}")
    b64, url = items[0].get("b64_json"), items[0].get("url")
    if isinstance(b64, str) and b64:
        try:
            return base64.b64decode(b64, validate=True)
        except (binascii.Error, ValueError):
            raise BackendError(f"{where}里的 b64_json 不是有效的 base64；{_CHECK}") from None
    if isinstance(url, str) and url.startswith(("http://", "https://")):
        return url
    raise BackendError(f"{where}格式不对：data[0] 里既没有 b64_json 也没有图片地址 url；{_CHECK}")


def check_image(data: bytes, where: str) -> GeneratedImage:
    """`data` decodes completely as a PNG/JPEG/WebP between 64 and 4096 px a side."""
    from PIL import Image

    what = f"图片生成服务（{where}）给出的图片"
    try:
        with Image.open(io.BytesIO(data), formats=_FORMATS) as image:
            width, height = image.size
            fmt = (image.format or "").lower()
            if (min(width, height) < MIN_SIDE or max(width, height) > MAX_SIDE
                    or width * height > MAX_PIXELS):
                raise BackendError(f"{what}尺寸不合理（{width}×{height}，应在 {MIN_SIDE} 到 "
                                   f"{MAX_SIDE} 像素之间）；请检查 WORKBENCH_IMAGES_SIZE 和模型")
            image.load()
    except Image.DecompressionBombError:
        raise BackendError(f"{what}像素数超过上限；请检查 WORKBENCH_IMAGES_SIZE") from None
    except (OSError, SyntaxError, ValueError, EOFError):
        raise BackendError(f"{what}不是可解码的 PNG/JPEG/WebP 图片（{len(data)} 字节）；{_CHECK}"
                           ) from None
    return GeneratedImage(data, "jpeg" if fmt == "jpeg" else fmt, width, height)


def translate_error(openai_mod: Any, exc: Exception, endpoint: Any,
                    settings: Settings) -> BackendError:
    """One Chinese line per failure, naming the setting that fixes it."""
    from workbench.rewrite import bounded_http
    from workbench.rewrite.openai_backend import server_message

    host, url, model = endpoint.host, endpoint.display_url, settings.images_model
    if isinstance(exc, bounded_http.AnswerTooLarge):
        return BackendError(f"图片生成服务 {host} 的回答超过 {exc.limit / 1e6:g} MB，已停止读取；"
                            f"请检查 WORKBENCH_IMAGES_SIZE，{_CHECK}")
    if isinstance(exc, openai_mod.NotFoundError):
        return BackendError(f"在 {url} 找不到图片生成接口或模型 {model}（404）：请检查 "
                            "WORKBENCH_IMAGES_BASE_URL（通常以 /v1 结尾）和 WORKBENCH_IMAGES_MODEL")
    if isinstance(exc, openai_mod.BadRequestError):
        detail = endpoint.redact(server_message(exc))
        return BackendError(f"图片生成服务 {host} 拒绝了请求（400）：{detail or '（无说明）'}；"
                            "请检查 WORKBENCH_IMAGES_MODEL 和 WORKBENCH_IMAGES_SIZE，提示词被"
                            "内容审核拦下时请改写文案")
    return translate_sdk_error(openai_mod, exc, endpoint, service="图片生成", env="IMAGES",
                               deadline=settings.images_deadline,
                               retries=settings.llm_max_retries, check=_CHECK)
