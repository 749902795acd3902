"""素材: novels (TXT/EPUB in any encoding), background footage/images and BGM uploads."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import gradio as gr

from workbench.drama.uploads import SUBTITLE_SUFFIXES, ZIP_SUFFIX, store_drama_upload
from workbench.errors import InputError
from workbench.footage import add_footage, list_footage
from workbench.materials.drama import add_drama
from workbench.materials.episodes import VIDEO_SUFFIXES
from workbench.materials.library import add_material, list_materials
from workbench.render.bgm import AUDIO_EXTS
from workbench.ui import choices
from workbench.ui.common import handler, session
from workbench.uploads import KINDS, list_uploads, store_upload

MATERIAL_HEADERS = ["编号", "书名", "类型", "格式", "编码", "章节/集", "字数", "导入时间"]
KIND_NAMES = {"novel": "小说", "drama": "短剧"}


def material_rows() -> list[list[Any]]:
    with session() as (_, db):
        return [[m["id"], m["title"], KIND_NAMES.get(m.get("kind") or "novel", m.get("kind")),
                 m["format"], m["encoding"] or "", m["chapter_count"], m["chars"],
                 (m["created_at"] or "")[:16].replace("T", " ")] for m in list_materials(db)]


def upload_rows(kind: str) -> list[list[Any]]:
    with session() as (settings, _):
        return [[p.name, f"{p.stat().st_size / 1024 / 1024:.1f} MB"]
                for p in list_uploads(settings, kind)]


def import_novel(file: str | None) -> tuple[int, list[tuple[str, Any]], str]:
    """Store the upload under WORKBENCH_HOME and import it → (material id, choices, note)."""
    if not file:
        raise InputError("没有收到文件，请重新上传")
    with session() as (settings, db):
        stored = store_upload(settings, "material", Path(file), Path(file).name)
        notes: list[str] = []
        try:
            row, created = add_material(db, stored, notes=notes)
        except Exception:  # refused (binary, empty, undecodable …): keep no copy of it
            stored.unlink(missing_ok=True)
            raise
        note = (f"已导入《{row['title']}》：{row['chapter_count']} 章，{row['chars']} 字，"
                f"编码 {row['encoding']}" if created else
                f"《{row['title']}》已在素材库中（#{row['id']}），直接使用")
        note = "；".join([note, *notes])
        return int(row["id"]), choices.materials(db), note


@handler
def upload_material(file: str | None) -> tuple[Any, str, list[list[Any]]]:
    """Import a novel (TXT in any encoding, or EPUB) → (material choice, note, library table)."""
    material_id, options, note = import_novel(file)
    return gr.Dropdown(choices=options, value=material_id), note, material_rows()


@handler
def upload_drama(files: list[str] | None, skip_bad: bool
                 ) -> tuple[Any, str, list[list[Any]]]:
    """Episodes (and their sidecar subtitles), or a zip of a folder → one drama material."""
    if not files:
        raise InputError("没有收到文件，请重新上传")
    with session() as (settings, db):
        folder = store_drama_upload(settings, [(Path(f), Path(f).name) for f in files])
        try:
            result = add_drama(db, [folder], skip_bad=bool(skip_bad))
        except InputError as exc:
            if not db["episodes"].count_where("path LIKE ?", [f"{folder}/%"]):
                shutil.rmtree(folder, ignore_errors=True)  # refused: keep no copy of it
            raise InputError(str(exc).replace("（加 --skip-bad 只导入其余的）",
                                              "（勾选「跳过坏文件」可只导入其余的）")) from None
        row = result.material
        titled = f"《{row['title']}》"
        note = (f"已导入短剧{titled}：{row['chapter_count']} 集" if result.created else
                f"短剧{titled}已在素材库中（#{row['id']}），直接使用")
        note = "；".join([note, *(f"跳过 {s}" for s in result.skipped), *result.notes])
        return gr.Dropdown(choices=choices.materials(db), value=int(row["id"])), note, \
            material_rows()


@handler
def upload_media(kind: str, files: list[str] | None) -> tuple[str, list[list[Any]]]:
    if not files:
        raise InputError("没有收到文件，请重新上传")
    with session() as (settings, _):
        stored = [store_upload(settings, kind, Path(f), Path(f).name) for f in files]
    return f"已保存 {len(stored)} 个{KINDS[kind].label}文件", upload_rows(kind)


LIBRARY_HEADERS = ["编号", "类型", "文件", "时长", "尺寸", "标签", "用过"]


def library_rows() -> tuple[list[list[Any]], list[tuple[str, str]]]:
    """The footage library's table and its thumbnails (videos)."""
    with session() as (_, db):
        rows = list_footage(db)
    table = [[r["id"], "视频" if r["kind"] == "video" else "音乐", r["filename"],
              f"{r['duration']:.1f}s", f"{r['width']}×{r['height']}" if r["width"] else "",
              "、".join(r["tags"]), r["uses"]] for r in rows]
    thumbs = [(r["thumb"], f"#{r['id']} {'、'.join(r['tags'])}") for r in rows
              if r["thumb"] and Path(r["thumb"]).is_file()]
    return table, thumbs


