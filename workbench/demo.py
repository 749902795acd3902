"""The end-to-end demo on the bundled sample novel (offline): a publish-ready package."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlite_utils import Database

from workbench.config import PROJECT_ROOT, Settings
from workbench.materials.library import add_material
from workbench.pipeline import MakeJob, MakeOutcome, Progress, no_progress, run_job

SAMPLE = PROJECT_ROOT / "assets" / "samples" / "night-ferry.gbk.txt"
DEMO_KEYWORD = "夜渡迷局"


@dataclass
class DemoResult:
    material: dict
    outcome: MakeOutcome
    seconds: float


def run_demo(settings: Settings, db: Database, progress: Progress = no_progress,
             voice_backend: str = "espeak", profile: str = "final") -> DemoResult:
    """Sample novel (GBK) → chapter 2 → suspense script (rules) → espeak voice → 1080×1920
    video with subtitles, label, banner, end card and BGM → checked submission package."""
    started = time.monotonic()
    material, _ = add_material(db, SAMPLE)
    job = MakeJob(material_id=material["id"], chapter=2, template="suspense",
                  keyword=DEMO_KEYWORD, rewrite_backend="rules", voice_backend=voice_backend,
                  profile=profile)
    outcome = run_job(job, settings, db, progress)
    return DemoResult(material=material, outcome=outcome, seconds=time.monotonic() - started)
