"""Compliance checks a finished (or planned) video must pass before it is published.

Each check returns `Finding`s with a level: `block` stops publishing, `warn` is a reminder,
`info` explains a check that could not be made, `pass` says what holds. The rules come from
the AI-content labelling measures and GB 45438-2025 (visible label, AIGC metadata) and from
广告法 §9 (absolute claims, via an editable TSV word list). Messages are Chinese and say where
the problem is and what to do, because they go straight to the user.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, get_args

from workbench.errors import InputError

if TYPE_CHECKING:  # the renderer plans the label; the checks only read it
    from workbench.render.overlays import LabelPlan

Level = Literal["pass", "info", "warn", "block"]
LEVELS: tuple[Level, ...] = get_args(Level)
AIGC_KEY = "AIGC"
AIGC_FIELDS = ("Label", "ContentProducer", "ProduceID", "ReservedCode1", "ContentPropagator",
               "PropagateID", "ReservedCode2")
LABEL_MIN_SECONDS = 2.0
LABEL_MIN_HEIGHT_RATIO = 0.05  # of the frame's shorter side (GB 45438-2025)
DEFAULT_NOTE = "广告法禁用的绝对化用语"
_SNIPPET_CHARS = 8
_EXCEPTION_SPLIT = re.compile(r"[,，、]")
_SPACES = re.compile(r"\s+")
_PLACES = {"title": "标题", "caption": "发布文案", "subtitles": "字幕", "screen": "画面文字",
           "label": "AI 标识", "metadata": "成品元数据", "keyword": "搜索口令",
           "duration": "成片时长", "rights": "版权记录"}


# How a finding's level is named to users (CLI, web app, reports).
LEVEL_NAMES = {"pass": "通过", "info": "说明", "warn": "提醒", "block": "阻止"}

@dataclass(frozen=True)
class Finding:
    check: str  # "ai_label" | "aigc_metadata" | "keyword" | "banned_words" | "duration"
    level: Level
    message: str
    where: str = ""  # "title", "caption", "subtitles:12" (1-based), "screen:1", "video.mp4" ...

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class BannedWord:
    word: str
    level: Literal["warn", "block"]
    note: str = ""
    exceptions: tuple[str, ...] = ()  # compounds containing `word` that are not findings


def describe_where(where: str) -> str:
    """`subtitles:12` -> `字幕第 12 条`, for messages."""
    key, _, number = where.partition(":")
    if number.isdigit():
        return f"{_PLACES.get(key, key)}第 {number} 条"
    return _PLACES.get(where, where)


def normalize(text: str) -> str:
    """NFKC + casefold: ＮＯ．１, No.1 and NO.1 compare equal."""
    return unicodedata.normalize("NFKC", text).casefold()


def _squash(text: str) -> str:
    return _SPACES.sub("", unicodedata.normalize("NFKC", text))


def _secs(value: float) -> str:
    return f"{round(value, 2):g}"


# --- banned words ---------------------------------------------------------------------------

def bundled_banned_words_file() -> Path:
    return Path(__file__).parent / "compliance_data" / "banned_words.tsv"


def load_banned_words(path: Path | None = None) -> list[BannedWord]:
    """Read a word list (TSV: word, warn|block, note, exceptions); `None` means the bundled one."""
    source = bundled_banned_words_file() if path is None else Path(path)
    setting = "（设置 compliance.banned_words / 环境变量 WORKBENCH_BANNED_WORDS）"
    try:
        text = source.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"找不到违禁词表 {source}{setting}，请检查路径，"
                         "或删掉这项设置以使用内置词表") from None
    except UnicodeDecodeError:
        raise InputError(f"{source}: 违禁词表不是 UTF-8 编码，请另存为 UTF-8 后重试") from None
    except OSError as exc:
        raise InputError(f"无法读取违禁词表 {source}: {exc.strerror}，请检查文件权限") from None
    words: list[BannedWord] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        where = f"{source}:{number}"
        entry = _parse_line(line, where)
        key = normalize(entry.word)
        if key in seen:
            raise InputError(f"{where}: 「{entry.word}」与第 {seen[key]} 行重复，请删掉其中一行")
        seen[key] = number
        words.append(entry)
    return words


def _parse_line(line: str, where: str) -> BannedWord:
    fmt = "格式为：词<Tab>warn 或 block<Tab>说明<Tab>例外（用逗号或顿号分隔）"
    if "\t" not in line:
        raise InputError(f"{where}: 这一行没有用 Tab 分隔（可能是空格），请改用 Tab；{fmt}")
    cells = [cell.strip() for cell in line.split("\t")]
    while len(cells) > 4 and not cells[-1]:
        cells.pop()
    if len(cells) > 4:
        raise InputError(f"{where}: 列数太多（{len(cells)} 列，最多 4 列），请检查多余的 Tab；{fmt}")
    cells += [""] * (4 - len(cells))
    word, level, note, exceptions_cell = cells
    if not word:
        raise InputError(f"{where}: 第一列（词）是空的，请填写词或删掉这一行；{fmt}")
    level = level.lower()
    if level not in ("warn", "block"):
        raise InputError(f"{where}: 级别「{cells[1]}」无效，只能是 warn（提醒）或 block（阻止）")
    exceptions = tuple(e.strip() for e in _EXCEPTION_SPLIT.split(exceptions_cell) if e.strip())
    for compound in exceptions:
        if normalize(word) not in normalize(compound):
            raise InputError(f"{where}: 例外「{compound}」不包含词「{word}」，"
                             "例外必须是含有这个词的完整说法（如 最 → 最后），请修改")
    return BannedWord(word, "warn" if level == "warn" else "block", note, exceptions)


@dataclass(frozen=True)
class _Hit:
    entry: BannedWord
    start: int  # in the normalised text
    end: int
    excepted: bool


def _normalize_indexed(text: str) -> tuple[str, list[int]]:
    """Normalise char by char, keeping for each output char the index of its source char."""
    chars: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        for out in normalize(ch):
            chars.append(out)
            origin.append(i)
    return "".join(chars), origin


def _pattern(word: str) -> re.Pattern[str]:
    """Latin words need word edges: TOP1 is not in TOP10, 100% is not in 1100%."""
    before = "(?<![a-z0-9])" if re.match(r"[a-z0-9]", word) else ""
    after = "(?![a-z0-9])" if re.search(r"[a-z0-9]$", word) else ""
    return re.compile(before + re.escape(word) + after)


def _hits(norm: str, entry: BannedWord) -> list[_Hit]:
    word = normalize(entry.word)
    if not word:
        return []
    # (compound, offset of the word inside it) for each exception
    covers = [(c, i) for c in map(normalize, entry.exceptions)
              for i in range(len(c) - len(word) + 1) if c.startswith(word, i)]
    return [
        _Hit(entry, m.start(), m.end(), any(
            m.start() >= i and norm.startswith(c, m.start() - i) for c, i in covers))
        for m in _pattern(word).finditer(norm)
    ]


def _snippet(text: str, start: int, end: int) -> str:
    left = max(0, start - _SNIPPET_CHARS)
    right = min(len(text), end + _SNIPPET_CHARS)
    body = _SPACES.sub(" ", text[left:right]).strip()
    return ("…" if left else "") + body + ("…" if right < len(text) else "")


def _scan_text(text: str, where: str, words: list[BannedWord]) -> list[Finding]:
    norm, origin = _normalize_indexed(text)
    hits = [hit for entry in words for hit in _hits(norm, entry)]
    # Longest first; a hit inside a longer hit (even an excepted one, like 最 in 最好别) is
    # part of that word, not a finding of its own.
    hits.sort(key=lambda h: (-(h.end - h.start), h.start))
    taken: list[_Hit] = []
    for hit in hits:
        if not any(t.start <= hit.start and hit.end <= t.end for t in taken):
            taken.append(hit)
    by_word: dict[str, list[_Hit]] = {}
    for hit in sorted(taken, key=lambda h: h.start):
        if not hit.excepted:
            by_word.setdefault(hit.entry.word, []).append(hit)
    findings = []
    for group in by_word.values():
        entry, first = group[0].entry, group[0]
        start, end = origin[first.start], origin[first.end - 1] + 1
        found = text[start:end]
        about = [] if found == entry.word else [f"即「{entry.word}」"]
        about.append(entry.note or DEFAULT_NOTE)
        if len(group) > 1:
            about.append(f"共 {len(group)} 处")
        todo = ("请改写或删去这个词后再生成" if entry.level == "block"
                else "若是宣传用语请改写；故事叙述可忽略")
        findings.append(Finding(
            "banned_words", entry.level,
            f"{describe_where(where)}出现「{found}」（{'；'.join(about)}）："
            f"「{_snippet(text, start, end)}」；{todo}",
            where,
        ))
    return findings


def scan_banned_words(texts: Mapping[str, str | Sequence[str]],
                      words: list[BannedWord]) -> list[Finding]:
    """One finding per (word, place); sequences are numbered from 1 (`subtitles:3`)."""
    findings: list[Finding] = []
    for key, value in texts.items():
        if isinstance(value, str):
            findings += _scan_text(value, key, words)
        else:
            for number, line in enumerate(value, start=1):
                findings += _scan_text(line, f"{key}:{number}", words)
    return findings


# --- visible AI label -----------------------------------------------------------------------

def label_text_ok(text: str) -> bool:
    norm = unicodedata.normalize("NFKC", text).upper()
    return ("AI" in norm or "人工智能" in norm) and ("生成" in norm or "合成" in norm)


def check_ai_label(label: LabelPlan | None) -> Finding:
    if label is None:
        return Finding("ai_label", "block", "没有可见的 AI 标识：视频必须从第一帧起显示如"
                       "「本视频含AI生成内容」的文字；请在 render.ai_label 中设置", "label")
    problems = []
    if not label_text_ok(label.text):
        problems.append(f"文字「{label.text}」需同时含「AI」或「人工智能」与「生成」或「合成」，"
                        "如「本视频含AI生成内容」（render.ai_label）")
    if label.start > 0:
        problems.append(f"从第 {_secs(label.start)} 秒才出现，必须从第一帧（0 秒）起显示")
    shown = label.end - label.start
    if shown < LABEL_MIN_SECONDS:
        problems.append(f"只显示 {_secs(shown)} 秒，至少要 {_secs(LABEL_MIN_SECONDS)} 秒"
                        "（render.ai_label_seconds，0 表示全程）")
    shorter = min(label.frame_width, label.frame_height)
    need = shorter * LABEL_MIN_HEIGHT_RATIO
    if shorter <= 0:
        problems.append(f"画面尺寸 {label.frame_width}x{label.frame_height} 无效，无法检查字高")
    elif label.text_height_px < need:
        problems.append(f"字高 {_secs(label.text_height_px)}px 太小，至少要 {_secs(need)}px"
                        f"（画面短边 {shorter}px 的 5%），请调大字号")
    if problems:
        return Finding("ai_label", "block", "AI 标识不合规：" + "；".join(problems), "label")
    return Finding("ai_label", "pass",
                   f"AI 标识「{label.text}」{_secs(label.start)}–{label.end:.1f} 秒，"
                   f"字高 {_secs(label.text_height_px)}px ≥ {_secs(need)}px", "label")


# --- implicit label: AIGC metadata -----------------------------------------------------------

def aigc_metadata(producer: str, produce_id: str, reserved1: str = "", propagator: str = "",
                  propagate_id: str = "", reserved2: str = "") -> str:
    """The compact JSON written under the `AIGC` metadata key (Label "1": AI-generated)."""
    values = ("1", producer, produce_id, reserved1, propagator, propagate_id, reserved2)
    return json.dumps(dict(zip(AIGC_FIELDS, values, strict=True)), ensure_ascii=False,
                      separators=(",", ":"))


def check_aigc_metadata(tags: Sequence[tuple[str, str]], expected_produce_id: str | None = None,
                        *, where: str = "metadata") -> Finding:
    """Check the `AIGC` tag read back from the finished file (key matched case-insensitively)."""
    def block(problem: str) -> Finding:
        return Finding("aigc_metadata", "block",
                       f"隐式标识（AIGC 元数据）不合规：{problem}；请重新生成视频，"
                       "不要用会丢弃元数据的工具再次处理成品", where)

    values = [value for key, value in tags if key.strip().casefold() == AIGC_KEY.casefold()]
    if not values:
        return block("成品文件里没有 AIGC 元数据")
    if len(values) > 1:
        return block(f"有 {len(values)} 个 AIGC 键，按国标只能有一个")
    try:
        data = json.loads(values[0])
    except json.JSONDecodeError:
        return block(f"AIGC 的值不是 JSON：「{values[0][:60]}」")
    if not isinstance(data, dict):
        return block("AIGC 的值不是 JSON 对象")
    missing = [name for name in AIGC_FIELDS if name not in data]
    if missing:
        return block(f"缺少字段 {', '.join(missing)}")
    not_text = [name for name in AIGC_FIELDS if not isinstance(data[name], str)]
    if not_text:
        return block(f"字段 {', '.join(not_text)} 的值必须是字符串")
    if data["Label"] != "1":
        return block(f"Label 是「{data['Label']}」，AI 生成内容应为「1」")
    if expected_produce_id is not None and data["ProduceID"] != expected_produce_id:
        return block(f"ProduceID 是「{data['ProduceID']}」，应为「{expected_produce_id}」"
                     "（文件可能不是这次生成的）")
    empty = [name for name in ("ContentProducer", "ProduceID") if not data[name].strip()]
    if empty:
        return Finding("aigc_metadata", "warn",
                       f"AIGC 元数据的 {', '.join(empty)} 是空的；请在 compliance.producer "
                       "中填写制作方名称", where)
    return Finding("aigc_metadata", "pass",
                   f"AIGC 元数据完整：制作方「{data['ContentProducer']}」，"
                   f"ProduceID「{data['ProduceID']}」", where)


# --- keyword, duration ------------------------------------------------------------------------

def check_keyword(keyword: str, on_screen: Sequence[str], caption: str) -> list[Finding]:
    """The search keyword must be on screen (banner or end card) and in the caption."""
    key = _squash(keyword)
    if not key:
        return [Finding("keyword", "block", "搜索口令是空的：观众不知道去平台搜什么；"
                        "请在任务里填写口令", "keyword")]
    findings = []
    if any(key in _squash(text) for text in on_screen):
        findings.append(Finding("keyword", "pass", f"画面文字中有搜索口令「{keyword}」", "screen"))
    else:
        findings.append(Finding("keyword", "block",
                                f"横幅和片尾卡里都没有搜索口令「{keyword}」；"
                                "请检查 render.banner 的 {keyword} 占位或重新生成", "screen"))
    if key in _squash(caption):
        findings.append(Finding("keyword", "pass", f"发布文案中有搜索口令「{keyword}」", "caption"))
    else:
        findings.append(Finding("keyword", "block",
                                f"发布文案里没有搜索口令「{keyword}」；请在文案中加入，"
                                "如「搜索【口令】看全文」", "caption"))
    return findings


def check_duration(duration: float, max_seconds: float | None) -> Finding:
    if not max_seconds or max_seconds <= 0:
        return Finding("duration", "info",
                       f"成片 {_secs(duration)} 秒；未设时长上限（可在任务中设置，"
                       "或设置 render.max_seconds）", "duration")
    if duration > max_seconds:
        return Finding("duration", "block",
                       f"成片 {_secs(duration)} 秒，超过上限 {_secs(max_seconds)} 秒；"
                       "请缩短脚本，或提高任务的时长上限 / render.max_seconds", "duration")
    return Finding("duration", "pass",
                   f"成片 {_secs(duration)} 秒，未超过上限 {_secs(max_seconds)} 秒", "duration")


# --- report -----------------------------------------------------------------------------------

@dataclass
class ComplianceReport:
    findings: list[Finding]

    @property
    def blocked(self) -> bool:
        return any(f.level == "block" for f in self.findings)

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "warn"]

    @property
    def blocks(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "block"]

    def counts(self) -> dict[str, int]:
        return {level: sum(f.level == level for f in self.findings) for level in LEVELS}

    def to_dict(self) -> dict[str, object]:
        return {"blocked": self.blocked, "findings": [f.to_dict() for f in self.findings],
                "counts": self.counts()}

    def summary(self) -> str:
        n = self.counts()
        info = f"，{n['info']} 项说明" if n["info"] else ""
        return f"合规检查：{n['pass']} 项通过，{n['warn']} 项提醒，{n['block']} 项阻止{info}"

    def block_message(self) -> str:
        """Every blocking finding, one a line; empty when nothing blocks."""
        blocks = self.blocks
        if not blocks:
            return ""
        lines = [f"合规检查未通过（{len(blocks)} 项需要处理）："]
        lines += [f"- [{describe_where(f.where)}] {f.message}" for f in blocks]
        return "\n".join(lines)


def run_checks(*, title: str, caption: str, subtitles: Sequence[str], keyword: str,
               on_screen: Sequence[str], label: LabelPlan | None,
               metadata: Sequence[tuple[str, str]] | None, expected_produce_id: str | None,
               duration: float, max_seconds: float | None,
               words: list[BannedWord]) -> ComplianceReport:
    """All checks; `metadata=None` (not rendered yet) skips the AIGC metadata check."""
    findings = [check_ai_label(label)]
    if metadata is not None:
        findings.append(check_aigc_metadata(metadata, expected_produce_id))
    findings += check_keyword(keyword, on_screen, caption)
    texts = {"title": title, "caption": caption, "subtitles": list(subtitles),
             "screen": list(on_screen)}
    banned = scan_banned_words(texts, words)
    findings += banned or [Finding("banned_words", "pass",
                                   f"标题、文案、字幕和画面文字中没有违禁词（共 {len(words)} 个词）")]
    findings.append(check_duration(duration, max_seconds))
    return ComplianceReport(findings)
