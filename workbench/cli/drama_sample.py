"""`workbench drama sample`: write the sample drama 《夜渡》 (made offline by the project itself,
cached after the first run) into a folder and print that folder on the last line, so
`workbench material add-drama "$(workbench drama sample | tail -1)"` imports it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from workbench.cli.common import current_settings, out, progress_bar
from workbench.cli.drama import drama_app


@drama_app.command("sample")
def drama_sample(
    out_dir: Annotated[Path | None, typer.Option(
        "--out", help="写到这个文件夹（默认 WORKBENCH_HOME/samples/夜渡）")] = None,
) -> None:
    """生成示例短剧《夜渡》（3 集，离线配音，带 SRT 和烧录字幕），最后一行输出文件夹。"""
    from workbench.materials.sample_drama import default_sample_dir, generate_sample_drama

    settings = current_settings()
    folder = out_dir if out_dir is not None else default_sample_dir(settings)
    with progress_bar() as progress:
        episodes = generate_sample_drama(folder, settings, progress)
    for episode in episodes:
        out.print(f"{episode.name}（字幕 {episode.with_suffix('.srt').name}）")
    out.print(str(folder.expanduser().absolute()))
