"""`workbench batch FOLDER`: a prompt folder rendered as a batch."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from workbench.cli.common import (
    app,
    current_settings,
    err,
    open_store,
    out,
)


@app.command("batch")
def batch_cmd(
    folder: Annotated[Path, typer.Argument(help="提示词文件夹：每个 *.md / *.yaml 是一个简报，"
                                                "_defaults.yaml 是共用默认值")],
    workers: Annotated[int | None, typer.Option(help="同时渲染的任务数（默认 CPU 核数的一半）")]
    = None,
    executor: Annotated[str, typer.Option(help="local（本机进程池）| ray（Ray 集群）")] = "local",
    ray_address: Annotated[str | None, typer.Option(
        help="Ray 集群地址：auto 或 ray://主机:10001；不写则为本次运行启动本机 Ray")] = None,
    transfer: Annotated[str | None, typer.Option(
        help="文件如何回到主控：shared（共享存储路径）| bytes（随任务传输）；"
             "默认 local 用 shared，ray 用 bytes")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="只检查简报并列出计划，不生成")]
    = False,
    force: Annotated[bool, typer.Option("--force", help="已有成品也重新生成")] = False,
) -> None:
    """批量生成：检查整个文件夹的简报，展开变体，并行渲染，写出报告（CSV + HTML）。"""
    import os

    from workbench.batch import load_plan, run_batch
    from workbench.batch.display import RichDisplay
    from workbench.batch.runner import survey
    from workbench.batch.summary import done_keys, plan_summary, plan_table, result_lines
    from workbench.platform.history import cli_actor

    if executor not in ("local", "ray"):
        raise typer.BadParameter(f"--executor 只能是 local 或 ray（收到 {executor}）")
    if transfer not in (None, "shared", "bytes"):
        raise typer.BadParameter(f"--transfer 只能是 shared 或 bytes（收到 {transfer}）")
    workers = workers or max(1, (os.cpu_count() or 2) // 2)
    settings = current_settings()
    db = open_store(settings)
    plan = load_plan(folder, settings, db, import_materials=not dry_run)
    surveyed = survey(plan, settings, db, force=force)  # planned and verified once per run
    done = done_keys(surveyed)
    out.print(plan_table(plan, done))
    for note in plan.notes:
        err.print(f"注意: {note}", style="yellow")
    out.print(plan_summary(plan, done, settings, db, workers))
    if dry_run:
        return
    result = run_batch(plan, settings, db, executor=executor, workers=workers,
                       ray_address=ray_address, transfer=transfer, display=RichDisplay(err),
                       force=force, surveyed=surveyed, actor=cli_actor())
    for line in result_lines(result):
        out.print(line)
    if result.count("failed"):
        raise typer.Exit(1)
