"""`workbench make` (one video, the whole job) and `workbench demo` (the bundled sample)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from workbench.cli.common import (
    AppOpt,
    BgmVolumeOpt,
    KeywordOpt,
    MaterialOpt,
    OldBackendOpt,
    PitchOpt,
    ProfileOpt,
    PromptOpt,
    RateOpt,
    RewriteBackendOpt,
    TemplateOpt,
    VarOpt,
    VoiceBackendOpt,
    VoiceOpt,
    VolumeOpt,
    app,
    backend_alias,
    current_settings,
    open_store,
    out,
    parse_vars,
    print_outcome,
    progress_bar,
)


@app.command("make")
def make_cmd(
    material: MaterialOpt,
    template: TemplateOpt,
    keyword: KeywordOpt,
    chapter: Annotated[int | None, typer.Option(
        help="章节序号（从 1 开始；小说必填，短剧不用）")] = None,
    segments: Annotated[str | None, typer.Option(
        help="短剧片段 集数:开始秒-结束秒，逗号分隔，如 1:12.5-25.0,2:3-18（集数按导入顺序；"
             "不写就自动选高光片段）")] = None,
    fit: Annotated[str | None, typer.Option(
        help="短剧画面不是竖屏 9:16 时：blur（默认，模糊放大的画面垫底）或 crop（裁切）")] = None,
    profile: ProfileOpt = None,
    background: Annotated[str | None, typer.Option(
        help="背景：page（默认，阅读页；page:night 夜间）、generated（内置动画）、"
             "视频/图片文件或文件夹，或 images:ai（按文案逐段 AI 配图，需配置图片接口）")] = None,
    bgm: Annotated[str | None, typer.Option(help="背景音乐：generated（默认）、none 或音频文件")]
    = None,
    voice: VoiceOpt = None,
    rate: RateOpt = None,
    pitch: PitchOpt = None,
    volume: VolumeOpt = None,
    bgm_volume: BgmVolumeOpt = None,
    voice_backend: VoiceBackendOpt = None,
    rewrite_backend: RewriteBackendOpt = None,
    backend: OldBackendOpt = None,
    prompt: PromptOpt = "narration",
    app_name: AppOpt = None,
    banner: Annotated[str | None, typer.Option(help="口令横幅文字，可用 {app} {keyword}")] = None,
    encoder: Annotated[str | None, typer.Option(help="libx264（默认）| auto（先试硬件编码）")]
    = None,
    seed: Annotated[int, typer.Option(help="变体种子：背景配色/片段/起点随之变化")] = 0,
    var: VarOpt = [],  # noqa: B006
    task: Annotated[int | None, typer.Option(
        help="平台任务 ID（可选）：口令须已通过审核且未过期，画面文字、阅读平台与时长上限以任务为准")]
    = None,
    draft: Annotated[bool, typer.Option(
        "--draft", help="口令还在审核中时先生成草稿（不能发布；审核通过后去掉 --draft 重新生成）")]
    = False,
    max_seconds: Annotated[float | None, typer.Option(help="任务限定的最长时长（秒）")] = None,
    cover_at: Annotated[float | None, typer.Option(help="封面取第几秒的画面")] = None,
    force: Annotated[bool, typer.Option("--force", help="即使已有相同成品也重新生成")] = False,
    subtitle_style: Annotated[str | None, typer.Option(
        help="字幕样式：white-outline 白字黑边 | yellow-outline 黄字描边 | big-center 大字居中 | "
             "karaoke 逐词高亮")] = None,
    subtitle_size: Annotated[int | None, typer.Option(help="字幕字号（1080×1920 上的像素）")] = None,
    subtitle_color: Annotated[str | None, typer.Option(help="字幕颜色 #RRGGBB")] = None,
    subtitle_position: Annotated[str | None, typer.Option(help="字幕位置 bottom | middle | top")]
    = None,
) -> None:
    """一条龙：脚本 → 改写 → 配音 → 字幕 → 渲染 → 合规检查 → 成品包，输出成品包路径。
    小说用 --chapter；短剧用模板 cut（切片）或 narrated（解说），可用 --segments 选片段。"""
    from workbench.pipeline import MakeJob, run_job
    from workbench.pipeline.drama_bind import parse_job_segments
    from workbench.platform.history import cli_actor
    from workbench.subtitle_styles import check_overrides

    rewrite_backend = backend_alias(backend, rewrite_backend, "--rewrite-backend")
    subtitles = check_overrides({"style": subtitle_style, "size": subtitle_size,
                                 "color": subtitle_color, "position": subtitle_position},
                                "--subtitle-* 选项")
    settings = current_settings()
    db = open_store(settings)
    job = MakeJob(material_id=material, chapter=chapter, template=template, keyword=keyword,
                  app=app_name, prompt=prompt, rewrite_backend=rewrite_backend,
                  variables=parse_vars(var), seed=seed, voice_backend=voice_backend,
                  voice=voice, rate=rate, pitch=pitch, volume=volume, bgm_volume=bgm_volume,
                  background=background, bgm=bgm, profile=profile,
                  encoder=encoder, banner=banner, task_id=task, max_seconds=max_seconds,
                  cover_at=cover_at, draft=draft, subtitles=subtitles or None,
                  segments=parse_job_segments(segments), fit=fit)
    with progress_bar() as progress:
        outcome = run_job(job, settings, db, progress, force=force, actor=cli_actor())
    print_outcome(outcome)


@app.command("demo")
def demo_cmd(
    voice_backend: Annotated[str, typer.Option(help="配音后端（默认离线 espeak；edge 需联网）")]
    = "espeak",
    profile: ProfileOpt = "final",
) -> None:
    """离线演示：导入示例小说，把一章做成可发布的成品包（视频、封面、文案、清单）。"""
    from workbench.demo import run_demo

    settings = current_settings()
    db = open_store(settings)
    with progress_bar() as progress:
        result = run_demo(settings, db, progress, voice_backend=voice_backend, profile=profile)
    out.print(f"素材: #{result.material['id']} 《{result.material['title']}》"
              f" 编码 {result.material['encoding']}")
    script = json.loads((result.outcome.package / "manifest.json").read_text("utf-8"))
    out.print(f"标题: {script['title']}")
    out.print(f"用时 {result.seconds:.1f} 秒")
    print_outcome(result.outcome)
