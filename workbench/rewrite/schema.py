"""The shape of a rewrite answer, and a forgiving-but-strict parser for it.

Any backend that produces narration (an LLM today, maybe others later) answers with one JSON
object::

    {"segments": [{"name": "hook", "text": "..."}, ...],
     "title": "...", "caption": "...", "hashtags": ["...", "...", "..."]}

Models wrap JSON in prose or a ```json fence, prefix it with `<think>` blocks, put '#' in front
of hashtags and overshoot the title length by a character or two. `parse_rewrite_answer`
tolerates what is cosmetic and rejects what is wrong with an `InvalidAnswer` whose `reason`
is one short Chinese sentence: it is shown to the user and also sent back to the model as the
repair instruction, so it names the field and says what is expected.

This module must stay free of any LLM SDK import: the offline rules backend uses it too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from typing import Any

from jsonschema import Draft202012Validator, ValidationError

from workbench.errors import BackendError
from workbench.models import Segment
from workbench.rewrite.base import RewriteResult
from workbench.script.narration import MAX_SCRIPT_CHARS, MAX_SEGMENT_CHARS

TITLE_MAX_CHARS = 30
# Titles up to this many characters are trimmed to TITLE_MAX_CHARS instead of rejected: a
# model that writes 31-36 characters almost always wrote a good title with a little tail
# (punctuation, a trailing clause), and a repair round trip costs more than the lost tail.
# Anything longer is a different title, so we ask the model for a new one.
TITLE_TRIM_LIMIT = 36
HASHTAGS_MIN = 3
HASHTAGS_MAX = 6

REWRITE_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["segments", "title", "caption", "hashtags"],
    "properties": {
        "segments": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["name", "text"],
                "properties": {
                    "name": {"type": "string", "minLength": 1},
                    "text": {"type": "string", "minLength": 1, "maxLength": MAX_SEGMENT_CHARS},
                },
            },
        },
        "title": {"type": "string", "minLength": 1, "maxLength": TITLE_MAX_CHARS},
        "caption": {"type": "string"},
        "hashtags": {
            "type": "array",
            "minItems": HASHTAGS_MIN,
            "maxItems": HASHTAGS_MAX,
            "items": {"type": "string", "minLength": 1},
        },
    },
}
_validator = Draft202012Validator(REWRITE_SCHEMA)

_THINK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_FENCE = re.compile(r"```[a-zA-Z]*[ \t]*\n?(.*?)```", re.DOTALL)
_TYPE_NAMES = {"object": "对象", "array": "数组", "string": "字符串", "number": "数字",
               "integer": "整数"}
_TITLE_BREAKS = "，。！？；：、,.!?;: "
_HASH_CHARS = "#＃"


class InvalidAnswer(BackendError):
    """The answer is not usable; `reason` says why in one short line (fed back for repair)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def parse_rewrite_answer(
    text: str, expected_segments: list[str], *, keyword: str | None = None
) -> RewriteResult:
    """Parse and check a rewrite answer; raise InvalidAnswer with a repairable reason.

    `expected_segments` are the segment names that were asked for, in order; the answer must
    have exactly those. When `keyword` is given it must appear verbatim in the `cta` segment
    (or anywhere in the script when there is no `cta`): the keyword is what viewers search
    for, so an answer without it is useless however good it reads.
    """
    data = _extract_json_object(text)
    _validate(data)
    segments = _check_segments(data["segments"], expected_segments)
    total = sum(len(s.text) for s in segments)
    if total > MAX_SCRIPT_CHARS:  # narration is capped; asking again is cheaper than failing
        raise InvalidAnswer(f"全文共 {total} 个字，不能超过 {MAX_SCRIPT_CHARS} 个字，请大幅缩短")
    if keyword:
        _check_keyword(segments, keyword)
    return RewriteResult(
        segments=segments,
        title=_fit_title(data["title"]),
        caption=data["caption"].strip(),
        hashtags=_clean_hashtags(data["hashtags"]),
    )


def _extract_json_object(text: str) -> dict[str, Any]:
    return extract_json_object(text, "segments", REWRITE_SCHEMA["properties"].keys())


def extract_json_object(text: str, main_key: str, keys: Iterable[str]) -> dict[str, Any]:
    """The one JSON object in `text` that has `main_key`, ignoring fences, <think> blocks and
    prose around it; failing that, the first object with any of `keys` (so the validator can
    say what is missing)."""
    known = set(keys)
    if not text or not text.strip():
        raise InvalidAnswer("回答是空的，需要一个 JSON 对象")
    cleaned = _THINK.sub("", text).strip()
    candidates = [m.group(1).strip() for m in _FENCE.finditer(cleaned)] + [cleaned]
    decoder = json.JSONDecoder()
    partial: dict[str, Any] | None = None
    for candidate in candidates:
        for start in (i for i, ch in enumerate(candidate) if ch == "{"):
            try:
                value, _end = decoder.raw_decode(candidate, start)
            except json.JSONDecodeError:
                continue
            if not isinstance(value, dict):
                continue
            if main_key in value:
                return value
            # An object with some of our top-level keys is ours, only incomplete: keep it so
            # the validator can say what is missing. An inner {"name", "text"} of a truncated
            # answer is not, and must not hide the real problem (the JSON is cut off).
            if partial is None and value.keys() & known:
                partial = value
    if partial is not None:
        return partial
    raise InvalidAnswer("回答里没有完整、合法的 JSON 对象（检查引号、逗号和括号是否完整）")