@handler
def add_to_library(files: list[str] | None, tags: str | None
                   ) -> tuple[str, list[list[Any]], list[tuple[str, str]]]:
    """Keep the uploads, then probe and tag them into the library (broken ones are named)."""
    if not files:
        raise InputError("没有收到文件，请重新上传")
    names = [t for t in (tags or "").replace("，", " ").replace(",", " ").split() if t]
    if not names:
        raise InputError("请先填写标签（如：解压 跑酷），创作时用标签挑选素材")
    with session() as (settings, db):
        added = retagged = 0
        refused: list[str] = []
        for f in files:
            kind = "bgm" if Path(f).suffix.lower() in AUDIO_EXTS else "background"
            try:
                stored = store_upload(settings, kind, Path(f), Path(f).name)
            except InputError as exc:  # damaged, empty, too big: named without a server path
                refused.append(f"{Path(f).name}: {str(exc).replace(str(f), '').strip('：: ')}")
                continue
            result = add_footage(db, stored, names, settings.home / "footage" / "thumbs")
            added, retagged = added + len(result.added), retagged + len(result.retagged)
            refused += result.refused
    note = f"加入素材库 {added} 个，已在库中（补上标签）{retagged} 个"
    if refused:
        note += "；跳过：" + "；".join(refused)
    return (note, *library_rows())


def build(blocks: gr.Blocks) -> None:
    with gr.Tab("素材", id="materials") as tab:
        gr.Markdown("#### 小说\nTXT（UTF-8、GBK、Big5 等任意编码，自动识别）或 EPUB；"
                    f"单个文件不超过 {KINDS['material'].max_mb} MB。")
        with gr.Row():
            novel = gr.File(label="上传小说", file_types=sorted(KINDS["material"].extensions),
                            type="filepath", height=120, elem_id="materials-upload")
            with gr.Column():
                picked = gr.Dropdown(label="刚导入的素材", choices=[], interactive=False)
                note = gr.Markdown()
        gr.Markdown("#### 短剧\n一次选中全部剧集（MP4/MOV/MKV/WebM，可带同名 SRT/ASS/VTT 字幕），"
                    "或把剧集文件夹打成 zip 上传；按文件名里的集数排序（第12集、EP12、12.mp4）。")
        with gr.Row():
            drama_files = gr.File(label="上传短剧剧集（多选或 zip）", file_count="multiple",
                                  file_types=[*VIDEO_SUFFIXES, *SUBTITLE_SUFFIXES, ZIP_SUFFIX],
                                  type="filepath", height=120, elem_id="drama-upload")
            with gr.Column():
                skip_bad = gr.Checkbox(label="跳过坏文件，只导入其余的", value=False,
                                       elem_id="drama-skip-bad")
                drama_note = gr.Markdown(elem_id="drama-note")
        library = gr.Dataframe(headers=MATERIAL_HEADERS, interactive=False, label="素材库",
                               elem_id="material-table")
        gr.Markdown("#### 背景素材与背景音乐\n背景：视频或图片（自动裁成 9:16，循环播放）；"
                    "音乐：MP3/M4A/WAV 等。上传后可在「创作」第 5 步选择。")
        with gr.Row():
            with gr.Column():
                bg_files = gr.File(label="上传背景视频/图片", file_count="multiple",
                                   file_types=sorted(KINDS["background"].extensions),
                                   type="filepath", height=120)
                bg_note = gr.Markdown()
                bg_table = gr.Dataframe(headers=["文件", "大小"], interactive=False)
            with gr.Column():
                bgm_files = gr.File(label="上传背景音乐", file_count="multiple",
                                    file_types=sorted(KINDS["bgm"].extensions), type="filepath",
                                    height=120)
                bgm_note = gr.Markdown()
                bgm_table = gr.Dataframe(headers=["文件", "大小"], interactive=False)

        gr.Markdown("#### 素材库（带标签）\n给背景视频和音乐打上标签（如 解压、跑酷、轻快），创作和批量时"
                    "选「素材库：标签」，每个变体自动换一个片段；用过的片段会记录在哪个成品包里。")
        with gr.Row():
            with gr.Column():
                tags = gr.Textbox(label="标签（空格分隔）", placeholder="解压 跑酷",
                                  elem_id="footage-tags")
                footage_files = gr.File(label="上传到素材库（视频或音乐）", file_count="multiple",
                                        file_types=sorted(KINDS["background"].extensions
                                                          | KINDS["bgm"].extensions),
                                        type="filepath", height=120, elem_id="footage-upload")
                footage_note = gr.Markdown(elem_id="footage-note")
            footage_gallery = gr.Gallery(label="缩略图", columns=4, height=240,
                                         elem_id="footage-gallery")
        footage_table = gr.Dataframe(headers=LIBRARY_HEADERS, interactive=False,
                                     label="素材库", elem_id="footage-table")

    footage_files.upload(add_to_library, [footage_files, tags],
                         [footage_note, footage_table, footage_gallery],
                         api_name="add_to_library")
    novel.upload(upload_material, [novel], [picked, note, library], api_name="upload_material")
    drama_files.upload(upload_drama, [drama_files, skip_bad], [picked, drama_note, library],
                       api_name="upload_drama")
    bg_files.upload(handler(lambda files: upload_media("background", files)), [bg_files],
                    [bg_note, bg_table], api_name="upload_background")
    bgm_files.upload(handler(lambda files: upload_media("bgm", files)), [bgm_files],
                     [bgm_note, bgm_table], api_name="upload_bgm")
    refresh = handler(lambda: (material_rows(), upload_rows("background"), upload_rows("bgm"),
                               *library_rows()))
    for trigger in (blocks.load, tab.select):  # tab.select: what 创作 imported shows up here
        trigger(refresh, None, [library, bg_table, bgm_table, footage_table, footage_gallery],
                api_visibility="private")
