"""`workbench material …`: import and read novels."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from workbench.cli.common import (
    app,
    current_settings,
    new_table,
    open_store,
    out,
    short_time,
)

material_app = typer.Typer(help="素材：导入与查看小说和短剧。", no_args_is_help=True)
app.add_typer(material_app, name="material")


# materials -------------------------------------------------------------------------------
@material_app.command("add")
def material_add(
    file: Annotated[Path, typer.Argument(help="小说文件：TXT（任意常见编码）或 EPUB")],
    title: Annotated[str | None, typer.Option(help="书名（默认从文件中识别）")] = None,
) -> None:
    """导入一本小说并切分章节。"""
    from workbench.materials.library import add_material

    db = open_store(current_settings())
    notes: list[str] = []
    row, created = add_material(db, file, title=title, notes=notes)
    verb = "已导入" if created else "已存在（同一文件，未重复导入）"
    out.print(
        f"{verb}: #{row['id']} 《{row['title']}》 {row['chapter_count']} 章, "
        f"{row['chars']} 字, 编码 {row['encoding']}, 切分方式 {row['split']}"
    )
    for note in notes:
        out.print(f"注意：{note}")
    out.print(str(row["id"]))  # the id alone on the last line, for scripts


@material_app.command("add-drama")
def material_add_drama(
    paths: Annotated[list[Path], typer.Argument(
        help="剧集文件（MP4/MOV/MKV/WebM）或文件夹，可多个")],
    title: Annotated[str | None, typer.Option(help="剧名（默认从文件名识别）")] = None,
    order: Annotated[str | None, typer.Option(
        help="按顺序列出文件名，逗号分隔（默认按文件名里的集数：第12集、EP12、12.mp4）")] = None,
    skip_bad: Annotated[bool, typer.Option("--skip-bad", help="跳过无法播放的文件，导入其余的")]
    = False,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON")] = False,
) -> None:
    """导入一部短剧的剧集（逐个检查能否播放，读取同名字幕），最后一行输出素材 ID。"""
    import json

    from workbench.cli.common import err, progress_bar
    from workbench.materials.drama import add_drama, list_episodes

    db = open_store(current_settings())
    names = [n.strip() for n in order.replace("，", ",").split(",") if n.strip()] if order else None
    with progress_bar() as progress:
        result = add_drama(db, paths, title=title, order=names, skip_bad=skip_bad,
                           progress=progress)
    material, episodes = result.material, list_episodes(db, result.material["id"])
    if as_json:
        out.print(json.dumps({**material, "created": result.created, "skipped": result.skipped,
                              "episodes": [{k: v for k, v in e.items() if k != "subtitles"}
                                           for e in episodes]}, ensure_ascii=False, indent=2))
        return
    for skipped in result.skipped:
        err.print(f"已跳过 {skipped}", style="yellow")
    verb = "已导入" if result.created else "已存在（同样的剧集，未重复导入）"
    total = sum(e["duration"] for e in episodes)
    subtitled = sum(1 for e in episodes if e["subtitle_path"])
    out.print(f"{verb}: #{material['id']} 《{material['title']}》 {len(episodes)} 集，"
              f"共 {total / 60:.1f} 分钟，{subtitled} 集有字幕")
    out.print(str(material["id"]))


@material_app.command("list")
def material_list() -> None:
    """列出已导入的素材。"""
    from workbench.materials.library import list_materials

    rows = list_materials(open_store(current_settings()))
    if not rows:
        out.print("还没有素材。用 workbench material add 文件 导入。")
        return
    table = new_table("ID", "书名", "格式", "编码", "章节", "字数", "导入时间")
    for r in rows:
        table.add_row(str(r["id"]), r["title"], r["format"], r["encoding"],
                      str(r["chapter_count"]), str(r["chars"]), short_time(r["created_at"]))
    out.print(table)


@material_app.command("show")
def material_show(
    material_id: Annotated[int, typer.Argument(help="素材 ID")],
    chapter: Annotated[int | None, typer.Option(help="显示该章全文")] = None,
) -> None:
    """显示素材的章节目录，或某一章的全文。"""
    from workbench.materials.library import get_chapter, get_material, list_chapters

    db = open_store(current_settings())
    material = get_material(db, material_id)
    if chapter is not None:
        ch = get_chapter(db, material_id, chapter)
        out.print(f"{ch.title}（{ch.chars} 字）\n", style="bold")
        out.print(ch.text)
        return
    out.print(f"#{material['id']} 《{material['title']}》 编码 {material['encoding']}, "
              f"来源 {material['filename']}")
    table = new_table("章", "标题", "字数")
    for c in list_chapters(db, material_id):
        table.add_row(str(c["idx"]), c["title"], str(c["chars"]))
    out.print(table)
