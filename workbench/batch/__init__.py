"""Batch rendering from prompt folders: briefs → validated plan → jobs run by a local process
pool or Ray → packages, rows and a report. See README "Batch rendering"."""

from workbench.batch.briefs import BriefErrors, Problem
from workbench.batch.plan import BatchPlan, load_plan
from workbench.batch.runner import BatchResult, run_batch

__all__ = ["BatchPlan", "BatchResult", "BriefErrors", "Problem", "load_plan", "run_batch"]
