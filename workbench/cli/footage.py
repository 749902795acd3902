"""`workbench footage …`: the studio's tagged footage and music library."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from workbench.cli.common import (
    app,
    current_settings,
    err,
    new_table,
    open_store,
    out,
    progress_bar,
)

footage_app = typer.Typer(help="素材库：带标签的背景视频和背景音乐（--background tag:解压）。",
                          no_args_is_help=True)
app.add_typer(footage_app, name="footage")
JsonOpt = Annotated[bool, typer.Option("--json", help="输出 JSON")]


@footage_app.command("add")
def footage_add(
    folder: Annotated[Path, typer.Argument(help="视频或音乐所在的文件夹（也可以是单个文件）")],
    tag: Annotated[list[str] | None, typer.Option(
        "--tag", help="标签，可重复：--tag 解压 --tag 跑酷")] = None,
    as_json: JsonOpt = False,
) -> None:
    """检查并加入素材：能播放的加入素材库并打上标签，坏文件说明原因后跳过。"""
    from workbench.footage import add_footage

    settings = current_settings()
    db = open_store(settings)
    with progress_bar() as progress:
        result = add_footage(db, folder, tag or [], settings.home / "footage" / "thumbs",
                             progress)
    if as_json:
        out.print(json.dumps({"added": [r["id"] for r in result.added],
                              "retagged": [r["id"] for r in result.retagged],
                              "refused": result.refused}, ensure_ascii=False))
        return
    for refused in result.refused:
        err.print(f"已跳过 {refused}", style="yellow")
    out.print(f"加入 {len(result.added)} 个，已在库中（补上标签）{len(result.retagged)} 个，"
              f"跳过 {len(result.refused)} 个")


@footage_app.command("list")
def footage_list(
    tag: Annotated[str | None, typer.Option(help="只看这个标签")] = None,
    kind: Annotated[str | None, typer.Option(help="video（视频）| music（音乐）")] = None,
    as_json: JsonOpt = False,
) -> None:
    """素材库：时长、尺寸、标签、用过几次。"""
    from workbench.footage import list_footage

    if kind not in (None, "video", "music"):
        raise typer.BadParameter("--kind 只能是 video 或 music")
    rows = list_footage(open_store(current_settings()), tag, kind)
    if as_json:
        out.print(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        out.print("素材库是空的：workbench footage add 文件夹 --tag 标签")
        return
    table = new_table("编号", "类型", "文件", "时长", "尺寸", "标签", "用过", keep=("编号",))
    for r in rows:
        size = f"{r['width']}×{r['height']}" if r["width"] else ""
        table.add_row(str(r["id"]), "视频" if r["kind"] == "video" else "音乐", r["filename"],
                      f"{r['duration']:.1f}s", size, "、".join(r["tags"]), str(r["uses"]))
    out.print(table)


@footage_app.command("show")
def footage_show(footage_id: Annotated[int, typer.Argument(help="素材编号")],
                 as_json: JsonOpt = False) -> None:
    """一个素材的详情，以及哪些成品包用了它的哪几秒。"""
    from workbench.footage import get_footage, uses_of

    db = open_store(current_settings())
    row, uses = get_footage(db, footage_id), uses_of(db, footage_id)
    if as_json:
        out.print(json.dumps({**row, "uses": uses}, ensure_ascii=False, indent=2))
        return
    out.print(f"#{row['id']} {row['filename']} {row['duration']:.1f}s 标签 "
              f"{'、'.join(row['tags']) or '无'}\n{row['path']}")
    for u in uses:
        out.print(f"  {u['submission_id']} {u['start']:.1f}–{u['end']:.1f}s "
                  f"{u['status'] or '已删除'} {u['publish_url'] or ''}")
