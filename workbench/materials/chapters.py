"""Cleaning novel text and splitting it into chapters.

Pure functions over strings, shared by the TXT and EPUB readers. Headings are recognised only
as whole short lines, never inside a sentence, because a false split cuts a chapter in two and
every later stage (scripts, voice, video) inherits the damage.
"""

from __future__ import annotations

import re

from workbench.errors import InputError
from workbench.models import Chapter
from workbench.text import split_sentences, visible_len

MAX_HEADING_CHARS = 40
MAX_CHAPTERS = 20_000  # the longest web novels have a few thousand
PREFACE_MIN_CHARS = 200  # text before the first heading longer than this becomes "前言"
MAX_NOISE_CHARS = 200

# Site noise that scraped TXT files carry. One pattern per kind of line, matched against a
# whole stripped line, so story lines that merely mention 章节 or 阅读 survive. Extend here.
_URL = (
    r"(?:https?://)?(?:[a-z0-9-]+[.．])+"
    r"(?:com|net|org|cc|cn|info|me|la|tw|co|xyz|top|vip|io|tv)(?:/\S*)?"
)
_SITE_WORDS = r"(?:小说|阅读|书友|首发|更新|本站|网址|地址|域名|笔趣阁|无弹窗|免费|收藏|书签)"
# words that never occur in story text, for lines where the trigger itself could be story
_STRONG_SITE = r"(?:笔趣阁|无弹窗|首发|全文阅读|免费阅读|在线阅读|本站|网址|域名|最快更新|请到|请访问)"
_BEGGING = r"月票|推荐票|收藏|订阅|打赏|票票|保底|(?:推荐|支持)(?:[！!~～。，,\s]|$)"
NOISE_PATTERNS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        # 本章未完，请点击下一页继续阅读 / -->>本章未完，点击下一页继续阅读 / （本章未完，请翻页）
        r"[^\u4e00-\u9fff]{0,6}(?:本章未完|请点击下一页|点击下一页继续|请翻页|请翻到下一页).*",
        # （本章完） / 本章完 / 【全书完】 / 本章结束
        r"[（(【\[]?\s*(?:本章完|本章结束|全书完)\s*[。！!]?\s*[）)】\]]?",
        # （第三章完）
        r"[（(【\[]?\s*第\s*[0-9０-９零〇一二三四五六七八九十百千万两]+\s*[章节回]\s*完\s*[）)】\]]?",
        # （未完待续。） / 未完待续…… / (未完待续，如欲知后事如何……)
        r"[（(【\[]?\s*未完待续.*",
        # 求月票！ / 求推荐票 / 求收藏求订阅 — short begging lines only
        rf"[（(【\[]?\s*求(?:{_BEGGING}).{{0,30}}",
        # PS：求月票…… (author notes appended to chapters)
        r"[（(【\[]?\s*ps\s*[:：].*",
        # 一秒记住【笔趣阁 www.xxx.com】，精彩小说无弹窗免费阅读！ / 天才一秒记住本站地址
        rf".{{0,4}}一秒记住.*(?:{_URL}|{_STRONG_SITE}|地址|【).*",
        # xxx最新章节 www.xxx.com / 夜渡最新章节_夜渡全文阅读 / 最新章节请到 xxx 首发阅读
        rf".{{0,30}}最新章节.*(?:{_URL}|{_STRONG_SITE}).*",
        r".{0,20}最新章节(?:列表|目录)?",
        # 手机阅读请访问 m.xxx.com / 手机用户请浏览 xxx 阅读
        rf".{{0,10}}手机(?:阅读|用户|版|站).*(?:{_URL}|请访问|请浏览|请到).*",
        # 章节错误,点此举报(免注册)
        r"章节错误.*",
        # a line that is only a URL, or a URL next to site words: 【笔趣阁 www.xxx.com】
        rf"[\W_]*{_URL}[\W_]*",
        rf".{{0,30}}{_SITE_WORDS}.{{0,20}}{_URL}.*",
    )
)

_INVISIBLE = re.compile("[\ufeff\u200b\u200c\u200d\u2060\u00ad]|&nbsp;")
_BLANK_RUNS = re.compile(r"\n{3,}")

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
              "六": 6, "七": 7, "八": 8, "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_CN_BIG_UNITS = {"万": 10_000, "亿": 100_000_000}
