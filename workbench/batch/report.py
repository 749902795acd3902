"""The batch report in the folder's output directory: `report.csv` (one row per job),
`report-templates.csv` (one row per template: the A/B comparison) and `report.html` (both,
with cover thumbnails embedded, so the page can be mailed or opened anywhere; on a machine with
no Chinese font it falls back to the bundled one). All are written atomically.

The comparison counts what the batch made with each template (jobs, done, reused, failed,
render seconds, video sizes). What the videos earned comes later, once they are published and
tracked: the page then shows `workbench lab stats --batch ID` (lab/earnings.py) for them, and
always says how to ask for it.
"""

from __future__ import annotations

import base64
import csv
import io
import json
from pathlib import Path

from jinja2 import Environment, select_autoescape
from PIL import Image

from workbench.batch.plan import BatchPlan
from workbench.files import write_text_atomic
from workbench.fonts import default_font_file
from workbench.lab.earnings_chart import html_table, svg_chart

COLUMNS = ("brief", "variant", "chapter", "template", "hook", "voice", "background", "bgm",
           "seed", "recipe_hash", "status", "error", "duration", "package", "duplicate_of",
           "distance")
COMPARISON_COLUMNS = ("template", "jobs", "done", "cached", "failed", "not_run",
                      "render_seconds", "seconds_per_job", "video_bytes", "mb_per_video")
STATUS_ZH = {"done": "完成", "cached": "已有（复用）", "failed": "失败", "pending": "未运行",
             "running": "中断"}
THUMB_WIDTH = 180

