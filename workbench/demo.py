"""The end-to-end demo on the bundled sample novel (offline)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from sqlite_utils import Database

from workbench.config import PROJECT_ROOT, Settings
from workbench.files import write_text_atomic
from workbench.materials.library import add_material
from workbench.pipeline import (
    Progress,
    ScriptJob,
    ScriptOutcome,
    VoiceJob,
    VoiceOutcome,
    _no_progress,
    make_script,
    make_voice,
)

SAMPLE = PROJECT_ROOT / "assets" / "samples" / "night-ferry.gbk.txt"
DEMO_KEYWORD = "夜渡迷局"


@dataclass
class DemoResult:
    material: dict
    outcome: ScriptOutcome
    script_path: Path
    voice: VoiceOutcome


def run_demo(settings: Settings, db: Database, progress: Progress = _no_progress,
             voice_backend: str = "espeak") -> DemoResult:
    """Sample novel → script → narration + subtitles, offline by default (espeak)."""
    material, _ = add_material(db, SAMPLE)
    job = ScriptJob(material_id=material["id"], chapter=2, template="suspense",
                    keyword=DEMO_KEYWORD, backend="rules")
    outcome = make_script(job, settings, db, progress)
    path = settings.outputs_dir / "demo" / "script.json"
    write_text_atomic(path, json.dumps(outcome.script.to_dict(), ensure_ascii=False, indent=2))
    voice = make_voice(VoiceJob(script=outcome.script, out_dir=path.parent,
                                backend=voice_backend), settings, db, progress)
    return DemoResult(material=material, outcome=outcome, script_path=path, voice=voice)
