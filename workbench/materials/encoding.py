"""Decoding TXT bytes of unknown encoding, tuned for Chinese novels.

charset-normalizer ranks candidates well for long text but mislabels short Chinese text
(Big5 as Shift-JIS, GBK as CP949, ...). So its ranked guesses, plus the Chinese encodings it may
have missed, are each decoded strictly and scored by how much the result reads like Chinese:
frequent hanzi score high, kana/hangul/control characters low. Scoring needs no dictionary, only
a few hundred of the most frequent characters, in simplified and traditional forms.
"""

from __future__ import annotations

import codecs
import logging
import unicodedata

from charset_normalizer import from_bytes

from workbench.errors import InputError

log = logging.getLogger(__name__)

_COMMON_HANZI = frozenset(
    "的一是不了人我在有他这个们中来上大为和国地到以说时要就出会可也你对生能而子那得于着下"
    "自之年过发后作里用道行所然家种事成方多经么去法学如都同现当没动面起看定天分还进好小部"
    "其些主样理心她本前开但因只从想实日军者意无力它与长把机十民第公此已工使情明性知全三又"
    "关点正业外将两高间由问很最重并物手应战向头文体政美相见被利什二等产或新己制身果加西斯"
    "月话合回特代内信表化老给世位次度门任常先海通教儿原东声提立及比员解水名真论处走义各入"
    "几口认条平系气题活尔更别打女变四神总何电数安少报才结反受目太量再感建务做接必场件计管"
    "期市直德资命山金指克许统区保至队形社便空决治展马科司五基眼书非则听白却界达光放强即像"
    "难且权思王象完设式色路记南品住告类求据程北边死张该交规万取拉格望觉术领共确传师观清今"
    "切院让识候带导争运笑飞风步改收根干造言联持组每济车亲极林服快办议往元英士证近失转夫令"
    "准布始怎呢存未远叫台单影具罗字爱击流备兵连调深商算质团集百需价花党华城石级整府离况亚"
    "请技际约示复病息究线似官火断精满支视消越器容照须九增研写称企八功吗包片史委乎查轻易早"
    "曾除农找装广显吧阿李标谈吃图念六引历首医局突专费号尽另周较注语仅考落青随选列武红响虽"
    "推势参希古众构房半节土投某案黑维革划敌致陈律足态护七兴派孩验责营星够章音跟志底站严巴"
    "例防族供效续施留讲型料终答紧黄绝奇察母京段依批群项故按河米围江织害斗双境客纪采举杀攻"
    "父苏密低朝友诉止细愿千值仍男钱破网热助倒育属坐帝限船脸职速刻乐否刚威毛状率甚独球般普"
    "怕弹校苦创假久错承印晚兰试股拿脑预谁益阳若哪微尼继送急血惊伤素药适波夜省初喜卫源食险"
    "待述陆习置居劳财环排福纳欢雷警获模充负云停木游龙树疑层冷洲冲射略范竟句室异激汉村哈策"
    "演简卡罪判担州静退既衣您宗积余痛检差富灵协角占配征修皮挥胜降阶审沉坚善妈刘读啊超免压"
    "银买皇养伊怀执副乱抗犯追帮宣佛岁航优怪香著田铁控税左右份穿艺背阵草脚概恶块顿敢守酒岛"
    "托央户烈洋哥索胡款靠评版宝座释景顾弟登货互付伯慢欧换闻危忙核暗姐介坏讨丽良序升监临亮"
    "露永呼味野架域沙掉括舰鱼杂误湾吉减编楚肯测败屋跑梦散温困剑渐封救贵枪缺楼县尚毫移娘朋"
    "画班智亦耳恩短掌恐遗固席松秘谢鲁遇康虑幸均销钟诗藏赶剧票损忽巨炮旧端探湖录叶春乡附吸"
    "予礼港雨呀板庭妇归睛饭额含顺输摇招婚脱补谓督毒油疗旅泽材灭逐莫笔亡鲜词圣择寻厂睡博勒"
    "烟授诺伦岸奥唐卖俄炸载洛健堂旁宫喝借君禁阴园谋宋避抓荣姑孙逃牙束跳顶玉镇雪午练迫爷篇"
    "肉嘴馆遍凡础洞卷坦牛宁纸诸训私庄祖丝翻暴森塔默握戏隐熟骨访弱蒙歌店鬼软典欲萨伙遭盘爸"
    # traditional forms of the frequent characters above that differ from the simplified ones
    "這個們來為國說時會對過發後裡當沒動麼還進從實現開點長問見經間與應樣頭麗網議車軍東學覺"
    "讓謝誰話語請讀認識兩將氣邊機區幾爾電數種總變樣頭體關愛聽給無處場義號記覺親難嗎麼說會"
    "們點讓話兒這樣還頭種該錯夠際須帶聲響經歷飛風鳥氣雲陽陰陸島橋燈鐵鍋碼艘據終遠遞張黃寫"
    "陳劉楊張趙歲書買賣錢員門問間闆聞開關閉雙隻隊陣險雖離雜雞顯願類題額風飯館馬驚體髮鬥鬧"
    "魚鳥鴨麥黨齊齒龍龜萬與專業叢東絲兩嚴喪個豐臨為麗舉乾亂爭於雲亞產親億僅從侖倉儀們價眾"
    "優夥傘偉傳傷倫餘側倆債傾償兒夢嗎樓燒聽媽爺歡點總熱劍認"
)
# Frequent hangul syllables: real Korean is full of them, Chinese bytes read as CP949 are not.
_COMMON_HANGUL = frozenset(
    "이다는의에가을고하지한서로기도를자사리어아나대인수구시해요것들게면라그정부여내만보전상소거주일제있"
    "우없무학동성던었했니까오마았려원와과은습생각말때저네"
)
_CJK_PUNCT = frozenset("，。！？、；：“”‘’（）《》〈〉【】「」『』…—·～－　")
# Short GBK text can also be valid EUC-JP made of common kanji; this is a Chinese-novel tool,
# so Chinese encodings win close calls.
_CHINESE_PRIOR = {"gb18030": 0.3, "big5": 0.25}
_GB_FAMILY = {"gb2312", "gbk", "cp936", "gb18030", "euc_cn", "hz"}
_BIG5_FAMILY = {"big5", "big5hkscs", "cp950"}
_BOMS: tuple[tuple[bytes, str, str], ...] = (  # (bom, codec to decode with, name reported)
    (codecs.BOM_UTF32_LE, "utf_32", "utf_32"),  # before UTF-16 LE: it starts with FF FE
    (codecs.BOM_UTF32_BE, "utf_32", "utf_32"),
    (codecs.BOM_UTF8, "utf_8_sig", "utf_8_sig"),
    (codecs.BOM_UTF16_LE, "utf_16", "utf_16"),
    (codecs.BOM_UTF16_BE, "utf_16", "utf_16"),
)
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG", "PNG 图片"), (b"\xff\xd8\xff", "JPEG 图片"), (b"GIF8", "GIF 图片"),
    (b"%PDF", "PDF 文档"), (b"PK\x03\x04", "ZIP 压缩包"), (b"Rar!", "RAR 压缩包"),
    (b"7z\xbc\xaf", "7z 压缩包"), (b"\x1f\x8b", "gzip 压缩包"), (b"\x7fELF", "可执行程序"),
    (b"ID3", "MP3 音频"), (b"RIFF", "音视频文件"), (b"SQLite format 3", "SQLite 数据库"),
)
# What Chinese bytes turn into when read as Japanese or Korean: half-width katakana, jamo.
_GARBAGE_RANGES = ((0xFF61, 0xFF9F), (0x1100, 0x11FF), (0x3130, 0x318F))
_BAD_CATEGORIES = {"Cc", "Co", "Cn", "Cs"}
_SAMPLE_CHARS = 4000  # per slice; scoring looks at a few slices, not a whole 50 MB novel
MAX_BAD_RATIO = 0.01  # control/unassigned characters tolerated in a decoded text
MIN_EXPECTED_RATIO = 0.9  # for BOM-less UTF-16, see _expected_ratio


