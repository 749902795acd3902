"""One stage at a time: `workbench script`, `voices`, `voice`, and the `jobs` they record."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from workbench.cli.common import (
    VOICE_CHOICES,
    AppOpt,
    ChapterOpt,
    KeywordOpt,
    LimitOpt,
    MaterialOpt,
    OldBackendOpt,
    PromptOpt,
    RateOpt,
    RewriteBackendOpt,
    TemplateOpt,
    VarOpt,
    VoiceBackendOpt,
    VoiceOpt,
    app,
    backend_alias,
    current_settings,
    err,
    new_table,
    open_store,
    out,
    parse_vars,
    short_time,
)


# script ----------------------------------------------------------------------------------
@app.command("script")
def script_cmd(
    material: MaterialOpt,
    chapter: ChapterOpt,
    template: TemplateOpt,
    keyword: KeywordOpt,
    prompt: PromptOpt = "narration",
    app_name: AppOpt = None,
    rewrite_backend: RewriteBackendOpt = None,
    backend: OldBackendOpt = None,
    seed: Annotated[int, typer.Option(help="变体种子（同一种子结果相同）")] = 0,
    var: VarOpt = [],  # noqa: B006
    out_file: Annotated[Path | None, typer.Option("--out", help="写入 JSON 文件")] = None,
    task: Annotated[int | None, typer.Option(help="平台任务 ID（可选）：按任务的口令规则检查口令")]
    = None,
) -> None:
    """把一章小说写成带口令的口播脚本（JSON），并记录任务。"""
    from workbench.pipeline import ScriptJob, make_script

    backend = backend_alias(backend, rewrite_backend, "--rewrite-backend")
    settings = current_settings()
    db = open_store(settings)
    job = ScriptJob(material_id=material, chapter=chapter, template=template, keyword=keyword,
                    app=app_name, prompt=prompt, backend=backend, seed=seed,
                    variables=parse_vars(var), task_id=task)
    with err.status("生成脚本…"):
        outcome = make_script(job, settings, db)
    err.print(outcome.backend_note + ("，结果来自缓存" if outcome.script.cached else ""))
    payload = json.dumps({"job_id": outcome.job_id, **outcome.script.to_dict()},
                         ensure_ascii=False, indent=2)
    if out_file:
        from workbench.files import write_text_atomic

        write_text_atomic(out_file, payload + "\n")
        err.print(f"已写入 {out_file}（任务 #{outcome.job_id}）")
    else:
        print(payload)


# voice -----------------------------------------------------------------------------------
@app.command("voices")
def voices_cmd(
    voice_backend: Annotated[str | None, typer.Option(
        help=f"{'|'.join(VOICE_CHOICES)}（默认 auto: 能连上 edge 时含 edge 列表）")] = None,
    backend: OldBackendOpt = None,
) -> None:
    """列出可用的配音音色（离线 espeak 音色，以及能联网时 edge 的中文音色）。"""
    from workbench.voice.catalog import list_all_voices

    backend = backend_alias(backend, voice_backend, "--voice-backend") or "auto"
    listing = list_all_voices(current_settings(), backend)
    table = new_table("音色", "后端", "语言", "性别", "说明")
    for v in listing.voices:
        table.add_row(v.id, v.backend, v.locale, v.gender, v.description)
    out.print(table)
    for note in listing.notes:
        err.print(note)


@app.command("voice")
def voice_cmd(
    script: Annotated[Path, typer.Option(help="脚本 JSON（workbench script --out 的输出）")],
    out_dir: Annotated[Path, typer.Option("--out", help="输出文件夹")],
    voice: VoiceOpt = None,
    rate: RateOpt = None,
    pitch: Annotated[str | None, typer.Option(help="音调，如 -5Hz")] = None,
    volume: Annotated[str | None, typer.Option(help="音量，如 +10%")] = None,
    voice_backend: VoiceBackendOpt = None,
    backend: OldBackendOpt = None,
    pause: Annotated[float | None, typer.Option(help="段落间停顿（秒）")] = None,
    audio_format: Annotated[str, typer.Option("--format", help="音频格式 wav|m4a")] = "wav",
    max_chars: Annotated[int | None, typer.Option(help="字幕每行最多字数")] = None,
) -> None:
    """为脚本配音：写出音频、逐词时间轴 timings.json、字幕 .ass 与 .srt。"""
    from workbench.models import Script
    from workbench.pipeline import VoiceJob, make_voice

    backend = backend_alias(backend, voice_backend, "--voice-backend")
    settings = current_settings()
    db = open_store(settings)
    job = VoiceJob(script=Script.load(script), out_dir=out_dir, backend=backend, voice=voice,
                   rate=rate, pitch=pitch, volume=volume, pause=pause,
                   audio_format=audio_format, max_chars=max_chars)
    with err.status("配音中…") as status:
        outcome = make_voice(job, settings, db, lambda f, m: status.update(f"{m}（{f:.0%}）"))
    err.print(outcome.backend_note)
    for note in outcome.notes:
        err.print(f"注意: {note}", style="yellow")
    t = outcome.timing
    cache = f"，{outcome.cached} 段来自缓存" if outcome.cached else ""
    out.print(f"配音: {t.backend} {t.voice}，时长 {t.duration:.2f} 秒，{len(t.words)} 个词{cache}")
    for path in (outcome.audio_path, outcome.timings_path, outcome.ass_path, outcome.srt_path):
        out.print(f"已写入 {path}")
    out.print(f"任务 #{outcome.job_id}")


@app.command("jobs")
def jobs_cmd(limit: LimitOpt = 20) -> None:
    """最近的任务记录。"""
    from workbench.store.jobs import list_jobs

    table = new_table("ID", "类型", "状态", "素材/章", "模板", "口令", "后端", "缓存", "时间", "错误")
    for j in list_jobs(open_store(current_settings()), limit):
        table.add_row(
            str(j["id"]), j["kind"], j["status"], f"{j['material_id']}/{j['chapter']}",
            j["template_id"] or "", j["keyword"] or "", j["backend"] or "",
            "是" if j["cache_hit"] else "", short_time(j["created_at"]), (j["error"] or "")[:60],
        )
    out.print(table)
