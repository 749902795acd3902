"""The lab's earnings as a picture: a bar per template (earnings per video) with its bootstrap
interval as an error bar, and the same figures as a table, in one self-contained HTML page
(inline SVG, no network; on a machine with no Chinese font it falls back to the
bundled one, as the batch report does), written atomically.

Positions are computed from the Decimal amounts as floats (pixels only); every number shown
is the row's own Decimal text.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from jinja2 import Environment, select_autoescape
from markupsafe import Markup

from workbench.errors import InputError
from workbench.files import write_text_atomic
from workbench.fonts import default_font_file
from workbench.lab.earnings import template_name

BAR_HEIGHT = 22
GAP = 14
LABEL_WIDTH = 220
PLOT_WIDTH = 420
MARGIN = 12
MAX_BARS = 200  # rows drawn; the table below lists them all

_SVG = """<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{{ width }}"
 height="{{ height }}" viewBox="0 0 {{ width }} {{ height }}" font-size="13"
 font-family="system-ui,'PingFang SC','Microsoft YaHei','Noto Sans CJK SC','WB Noto Sans SC',sans-serif">
<title>每条视频收益（元）与 95% 区间</title>
{% for b in bars %}
<g class="{{ 'small' if b.small else 'bar' }}">
<text x="{{ label_right }}" y="{{ b.mid + 4 }}" text-anchor="end">{{ b.name }}（{{ b.videos }} 条）</text>
<rect x="{{ left }}" y="{{ b.top }}" width="{{ b.width }}" height="{{ bar }}"
 fill="{{ '#c9c9c9' if b.small else '#4e79a7' }}"><title>{{ b.tip }}</title></rect>
{% if b.has_range %}<line x1="{{ b.low }}" x2="{{ b.high }}" y1="{{ b.mid }}" y2="{{ b.mid }}"
 stroke="#222" stroke-width="1.5"/>
<line x1="{{ b.low }}" x2="{{ b.low }}" y1="{{ b.mid - 6 }}" y2="{{ b.mid + 6 }}" stroke="#222"/>
<line x1="{{ b.high }}" x2="{{ b.high }}" y1="{{ b.mid - 6 }}" y2="{{ b.mid + 6 }}" stroke="#222"/>
{% endif %}<text x="{{ b.text_x }}" y="{{ b.mid + 4 }}">{{ b.value }}{% if b.small %} 样本太少{% endif %}</text>
</g>{% endfor %}
<line x1="{{ left }}" x2="{{ left }}" y1="0" y2="{{ height }}" stroke="#888"/>
</svg>"""

_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{{ title }}</title>
<style>@font-face{font-family:"WB Noto Sans SC";src:local("Noto Sans SC"),url("{{ font_url }}")}
body{font-family:system-ui,"PingFang SC","Microsoft YaHei","Noto Sans CJK SC","WB Noto Sans SC",
sans-serif;
margin:24px;color:#222}table{border-collapse:collapse}td,th{border:1px solid #ddd;
padding:5px 8px;font-size:14px;text-align:right}th{background:#f4f4f4;white-space:nowrap}td.name{text-align:left}
tr.small{color:#888}</style>
<script>/* text laid out before the fallback font arrived: lay it out again */
document.fonts.load('1em "WB Noto Sans SC"',"中").then(()=>{const b=document.body;
b.style.display="none";b.offsetHeight;b.style.display=""});</script></head><body>
<h1>{{ title }}</h1>{% if filters %}<p>筛选：{{ filters }}</p>{% endif %}
{{ chart }}
{{ table }}
<p><small>{{ note }}</small></p></body></html>
"""

_TABLE = """<table><tr><th>排名</th><th>模板</th><th>视频</th><th>有回传</th><th>播放</th>
<th>互动率（95% 区间）</th><th>转化率（95% 区间）</th><th>收益（元）</th>
<th>每条视频（元，95% 区间）</th></tr>
{% for r in rows %}<tr class="{{ 'small' if r.small_sample else '' }}"><td>{{ r.rank }}</td>
<td class="name">{{ r.name }}{% if r.small_sample %}（样本太少）{% endif %}</td>
<td>{{ r.videos }}</td><td>{{ r.tracked }}</td><td>{{ r.views }}</td>
<td>{{ r.interaction }}</td><td>{{ r.conversion }}</td><td>{{ r.earnings }}</td>
<td>{{ r.per_video }}</td></tr>{% endfor %}</table>"""

