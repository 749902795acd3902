"""The reading-page background: real renders (ffmpeg + libass), pixels checked where the page
puts them. Draft profile (720×1280): page coordinates (1080×1920) scale by 2/3."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from batch_fixtures import NOVEL, batch_settings  # noqa: F401  (fixture)
from PIL import Image

from workbench.errors import InputError
from workbench.ffmpeg import run_ffmpeg
from workbench.fonts import default_font_file, serif_font_file
from workbench.materials.library import add_material, get_chapter
from workbench.models import MakeJob
from workbench.pipeline import run_job
from workbench.render import page
from workbench.render.backgrounds import resolve_background, with_page_text
from workbench.render.overlays import OverlaySpec
from workbench.render.plan import RenderJob, render_plan
from workbench.render.profiles import get_profile
from workbench.render.run import execute
from workbench.render.thumbs import background_thumbnail
from workbench.voice.audio import write_wav
from workbench.voice.timing import SegmentSpan, TimedWord, TimingMap

W, H = 720, 1280
K = W / page.PLAY_W
SR = 22050
SENTENCE_SECONDS = 1.0
# 12 sentences of about 25 characters: about 18 lines, more than the text area shows
SENTENCES = [
    "那天夜里江上起了大雾，渡口的灯一盏接一盏熄灭。", "她攥着一张褪色的船票，站在最后一级台阶上等船。",
    "没人知道船夫从哪里来，也没人见过他的脸和眼睛。", "雾里传来一声低低的咳嗽，像是有人在水面上走路。",
    "他说这条船只渡有缘人，可上船的人再也没回来过。", "三十年前的那一夜，也是这样浓得化不开的大雾。",
    "她数了数船上的乘客，明明七个人却有八道影子。", "第八个人一直背对着她，肩上落满了细细的霜花。",
    "船行到江心忽然停了，灯笼里的火苗变成了青色。", "有人低声念出她的名字，那声音熟悉得让人害怕。",
    "那是她失踪多年的父亲，手冰凉得像深秋的江水。", "他塞给她一把生锈的钥匙，说回去的路比来时长。",
]
DURATION = len(SENTENCES) * SENTENCE_SECONDS + 0.5
PAPER = (0xF6, 0xEF, 0xDC)  # paper, seed 0
NIGHT = (0x1B, 0x1C, 0x20)  # night, seed 0


def timing_map() -> TimingMap:
    """Two segments (hook: the first sentence; body: the rest), one timed word per sentence."""
    hook, body = SENTENCES[0], "".join(SENTENCES[1:])
    words = [TimedWord(hook, 0.0, 0.9, 0, 0, len(hook))]
    pos = 0
    for i, sentence in enumerate(SENTENCES[1:], start=1):
        words.append(TimedWord(sentence, i * SENTENCE_SECONDS, i * SENTENCE_SECONDS + 0.9, 1,
                               pos, pos + len(sentence)))
        pos += len(sentence)
    return TimingMap(audio="voice.wav", sample_rate=SR, duration=DURATION, backend="test",
                     voice="test", segments=[SegmentSpan("hook", hook, 0.0, 0.9),
                                             SegmentSpan("body", body, 1.0, DURATION)],
                     words=words)


def render_page(tmp: Path, theme: str, duration: float = DURATION) -> Path:
    audio = tmp / "voice.wav"
    t = np.arange(round(duration * SR)) / SR
    write_wav(audio, (0.2 * np.sin(2 * np.pi * 300 * t) * 32767).astype("<i2").tobytes(), SR)
    text = page.page_text(timing_map(), "番茄小说", "第二章 夜渡")
    background = with_page_text(resolve_background(f"page:{theme}"), text)
    job = RenderJob(
        audio=audio, duration=duration, subtitles_ass=None,
        overlays=OverlaySpec(label="本视频含AI生成内容", label_seconds=0,
                             banner="番茄小说搜索【夜渡迷局】", end_card=(), end_card_seconds=0,
                             keyword="夜渡迷局"),
        background=background, profile=get_profile("draft"), output=tmp / f"{theme}.mp4",
        font_file=default_font_file())
    return execute(render_plan(job)).path


def frame(video: Path, t: float) -> np.ndarray:
    raw = run_ffmpeg(["-ss", f"{t:.3f}", "-i", str(video), "-frames:v", "1",
                      "-f", "rawvideo", "-pix_fmt", "rgb24", "-"])
    assert len(raw) == W * H * 3
    return np.frombuffer(raw, np.uint8).reshape(H, W, 3).astype(np.int32)


def rows(y0: float, y1: float) -> slice:
    """Page rows (1080×1920 coordinates) → draft frame rows."""
    return slice(round(y0 * K), round(y1 * K))


def luma(img: np.ndarray) -> np.ndarray:
    return 0.299 * img[..., 0] + 0.587 * img[..., 1] + 0.114 * img[..., 2]


def paper_highlight(img: np.ndarray) -> np.ndarray:  # #C8461E, orange-red
    r, g, b = img[..., 0], img[..., 1], img[..., 2]
    return (r > 150) & (g < 120) & (b < 90) & (r - g > 70)


def night_highlight(img: np.ndarray) -> np.ndarray:  # #E6A646, amber
    r, g, b = img[..., 0], img[..., 1], img[..., 2]
    return (r > 170) & (g > 110) & (g < 200) & (b < 110) & (r - b > 100)


TEXT = rows(page.TEXT_TOP, page.TEXT_BOTTOM)


def highlight_rows(img: np.ndarray, mask=paper_highlight) -> np.ndarray:
    """Frame rows (absolute) holding at least a few highlight-coloured pixels."""
    counts = mask(img).sum(axis=1)
    return np.flatnonzero(counts >= 3)


@pytest.fixture(scope="module")
def paper_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render_page(tmp_path_factory.mktemp("paper"), "paper")


def test_paper_frame_is_paper_with_dark_text_and_a_header(paper_video: Path) -> None:
    img = frame(paper_video, 0.5)
    margin = img[TEXT, 4:round(page.SIDE * K) - 8]  # left of the text: bare paper
    assert np.abs(margin.reshape(-1, 3).mean(axis=0) - PAPER).max() < 6
    text = img[TEXT, round(page.SIDE * K):W - round(page.SIDE * K)]
    dark = luma(text) < 110
    assert dark.sum() > 5000, "no dark body text on the page"
    assert (luma(text) > 200).mean() > 0.6, "the page is not mostly paper"
    # header: the app name (muted) and the chapter title (dark, bold), above the rule
    app_band = img[rows(page.HEADER_TOP, page.HEADER_TOP + 56), :W // 2]
    title_band = img[rows(page.HEADER_TOP + 60, page.RULE_Y - 4), :W // 2]
    assert ((luma(app_band) < 190) & (luma(app_band) > 90)).sum() > 100  # grey app name
    assert (luma(title_band) < 90).sum() > 800  # the title's dark ink
    assert (luma(img[rows(page.HEADER_TOP, page.RULE_Y - 4), W // 2 + 100:]) > 200).all(), \
        "the header's right half should be bare paper (short title)"


def test_spoken_sentence_is_highlighted_and_moves_on(paper_video: Path) -> None:
    first, later = frame(paper_video, 0.5), frame(paper_video, 5.05)
    at_start, at_later = highlight_rows(first), highlight_rows(later)
    assert at_start.size and at_later.size
    # sentence 1 opens the page: its highlight sits in the first two lines
    top = page.FIRST_LINE * K
    assert top <= at_start.min() and at_start.max() <= top + 2 * page.LINE_HEIGHT * K
    # sentence 6 has just begun: scrolled to the reading line, highlighted there
    reading = page.READING_LINE * K
    assert abs(at_later.min() - reading) <= 0.5 * page.LINE_HEIGHT * K
    # what was highlighted at the start is plain ink now: the text at the top has changed
    assert not np.array_equal(first[TEXT], later[TEXT])
    assert paper_highlight(later[rows(page.FIRST_LINE, page.FIRST_LINE + 80)]).sum() < 3


def test_the_scroll_keeps_the_spoken_sentence_on_screen(paper_video: Path) -> None:
    for t in (0.5, 2.5, 4.5, 6.5, 8.5, 10.5, 11.9):
        found = highlight_rows(frame(paper_video, t))
        assert found.size > 10, f"no highlighted sentence at {t}s"
        assert TEXT.start <= found.min() and found.max() < TEXT.stop, f"off the page at {t}s"


def test_scroll_geometry_for_every_sentence() -> None:
    """Pure: at each sentence's start its first line is at the reading line (or the page has
    not needed to scroll yet), offsets never go back, and at its end its last line is still
    inside the text area."""
    text = page.page_text(timing_map(), "番茄小说", "第二章")
    assert [s.start for s in text.sentences] == [float(i) for i in range(len(SENTENCES))]
    assert [s.new_paragraph for s in text.sentences][:3] == [True, True, False]
    lines = page.layout(text, serif_font_file())
    assert len(lines) * page.LINE_HEIGHT > page.TEXT_BOTTOM - page.TEXT_TOP  # it must scroll
    points = page._offsets(lines, text, DURATION)
    offsets = [o for _, o, _ in points]
    assert offsets == sorted(offsets) and offsets[-1] > 0
    line_of = {}
    for i, line in enumerate(lines):
        for _, k in line:
            line_of.setdefault(k, []).append(i)
    for (_, o0, k), (_, o1, _) in itertools.pairwise(points):
        if k is None:
            continue
        first = page.FIRST_LINE + line_of[k][0] * page.LINE_HEIGHT - o0
        last = page.FIRST_LINE + line_of[k][-1] * page.LINE_HEIGHT - o1
        assert first == page.READING_LINE or o0 == 0 or o0 == offsets[-1]
        assert page.TEXT_TOP <= first and last + page.LINE_HEIGHT <= page.TEXT_BOTTOM


def test_night_theme_colours(tmp_path: Path) -> None:
    video = render_page(tmp_path, "night", duration=3.0)
    img = frame(video, 1.5)
    margin = img[TEXT, 4:round(page.SIDE * K) - 8]
    assert np.abs(margin.reshape(-1, 3).mean(axis=0) - NIGHT).max() < 6
    text = img[TEXT, round(page.SIDE * K):W - round(page.SIDE * K)]
    assert (luma(text) < 45).mean() > 0.6, "the night page is not mostly dark"
    assert (luma(text) > 100).sum() > 3000, "no light text on the night page"
    assert night_highlight(text).sum() > 300, "no amber highlight on the night page"
    assert paper_highlight(text).sum() < 3


def test_page_specs_and_a_preview(tmp_path: Path) -> None:
    assert resolve_background(None).kind == "page"
    assert resolve_background(None, page_theme="night").theme == "night"
    assert resolve_background("page").theme == "paper"
    assert resolve_background("page:night", page_theme="paper").theme == "night"
    assert resolve_background("generated").kind == "generated"
    with pytest.raises(InputError, match="page:paper"):
        resolve_background("page:sepia")
    thumb = background_thumbnail("page:night", 0, tmp_path)
    pixels = np.asarray(Image.open(thumb).convert("RGB"), dtype=np.int32)
    assert luma(pixels).mean() < 70  # a night page, with some text on it
    assert (luma(pixels) > 90).sum() > 50


def test_a_job_without_background_gets_the_reading_page(batch_settings, db):  # noqa: F811
    """What `make demo` does (a MakeJob naming no background), on a tiny template."""
    material, _ = add_material(db, NOVEL)
    job = MakeJob(material_id=material["id"], chapter=2, template="tiny", keyword="夜渡迷局",
                  bgm="none")
    outcome = run_job(job, batch_settings, db)
    described = outcome.manifest["render"]["background"]
    assert described["kind"] == "page"
    assert described["page"] == {"theme": "paper", "app": outcome.manifest["recipe"]["app"],
                                 "title": get_chapter(db, material["id"], 2).title}
    img = frame(outcome.package / "video.mp4", 1.0)
    margin = img[TEXT, 4:round(page.SIDE * K) - 8]
    assert np.abs(margin.reshape(-1, 3).mean(axis=0) - PAPER).max() < 6
    assert paper_highlight(img[TEXT]).sum() > 100, "the spoken sentence is not highlighted"


def test_variant_seeds_do_not_look_like_copies(tmp_path: Path) -> None:
    """Platforms compare sampled frames: two seeds set the page in other sizes and tints."""
    import imagehash

    from workbench.batch.fingerprint import DUPLICATE_BITS, HASH_SIZE

    hashes = [imagehash.phash(Image.open(background_thumbnail("page", seed, tmp_path))
                              .convert("L"), hash_size=HASH_SIZE) for seed in range(4)]
    for a, b in itertools.combinations(hashes, 2):
        assert a - b > DUPLICATE_BITS


def test_line_breaking_follows_cjk_rules() -> None:
    """No line starts with a closing mark, none ends with an opening one, and at most one mark
    hangs past the text width (into the page's margin)."""
    text = ("声音听上去平静：“马经理，出什么事了？”“出什么事？”“上个月东门码头的票款，"
            "少了三万八千块。保险柜的钥匙就你和老周有，老周在公司干了三十年，你说，是谁拿的？”"
            "我脑子里“嗡”的一声。“我没拿。”可我万万没想到，真正可怕的事，才刚刚开始……")
    font = serif_font_file()
    sentences = tuple(page.PageSentence(s, None, i == 0)
                      for i, s in enumerate(page.split_sentences(text)))
    for em, _ in page.SIZES:
        lines = ["".join(run for run, _ in line)
                 for line in page.layout(page.PageText("", "", sentences), font, em)]
        assert "".join(lines) == page.INDENT + text  # nothing lost or repeated
        width = page.PLAY_W - 2 * page.SIDE
        for line in lines:
            assert line[0] not in page.NO_LINE_START, (em, line)
            assert line[-1] not in page.NO_LINE_END, (em, line)
            drawn = sum(page._advance(font, ch) for ch in line) * em / 1000
            assert drawn <= width + em + 0.5, (em, line)  # one full-width mark at most
