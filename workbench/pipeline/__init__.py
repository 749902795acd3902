"""The only place that chains stages. UI, CLI and batch all call these functions, and only
differ in how they show progress (`progress(fraction, message)`)."""

from workbench.models import MakeJob
from workbench.pipeline.lifecycle import MakeOutcome, run_job
from workbench.pipeline.stages import (
    Progress,
    ScriptJob,
    ScriptOutcome,
    VoiceJob,
    VoiceOutcome,
    make_script,
    make_voice,
    no_progress,
    template_context,
)

__all__ = [
    "MakeJob", "MakeOutcome", "Progress", "ScriptJob", "ScriptOutcome", "VoiceJob",
    "VoiceOutcome", "make_script", "make_voice", "no_progress", "run_job", "template_context",
]
