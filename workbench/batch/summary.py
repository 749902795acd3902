"""What the CLI prints about a batch: the plan table, the estimate, the closing summary."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table
from sqlite_utils import Database

from workbench.batch.plan import BatchPlan
from workbench.batch.records import estimate_seconds
from workbench.batch.runner import BatchResult, Surveyed
from workbench.config import Settings


def done_keys(surveyed: list[Surveyed]) -> set[str]:
    """Jobs whose verified package already exists (they will be skipped)."""
    return {s.planned.key for s in surveyed if s.reusable is not None}


def plan_table(plan: BatchPlan, done: set[str]) -> Table:
    table = Table(title=f"批量计划：{plan.folder}")
    for column in ("简报", "变体", "章", "模板", "开头", "音色", "背景", "音乐", "状态"):
        table.add_column(column, overflow="fold", no_wrap=column in ("变体", "章", "状态"))
    for p in plan.jobs:
        label = p.label
        hook = label["hook"] if len(label["hook"]) <= 8 else label["hook"][:7] + "…"
        table.add_row(Path(p.brief).stem, str(p.variant), str(label["chapter"]),
                      label["template"], hook, label["voice"],
                      f"{label['background']}·{label['seed']}", label["bgm"],
                      "已有成品" if p.key in done else "待生成")
    return table


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} 分 {secs} 秒" if minutes else f"{secs} 秒"


def plan_summary(plan: BatchPlan, done: set[str], settings: Settings, db: Database,
                 workers: int) -> str:
    todo = [p for p in plan.jobs if p.key not in done]
    total, basis = 0.0, set()
    for p in todo:
        profile = p.job.profile or settings.render_profile
        seconds, runs = estimate_seconds(db, profile)
        total += seconds
        source = f"最近 {runs} 次的中位数" if runs else "默认估计"
        basis.add(f"{profile} 约 {seconds:.0f} 秒/个（{source}）")
    estimate = (f"，预计用时约 {_duration(total / max(1, min(workers, len(todo))))}"
                f"（{'；'.join(sorted(basis))}，{workers} 个并行）" if todo else "")
    return (f"共 {len(plan.jobs)} 个任务：{len(done)} 个已有成品（跳过），"
            f"{len(todo)} 个待生成{estimate}。输出目录：{plan.output_dir}")


def result_lines(result: BatchResult) -> list[str]:
    head = (f"批次 {result.batch_id}：完成 {result.count('done')}，复用 {result.count('cached')}，"
            f"失败 {result.count('failed')}，疑似重复 {len(result.duplicates)}")
    lines = [head]
    for row in result.rows:
        if row["status"] == "failed":
            lines.append(f"失败  {Path(row['brief']).name} #{row['variant']}：{row['error']}")
    for row in result.duplicates:
        lines.append(f"疑似重复  {Path(row['brief']).name} #{row['variant']} {row['submission_id']}"
                     f" 与 {row['duplicate_of']} 几乎相同（距离 {row['distance']}），发布前请换素材")
    lines += [f"报告: {result.report_csv}", f"报告: {result.report_html}"]
    return lines