_NUM = r"[0-9０-９]+|[零〇一二三四五六七八九十百千万两]+"
_SEP = r"[\s:：、.．·_\-—–]"
_NUMBERED_HEADING = re.compile(
    rf"(?:正文\s*)?(?:[#＃]+\s*|【)?第\s*(?P<num>{_NUM})\s*(?P<unit>[章节回卷])】?"
    rf"(?P<sep>{_SEP}*)(?P<rest>.*)"
)
_SPECIAL_HEADING = re.compile(
    r"(?:正文\s*)?(?:[#＃]+\s*|【)?(?P<kw>序章|序言|序幕|楔子|引子|引言|前言|番外篇?|尾声|后记|终章|序)】?"
    rf"(?P<sep>{_SEP}*)(?P<rest>.*)"
)
_ENGLISH_HEADING = re.compile(
    r"(?:[#＃]+\s*)?(?:chapter|chap\.|ch\.)\s*(?P<num>\d+|[０-９]+)\b(?P<sep>[\s:：.\-—]*)(?P<rest>.*)",
    re.IGNORECASE,
)
_EXTRA_REST = re.compile(rf"(?P<num>{_NUM})?(?P<sep>{_SEP}*)(?P<title>.*)")
# A title glued to 第X章 that starts like a sentence continues one: "第三章的内容让他失望".
_SENTENCE_STARTS = set("的了里中是就还也都和与讲说写开完后前课上下时")
_SENTENCE_PUNCT = set("，。；！？…,;")
_META_LINE = re.compile(
    r"(?:作\s*者|著\s*者|原\s*著|译\s*者|书\s*名|来源|出处|字数|类别|分类|标签|状态|"
    r"更新时间|最后更新|内容简介|简介|文案)\s*[:：].{0,60}"
)
_BOOK_TITLE = re.compile(r"《(?P<title>[^《》]{1,40})》")


