"""Variants → MakeJobs, and the rule that keeps a brief's variants genuinely different.

`variants: N` walks N steps through the brief's option lists (hooks, templates, voices,
backgrounds, BGMs), each list rotating on its own (templates given with weights are shared
among the variants by weight instead: ab.py); with no voices given, N > 1 variants rotate
through a default set of voices. `matrix:` makes every combination of the listed axes. In both
modes each variant gets its own seed, so the background (palette, clip, start offset) differs
from every sibling; in a matrix the rewrite's wording seed stays the same, so variants with the
same hook share one script (and its narration), computed once. When a brief asks for the
built-in music (or says nothing), each variant also gets its own built-in pad.

Platforms treat "same video, other filter / other music only" as a copy, so by default any two
variants of a brief (same chapter) must differ in at least two of: script (template, hook,
instruction; the wording seed counts only for an LLM rewrite), voice, background (footage or
seed), BGM. `min_differences` in a brief changes the number.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from workbench.batch.ab import weighted_order
from workbench.batch.briefs import AXES, Brief, Problem
from workbench.batch.validate import Checked
from workbench.config import Settings
from workbench.models import MakeJob
from workbench.render.backgrounds import GENERATED
from workbench.render.bgm import PAD_VARIANTS
from workbench.render.page import PAGE
from workbench.store.cache import content_hash

DEFAULT_MIN_DIFFERENCES = 2
ESPEAK_ROTATION = ("cmn", "cmn+f3", "cmn+m3", "cmn+f4", "cmn+m7")
EDGE_ROTATION = ("zh-CN-YunxiNeural", "zh-CN-XiaoxiaoNeural", "zh-CN-YunjianNeural",
                 "zh-CN-XiaoyiNeural", "zh-CN-YunyangNeural", "zh-CN-YunxiaNeural")
DIMENSIONS = {"script": "文案", "voice": "音色", "background": "背景", "bgm": "背景音乐"}
_REPORTED_PAIRS = 3


@dataclass(frozen=True)
class PlannedJob:
    brief: str  # the brief's file name
    variant: int  # 1-based within the brief and chapter
    label: dict[str, Any]  # what this variant is, for the plan table and the report
    job: MakeJob

    @property
    def key(self) -> str:
        return content_hash(asdict(self.job))


def _rewrite_backend(values: dict[str, Any], settings: Settings) -> str:
    name = values.get("rewrite_backend") or settings.rewrite_backend
    if name == "auto":
        return "openai" if settings.llm_configured else "rules"
    return name


def default_voices(values: dict[str, Any], settings: Settings) -> tuple[str, ...]:
    backend = values.get("voice_backend") or settings.voice_backend
    if backend == "espeak" or (backend == "auto" and "Neural" not in settings.voice):
        return ESPEAK_ROTATION
    return EDGE_ROTATION


def _short(value: str | None) -> str:
    if value in (None, GENERATED):
        return "内置"
    if value == PAGE or value.startswith(f"{PAGE}:"):
        return "阅读页" + ("（夜间）" if value.endswith(":night") else "")
    if value.startswith(f"{GENERATED}:"):
        return f"内置 {int(value.partition(':')[2]) + 1}"
    return Path(value).name if "/" in value else value


def expand(checked: Checked, material_id: int, settings: Settings
           ) -> tuple[list[PlannedJob], list[Problem]]:
    """Every job of one brief, plus the pairs of variants that are too alike."""
    brief, v = checked.brief, checked.brief.values
    base = v.get("seed", 0)
    instruction = "\n".join(x for x in (v.get("instruction", "").strip(), brief.body) if x)
    lists: dict[str, list[Any]] = {
        "hooks": v.get("hooks") or [None], "templates": checked.templates,
        "voices": v.get("voices") or [None], "backgrounds": checked.backgrounds,
        "bgms": checked.bgms,
    }
    if checked.matrix:
        axes = [a for a in AXES if a in checked.matrix]
        cells = [dict(zip(axes, combo, strict=True))
                 for combo in itertools.product(*(checked.matrix[a] for a in axes))]
        shared_wording = True
    else:
        count = v.get("variants", 1)
        if count > 1 and "voices" not in v:
            lists["voices"] = list(default_voices(v, settings))
        cells = [{} for _ in range(count)]
        shared_wording = False
    # Only the built-in music asked for (or nothing said): each variant gets its own pad, so
    # siblings differ in their music as well as their background.
    vary_bgm = (checked.bgms == [GENERATED] and "bgms" not in (checked.matrix or {})
                and checked.kind == "novel")  # a drama keeps its own sound unless told
    if checked.weights:  # A/B: the variants shared among the templates by weight
        lists["templates"] = weighted_order(checked.templates, checked.weights, len(cells))
    jobs, problems = [], []
    for chapter in checked.chapters:
        group = []
        for k, cell in enumerate(cells):
            pick = {axis: cell.get(axis, lists[axis][k % len(lists[axis])]) for axis in AXES}
            variables = dict(v.get("variables") or {})
            if pick["hooks"]:
                variables["hook_line"] = pick["hooks"]
            background = None if pick["backgrounds"] == PAGE else pick["backgrounds"]
            bgm = None if pick["bgms"] == GENERATED else pick["bgms"]
            if vary_bgm:  # the built-in music, a different pad for each sibling
                pad = (base + k) % PAD_VARIANTS
                bgm = f"{GENERATED}:{pad}" if pad else None
            job = MakeJob(
                material_id=material_id, chapter=chapter, template=pick["templates"],
                keyword=v.get("keyword", "").strip(), app=v.get("app"),
                prompt=v.get("prompt", "narration"), rewrite_backend=v.get("rewrite_backend"),
                variables=variables, instruction=instruction, seed=base + k,
                script_seed=base if shared_wording else None,
                voice_backend=v.get("voice_backend"), voice=pick["voices"], rate=v.get("rate"),
                pitch=v.get("pitch"), volume=v.get("volume"), background=background, bgm=bgm,
                bgm_volume=v.get("bgm_volume"),
                profile=v.get("profile"), encoder=v.get("encoder"), banner=v.get("banner"),
                task_id=v.get("task"), max_seconds=v.get("max_seconds"),
                draft=v.get("draft", False), subtitles=brief_subtitles(v),
                segments=checked.segments)
            label = {"chapter": "短剧" if chapter is None else chapter, "template": _short(pick["templates"]),
                     "hook": pick["hooks"] or "", "voice": pick["voices"] or "默认",
                     "background": _short(pick["backgrounds"]), "bgm": _short(bgm),
                     "seed": base + k}
            group.append(PlannedJob(brief.name, k + 1, label, job))
        problems += too_alike(group, brief, settings)
        jobs += group
    return jobs, problems


def brief_subtitles(values: dict[str, Any]) -> dict[str, Any] | None:
    """`subtitle_style: karaoke` and a `subtitles:` mapping, as the job's subtitle overrides
    (the style named on its own wins over one inside the mapping)."""
    merged = dict(values.get("subtitles") or {})
    if values.get("subtitle_style"):
        merged["style"] = values["subtitle_style"]
    return merged or None


def differences(a: MakeJob, b: MakeJob, rules: bool) -> list[str]:
    """Which of script / voice / background / bgm differ between two jobs."""
    def script(j: MakeJob) -> tuple:
        return (j.template, sorted(j.variables.items()), j.instruction, j.prompt,
                None if rules else j.wording_seed)
    keys = {
        "script": script,
        "voice": lambda j: (j.voice_backend, j.voice, j.rate, j.pitch, j.volume),
        "background": lambda j: (j.background, j.seed),
        "bgm": lambda j: j.bgm,
    }
    return [name for name, key in keys.items() if key(a) != key(b)]


def _where(chapter: Any) -> str:
    return f"第 {chapter} 章" if isinstance(chapter, int) else "同一部短剧"


def too_alike(group: list[PlannedJob], brief: Brief, settings: Settings) -> list[Problem]:
    need = brief.values.get("min_differences", DEFAULT_MIN_DIFFERENCES)
    rules = _rewrite_backend(brief.values, settings) == "rules"
    where = "matrix" if "matrix" in brief.values else (
        "variants" if "variants" in brief.values else "")
    found = []
    for a, b in itertools.combinations(group, 2):
        diff = differences(a.job, b.job, rules)
        if len(diff) < need:
            found.append((a, b, diff))
    problems = []
    for a, b, diff in found[:_REPORTED_PAIRS]:
        what = "、".join(DIMENSIONS[d] for d in diff) or "任何方面"
        problems.append(brief.problem(
            f"变体 {a.variant} 和变体 {b.variant}（{_where(a.label['chapter'])}）只在{what}上不同，"
            f"平台可能视为重复内容：每两个变体至少要在 {need} 项（文案、音色、背景、背景音乐）上不同；"
            "在 hooks / voices / bgms 里多给几个选项、减少 variants，或写 min_differences: 1",
            *((where,) if where else ())))
    if len(found) > _REPORTED_PAIRS:
        problems.append(brief.problem(f"另有 {len(found) - _REPORTED_PAIRS} 对变体同样太相似",
                                      *((where,) if where else ())))
    return problems
