"""What a script template may use, by kind: the variables the pipeline fills in, and the
segments (top-level blocks) a template of each kind must have."""

from __future__ import annotations

BUILTIN_VARIABLES: dict[str, str] = {
    "keyword": "任务口令，结尾引导里必须出现，如 {{ app }}搜索【{{ keyword }}】",
    "app": "阅读 App 名称，如 番茄小说",
    "book_title": "书名",
    "chapter_title": "章节标题",
    "chapter_index": "章节序号（从 1 开始）",
    "chapter_text": "章节正文（已清理，段落之间换行）",
}
# A drama template (kind: drama) sees the segments the video is made of instead of a chapter.
DRAMA_VARIABLES: dict[str, str] = {
    "keyword": "任务口令，结尾引导里必须出现，如 {{ app }}搜索【{{ keyword }}】",
    "app": "短剧 App 或小程序名称，如 红果短剧",
    "drama_title": "剧名",
    "segments": "所用片段（剧情顺序）的列表，每项有 episode（第几集，按导入顺序）、number"
                "（文件名里的集数）、start、end、seconds、text（片段内的台词，连成一段）和 lines"
                "（台词列表）",
    "episode_numbers": "所用剧集的集数列表（按剧情顺序，不重复）",
    "strongest_line": "所选片段里最抓人的一句台词（冲突、疑问、悬念词打分最高）",
    "total_seconds": "所有片段的总时长（秒，不含片尾）",
}
COMPUTED_VARIABLES: dict[str, str] = {
    "target_seconds": "front matter 里的目标时长（秒）；短剧模板里是片段的总时长",
    "target_chars": "目标字数 = target_seconds × 语速（字/秒），用来给正文定长度",
}
REQUIRED_SEGMENTS = ("hook", "body", "cta")
DRAMA_REQUIRED_SEGMENTS = ("hook", "cta")
KINDS = ("novel", "drama")


def builtin_variables(kind: str) -> dict[str, str]:
    """The variables the pipeline fills in for a template of `kind`."""
    return DRAMA_VARIABLES if kind == "drama" else BUILTIN_VARIABLES


def required_segments(kind: str) -> tuple[str, ...]:
    """A drama cut may have no narration body: only its hook and call to action are required."""
    return DRAMA_REQUIRED_SEGMENTS if kind == "drama" else REQUIRED_SEGMENTS
