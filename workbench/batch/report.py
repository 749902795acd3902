"""The batch report in the folder's output directory: `report.csv` (one row per job) and
`report.html` (the same with cover thumbnails embedded, so the page can be mailed or opened
anywhere; on a machine with no Chinese font it falls back to the bundled one). Both are written atomically."""

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

COLUMNS = ("brief", "variant", "chapter", "template", "hook", "voice", "background", "bgm",
           "seed", "recipe_hash", "status", "error", "duration", "package", "duplicate_of",
           "distance")
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
{% endfor %}</table></body></html>
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


def write_reports(plan: BatchPlan, rows: list[dict], batch_id: str) -> tuple[Path, Path]:
    flat = flat_rows(rows)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(flat)
    csv_path = plan.output_dir / "report.csv"
    write_text_atomic(csv_path, "\ufeff" + buffer.getvalue())  # BOM: Excel opens it as UTF-8
    shown = [{**r, "status_zh": STATUS_ZH.get(r["status"], r["status"]),
              "thumb": _thumbnail(r["package"]) if r["status"] in ("done", "cached") else ""}
             for r in flat]
    counts = {s: sum(r["status"] == s for r in flat) for s in ("done", "cached", "failed")}
    counts["dup"] = sum(bool(r["duplicate_of"]) for r in flat)
    html = _TEMPLATE.render(rows=shown, counts=counts, folder=plan.folder, batch_id=batch_id,
                            width=THUMB_WIDTH, font_url=default_font_file().as_uri())
    html_path = plan.output_dir / "report.html"
    write_text_atomic(html_path, html)
    return csv_path, html_path
