"""`workbench drama transcribe`: where each episode's spoken lines come from (sidecar
subtitles, speech recognition, or none), and the lines themselves with --json."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from workbench.cli.common import (
    EpisodesOpt,
    MaterialOpt,
    current_settings,
    err,
    open_store,
    out,
    progress_bar,
)
from workbench.cli.drama import drama_app
from workbench.transcribe.registry import CHOICES as TRANSCRIBE_CHOICES


@drama_app.command("transcribe")
def drama_transcribe(
    material: MaterialOpt,
    episodes: EpisodesOpt = None,
    backend: Annotated[str | None, typer.Option(
        help=f"语音识别后端 {'|'.join(TRANSCRIBE_CHOICES)}（默认 transcribe.backend）")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON（每集的来源和每句台词）")]
    = False,
) -> None:
    """给没有字幕的剧集做语音识别（结果缓存），列出每集台词的来源和句数。"""
    from workbench.materials.episode_ranges import drama_episodes
    from workbench.transcribe.service import episode_lines

    settings = current_settings()
    db = open_store(settings)
    drama, rows = drama_episodes(db, material, episodes)
    results = []
    with progress_bar() as progress:
        for row in rows:
            results.append((row, episode_lines(row, settings, db, backend, progress)))
    notes: dict[str, bool] = {}  # each note once; True: no lines came of it
    for _, r in results:
        if r.note:
            notes.setdefault(r.note, r.source == "none")
    for note, warning in notes.items():
        err.print(f"注意: {note}" if warning else note, style="yellow" if warning else None)
    if as_json:
        print(json.dumps([{"episode": row["idx"], "source": r.source, "lines": r.line_dicts()}
                          for row, r in results], ensure_ascii=False, indent=2))
        return
    out.print(f"#{drama['id']} 《{drama['title']}》")
    for row, r in results:
        if r.source == "sidecar":
            where = f"字幕文件 {len(r.lines)} 句"
        elif r.source == "none":
            where = "没有台词（无字幕、未识别）"
        else:
            where = f"语音识别（{r.source.split(':', 1)[1]}）{len(r.lines)} 句" + (
                "，来自缓存" if r.cached else "")
        out.print(f"第 {row['idx']} 集 {row['filename']}: {where}")
