"""Subtitle style presets (what Douyin/Kuaishou narrators use) and their overrides.

A preset is a complete look: 白字黑边 `white-outline` (the default), 黄字描边 `yellow-outline`,
大字居中 `big-center` and 逐词高亮 `karaoke` (the spoken word changes colour as it is said, from
ASS `\\kf` tags built from the voice's word timings; libass renders them). Every preset colours
the task keyword wherever it appears in a line (`keyword_highlight`, on unless turned off).

Overrides (size, colours, outline, position, margin, line length) come from four layers, merged
in one order: the job (CLI, brief, app) > the template's front matter `subtitles:` > settings >
the preset. A setting counts only when the user set it (or it differs from its declared
default), so leaving the settings alone lets a preset's own size and colours show.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pysubs2

from workbench.errors import InputError
from workbench.files import write_text_atomic
from workbench.subtitles import (
    SubtitleEvent,
    SubtitleStyle,
    _char_times,
    _colour,
    _override_colour,
    escape_ass,
    max_chars_for,
    to_ass,
)
from workbench.voice.timing import TimingMap

if TYPE_CHECKING:
    from workbench.config import Settings

DEFAULT_PRESET = "white-outline"
POSITIONS = {"bottom": 2, "middle": 5, "top": 8}  # ASS numpad alignment, centred


@dataclass(frozen=True)
class Preset:
    id: str
    label: str  # Chinese, for the app and errors
    style: SubtitleStyle
    karaoke: bool = False
    spoken_colour: str = ""  # karaoke: the colour a word takes once it is said


PRESETS: dict[str, Preset] = {p.id: p for p in (
    Preset("white-outline", "白字黑边", SubtitleStyle()),
    Preset("yellow-outline", "黄字描边", SubtitleStyle(
        primary_colour="#FFD400", outline_colour="#000000", keyword_colour="#FFFFFF",
        outline=5.0)),
    Preset("big-center", "大字居中", SubtitleStyle(
        font_size=120, outline=6.0, shadow=2.0, bold=True, alignment=5, margin_v=0)),
    Preset("karaoke", "逐词高亮", SubtitleStyle(keyword_colour="#FF4D4F"),
           karaoke=True, spoken_colour="#FFD400"),
)}
PRESET_IDS = tuple(PRESETS)

# Override keys as written in briefs, front matter and the app (English, like other fields).
KEYS: dict[str, str] = {
    "style": "预设（" + " / ".join(f"{p.id} {p.label}" for p in PRESETS.values()) + "）",
    "size": "字号（1080×1920 画面上的像素，12–400）",
    "color": "文字颜色 #RRGGBB",
    "outline_color": "描边颜色 #RRGGBB",
    "outline": "描边粗细（0–20）",
    "position": "位置 bottom / middle / top",
    "margin": "离画面上/下边的距离（像素，0–1900）",
    "max_chars": "每行最多字数（2–100）",
    "keyword_highlight": "口令高亮 true / false",
    "highlight_color": "口令高亮颜色 #RRGGBB",
    "spoken_color": "逐词高亮：念到的字变成的颜色 #RRGGBB",
}
_COLOURS = ("color", "outline_color", "highlight_color", "spoken_color")
# settings field → override key
_SETTINGS = {"subtitle_style": "style", "subtitle_font_size": "size",
             "subtitle_color": "color", "subtitle_outline_color": "outline_color",
             "subtitle_outline": "outline", "subtitle_position": "position",
             "subtitle_margin": "margin", "subtitle_highlight_color": "highlight_color",
             "subtitle_max_chars": "max_chars"}

# JSON schema of a `subtitles:` mapping (template front matter, briefs): checked there with
# line numbers; `check_overrides` repeats the checks for the CLI and the app.
_HEX = {"type": "string", "pattern": r"^#?[0-9A-Fa-f]{6}$"}
OVERRIDES_SCHEMA: dict[str, Any] = {
    "type": "object", "additionalProperties": False,
    "properties": {
        "style": {"enum": list(PRESET_IDS)},
        "size": {"type": "integer", "minimum": 12, "maximum": 400},
        "color": _HEX, "outline_color": _HEX, "highlight_color": _HEX, "spoken_color": _HEX,
        "outline": {"type": "number", "minimum": 0, "maximum": 20},
        "position": {"enum": list(POSITIONS)},
        "margin": {"type": "integer", "minimum": 0, "maximum": 1900},
        "max_chars": {"type": "integer", "minimum": 2, "maximum": 100},
        "keyword_highlight": {"type": "boolean"},
    },
}


def check_overrides(values: Mapping[str, Any] | None, where: str) -> dict[str, Any]:
    """A clean copy of one layer's overrides; a bad key or value is a one-line Chinese error
    naming `where` (e.g. "--subtitle-color" or "模板 x 的 subtitles")."""
    out: dict[str, Any] = {}
    for key, value in (values or {}).items():
        if value is None or value == "":
            continue
        if key not in KEYS:
            raise InputError(f"{where}：未知的字幕设置 {key}（可用：{'、'.join(KEYS)}）")
        bad = InputError(f"{where}：字幕设置 {key} 的值 {value!r} 无效（应为{KEYS[key]}）")
        if key == "style":
            if value not in PRESETS:
                raise bad
        elif key == "position":
            if value not in POSITIONS:
                raise bad
        elif key == "keyword_highlight":
            if not isinstance(value, bool):
                raise bad
        elif key in _COLOURS:
            try:
                _colour(str(value))
            except InputError:
                raise bad from None
            value = "#" + str(value).strip().lstrip("#").upper()
        else:
            spec = OVERRIDES_SCHEMA["properties"][key]
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise bad from None
            if isinstance(value, bool) or not spec["minimum"] <= number <= spec["maximum"] \
                    or (spec["type"] == "integer" and number != int(number)):
                raise bad
            value = int(number) if spec["type"] == "integer" else number
        out[key] = value
    return out


def settings_overrides(settings: Settings) -> dict[str, Any]:
    """The subtitle settings the user chose: set in workbench.toml / the environment, or
    different from the declared default (a Settings built in code)."""
    declared = {f.name: f.default for f in fields(settings)}
    chosen = {key: getattr(settings, name) for name, key in _SETTINGS.items()
              if settings.sources.get(name, "default") != "default"
              or getattr(settings, name) != declared[name]}
    if chosen.get("max_chars") == 0:  # 0: what fits the line, at the resolved size
        del chosen["max_chars"]
    return check_overrides(chosen, "字幕设置（workbench.toml / 环境变量）")


@dataclass(frozen=True)
class ResolvedSubtitles:
    """A preset with every override applied: what the subtitle writer and the cover use."""

    preset: str
    style: SubtitleStyle
    max_chars: int
    karaoke: bool = False
    spoken_colour: str = ""
    keyword_highlight: bool = True
    overrides: tuple[tuple[str, Any], ...] = ()  # the merged overrides, for the recipe

    @property
    def is_default(self) -> bool:
        """The plain default look: jobs made with it keep the ids they had before styles."""
        return self.preset == DEFAULT_PRESET and not self.overrides

    def recipe(self) -> dict[str, Any]:
        return {"preset": self.preset, **dict(self.overrides)}

    def band(self) -> tuple[float, float]:
        """The vertical span a one-line subtitle takes, as fractions of the frame height
        (with the outline and a little air), for keeping other things clear of it."""
        s = self.style
        line = s.font_size * 1.25 + 2 * (s.outline + s.shadow)
        if s.alignment in (1, 2, 3):
            bottom = s.play_res_y - s.margin_v
            top = bottom - line
        elif s.alignment in (7, 8, 9):
            top = s.margin_v
            bottom = top + line
        else:
            top = (s.play_res_y - line) / 2
            bottom = top + line
        pad = 0.01 * s.play_res_y
        return (max(0.0, (top - pad) / s.play_res_y), min(1.0, (bottom + pad) / s.play_res_y))


def resolve_subtitles(settings: Settings, template: Mapping[str, Any] | None = None,
                      job: Mapping[str, Any] | None = None, *, template_name: str = "模板"
                      ) -> ResolvedSubtitles:
    """Merge the layers (job > template > settings > preset) into one style."""
    merged: dict[str, Any] = {}
    for layer in (settings_overrides(settings),
                  check_overrides(template, f"{template_name} 的 subtitles"),
                  check_overrides(job, "任务的字幕设置")):
        merged.update(layer)
    preset = PRESETS[merged.pop("style", DEFAULT_PRESET)]
    style = preset.style
    changes: dict[str, Any] = {}
    if "size" in merged:
        changes["font_size"] = merged["size"]
    if "color" in merged:
        changes["primary_colour"] = merged["color"]
    if "outline_color" in merged:
        changes["outline_colour"] = merged["outline_color"]
    if "outline" in merged:
        changes["outline"] = float(merged["outline"])
    if "highlight_color" in merged:
        changes["keyword_colour"] = merged["highlight_color"]
    if "position" in merged:
        changes["alignment"] = POSITIONS[merged["position"]]
        if merged["position"] != "middle" and style.alignment == 5 and "margin" not in merged:
            changes["margin_v"] = SubtitleStyle().margin_v  # off the centre: a sane margin
    if "margin" in merged:
        changes["margin_v"] = merged["margin"]
    style = replace(style, **changes)
    max_chars = merged.get("max_chars") or max_chars_for(style)
    return ResolvedSubtitles(
        preset=preset.id, style=style, max_chars=max_chars, karaoke=preset.karaoke,
        spoken_colour=merged.get("spoken_color", preset.spoken_colour),
        keyword_highlight=merged.get("keyword_highlight", True),
        overrides=tuple(sorted((k, v) for k, v in merged.items())),
    )


# --- ASS output ----------------------------------------------------------------------------

def _shown_offsets(raw: str, shown: str) -> list[int | None]:
    """For each character of the shown line, its offset in the raw span (`clean_line` only
    drops characters, so the shown line is a subsequence of the raw one)."""
    out: list[int | None] = []
    pos = 0
    for ch in shown:
        found = raw.find(ch, pos)
        out.append(None if found < 0 else found)
        pos = found + 1 if found >= 0 else pos
    return out


def karaoke_text(event: SubtitleEvent, timing: TimingMap, keyword: str, keyword_tag: str,
                 primary_tag: str) -> str:
    """The line with a `\\kf` syllable per spoken word: each word sweeps from the secondary
    (not yet said) to the primary (said) colour over the time the voice speaks it."""
    seg_text = timing.segments[event.segment].text
    words = sorted((w for w in timing.words if w.segment == event.segment),
                   key=lambda w: (w.start, w.char_start))
    times = _char_times(len(seg_text), words)
    starts = {w.char_start: w for w in words}
    raw = seg_text[event.char_start:event.char_end]
    offsets = _shown_offsets(raw, event.text)
    # syllables: (start seconds, text); a new one where a TTS word starts
    syllables: list[list[Any]] = []
    kw_spans = set()
    k = event.text.find(keyword) if keyword else -1
    while k >= 0:
        kw_spans.add((k, k + len(keyword)))
        k = event.text.find(keyword, k + len(keyword))
    for i, ch in enumerate(event.text):
        off = offsets[i]
        absolute = None if off is None else event.char_start + off
        begins = absolute is not None and absolute in starts and times[absolute] is not None
        piece = escape_ass(ch)
        if any(a == i for a, _ in kw_spans):
            piece = f"{{\\1c{keyword_tag}}}{piece}"
        if any(b == i + 1 for _, b in kw_spans):
            piece = f"{piece}{{\\1c{primary_tag}}}"
        if begins or not syllables:
            start = times[absolute][0] if begins else event.start  # type: ignore[index]
            syllables.append([max(start, event.start), piece])
        else:
            syllables[-1][1] += piece
    parts: list[str] = []
    clock = round(event.start * 100)  # centiseconds, rounded on absolute times: no drift
    first = round(syllables[0][0] * 100)
    if first > clock:
        parts.append(f"{{\\k{first - clock}}}")
        clock = first
    for n, (_, text) in enumerate(syllables):
        nxt = syllables[n + 1][0] if n + 1 < len(syllables) else event.end
        end = max(clock, min(round(nxt * 100), round(event.end * 100)))
        parts.append(f"{{\\kf{end - clock}}}{text}")
        clock = end
    return "".join(parts)


def styled_ass(events: list[SubtitleEvent], resolved: ResolvedSubtitles, keyword: str,
               timing: TimingMap | None = None) -> pysubs2.SSAFile:
    """The ASS script for `events` in the resolved style (karaoke needs the timing map)."""
    keyword = keyword if resolved.keyword_highlight else ""
    subs = to_ass(events, resolved.style, keyword)
    if not resolved.karaoke or timing is None:
        return subs
    style = subs.styles["Default"]
    # karaoke: secondary = not yet said (the text colour), primary = said
    style.secondarycolor = _colour(resolved.style.primary_colour)
    style.primarycolor = _colour(resolved.spoken_colour or resolved.style.primary_colour)
    keyword_tag = _override_colour(resolved.style.keyword_colour)
    primary_tag = _override_colour(resolved.spoken_colour or resolved.style.primary_colour)
    for event, line in zip(events, subs, strict=True):
        line.text = karaoke_text(event, timing, keyword, keyword_tag, primary_tag)
    return subs


def write_styled_subtitles(events: list[SubtitleEvent], base: Path,
                           resolved: ResolvedSubtitles, keyword: str,
                           timing: TimingMap | None = None) -> tuple[Path, Path]:
    """`base.ass` (styled) and `base.srt` (plain lines), written atomically."""
    subs = styled_ass(events, resolved, keyword, timing)
    ass_path, srt_path = Path(base).with_suffix(".ass"), Path(base).with_suffix(".srt")
    write_text_atomic(ass_path, subs.to_string("ass"))
    write_text_atomic(srt_path, subs.to_string("srt"))
    return ass_path, srt_path


def preset_choices() -> list[tuple[str, str]]:
    """(label, id) pairs for a dropdown."""
    return [(f"{p.label}（{p.id}）", p.id) for p in PRESETS.values()]


def describe(resolved: ResolvedSubtitles) -> dict[str, Any]:
    """For manifests and the app: the preset and the final style values."""
    return {"preset": resolved.preset, "label": PRESETS[resolved.preset].label,
            "karaoke": resolved.karaoke, "max_chars": resolved.max_chars,
            **{k: v for k, v in asdict(resolved.style).items()
               if k not in ("play_res_x", "play_res_y", "font_name")}}