NOTE = ("收益按 workbench settle --by submission 逐条视频计；每条视频收益的区间为自助法"
        "（视频有放回重抽 2000 次，固定种子）的 95% 区间，互动率、转化率为 Wilson 95% 区间"
        "（以播放为分母）。视频数少于门槛的模板标为“样本太少”，排在其余模板之后。")

_ENV = Environment(autoescape=select_autoescape(default=True))
_SVG_T, _PAGE_T, _TABLE_T = (_ENV.from_string(t) for t in (_SVG, _PAGE, _TABLE))


def percent_range(rate: dict[str, Any]) -> str:
    """"4.25%（3.67–4.92%）", or "—" when the rate is not a proportion."""
    if rate["rate"] is None:
        return "—"
    return f"{rate['rate'] * 100:.2f}%（{rate['low'] * 100:.2f}–{rate['high'] * 100:.2f}%）"


def money_range(row: dict[str, Any]) -> str:
    """"42.50（30.00–55.00）", or "无法计算"."""
    if row["earnings_per_video"] is None:
        return "无法计算"
    return (f"{row['earnings_per_video']}（{row['earnings_per_video_low']}–"
            f"{row['earnings_per_video_high']}）")


def svg_chart(rows: list[dict[str, Any]]) -> Markup:
    """Bars of earnings per video with their intervals, in rank order (grey: 样本太少)."""
    drawn = [r for r in rows if r["earnings_per_video"] is not None][:MAX_BARS]
    top = max([Decimal(r["earnings_per_video_high"]) for r in drawn] + [Decimal(1)])
    left = LABEL_WIDTH + MARGIN

    def x(value: str) -> float:
        share = max(Decimal(value), Decimal(0)) / top
        return round(left + float(share) * PLOT_WIDTH, 1)

    bars = []
    for i, row in enumerate(drawn):
        y = MARGIN + i * (BAR_HEIGHT + GAP)
        high = x(row["earnings_per_video_high"])
        bars.append({
            "name": template_name(row), "videos": row["videos"], "small": row["small_sample"],
            "top": y, "mid": y + BAR_HEIGHT / 2, "width": x(row["earnings_per_video"]) - left,
            "low": x(row["earnings_per_video_low"]), "high": high,
            "has_range": row["earnings_per_video_low"] != row["earnings_per_video_high"],
            "text_x": high + 6, "value": money_range(row),
            "tip": f"{template_name(row)}：{money_range(row)}"})
    height = MARGIN * 2 + max(1, len(bars)) * (BAR_HEIGHT + GAP)
    return Markup(_SVG_T.render(bars=bars, width=left + PLOT_WIDTH + 200, height=height,
                                left=left, label_right=LABEL_WIDTH, bar=BAR_HEIGHT))


def html_table(rows: list[dict[str, Any]]) -> Markup:
    shown = [{**r, "name": template_name(r), "interaction": percent_range(r["interaction_rate"]),
              "conversion": percent_range(r["conversion_rate"]),
              "earnings": r["earnings"] if r["earnings"] is not None else "无法计算",
              "per_video": money_range(r)} for r in rows]
    return Markup(_TABLE_T.render(rows=shown))


def write_html(rows: list[dict[str, Any]], path: Path, *, title: str, filters: str = ""
               ) -> Path:
    """The chart and the table as one HTML file (written to a temporary name, then renamed)."""
    page = _PAGE_T.render(title=title, filters=filters, chart=svg_chart(rows),
                          table=html_table(rows), note=NOTE,
                          font_url=default_font_file().as_uri())
    try:
        write_text_atomic(Path(path), page)
    except OSError as exc:
        raise InputError(f"无法写入 HTML 文件 {path}：{exc.strerror}（换一个可写的路径）") from None
    return Path(path)