def decode_text(data: bytes, source: str = "<bytes>",
                notes: list[str] | None = None) -> tuple[str, str]:
    """Decode bytes of a text file; returns (text, encoding name such as "gb18030").

    A multi-byte character cut off at the very end (a download or copy that stopped short) is
    dropped, with a line added to `notes`. Raises InputError (naming `source`) for empty,
    binary or undecodable data.
    """
    text, encoding, dropped = _decode(data, source)
    if dropped and notes is not None:
        notes.append(f"文件末尾有半个字符（{dropped} 个字节，文件可能不完整），已丢弃")
    return text, encoding


def _decode(data: bytes, source: str) -> tuple[str, str, int]:
    """(text, encoding, bytes dropped from an incomplete last character)."""
    if not data:
        raise InputError(f"{source}: 文件是空的，请选择有内容的 TXT 或 EPUB 文件")
    for bom, codec, name in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(codec), name, 0
            except UnicodeDecodeError as exc:
                raise _broken(source, data, exc, codec) from None
    kind = next((label for magic, label in _MAGIC if data.startswith(magic)), None)
    if kind:
        raise InputError(f"{source}: 这是{kind}，不是小说文本；请导入 TXT 或 EPUB 文件")
    if b"\x00" not in data:
        utf8 = _try_utf8(data, source)
        if utf8 is not None and _bad_ratio(utf8[0]) <= MAX_BAD_RATIO:
            return utf8[0], "utf_8", utf8[1]
    best: tuple[float, str, str, int] | None = None
    for name in _candidates(data):
        if b"\x00" in data and not name.startswith(("utf_16", "utf_32")):
            continue  # only UTF-16/32 text has NUL bytes; anything else with them is binary
        decoded = _decode_as(data, name)
        if decoded is None or _bad_ratio(decoded[0]) > MAX_BAD_RATIO:
            continue
        text, dropped = decoded
        if name.startswith(("utf_16", "utf_32")) and _expected_ratio(text) < MIN_EXPECTED_RATIO:
            continue  # BOM-less UTF-16 decodes almost anything; keep it only if it reads
        score = _chinese_score(text) + _CHINESE_PRIOR.get(name, 0.0)
        log.debug("%s: candidate %s scores %.3f", source, name, score)
        if best is None or score > best[0]:
            best = (score, name, text, dropped)
    if best is None:
        raise InputError(
            f"{source}: 无法识别文件编码，像是二进制文件；请确认是小说文本，或另存为 UTF-8 后重试"
        )
    return best[2], best[1], best[3]


