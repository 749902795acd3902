"""The submission package: a folder the creator can publish from, plus its manifest.

`WORKBENCH_HOME/submissions/<id>/` holds video.mp4, cover.jpg, subtitles.srt, caption.txt,
manifest.json and checklist.md. The folder is assembled under a hidden staging name and renamed
into place only when every file is written, so a crash never leaves a package that looks
complete; `verify_package` re-checks every file against the sha256 in the manifest.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from workbench.compliance import ComplianceReport, describe_where
from workbench.errors import InputError
from workbench.files import atomic_output, sha256_file, write_text_atomic
from workbench.models import Script

MANIFEST = "manifest.json"
CONTENT_FILES = ("video.mp4", "cover.jpg", "subtitles.srt", "caption.txt", "checklist.md")


def hashtag_line(tags: list[str]) -> str:
    return " ".join(t if t.startswith("#") else f"#{t}" for t in tags if t.strip())


def caption_text(script: Script, banner: str) -> str:
    """What the creator pastes into the platform: title, description, hashtags, keyword line."""
    parts = [script.title.strip(), script.caption.strip(), hashtag_line(script.hashtags),
             banner.strip()]
    return "\n\n".join(p for p in parts if p) + "\n"


DRAFT_LINE = "口令未通过审核，勿发布"


def checklist_text(submission_id: str, script: Script, report: ComplianceReport,
                   draft: bool = False) -> str:
    why = (f"生成时口令「{script.keyword}」还在审核中。审核通过后去掉 --draft 重新生成，"
           "发布新的成品包；这个草稿不能回填发布。")
    draft_lines = [f"# 草稿：{DRAFT_LINE}", "", why, ""] if draft else []
    lines = [
        *draft_lines,
        f"# 发布清单 · {script.title or submission_id}",
        "",
        f"提交编号：{submission_id}　口令：{script.keyword}",
        "",
        "## 发布前",
        "- [ ] 上传 video.mp4，封面选 cover.jpg",
        "- [ ] 复制 caption.txt 作为作品描述（含口令行，不要删改口令）",
        "- [ ] 在平台发布页勾选「内容由AI生成」/ AI 生成声明（《人工智能生成合成内容标识办法》要求）",
        "- [ ] 不要裁剪、遮挡画面上的 AI 标识，不要去掉文件里的 AIGC 元数据",
        "- [ ] 确认口令仍在有效期内、发布账号与申请口令时的账号一致",
    ]
    reminders = report.warnings
    if reminders:
        lines += ["", "## 合规提醒（请人工确认）"]
        lines += [f"- [ ] {describe_where(f.where)}：{f.message}" if f.where
                  else f"- [ ] {f.message}"
                  for f in reminders]
    lines += [
        "",
        "## 发布后",
        "- [ ] 记录作品链接和发布日期（回填）：",
        f"      workbench submissions publish {submission_id} --url <作品链接>",
        "",
    ]
    return "\n".join(lines)


def _staging_path(submissions_dir: Path, submission_id: str) -> Path:
    return submissions_dir / f".staging-{submission_id}"


def staging_dir(submissions_dir: Path, submission_id: str) -> Path:
    """A fresh hidden folder to assemble a package in (left-overs of a crash are removed)."""
    path = _staging_path(submissions_dir, submission_id)
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def discard_staging(submissions_dir: Path, submission_id: str) -> None:
    """Remove a half-assembled package (after a failure, a block or a cancel)."""
    shutil.rmtree(_staging_path(submissions_dir, submission_id), ignore_errors=True)


def assemble_package(staging: Path, submission_id: str, *, script: Script, banner: str,
                     report: ComplianceReport, srt: Path, manifest: dict[str, Any],
                     draft: bool = False) -> dict[str, Any]:
    """Write caption, subtitles, checklist and the manifest (with every file's sha256) into
    `staging`; returns the manifest. Touches nothing outside `staging` (batch workers run it)."""
    for name in ("video.mp4", "cover.jpg"):
        if not (staging / name).is_file():
            raise InputError(f"打包失败：缺少 {name}（{staging}）")
    shutil.copyfile(srt, staging / "subtitles.srt")
    write_text_atomic(staging / "caption.txt", caption_text(script, banner))
    write_text_atomic(staging / "checklist.md", checklist_text(submission_id, script, report, draft))
    manifest = {**manifest, "files": {
        name: {"sha256": sha256_file(staging / name), "bytes": (staging / name).stat().st_size}
        for name in CONTENT_FILES
    }}
    write_text_atomic(staging / MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=2))
    return manifest


def install_package(staging: Path, final: Path) -> None:
    """Move an assembled package into place (one rename), replacing an older one there."""
    if final.exists():
        old = final.with_name(f".old-{final.name}-{os.getpid()}")
        os.replace(final, old)
        os.replace(staging, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(staging, final)


def package_zip(package: Path, zips: Path) -> Path:
    """The package folder as `zips/<id>.zip`, made once (a package never changes in place);
    concurrent callers each write their own temporary name."""
    out = zips / f"{package.name}.zip"
    if not out.is_file():
        with atomic_output(out, ".zip") as tmp:
            shutil.make_archive(str(tmp.with_suffix("")), "zip", root_dir=package.parent,
                                base_dir=package.name)
    return out


def verify_package(folder: Path) -> list[str]:
    """Problems with a package folder; [] when every file matches its manifest sha256."""
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        return [f"缺少 {MANIFEST}"]
    try:
        files = json.loads(manifest_path.read_text(encoding="utf-8")).get("files", {})
    except (ValueError, OSError) as exc:
        return [f"{MANIFEST} 无法读取: {exc}"]
    problems = []
    for name in CONTENT_FILES:
        entry = files.get(name)
        path = folder / name
        if not entry:
            problems.append(f"清单中没有 {name}")
        elif not path.is_file():
            problems.append(f"缺少 {name}")
        elif sha256_file(path) != entry.get("sha256"):
            problems.append(f"{name} 与清单中的 sha256 不符（文件被改动或损坏）")
    return problems
