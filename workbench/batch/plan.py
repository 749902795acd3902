"""A prompt folder → a validated batch plan: every job, which are already done, an estimate.

`load_plan` raises BriefErrors listing every problem of every file before anything runs.
With `import_materials=False` (dry run) it writes nothing at all.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from pathlib import Path

from sqlite_utils import Database

from workbench.batch.briefs import DEFAULTS_FILE, BriefErrors, Problem, read_folder
from workbench.batch.drama_brief import drama_material_id, is_drama_path
from workbench.batch.expand import PlannedJob, expand
from workbench.batch.validate import Memo, PathRefused, allowed_roots, check_brief, confine
from workbench.config import Settings
from workbench.materials.library import add_material
from workbench.models import MakeJob
from workbench.store.cache import content_hash

DEFAULT_OUTPUT = "output"
# Seconds per job when there is no history yet (2-core machine, one worker).
DEFAULT_SECONDS = {"draft": 20.0, "final": 90.0}


@dataclass
class BatchPlan:
    folder: Path  # resolved
    output_dir: Path
    jobs: list[PlannedJob]
    notes: list[str] = field(default_factory=list)  # e.g. identical jobs merged

    @property
    def batch_id(self) -> str:
        """The same folder with the same jobs is the same batch (a rerun resumes it)."""
        return content_hash(str(self.folder), sorted(j.key for j in self.jobs))[:12]


MAX_BATCH_JOBS = 10_000  # jobs one folder may plan (~1 s to expand; days to render)


def load_plan(folder: Path, settings: Settings, db: Database, *, import_materials: bool
              ) -> BatchPlan:
    defaults, briefs, problems = read_folder(folder)
    resolved = folder.resolve()
    output_dir = resolved / DEFAULT_OUTPUT
    if defaults is not None and "output" in defaults.values:
        try:
            output_dir = confine(defaults.values["output"], resolved,
                                 allowed_roots(resolved, settings))
        except PathRefused as exc:
            problems.append(Problem(defaults.name, defaults.line("output"), str(exc)))
    memo = Memo()
    checked = [c for b in briefs
               if (c := check_brief(b, resolved, settings, db, memo, problems)) is not None]
    total = 0
    for item in checked:  # the folder's size, before anything is expanded
        total += item.job_count
        if total > MAX_BATCH_JOBS:
            variants = item.job_count // max(len(item.chapters), 1)
            this = f"这份简报会生成 {item.job_count:,} 个视频（{len(item.chapters):,} 章 × {variants} 个变体）"
            if item.job_count < total:
                this += f"，连同前面的简报共 {total:,} 个"
            problems.append(item.brief.problem(
                f"{this}，一次最多 {MAX_BATCH_JOBS:,} 个：减少章节或变体，或分几个文件夹运行",
                "chapters"))
            checked = []
            break
    jobs: list[PlannedJob] = []
    for item in checked:
        material_id = item.material if isinstance(item.material, int) else 0
        more, alike = expand(item, material_id, settings)
        problems += alike
        jobs += more
    if problems:
        raise BriefErrors(problems)
    ids: dict[Path, int] = {}
    for item in checked:
        if isinstance(item.material, Path) and item.material not in ids:
            ids[item.material] = _material_id(db, item.material, import_materials)
    final: list[PlannedJob] = []
    for item in checked:
        if isinstance(item.material, Path):
            mid = ids[item.material]
            final += [PlannedJob(j.brief, j.variant, j.label, _with_material(j, mid))
                      for j in jobs if j.brief == item.brief.name]
        else:
            final += [j for j in jobs if j.brief == item.brief.name]
    unique, notes = _dedupe(final)
    return BatchPlan(folder=resolved, output_dir=output_dir, jobs=unique, notes=notes)


def _with_material(planned: PlannedJob, material_id: int) -> MakeJob:
    return replace(planned.job, material_id=material_id)


def _material_id(db: Database, path: Path, import_materials: bool) -> int:
    """The material's id, importing the file when asked; 0 when not imported (dry run)."""
    if is_drama_path(path):
        return drama_material_id(db, path, import_materials)
    if import_materials:
        row, _ = add_material(db, path)
        return int(row["id"])
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    rows = list(db["materials"].rows_where("sha256 = ?", [sha], select="id", limit=1))
    return int(rows[0]["id"]) if rows else 0


def _dedupe(jobs: list[PlannedJob]) -> tuple[list[PlannedJob], list[str]]:
    seen: dict[str, PlannedJob] = {}
    notes = []
    for job in jobs:
        first = seen.get(job.key)
        if first is None:
            seen[job.key] = job
        else:
            notes.append(f"{job.brief} 变体 {job.variant} 与 {first.brief} 变体 {first.variant} "
                         "完全相同，只做一次")
    return list(seen.values()), notes


__all__ = ["DEFAULTS_FILE", "BatchPlan", "BriefErrors", "load_plan"]