def _try_utf8(data: bytes, source: str) -> tuple[str, int] | None:
    """Strict UTF-8, tolerating only a multi-byte character cut off at the very end:
    (text, bytes of it dropped)."""
    try:
        return data.decode("utf_8"), 0
    except UnicodeDecodeError as exc:
        if _cut_at_end(data, exc):
            return data[: exc.start].decode("utf_8"), len(data) - exc.start
        text = data.decode("utf_8", errors="replace")
        broken = text.count("\ufffd")
        non_ascii = sum(1 for ch in text if ord(ch) > 0x7F) - broken
        if non_ascii >= 20 * broken:  # mostly fine UTF-8 with a few damaged bytes
            raise _broken(source, data, exc, "utf_8") from None
        return None


def _broken(source: str, data: bytes, exc: UnicodeDecodeError, codec: str) -> InputError:
    line = data[: exc.start].decode(codec, errors="replace").count("\n") + 1
    return InputError(
        f"{source}: 第 {line} 行有无法解码的字节（{codec}），文件可能已损坏；请修复或重新下载后再导入"
    )


def _candidates(data: bytes) -> list[str]:
    names: list[str] = []
    for match in from_bytes(data):
        names.append(match.encoding)
        names.extend(match.could_be_from_charset)
    names += ["gb18030", "big5"]
    if len(data) % 2 == 0:
        names += ["utf_16_le", "utf_16_be"]
    seen: list[str] = []
    for name in names:
        canonical = _canonical(name)
        if canonical and canonical not in seen:
            seen.append(canonical)
    return seen


