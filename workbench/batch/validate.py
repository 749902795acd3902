"""What a brief refers to: material and chapters, templates, prompt, voices, footage, BGM, paths,
and its keyword and task (the gate `workbench make` runs, reported with the brief's file and line).

Nothing here writes anything: a material named by path is parsed but not imported (the runner
imports it once the whole folder is valid), so a folder with mistakes leaves the store as it was.
Paths may point only inside the prompt folder, WORKBENCH_HOME and the project's `assets/`;
symlinks are followed before that check, so a link out of the folder is refused too.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from workbench.batch.ab import unused_templates
from workbench.batch.briefs import MAX_VARIANTS, Brief, Problem
from workbench.batch.drama_brief import (
    DRAMA_DEFAULT_TEMPLATE,
    NOVEL_DEFAULT_TEMPLATE,
    check_drama,
    check_novel,
    episode_count,
    is_drama_path,
)
from workbench.config import KEY_FILE, PROJECT_ROOT, Settings
from workbench.errors import WorkbenchError
from workbench.footage import is_tag, pick
from workbench.images.service import story_images_backend
from workbench.materials.library import get_material
from workbench.materials.novel import parse_novel, read_file_bytes
from workbench.platform.gate import (
    check_keyword,
    needless_draft,
    task_conflicts,
    task_keyword,
)
from workbench.platform.tasks import get_task
from workbench.render.backgrounds import GENERATED, STORY_IMAGES, check_background
from workbench.render.bgm import NONE, check_bgm_file, generated_variant
from workbench.render.page import PAGE, is_page_spec, parse_theme
from workbench.rewrite.prompts import get_prompt
from workbench.script.templates import ScriptTemplate, get_template, load_template
from workbench.voice.registry import plan_voice

ASSETS = PROJECT_ROOT / "assets"
MAX_BRIEF_CHAPTERS = 10_000  # chapters one brief may name (a range "1-3000000" is refused)


class PathRefused(WorkbenchError):
    pass


PRIVATE_DIR = KEY_FILE.parts[0]  # WORKBENCH_HOME/secrets
PRIVATE_PREFIX = "workbench.db"  # the database and its -wal / -shm files


def allowed_roots(folder: Path, settings: Settings) -> list[Path]:
    return [folder.resolve(), settings.home.resolve(), ASSETS.resolve()]


def confine(raw: str, folder: Path, roots: list[Path]) -> Path:
    """`raw` (relative to the folder, or absolute) resolved through symlinks; refused unless it
    lies inside one of `roots`."""
    path = Path(raw).expanduser()
    resolved = (path if path.is_absolute() else folder / path).resolve()
    if not any(resolved.is_relative_to(root) for root in roots):
        raise PathRefused(f"路径 {raw} 指向允许范围之外（{resolved}）；只能使用本文件夹、"
                          "WORKBENCH_HOME 或项目 assets/ 里的文件")
    # WORKBENCH_HOME also holds the API key and the database: a brief (one uploaded in the
    # app, too) must never read them as a novel, a template or footage.
    if (any(resolved.is_relative_to(root / PRIVATE_DIR) for root in roots)
            or resolved.name.startswith(PRIVATE_PREFIX)):
        raise PathRefused(f"路径 {raw} 是 Workbench 自己的私密文件（密钥或数据库），简报不能使用")
    return resolved


@dataclass
class Checked:
    """A brief whose references all resolved: what expansion needs."""

    brief: Brief
    material: int | Path  # a material id, or a novel file / drama folder to import
    chapters: list[int | None]  # [None] for a drama (its segments say what is used)
    templates: list[str]  # template ids or absolute .j2 paths
    backgrounds: list[str]
    bgms: list[str]
    matrix: dict[str, list[str]] = field(default_factory=dict)
    kind: str = "novel"  # novel | drama
    segments: tuple[tuple[int, float, float], ...] | None = None  # a drama's; None: highlights
    weights: list[int] | None = None  # A/B: one per template, in order (batch/ab.py)

    @property
    def job_count(self) -> int:
        """How many jobs expansion will make, known before it makes them."""
        variants = (math.prod(len(options) for options in self.matrix.values()) if self.matrix
                    else self.brief.values.get("variants", 1))
        return len(self.chapters) * variants


@dataclass
class Memo:
    novels: dict[Path, int | str] = field(default_factory=dict)  # path → chapter count | error
    kinds: dict[Path, str] = field(default_factory=dict)  # path → novel | drama
    templates: dict[str, ScriptTemplate | str] = field(default_factory=dict)
    # (axis, folder, raw) → resolved value | error: every file is decoded once per folder
    media: dict[tuple[str, Path, str], tuple[str, bool]] = field(default_factory=dict)


def check_brief(brief: Brief, folder: Path, settings: Settings, db: Database, memo: Memo,
                problems: list[Problem]) -> Checked | None:
    v = brief.values
    roots = allowed_roots(folder, settings)
    before = len(problems)

    def bad(message: str, *path: Any) -> None:
        problems.append(brief.problem(message, *path))

    for key, what in (("material", "素材（小说文件、短剧文件夹的路径或素材编号）"),
                      ("keyword", "搜索口令 keyword")):
        if key not in v:
            bad(f"缺少 {key}：{what}（可以写在本文件或 _defaults.yaml 里）")
    if "matrix" in v and "variants" in v:
        bad("variants 和 matrix 只能写一个：variants: N 自动组合，matrix 列出要组合的选项",
            "matrix")

    material, chapter_count = _check_material(brief, folder, roots, db, memo, bad)
    kind = _kind(material, db, memo)
    segments = None
    if kind == "drama":
        segments = check_drama(brief, material, db, bad)
    elif kind == "novel":
        check_novel(brief, bad)
    chapters = _chapters(v.get("chapters")) if kind != "drama" else []
    count = chapters.stop - chapters.start if isinstance(chapters, range) else len(chapters)
    if count > MAX_BRIEF_CHAPTERS:  # a range is counted before it is listed
        said = f" {count:,} 章" if count < 10**12 else "太多章"
        bad(f"chapters 有{said}，一份简报最多 {MAX_BRIEF_CHAPTERS:,} 章："
            "缩小范围，或拆成几个文件", "chapters")
        chapters = range(0)
    missing = [c for c in chapters
               if c < 1 or (chapter_count is not None and c > chapter_count)]
    if missing:  # one problem for them all: "1-3000000" is not 3 million lines
        known = f"这本小说共 {chapter_count} 章" if chapter_count is not None else "章节从 1 开始"
        bad(f"没有第 {_listed(missing)} 章：{known}", "chapters")
    matrix = dict(v.get("matrix") or {})
    for axis in matrix:
        if axis in v:
            bad(f"{axis} 同时写在 matrix 里和顶层，只写一处", "matrix", axis)
    cells = math.prod(len(options) for options in matrix.values())
    if cells > MAX_VARIANTS:  # the cap `variants:` has, before anything is expanded
        sizes = " × ".join(str(len(options)) for options in matrix.values())
        bad(f"matrix 会组合出 {cells} 个变体（{sizes}），每章最多 {MAX_VARIANTS} 个："
            "减少各轴的选项，或拆成几个文件", "matrix")

    templates = _check_templates(brief, folder, roots, settings, memo, bad, matrix, kind)
    weights = _check_weights(brief, matrix, bad)
    _check_prompt(brief, settings, bad)
    _check_voices(brief, settings, bad, matrix)
    backgrounds = _check_media(brief, "backgrounds", folder, roots, bad, matrix,
                               lambda raw, f, r: _library(db, raw, "video") or _background(raw, f, r),
                               memo)
    bgms = _check_media(brief, "bgms", folder, roots, bad, matrix,
                        lambda raw, f, r: _library(db, raw, "music") or _bgm(raw, f, r), memo)
    if STORY_IMAGES in backgrounds:
        try:
            story_images_backend(settings)
        except WorkbenchError as exc:
            bad(str(exc), "backgrounds")
    if "banner" in v:
        leftover = re.sub(r"\{(app|keyword)\}", "", v["banner"])
        if "{" in leftover or "}" in leftover:
            bad("banner 里只能用 {app} 和 {keyword} 两个占位符", "banner")
    _check_keyword_and_task(brief, settings, db, bad)
    if len(problems) > before:
        return None
    return Checked(brief, material, [None] if kind == "drama" else list(chapters), templates,
                   backgrounds, bgms, {axis: list(opts) for axis, opts in matrix.items()},
                   kind, segments, weights)


def _kind(material: int | Path, db: Database, memo: Memo) -> str | None:
    """novel | drama; None when the material is not usable (its problem is reported)."""
    if isinstance(material, Path):
        return memo.kinds.get(material)
    if material and (rows := list(db["materials"].rows_where("id = ?", [material],
                                                             select="kind", limit=1))):
        return rows[0]["kind"] or "novel"
    return None


def _check_keyword_and_task(brief: Brief, settings: Settings, db: Database, bad) -> None:
    """The keyword obeys the base rules (and its task's); with `task:`, the task is open, the
    keyword is usable for it (approved, or pending with `draft: true`) and no value contradicts
    the task. Nothing is written: a dry run reports it all."""
    v = brief.values
    task = None
    if "task" in v:
        try:
            task = get_task(db, v["task"])
        except WorkbenchError as exc:
            bad(str(exc), "task")
    elif v.get("draft"):
        bad("draft: true 只用于任务的口令还在审核中的时候：请同时写 task", "draft")
    if "keyword" not in v:
        return
    try:
        keyword = check_keyword(v["keyword"], settings, task)
    except WorkbenchError as exc:
        bad(str(exc), "keyword")
        return
    if task is None:
        return
    try:
        usable = task_keyword(db, task["id"], keyword, draft=bool(v.get("draft")),
                              draft_flag="写 draft: true")
        if v.get("draft") and usable.keyword["status"] == "approved":
            bad(needless_draft(keyword, "draft: true"), "draft")
    except WorkbenchError as exc:
        bad(str(exc), "keyword")
    for name, message in task_conflicts(task, banner=v.get("banner"), app=v.get("app"),
                                        max_seconds=v.get("max_seconds")):
        bad(message, name)


def _chapters(raw: Any) -> Sequence[int]:
    if isinstance(raw, int):
        return [raw]
    if isinstance(raw, list):
        return list(dict.fromkeys(raw))
    if isinstance(raw, str):  # a range, not listed: its length is checked first
        # a number longer than 12 digits is far past any cap (and int() of 5000 digits raises)
        lo, hi = sorted(int(x) if len(x.strip()) <= 12 else 10**12 for x in raw.split("-"))
        return range(lo, hi + 1)
    return []


def _listed(numbers: list[int]) -> str:
    """8 | 8、9、12 | 8–3000000 (a run) | 8、9、12、15、20 等 9 个."""
    if len(numbers) > 2 and numbers == list(range(numbers[0], numbers[-1] + 1)):
        return f"{numbers[0]}–{numbers[-1]}"
    shown = "、".join(map(str, numbers[:5]))
    return shown if len(numbers) <= 5 else f"{shown} 等 {len(numbers):,} 个"


def _check_material(brief: Brief, folder: Path, roots: list[Path], db: Database, memo: Memo,
                    bad) -> tuple[int | Path, int | None]:
    raw = brief.values.get("material")
    if raw is None:
        return 0, None
    if isinstance(raw, int):
        try:
            return raw, get_material(db, raw)["chapter_count"]
        except WorkbenchError as exc:
            bad(str(exc), "material")
            return raw, None
    try:
        path = confine(raw, folder, roots)
    except PathRefused as exc:
        bad(str(exc), "material")
        return 0, None
    if path not in memo.novels:
        memo.kinds[path] = "drama" if is_drama_path(path) else "novel"
        try:
            if memo.kinds[path] == "drama":
                memo.novels[path] = episode_count(path)
            else:
                novel = parse_novel(read_file_bytes(path), path)
                memo.novels[path] = len(novel.chapters)
        except WorkbenchError as exc:
            memo.novels[path] = str(exc)
    known = memo.novels[path]
    if isinstance(known, str):
        bad(f"素材 {raw} 无法使用：{known}", "material")
        return path, None
    return path, known


def _template(ref: str, folder: Path, roots: list[Path], settings: Settings, memo: Memo
              ) -> tuple[str, ScriptTemplate | str]:
    if ref.endswith(".j2") or "/" in ref:
        try:
            path = confine(ref, folder, roots)
        except PathRefused as exc:
            return ref, str(exc)
        key = str(path)
        if key not in memo.templates:
            try:
                memo.templates[key] = load_template(path)
            except (WorkbenchError, OSError) as exc:
                memo.templates[key] = f"模板 {ref} 无法使用：{exc}"
        return key, memo.templates[key]
    if ref not in memo.templates:
        try:
            memo.templates[ref] = get_template(ref, settings.template_dirs)
        except WorkbenchError as exc:
            memo.templates[ref] = str(exc)
    return ref, memo.templates[ref]


def _check_templates(brief: Brief, folder: Path, roots: list[Path], settings: Settings,
                     memo: Memo, bad, matrix: dict[str, list[str]], kind: str | None = None
                     ) -> list[str]:
    in_matrix = "templates" in matrix
    default = DRAMA_DEFAULT_TEMPLATE if kind == "drama" else NOVEL_DEFAULT_TEMPLATE
    refs = matrix["templates"] if in_matrix else brief.values.get("templates", [default])
    where = ("matrix", "templates") if in_matrix else ("templates",)
    resolved = []
    hooks = "hooks" in matrix or "hooks" in brief.values
    weighted = isinstance(refs, dict)  # A/B weights: a problem names the template's own line
    for i, ref in enumerate(refs):
        i = ref if weighted else i
        key, template = _template(ref, folder, roots, settings, memo)
        if isinstance(template, str):
            bad(template, *where, i)
            continue
        if kind is not None and template.kind != kind:
            bad(f"模板 {template.id} 是{'短剧' if template.kind == 'drama' else '小说'}模板，素材是"
                f"{'短剧' if kind == 'drama' else '小说'}：" + (
                    "短剧请用 cut（切片）或 narrated（解说）" if kind == "drama"
                    else "请换一个小说模板（workbench template list）"), *where, i)
            continue
        if hooks and "hook_line" not in template.variables:
            bad(f"模板 {template.id} 没有 hook_line 变量，hooks（开头钩子句）用不上；"
                "换一个模板或去掉 hooks", *where, i)
        resolved.append(key)
    if in_matrix:
        matrix["templates"] = resolved
    return resolved


def _check_weights(brief: Brief, matrix: dict[str, list[str]], bad) -> list[int] | None:
    """A/B weights (`templates: {id: weight}`), when valid; see batch/ab.py."""
    templates = brief.values.get("templates")
    if not isinstance(templates, dict) or "templates" in matrix:
        return None
    variants = (math.prod(len(options) for options in matrix.values()) if matrix
                else brief.values.get("variants", 1))
    for ref, message in unused_templates(templates, variants):
        bad(message, "templates", ref)
    return list(templates.values())


def _check_prompt(brief: Brief, settings: Settings, bad) -> None:
    if "prompt" in brief.values:
        try:
            get_prompt(brief.values["prompt"], settings.prompt_dirs)
        except WorkbenchError as exc:
            bad(str(exc), "prompt")


def _check_voices(brief: Brief, settings: Settings, bad, matrix: dict[str, list[str]]) -> None:
    v = brief.values
    in_matrix = "voices" in matrix
    voices = matrix.get("voices") or v.get("voices") or [None]
    where = ("matrix", "voices") if in_matrix else ("voices",)
    for i, voice in enumerate(voices):
        try:
            plan_voice(settings, v.get("voice_backend"), voice, v.get("rate"), v.get("pitch"),
                       v.get("volume"))
        except WorkbenchError as exc:
            if voice:
                bad(f"音色 {voice} 不可用：{exc}", *where, i)
            else:
                bad(str(exc), "voice_backend")


def _library(db: Database, raw: str, kind: str) -> str | None:
    """`tag:NAME` from the footage library: the library has such clips (each was checked when
    it was added). None for anything else."""
    if not is_tag(raw):
        return None
    pick(db, raw, 0, kind)
    return raw


def _background(raw: str, folder: Path, roots: list[Path]) -> str:
    if raw == GENERATED:
        return raw
    if is_page_spec(raw):
        parse_theme(raw)  # page:<a theme that exists>
        return raw
    if raw == STORY_IMAGES:  # its images backend is checked below, with the settings
        return raw
    path = confine(raw, folder, roots)
    check_background(path)  # exists; all its footage or images decode
    return str(path)


def _bgm(raw: str, folder: Path, roots: list[Path]) -> str:
    if raw == NONE or generated_variant(raw) is not None:  # generated, generated:N
        return raw
    return str(check_bgm_file(confine(raw, folder, roots)))  # the check `make` runs


DEFAULTS = {"backgrounds": PAGE, "bgms": GENERATED}  # what a brief that names none gets


def _check_media(brief: Brief, key: str, folder: Path, roots: list[Path], bad,
                 matrix: dict[str, list[str]], resolve, memo: Memo) -> list[str]:
    in_matrix = key in matrix
    raws = matrix[key] if in_matrix else brief.values.get(key, [DEFAULTS[key]])
    where = ("matrix", key) if in_matrix else (key,)
    out = []
    for i, raw in enumerate(raws):
        known = (key, folder, raw)
        if known not in memo.media:
            try:
                memo.media[known] = (resolve(raw, folder, roots), True)
            except WorkbenchError as exc:
                memo.media[known] = (str(exc), False)
        value, usable = memo.media[known]
        if usable:
            out.append(value)
        else:
            bad(value, *where, i)
    if in_matrix:
        matrix[key] = out
    return out