def _validate(data: dict[str, Any]) -> None:
    validate_answer(_validator, data, skip=lambda e: (
        # An over-long title is handled by _fit_title (trim a little, reject a lot).
        e.validator == "maxLength" and list(e.absolute_path) == ["title"]))


def validate_answer(validator: Draft202012Validator, data: Any,
                    skip: Callable[[ValidationError], bool] = lambda e: False) -> None:
    """InvalidAnswer naming (in short Chinese) up to three ways `data` breaks the schema."""
    errors = [e for e in validator.iter_errors(data) if not skip(e)]
    if errors:
        errors.sort(key=lambda e: (len(e.absolute_path), [str(p) for p in e.absolute_path]))
        reasons = list(dict.fromkeys(_describe(e) for e in errors))  # "required" repeats
        raise InvalidAnswer("；".join(reasons[:3]))


def _describe(error: ValidationError) -> str:
    """A short Chinese description that never echoes the (possibly long) offending value."""
    where = _path(error.absolute_path) or "JSON"
    value = error.instance
    if error.validator == "required":
        missing = [k for k in error.validator_value if k not in value]
        owner = f"{where} " if error.absolute_path else ""
        return f"{owner}缺少字段 {', '.join(missing)}"
    if error.validator == "type":
        expected = _TYPE_NAMES.get(str(error.validator_value), str(error.validator_value))
        return f"{where} 应为{expected}"
    if error.validator == "minLength":
        return f"{where} 不能为空"
    if error.validator == "maxLength":
        return f"{where} 不能超过 {error.validator_value} 个字"
    if error.validator in ("minItems", "maxItems") and where == "hashtags":
        return f"hashtags 应有 {HASHTAGS_MIN} 到 {HASHTAGS_MAX} 个，实际 {len(value)} 个"
    if error.validator == "minItems":
        return f"{where} 至少要有 {error.validator_value} 项"
    if error.validator == "maxItems":
        return f"{where} 最多 {error.validator_value} 项"
    if error.validator == "minimum":
        return f"{where} 不能小于 {error.validator_value}"
    return f"{where} 不符合格式（{error.validator}）"


def _path(parts: Any) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _check_segments(raw: list[dict[str, str]], expected: list[str]) -> list[Segment]:
    names = [str(item["name"]).strip() for item in raw]
    if names != list(expected):
        raise InvalidAnswer(
            f"segments 的段名应依次为 {', '.join(expected)}，实际是 {', '.join(names) or '（无）'}"
        )
    segments = [Segment(name=name, text=item["text"].strip()) for name, item in zip(names, raw)]
    for seg in segments:
        if not seg.text:
            raise InvalidAnswer(f"{seg.name} 段的 text 不能为空")
    return segments


def _check_keyword(segments: list[Segment], keyword: str) -> None:
    cta = [s for s in segments if s.name == "cta"]
    if cta:
        if keyword not in cta[0].text:
            raise InvalidAnswer(f"cta 段必须一字不差地包含口令“{keyword}”")
    elif not any(keyword in s.text for s in segments):
        raise InvalidAnswer(f"正文必须一字不差地包含口令“{keyword}”")


def _fit_title(title: str) -> str:
    """Keep titles within TITLE_MAX_CHARS: trim a slight overshoot, reject a long one."""
    title = title.strip()
    if not title:
        raise InvalidAnswer("title 不能为空")
    if len(title) <= TITLE_MAX_CHARS:
        return title
    if len(title) > TITLE_TRIM_LIMIT:
        raise InvalidAnswer(f"title 有 {len(title)} 个字，不能超过 {TITLE_MAX_CHARS} 个字")
    head = title[:TITLE_MAX_CHARS]
    # Prefer ending at a punctuation mark in the last third, so we do not cut a word in half.
    cut = max(head.rfind(ch) for ch in _TITLE_BREAKS)
    if cut >= TITLE_MAX_CHARS * 2 // 3:
        head = head[:cut]
    return head.rstrip(_TITLE_BREAKS)


def _clean_hashtags(raw: list[str]) -> list[str]:
    """'#逆袭#' and ' ＃逆袭' become '逆袭'; duplicates are dropped; 3-6 must remain."""
    tags: list[str] = []
    for item in raw:
        tag = item.strip().strip(_HASH_CHARS).strip()
        if not tag:
            raise InvalidAnswer("hashtags 里有空标签")
        if tag not in tags:
            tags.append(tag)
    if len(tags) < HASHTAGS_MIN:
        raise InvalidAnswer(f"hashtags 去重后只剩 {len(tags)} 个，需要 {HASHTAGS_MIN} 到 "
                            f"{HASHTAGS_MAX} 个不同的标签")
    return tags
