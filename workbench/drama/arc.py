"""A story arc of segments proposed by the configured LLM from the numbered subtitle lines.

The model is asked through the rewrite backend's client (openai_backend.py: the same limits,
JSON-mode fallback and error translation). Its answer is not trusted:

- it must match ARC_SCHEMA and name only episodes it was shown, or it gets ONE repair round
  (the reason is sent back), then a clear error;
- every time is clamped to the real length of its episode (models invent times past the end);
- each edge is moved out of any line it falls inside (a start back to the line's start, an end
  forward to its end), so a cut never lands mid-sentence;
- a segment that overlaps one before it, or is shorter than MIN_SECONDS after clamping, is
  dropped; an answer with nothing left is a bad answer.

The checked answer is cached by everything that was sent, the model and the endpoint.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from jsonschema import Draft202012Validator
from sqlite_utils import Database

from workbench.config import Settings
from workbench.drama.edges import snap
from workbench.drama.facts import EpisodeFacts, LinesFor, Progress, gather, sidecar_lines
from workbench.drama.highlights import Highlight, HighlightReport, highlight
from workbench.errors import BackendError, BackendUnavailable, InputError
from workbench.rewrite.schema import InvalidAnswer, extract_json_object, validate_answer
from workbench.store.cache import StageCache, content_hash

log = logging.getLogger(__name__)

VERSION = "1"
MIN_SECONDS = 1.0
MAX_SEGMENTS = 20
MAX_PROMPT_LINES = 800
MAX_PROMPT_CHARS = 40_000
TEMPERATURE = 0.3
ARC = "故事线"
ARC_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["segments"],
    "properties": {
        "segments": {
            "type": "array",
            "minItems": 1,
            "maxItems": MAX_SEGMENTS,
            "items": {
                "type": "object",
                "required": ["episode", "start", "end"],
                "properties": {
                    "episode": {"type": "integer", "minimum": 1},
                    "start": {"type": "number"},
                    "end": {"type": "number"},
                    "reason": {"type": "string", "maxLength": 200},
                },
            },
        },
    },
}
_validator = Draft202012Validator(ARC_SCHEMA)

SYSTEM = (
    "你是短剧剪辑师，为推广短视频挑选剧集片段。你只根据给出的台词和时间挑选，不编造时间。"
    "只输出一个 JSON 对象，不要输出其他文字。")
NOT_CONFIGURED = ("--arc 需要大模型：请设置 OPENAI_API_KEY（本地模型只需设置 OPENAI_BASE_URL），"
                  "模型名用 WORKBENCH_LLM_MODEL；不加 --arc 则离线按台词、镜头和声音挑选")


def user_prompt(facts: Sequence[EpisodeFacts], max_seconds: float | None) -> str:
    """The numbered lines of every episode that has any, with times and the episode length."""
    parts = []
    count = 0
    for episode in facts:
        if not episode.lines:
            continue
        parts.append(f"第{episode.idx}集（时长 {episode.duration:.1f} 秒）：")
        for line in sorted(episode.lines, key=lambda l: l.start):
            count += 1
            parts.append(f"[{count}] {line.start:.2f}-{line.end:.2f} {line.text}")
        parts.append("")
    limit = f"总长不超过 {max_seconds:g} 秒，" if max_seconds else ""
    parts.append(
        "请从上面的台词里挑出能连成一个完整小故事的片段：开头有钩子，中间有冲突，结尾停在悬念上。"
        f"{limit}按故事顺序排列，片段之间不要重叠。每个片段从某句台词的开始时间起，到某句台词的"
        "结束时间止，时间用秒，必须在该集时长以内。\n"
        '输出 JSON，格式：{"segments": [{"episode": 1, "start": 0.1, "end": 12.5, '
        '"reason": "一句话说明这段的作用"}]}')
    text = "\n".join(parts)
    if count > MAX_PROMPT_LINES or len(text) > MAX_PROMPT_CHARS:
        raise InputError(f"选中的剧集台词太多（{count} 句，{len(text)} 字）：请用 --episodes 少选"
                         f"几集（最多 {MAX_PROMPT_LINES} 句、{MAX_PROMPT_CHARS} 字）")
    return text


def parse_arc(text: str, episodes: set[int]) -> list[dict[str, Any]]:
    """The answer's segments, checked against the schema and the episodes that were sent;
    InvalidAnswer with a reason the model can act on."""
    data = extract_json_object(text, "segments", ARC_SCHEMA["properties"].keys())
    validate_answer(_validator, data)
    segments = []
    for i, item in enumerate(data["segments"]):
        episode = int(item["episode"])
        if episode not in episodes:
            raise InvalidAnswer(f"segments[{i}].episode 是 {episode}，但只给了第 "
                                f"{'、'.join(map(str, sorted(episodes)))} 集")
        start, end = float(item["start"]), float(item["end"])
        if end <= start:
            raise InvalidAnswer(f"segments[{i}] 的 end（{end:g}）必须大于 start（{start:g}）")
        segments.append({"episode": episode, "start": start, "end": end,
                         "reason": str(item.get("reason") or "").strip()})
    return segments


def fit_arc(segments: Sequence[dict[str, Any]], facts: Sequence[EpisodeFacts],
            max_seconds: float | None) -> tuple[list[Highlight], list[str]]:
    """The segments clamped, snapped out of lines, without overlaps, in the answer's order,
    within `max_seconds`; and notes on what was changed."""
    by_idx = {f.idx: f for f in facts}
    kept: list[Highlight] = []
    clamped = dropped_short = dropped_overlap = dropped_long = 0
    total = 0.0
    for item in segments:
        episode = by_idx[item["episode"]]
        start = min(max(item["start"], 0.0), episode.duration)
        end = min(max(item["end"], 0.0), episode.duration)
        clamped += (start, end) != (item["start"], item["end"])
        start, end = snap(start, episode.spans, "start"), snap(end, episode.spans, "end")
        if end - start < MIN_SECONDS:
            dropped_short += 1
            continue
        reason = f"{ARC}：{item['reason'][:40]}" if item["reason"] else ARC
        candidate = highlight(episode, start, end, extra=(reason,))
        if any(candidate.overlaps(k) for k in kept):
            dropped_overlap += 1
            continue
        if max_seconds is not None and total + candidate.seconds > max_seconds + 1e-6:
            dropped_long += 1
            continue
        kept.append(candidate)
        total += candidate.seconds
    notes = []
    if clamped:
        notes.append(f"大模型给的 {clamped} 个片段超出了剧集时长，已截到剧集范围内")
    if dropped_short:
        notes.append(f"去掉了 {dropped_short} 个截断后不足 {MIN_SECONDS:g} 秒的片段")
    if dropped_overlap:
        notes.append(f"去掉了 {dropped_overlap} 个与前面重叠的片段")
    if dropped_long:
        notes.append(f"去掉了 {dropped_long} 个超出总时长 {max_seconds:g} 秒的片段")
    return kept, notes


def propose_arc(facts: Sequence[EpisodeFacts], settings: Settings, cache: StageCache,
                max_seconds: float | None) -> tuple[list[Highlight], list[str]]:
    """The LLM's story arc over `facts`, checked (one repair round), in story order."""
    if not settings.llm_configured:
        raise BackendUnavailable(NOT_CONFIGURED)
    episodes = {f.idx for f in facts if f.lines}
    if not episodes:
        raise InputError("选中的剧集没有字幕：--arc 要根据台词编排故事线；去掉 --arc 则只按镜头和"
                         "声音挑选")
    from workbench.rewrite.openai_backend import OpenAIBackend

    backend = OpenAIBackend(settings)
    try:
        messages = [{"role": "system", "content": SYSTEM},
                    {"role": "user", "content": user_prompt(facts, max_seconds)}]
        key = content_hash("drama-arc", VERSION, backend.model, backend.endpoint, messages,
                           TEMPERATURE)
        segments = cache.get(key)
        if segments is None:
            segments = _ask(backend, messages, episodes, facts, max_seconds)
            cache.put(key, "drama-arc", backend.name, segments)
    finally:
        backend.close()
    return fit_arc(segments, facts, max_seconds)


