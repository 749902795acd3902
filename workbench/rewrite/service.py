"""Rewrite through the stage cache: the same input never pays for a second backend call."""

from __future__ import annotations

import logging

from workbench.models import Segment
from workbench.rewrite.base import RewriteBackend, RewriteRequest, RewriteResult
from workbench.store.cache import StageCache, content_hash

log = logging.getLogger(__name__)


def rewrite_cache_key(request: RewriteRequest, backend: RewriteBackend) -> str:
    return content_hash(
        "rewrite", backend.name, backend.version, backend.model, backend.endpoint,
        request.cache_payload(),
    )


def keep_keyword(result: RewriteResult, request: RewriteRequest) -> RewriteResult:
    """A call to action that lost the keyword is worthless: fall back to the template's own."""
    if not request.keyword:
        return result
    original = {s.name: s for s in request.segments}
    fixed = []
    for seg in result.segments:
        if seg.name == "cta" and request.keyword not in seg.text and "cta" in original:
            log.warning("rewritten cta lost the keyword; using the template's cta")
            seg = Segment("cta", original["cta"].text)
        fixed.append(seg)
    result.segments = fixed
    return result


def rewrite_cached(
    request: RewriteRequest, backend: RewriteBackend, cache: StageCache
) -> tuple[RewriteResult, bool]:
    """Returns (result, served_from_cache)."""
    key = rewrite_cache_key(request, backend)
    hit = cache.get(key)
    if hit is not None:
        return RewriteResult.from_dict(hit), True
    result = keep_keyword(backend.rewrite(request), request)
    cache.put(key, "rewrite", backend.name, result.to_dict())
    return result, False