_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>批量生成报告 {{ batch_id }}</title>
<style>
@font-face{font-family:"WB Noto Sans SC";src:local("Noto Sans SC"),url("{{ font_url }}")}
body{font-family:system-ui,"PingFang SC","Microsoft YaHei","Noto Sans CJK SC","WB Noto Sans SC",
sans-serif;margin:24px;color:#222}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:6px 8px;vertical-align:top;
font-size:14px}th{background:#f4f4f4}.failed{background:#fdecea}.dup{background:#fff4d6}
img{width:{{ width }}px;display:block}code{font-size:12px;font-family:ui-monospace,monospace,"WB Noto Sans SC"}
</style>
<script>/* text laid out before the fallback font arrived: lay it out again */
document.fonts.load('1em "WB Noto Sans SC"',"中").then(()=>{const b=document.body;
b.style.display="none";b.offsetHeight;b.style.display=""});</script></head><body>
<h1>批量生成报告</h1>
<p>文件夹：<code>{{ folder }}</code>　批次：<code>{{ batch_id }}</code></p>
<p>共 {{ rows|length }} 个任务：完成 {{ counts.done }}，复用 {{ counts.cached }}，
失败 {{ counts.failed }}，疑似重复 {{ counts.dup }}。</p>
<table><tr><th>封面</th><th>简报</th><th>变体</th><th>状态</th><th>用时</th><th>成品包</th></tr>
{% for r in rows %}
<tr class="{{ 'failed' if r.status == 'failed' else ('dup' if r.duplicate_of else '') }}">
<td>{% if r.thumb %}<img alt="封面" src="data:image/jpeg;base64,{{ r.thumb }}">{% endif %}</td>
<td>{{ r.brief }} #{{ r.variant }}</td>
<td>{{ r.chapter if r.chapter == '短剧' else '第 %s 章' % r.chapter }} · 模板 {{ r.template }}<br>音色 {{ r.voice }} · 背景 {{ r.background }}
（种子 {{ r.seed }}） · 音乐 {{ r.bgm }}{% if r.hook %}<br>开头：{{ r.hook }}{% endif %}</td>
<td>{{ r.status_zh }}{% if r.error %}<br><small>{{ r.error }}</small>{% endif %}
{% if r.duplicate_of %}<br><b>与 {{ r.duplicate_of }} 几乎相同（距离 {{ r.distance }}）</b>{% endif %}</td>
<td>{{ r.duration }}</td><td><code>{{ r.package }}</code></td></tr>
{% endfor %}</table>
<h2>模板对比</h2>
<table><tr><th>模板</th><th>任务</th><th>完成</th><th>复用</th><th>失败</th><th>未运行</th>
<th>渲染用时（秒）</th><th>平均每个（秒）</th><th>平均大小（MB）</th></tr>
{% for t in templates %}<tr><td>{{ t.template }}</td><td>{{ t.jobs }}</td><td>{{ t.done }}</td>
<td>{{ t.cached }}</td><td>{{ t.failed }}</td><td>{{ t.not_run }}</td><td>{{ t.render_seconds }}</td>
<td>{{ t.seconds_per_job }}</td><td>{{ t.mb_per_video }}</td></tr>{% endfor %}</table>
{% if lab_rows %}<h3>发布后的收益（本批次的视频）</h3>{{ lab_chart }}{{ lab_table }}{% endif %}
<p>发布并导入回传数据后，看哪个模板更赚钱：<code>workbench lab stats --batch {{ batch_id }} --by template</code></p>
</body></html>
"""
_TEMPLATE = Environment(autoescape=select_autoescape(default=True)).from_string(_PAGE)


def flat_rows(rows: list[dict]) -> list[dict]:
    """batch_jobs rows → report rows (the variant label spread into columns)."""
    out = []
    for row in rows:
        label = json.loads(row["label"] or "{}")
        out.append({
            "brief": Path(row["brief"]).name, "variant": row["variant"],
            **{k: label.get(k, "") for k in ("chapter", "template", "hook", "voice",
                                             "background", "bgm", "seed")},
            "recipe_hash": row["recipe_hash"], "status": row["status"],
            "error": row["error"] or "",
            "duration": "" if row["duration"] is None else f"{row['duration']:.1f}",
            "package": row["package"] or "", "duplicate_of": row["duplicate_of"] or "",
            "distance": "" if row["distance"] is None else row["distance"],
        })
    return out


def _video_bytes(row: dict) -> int | None:
    video = Path(row["package"]) / "video.mp4" if row["package"] else None
    if row["status"] not in ("done", "cached") or video is None or not video.is_file():
        return None
    return video.stat().st_size


def template_comparison(flat: list[dict]) -> list[dict]:
    """Report rows → one row per template (in the order the templates first appear)."""
    groups: dict[str, list[dict]] = {}
    for row in flat:
        groups.setdefault(str(row["template"]), []).append(row)
    out = []
    for template, rows in groups.items():
        seconds = [float(r["duration"]) for r in rows if r["status"] == "done" and r["duration"]]
        sizes = [size for r in rows if (size := _video_bytes(r)) is not None]
        counts = {s: sum(r["status"] == s for r in rows) for s in ("done", "cached", "failed")}
        out.append({
            "template": template, "jobs": len(rows), **counts,
            "not_run": len(rows) - sum(counts.values()),
            "render_seconds": f"{sum(seconds):.1f}" if seconds else "",
            "seconds_per_job": f"{sum(seconds) / len(seconds):.1f}" if seconds else "",
            "video_bytes": sum(sizes) if sizes else "",
            "mb_per_video": f"{sum(sizes) / len(sizes) / 1e6:.2f}" if sizes else ""})
    return out


def _thumbnail(package: str) -> str:
    cover = Path(package) / "cover.jpg" if package else None
    if cover is None or not cover.is_file():
        return ""
    try:
        with Image.open(cover) as img:
            img = img.convert("RGB")
            img.thumbnail((THUMB_WIDTH, THUMB_WIDTH * 2))
            buffer = io.BytesIO()
            img.save(buffer, "JPEG", quality=80)
    except OSError:
        return ""
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _csv_text(columns: tuple[str, ...], rows: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return "\ufeff" + buffer.getvalue()  # BOM: Excel opens it as UTF-8


def write_reports(plan: BatchPlan, rows: list[dict], batch_id: str,
                  lab_rows: list[dict] | None = None) -> tuple[Path, Path]:
    """The three files; `lab_rows` (lab stats of the batch's published videos, by template)
    adds their earnings to the page."""
    flat = flat_rows(rows)
    csv_path = plan.output_dir / "report.csv"
    write_text_atomic(csv_path, _csv_text(COLUMNS, flat))
    templates = template_comparison(flat)
    write_text_atomic(plan.output_dir / "report-templates.csv",
                      _csv_text(COMPARISON_COLUMNS, templates))
    shown = [{**r, "status_zh": STATUS_ZH.get(r["status"], r["status"]),
              "thumb": _thumbnail(r["package"]) if r["status"] in ("done", "cached") else ""}
             for r in flat]
    counts = {s: sum(r["status"] == s for r in flat) for s in ("done", "cached", "failed")}
    counts["dup"] = sum(bool(r["duplicate_of"]) for r in flat)
    html = _TEMPLATE.render(rows=shown, counts=counts, folder=plan.folder, batch_id=batch_id,
                            width=THUMB_WIDTH, font_url=default_font_file().as_uri(),
                            templates=templates, lab_rows=lab_rows,
                            lab_chart=svg_chart(lab_rows) if lab_rows else "",
                            lab_table=html_table(lab_rows) if lab_rows else "")
    html_path = plan.output_dir / "report.html"
    write_text_atomic(html_path, html)
    return csv_path, html_path
