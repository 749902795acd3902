"""Standard Webhooks v1 signatures, checked with the `standardwebhooks` package.

A request carries `webhook-id`, `webhook-timestamp` (Unix seconds) and `webhook-signature`:
space-separated `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` entries. Any entry that
matches any of the platform's secrets is accepted (several entries and several secrets during
a rotation); the package compares in constant time. It verifies one secret at a time, so each
secret is tried in turn. The timestamp window (5 minutes either way, as the package and the
spec have it) is checked here first, so a stale request is told apart from a forged one.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import re
import time
from collections.abc import Mapping

from standardwebhooks import Webhook, WebhookVerificationError

from workbench.postback.stats import Rejected

TOLERANCE_SECONDS = 5 * 60
MAX_ID = 256  # characters of a webhook-id
MAX_SIGNATURE = 4096  # characters of the signature header (a few entries)
_SECONDS = re.compile(r"^[0-9]{1,12}$")
_verifiers: dict[str, Webhook] = {}  # secret → its verifier (decoding the key once)


def _verifier(secret: str) -> Webhook:
    found = _verifiers.get(secret)
    if found is None:
        if len(_verifiers) > 1000:  # secrets come and go with rotations; keep this bounded
            _verifiers.clear()
        found = _verifiers[secret] = Webhook(secret)
    return found


def signed_headers(headers: Mapping[str, str]) -> tuple[str, str, str]:
    """(id, timestamp, signature) from the request's headers, any case; Rejected when one is
    missing or the id is too long."""
    lower = {name.lower(): value for name, value in headers.items()}
    values = [lower.get(name, "").strip() for name in
              ("webhook-id", "webhook-timestamp", "webhook-signature")]
    if not all(values):
        raise Rejected("missing_signature")
    if len(values[0]) > MAX_ID or len(values[2]) > MAX_SIGNATURE:
        raise Rejected("bad_signature", f"webhook-id 最多 {MAX_ID} 个字符")
    return values[0], values[1], values[2]


def verify(secrets: list[str], headers: Mapping[str, str], body: bytes,
           now: float | None = None) -> str:
    """The request's webhook-id once its signature matches one of `secrets` within the time
    window; Rejected otherwise."""
    webhook_id, timestamp, signature = signed_headers(headers)
    if not _SECONDS.match(timestamp):
        raise Rejected("bad_timestamp")
    skew = int(timestamp) - (time.time() if now is None else now)
    if abs(skew) > TOLERANCE_SECONDS:
        raise Rejected("stale_timestamp", "webhook-timestamp "
                       + ("早于" if skew < 0 else "晚于") + f"服务器时间 {abs(skew):.0f} 秒，"
                       f"超过 {TOLERANCE_SECONDS} 秒：请用当前时间重新签名")
    if not secrets:
        raise Rejected("no_secret")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Rejected("malformed_json", "请求体不是 UTF-8 文本") from None
    entries = _well_formed(signature)
    if not entries:
        raise Rejected("bad_signature", "webhook-signature 里没有格式正确的 v1,<base64> 签名")
    signed = {"webhook-id": webhook_id, "webhook-timestamp": timestamp,
              "webhook-signature": " ".join(entries)}
    for secret in secrets:
        try:
            _verifier(secret).verify(text, signed, json_parse=False)
        except WebhookVerificationError:
            continue
        return webhook_id
    raise Rejected("bad_signature")


def _well_formed(header: str) -> list[str]:
    """The header's `v1,<base64>` entries. The package stops at the first entry it cannot
    parse, so malformed ones (and other versions) are left out here: a valid signature after
    them still counts."""
    kept = []
    for entry in header.split():
        version, comma, value = entry.partition(",")
        if version != "v1" or not comma:
            continue
        try:
            base64.b64decode(value, validate=True)
        except binascii.Error:
            continue
        kept.append(entry)
    return kept


def sign(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value a sender puts on `body` (for tests, the bench and the
    example request)."""
    moment = datetime.datetime.fromtimestamp(timestamp, datetime.UTC)
    return Webhook(secret).sign(webhook_id, moment, body.decode("utf-8"))