def _canonical(name: str) -> str | None:
    try:
        canonical = codecs.lookup(name).name.replace("-", "_")
    except LookupError:
        return None
    if canonical in _GB_FAMILY - {"hz"}:
        return "gb18030"  # GB18030 is a superset of GB2312 and GBK: decode with it
    return "big5" if canonical in _BIG5_FAMILY else canonical


def _cut_at_end(data: bytes, exc: UnicodeDecodeError) -> bool:
    """The only error is a multi-byte character (at most 4 bytes) missing its last bytes."""
    return exc.start >= len(data) - 3 and exc.reason in (
        "unexpected end of data", "incomplete multibyte sequence")


def _decode_as(data: bytes, name: str) -> tuple[str, int] | None:
    """Strict decoding as `name` (text, bytes dropped from a cut-off last character)."""
    codecs_to_try = ("big5", "cp950", "big5hkscs") if name == "big5" else (name,)
    for codec in codecs_to_try:
        try:
            return data.decode(codec), 0
        except UnicodeDecodeError as exc:
            if _cut_at_end(data, exc):
                try:
                    return data[: exc.start].decode(codec), len(data) - exc.start
                except UnicodeDecodeError:
                    continue
        except LookupError:
            continue
    return None


def _sample(text: str) -> str:
    if len(text) <= 4 * _SAMPLE_CHARS:
        return text
    step = len(text) // 4
    return "".join(text[i * step: i * step + _SAMPLE_CHARS] for i in range(4))


def _bad_ratio(text: str) -> float:
    sample = _sample(text)
    bad = sum(
        1 for ch in sample
        if ch == "\ufffd" or (unicodedata.category(ch) in _BAD_CATEGORIES and ch not in "\t\n\r\f")
    )
    return bad / max(len(sample), 1)


def _expected_ratio(text: str) -> float:
    """Share of characters a Chinese or English text is made of (ASCII, hanzi, CJK punctuation)."""
    sample = _sample(text)
    expected = sum(
        1 for ch in sample
        if ord(ch) < 0x80 or "\u3000" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef"
        or "\u2000" <= ch <= "\u206f"
    )
    return expected / max(len(sample), 1)


def _chinese_score(text: str) -> float:
    """Average per character: frequent hanzi 3, CJK punctuation 2, ASCII 1, rare hanzi 0.5,
    half-width katakana and jamo -2 (what Chinese bytes turn into when read as Japanese or
    Korean). Hiragana and frequent hangul score too, so real Japanese/Korean text is not lost."""
    sample = _sample(text)
    score = 0.0
    for ch in sample:
        code = ord(ch)
        if ch in _COMMON_HANZI or ch in _COMMON_HANGUL:
            score += 3
        elif 0x4E00 <= code <= 0x9FFF or 0xAC00 <= code <= 0xD7A3:
            score += 0.5  # any hanzi or hangul decodes from random bytes: frequency tells
        elif ch in _CJK_PUNCT or 0xFF01 <= code <= 0xFF5E:
            score += 2
        elif code < 0x80:
            score += 1
        elif 0xC0 <= code <= 0xFF:
            score += 0.5  # é, ü: so Western text read as cp1252 beats its Baltic look-alikes
        elif 0x3041 <= code <= 0x309F:
            score += 2  # hiragana: frequent in Japanese, rare in Chinese bytes read as Japanese
        elif 0x30A0 <= code <= 0x30FF:
            score += 1
        elif any(low <= code <= high for low, high in _GARBAGE_RANGES):
            score -= 2
    return score / max(len(sample), 1)