def clean_text(text: str) -> str:
    """Normalise line endings and whitespace and drop site-noise lines.

    Paragraphs stay one per line; at most one blank line separates them.
    """
    text = _INVISIBLE.sub("", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n")
    text = text.replace("\u2029", "\n").replace("\x1a", "").replace("\xa0", " ")
    kept = [line.strip() for line in text.split("\n")]
    kept = [line for line in kept if not is_noise_line(line)]
    return _BLANK_RUNS.sub("\n\n", "\n".join(kept)).strip("\n")


def is_noise_line(line: str) -> bool:
    """True for a site-noise line; long lines are story paragraphs and are never dropped."""
    line = line.strip()
    return 0 < len(line) <= MAX_NOISE_CHARS and any(p.fullmatch(line) for p in NOISE_PATTERNS)


def chinese_number(text: str) -> int | None:
    """'十二' -> 12, '两百' -> 200, '一千零一' -> 1001, '一〇五' -> 105, '１２' -> 12.

    Colloquial short forms count the trailing digit in the next lower unit ('一百一' -> 110).
    Returns None for anything that is not a number.
    """
    text = text.strip()
    if not text:
        return None
    if text.isdecimal():
        return int(text)
    if all(ch in _CN_DIGITS for ch in text):  # digit by digit: 一〇五, 二〇二三
        return int("".join(str(_CN_DIGITS[ch]) for ch in text))
    total = section = 0
    digit: int | None = None
    last_unit = 0
    after_zero = False
    for ch in text:
        if ch in _CN_DIGITS:
            value = _CN_DIGITS[ch]
            if value == 0:
                after_zero, digit = True, None
                continue
            if digit is not None:
                return None  # two digits in a row inside a unit number: not a number
            digit = value
        elif ch in _CN_UNITS:
            section += (1 if digit is None else digit) * _CN_UNITS[ch]
            digit, last_unit, after_zero = None, _CN_UNITS[ch], False
        elif ch in _CN_BIG_UNITS:
            section += digit or 0
            total += (section or 1) * _CN_BIG_UNITS[ch]
            section, digit, last_unit, after_zero = 0, None, _CN_BIG_UNITS[ch], False
        else:
            return None
    if digit is not None and last_unit >= 100 and not after_zero:
        digit *= last_unit // 10  # 一百一 = 110, 两万三 = 23000
    return total + section + (digit or 0)


def parse_heading(line: str) -> tuple[str, int | None] | None:
    """(kind, number) if `line` is a chapter heading, else None.

    kind is the unit (章/节/回/卷), the keyword (楔子, 番外, ...) or "chapter".
    """
    line = line.strip()
    if not line or len(line) > MAX_HEADING_CHARS or "。" in line:
        return None
    if match := _NUMBERED_HEADING.fullmatch(line):
        number = chinese_number(match["num"])
        if number is None or not _plausible_title(match["sep"], match["rest"]):
            return None
        return match["unit"], number
    if match := _ENGLISH_HEADING.fullmatch(line):
        rest = match["rest"]
        if rest.endswith(".") or (rest and not match["sep"]):
            return None
        return "chapter", int(match["num"])
    if match := _SPECIAL_HEADING.fullmatch(line):
        kw, sep, rest = match["kw"], match["sep"], match["rest"]
        if kw.startswith("番外"):  # 番外 / 番外一 重逢 / 番外2：重逢 / 番外之重逢
            extra = _EXTRA_REST.fullmatch(rest)
            if extra is None:
                return None
            number = chinese_number(extra["num"]) if extra["num"] else None
            glued, title = not (sep or extra["sep"]), extra["title"]
            if glued and title[:1] == "之":
                glued, title = False, title[1:]
            if glued and title and not extra["num"]:
                return None  # 番外的故事很好看
            return (kw, number) if _plausible_title("" if glued else " ", title) else None
        if rest and not sep:
            return None  # 尾声渐近… is a sentence, 楔子 雨夜 is a heading
        return (kw, None) if _plausible_title(sep, rest) else None
    return None


def _plausible_title(sep: str, rest: str) -> bool:
    if not rest or rest in ("上", "中", "下"):  # 第十章上: a chapter in parts
        return True
    if rest[-1] in "，、；,;":
        return False
    glued_sentence = rest[0] in _SENTENCE_STARTS or any(c in _SENTENCE_PUNCT for c in rest)
    return bool(sep) or not glued_sentence


def split_chapters(text: str, part_chars: int = 3000) -> tuple[list[Chapter], str]:
    """Split on chapter headings; without any, cut parts of about `part_chars` characters.

    Returns the chapters (1-based, reading order) and how they were found: "headings" or
    "size". Headings without body text (volume lines such as 第一卷) are dropped.
    """
    if part_chars <= 0:
        raise ValueError("part_chars must be positive")
    lines = [line.strip() for line in text.splitlines()]
    heads = [i for i, line in enumerate(lines) if parse_heading(line)]
    if len(heads) > MAX_CHAPTERS:
        raise InputError(f"章节太多：找到 {len(heads):,} 个章节标题（上限 {MAX_CHAPTERS:,}）；"
                         "这不像一本小说，请检查文件，或拆成几个文件导入")
    if heads:
        found: list[tuple[str, str]] = []
        preface = _join(lines[front_matter_end(lines[: heads[0]]): heads[0]])
        if visible_len(preface) > PREFACE_MIN_CHARS:
            found.append(("前言", preface))
        for k, start in enumerate(heads):
            end = heads[k + 1] if k + 1 < len(heads) else len(lines)
            body = _join(lines[start + 1: end])
            if visible_len(body):
                found.append((lines[start], body))
        if found:
            return [Chapter(i, title, body) for i, (title, body) in enumerate(found, 1)], "headings"
    parts = _split_by_size(lines[front_matter_end(lines):], part_chars)
    return [Chapter(i, f"第{i}部分", body) for i, body in enumerate(parts, 1)], "size"


def front_matter_end(lines: list[str]) -> int:
    """Index after a leading title line (《书名》 or a short line before 作者：…) and metadata."""
    i = _skip_blank(lines, 0)
    if i < len(lines) and not parse_heading(lines[i]):
        nxt = _skip_blank(lines, i + 1)
        followed_by_meta = nxt < len(lines) and _META_LINE.fullmatch(lines[nxt]) is not None
        if _BOOK_TITLE.match(lines[i]) or (followed_by_meta and _title_like(lines[i])):
            i = nxt
    while i < len(lines) and (not lines[i] or _META_LINE.fullmatch(lines[i])):
        i += 1
    return i


def guess_title(text: str) -> str | None:
    """A book title from the top of a TXT: 《书名》, 书名：…, or a short line before the text."""
    lines = [line.strip() for line in text.splitlines()[:40]]
    first_heading = next((i for i, ln in enumerate(lines) if parse_heading(ln)), None)
    head = [ln for ln in lines[:first_heading] if ln]
    for line in head[:5]:
        if match := _BOOK_TITLE.search(line):
            return match["title"].strip()
        if match := re.fullmatch(r"书\s*名\s*[:：]\s*(.{1,40})", line):
            return match[1].strip()
    if head and _title_like(head[0]) and not _META_LINE.fullmatch(head[0]):
        # With headings, anything short above them is front matter; without, the line must be
        # followed by an author line, or the first sentence of the story would become the title.
        after = head[1] if len(head) > 1 else ""
        if first_heading is not None or _META_LINE.fullmatch(after):
            return head[0]
    return None


def _title_like(line: str) -> bool:
    return 0 < len(line) <= 30 and line[-1] not in "。！？!?…，,；;：:”\"」』"


def _split_by_size(lines: list[str], part_chars: int) -> list[str]:
    parts: list[list[str]] = []
    current: list[str] = []
    size = 0
    for paragraph in (line for line in lines if line):
        pieces = [paragraph] if len(paragraph) <= part_chars else _sentence_chunks(
            paragraph, part_chars)
        for piece in pieces:
            if current and size + len(piece) > part_chars:
                parts.append(current)
                current, size = [], 0
            current.append(piece)
            size += len(piece)
    if current:
        if parts and size < part_chars // 4:  # a short tail joins the part before it
            parts[-1].extend(current)
        else:
            parts.append(current)
    return ["\n".join(part) for part in parts]


def _sentence_chunks(paragraph: str, part_chars: int) -> list[str]:
    """Cut a giant paragraph at sentence ends; a sentence longer than a part is cut hard."""
    sentences = split_sentences(paragraph)
    chunks: list[str] = []
    current = ""
    for sentence in sentences:
        while len(sentence) > part_chars:
            if current:
                chunks.append(current)
                current = ""
            chunks.append(sentence[:part_chars])
            sentence = sentence[part_chars:]
        if current and len(current) + len(sentence) > part_chars:
            chunks.append(current)
            current = ""
        current += sentence
    if current:
        chunks.append(current)
    return chunks


def _skip_blank(lines: list[str], i: int) -> int:
    while i < len(lines) and not lines[i]:
        i += 1
    return i


def _join(lines: list[str]) -> str:
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip("\n")

