"""Story beats and their image prompts.

A beat is a run of consecutive subtitle lines (so it starts exactly when its first line is
spoken) lasting at least `min_seconds` — and long enough that a video has at most
`max_beats` of them. Every prompt starts with the same style and character sheet (from the
template's front matter `images: {style, characters}`, else the `images.style` setting), so
faces and clothes do not drift between pictures. The part that describes the beat comes from an
LLM when one is configured (JSON, validated, one repair), else from the beat's nouns (jieba's
part-of-speech tags).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, Protocol

from workbench.errors import BackendError
from workbench.subtitles import SubtitleEvent
from workbench.text import jieba

log = logging.getLogger(__name__)

MIN_BEAT_SECONDS = 4.0
MAX_SCENE_CHARS = 200  # one beat's description, from the LLM or the rules
MAX_NOUNS = 8
DEFAULT_CHARACTERS = "人物形象、发型与服装在每一张图中保持一致"


@dataclass(frozen=True)
class Beat:
    start: float  # seconds into the narration: when its first line is spoken
    end: float
    text: str


@dataclass(frozen=True)
class StyleSheet:
    """What every prompt of one video shares."""

    style: str
    characters: str = DEFAULT_CHARACTERS

    @property
    def prefix(self) -> str:
        return "；".join(p for p in (self.style.strip(), self.characters.strip()) if p)


def story_beats(events: list[SubtitleEvent], duration: float, max_beats: int,
                min_seconds: float = MIN_BEAT_SECONDS) -> list[Beat]:
    """Consecutive lines grouped into beats; the first beat starts at 0 (no gap before it)."""
    if not events:
        return [Beat(0.0, duration, "")]
    target = max(min_seconds, duration / max(1, max_beats))
    groups: list[list[SubtitleEvent]] = [[]]
    for event in events:
        current = groups[-1]
        if current and event.start - current[0].start >= target:
            groups.append([event])
        else:
            current.append(event)
    while len(groups) > max_beats:  # a long tail of short lines: merge the shortest pair
        spans = [groups[i + 1][-1].end - groups[i][0].start for i in range(len(groups) - 1)]
        i = spans.index(min(spans))
        groups[i:i + 2] = [groups[i] + groups[i + 1]]
    beats = []
    for i, group in enumerate(groups):
        start = 0.0 if i == 0 else group[0].start
        end = groups[i + 1][0].start if i + 1 < len(groups) else duration
        beats.append(Beat(start, max(end, start), "".join(e.text for e in group)))
    return beats


def sheet_for(front_matter: dict[str, Any] | None, default_style: str) -> StyleSheet:
    meta = front_matter or {}
    return StyleSheet(style=str(meta.get("style") or default_style),
                      characters=str(meta.get("characters") or DEFAULT_CHARACTERS))


def rules_scene(text: str) -> str:
    """The beat's nouns (people, places, things), in order, without repeats."""
    jieba()  # quiet start-up
    from jieba import posseg

    nouns: list[str] = []
    for word, flag in posseg.cut(text):
        word = word.strip()
        if flag.startswith(("n", "s")) and len(word) > 1 and word not in nouns:
            nouns.append(word)
        if len(nouns) >= MAX_NOUNS:
            break
    return "画面：" + ("、".join(nouns) if nouns else text[:40])


def full_prompt(sheet: StyleSheet, scene: str) -> str:
    return f"{sheet.prefix}。{scene.strip()[:MAX_SCENE_CHARS]}"


class InvalidScenes(Exception):
    """An LLM answer that is not the asked-for list of descriptions (the reason, in Chinese)."""


class Completer(Protocol):
    def complete(self, messages: list[dict[str, str]], **options: Any) -> tuple[str, str]: ...


SYSTEM = ("你为小说推文视频写配图提示词。每个片段写一句中文画面描述：人物、动作、场景、光线，"
          "不写台词和文字，不超过 80 字。只输出 JSON：{\"prompts\": [\"…\", …]}，"
          "数量与片段数相同、顺序相同。")


def llm_scenes(llm: Completer, beats: list[Beat], sheet: StyleSheet, seed: int) -> list[str]:
    """One description per beat from the LLM; one repair round, then BackendError."""
    listing = "\n".join(f"{i + 1}. {b.text}" for i, b in enumerate(beats))
    user = (f"统一画风：{sheet.style}\n人物设定：{sheet.characters}\n"
            f"共 {len(beats)} 个片段：\n{listing}")
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]
    answer, note = llm.complete(messages, temperature=0.7, seed=seed)
    try:
        return parse_scenes(answer, len(beats))
    except InvalidScenes as exc:
        reason = f"{exc}{note}"
    log.info("image prompts invalid (%s); asking the model to repair them once", reason)
    messages += [{"role": "assistant", "content": answer},
                 {"role": "user", "content": f"回答不符合要求：{reason}。请只输出 JSON："
                                             f"{{\"prompts\": [...]}}，正好 {len(beats)} 条。"}]
    answer, note = llm.complete(messages, temperature=0.7, seed=seed)
    try:
        return parse_scenes(answer, len(beats))
    except InvalidScenes as exc:
        raise BackendError(f"大模型给出的配图提示词无效（已重试一次）：{exc}{note}；可换一个更强的"
                           "模型（WORKBENCH_LLM_MODEL）") from None


def parse_scenes(answer: str, count: int) -> list[str]:
    """`{"prompts": [count non-empty strings]}`; else InvalidScenes saying what is wrong."""
    text = answer.strip()
    if text.startswith("```"):
        text = text.strip("`").removeprefix("json").strip()
    try:
        data = json.loads(text)
    except ValueError:
        raise InvalidScenes("不是 JSON") from None
    prompts = data.get("prompts") if isinstance(data, dict) else None
    if not isinstance(prompts, list):
        raise InvalidScenes("没有 prompts 列表")
    if len(prompts) != count:
        raise InvalidScenes(f"prompts 有 {len(prompts)} 条，应为 {count} 条")
    if not all(isinstance(p, str) and p.strip() for p in prompts):
        raise InvalidScenes("prompts 里有空的或不是文字的条目")
    return [p.strip()[:MAX_SCENE_CHARS] for p in prompts]


def beat_prompts(beats: list[Beat], sheet: StyleSheet, llm: Completer | None,
                 seed: int) -> list[str]:
    scenes = (llm_scenes(llm, beats, sheet, seed) if llm is not None
              else [rules_scene(b.text) for b in beats])
    return [full_prompt(sheet, s) for s in scenes]