def _ask(backend: Any, messages: list[dict[str, str]], episodes: set[int],
         facts: Sequence[EpisodeFacts], max_seconds: float | None) -> list[dict[str, Any]]:
    reason = ""
    for attempt in range(2):
        answer, note = backend.complete(messages, temperature=TEMPERATURE)
        try:
            segments = parse_arc(answer, episodes)
            kept, notes = fit_arc(segments, facts, max_seconds)
            if not kept:
                raise InvalidAnswer("没有一个可用的片段（" + "；".join(notes) + "）")
            return segments
        except InvalidAnswer as exc:
            reason = exc.reason + note
        if attempt == 0:
            log.info("arc answer invalid (%s); asking the model to repair it once", reason)
            messages = [*messages, {"role": "assistant", "content": answer},
                        {"role": "user", "content": _repair(reason)}]
    raise BackendError(f"大模型给的故事线无效（已重试一次）：{reason}；可换一个更强的模型"
                       "（WORKBENCH_LLM_MODEL），或去掉 --arc 自动挑选")


def _repair(reason: str) -> str:
    return (f"你上面的回答不符合要求：{reason}。请改正后重新输出完整的 JSON 对象，只输出 JSON，"
            '格式：{"segments": [{"episode": 集数, "start": 秒, "end": 秒, "reason": "说明"}]}，'
            "时间必须在该集时长以内，end 大于 start。")


def find_arc(db: Database, settings: Settings, material_id: int,
             episodes: Sequence[int] | None = None, *, max_seconds: float | None = 60.0,
             lines_for: LinesFor = sidecar_lines, progress: Progress | None = None
             ) -> HighlightReport:
    """The LLM's story arc over the material's episodes (positions from 1; all when None)."""
    if not settings.llm_configured:  # before the slow analysis
        raise BackendUnavailable(NOT_CONFIGURED)
    facts, notes = gather(db, material_id, episodes, lines_for=lines_for, progress=progress)
    arc, arc_notes = propose_arc(facts, settings, StageCache(db), max_seconds)
    return HighlightReport(arc, notes + arc_notes)
