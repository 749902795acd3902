"""`workbench drama highlights`: the best segments of a drama, ranked (or an LLM's story arc)."""

from __future__ import annotations

from typing import Annotated

import typer

from workbench.cli.common import (
    MaterialOpt,
    current_settings,
    err,
    new_table,
    open_store,
    out,
    progress_bar,
)
from workbench.cli.drama import drama_app


@drama_app.command("highlights")
def drama_highlights(
    material: MaterialOpt,
    episodes: Annotated[str | None, typer.Option(
        help="集数范围（按导入顺序，从 1 起），如 2、1-3、1,3-4；默认全部")] = None,
    max_seconds: Annotated[float, typer.Option(
        min=3, max=3600, help="所选片段的总长上限（秒）")] = 60.0,
    arc: Annotated[bool, typer.Option(
        "--arc", help="让大模型按剧情从台词里编排一条故事线（需要配置大模型）")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON")] = False,
) -> None:
    """给短剧片段打分排名（台词、镜头、音量）；边界只落在镜头切换或台词间隙。"""
    import json

    from workbench.drama.arc import find_arc
    from workbench.drama.facts import drama_episodes
    from workbench.drama.highlights import find_highlights
    from workbench.materials.episode_ranges import parse_episode_range
    from workbench.transcribe.service import lines_source

    settings = current_settings()
    db = open_store(settings)
    chosen = None
    if episodes is not None:
        chosen = parse_episode_range(episodes, len(drama_episodes(db, material)))
    with progress_bar() as progress:
        if arc:
            report = find_arc(db, settings, material, chosen, max_seconds=max_seconds,
                              lines_for=lines_source(settings, db), progress=progress)
        else:
            report = find_highlights(db, material, chosen, max_seconds=max_seconds,
                                     lines_for=lines_source(settings, db), progress=progress)
    for note in report.notes:
        err.print(f"注意: {note}", style="yellow")
    if as_json:
        out.print(json.dumps([h.to_dict() for h in report.highlights], ensure_ascii=False,
                             indent=2))
        return
    if not report.highlights:
        out.print("没有找到合适的片段（剧集太短，或 --max-seconds 太小）")
        return
    table = new_table("#", "集", "开始", "结束", "秒", "得分", "理由", "台词",
                      title="故事线（按剧情顺序）" if arc else "高光片段（按得分排名）",
                      keep=("#", "集", "开始", "结束", "秒", "得分"))
    for rank, h in enumerate(report.highlights, start=1):
        text = h.text if len(h.text) <= 60 else h.text[:59] + "…"
        table.add_row(str(rank), str(h.episode), f"{h.start:.2f}", f"{h.end:.2f}",
                      f"{h.seconds:.1f}", f"{h.score:.2f}", "、".join(h.reasons), text)
    out.print(table)
    total = sum(h.seconds for h in report.highlights)
    out.print(f"共 {len(report.highlights)} 段，{total:.1f} 秒")
