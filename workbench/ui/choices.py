"""Dropdown/gallery choices built from the library (labels in Chinese, values the CLI's)."""

from __future__ import annotations

from contextlib import closing

from sqlite_utils import Database

from workbench.config import Settings
from workbench.errors import InputError, WorkbenchError
from workbench.footage import TAG_PREFIX, is_tag, library_tags, list_footage
from workbench.materials.library import list_chapters, list_materials
from workbench.render.backgrounds import GENERATED, STORY_IMAGES
from workbench.render.bgm import generated_variant
from workbench.render.thumbs import background_thumbnail
from workbench.rewrite.prompts import list_prompts
from workbench.script.templates import get_template, list_templates
from workbench.store import open_db
from workbench.uploads import inside_uploads, list_uploads, uploads_dir
from workbench.voice.edge import COMMON_VOICES
from workbench.voice.registry import BACKENDS, plan_voice

GENERATED_BACKGROUNDS = 4  # palettes offered as "generated:<seed>"
Choices = list[tuple[str, str | int]]


def materials(db: Database) -> Choices:
    return [(f"#{m['id']} 《{m['title']}》 " + (f"短剧 {m['chapter_count']} 集"
                                               if m.get("kind") == "drama"
                                               else f"{m['chapter_count']} 章"), m["id"])
            for m in list_materials(db)]


def is_drama(db: Database, material: object) -> bool:
    """Whether the chosen material (a dropdown value, maybe junk) is a stored drama."""
    try:
        material_id = int(str(material))
    except ValueError:
        return False
    rows = list(db["materials"].rows_where("id = ?", [material_id], select="kind", limit=1))
    return bool(rows) and rows[0]["kind"] == "drama"


def chapters(db: Database, material_id: int | None) -> Choices:
    if not material_id:
        return []
    return [(f"{c['idx']}. {c['title']}（{c['chars']} 字）", c["idx"])
            for c in list_chapters(db, int(material_id))]


def templates(settings: Settings, kind: str = "novel") -> Choices:
    """The script templates for one kind of material (novel | drama)."""
    return [(f"{t.name}（{t.id}，约 {t.target_seconds} 秒）", t.id)
            for t in list_templates(settings.template_dirs) if t.kind == kind]


def prompts(settings: Settings) -> Choices:
    return [(f"{p.name}（{p.id}）", p.id) for p in list_prompts(settings.prompt_dirs)]


def known_template(settings: Settings, value: str | None, kind: str = "novel") -> str:
    """A template id from the list (the API takes no paths: a path would load any file on the
    server and tell the caller whether it exists)."""
    ids = [t.id for t in list_templates(settings.template_dirs) if t.kind == kind]
    if not value or value not in ids:
        raise InputError(f"请选择脚本模板（可选：{'、'.join(ids) or '无'}）")
    return value


def known_prompt(settings: Settings, value: str | None) -> str:
    """A rewrite prompt id from the list (None/empty: the default, narration)."""
    ids = [p.id for p in list_prompts(settings.prompt_dirs)]
    value = value or "narration"
    if value not in ids:
        raise InputError(f"未知的改写提示词 {value[:40]!r}（可选：{'、'.join(ids)}）")
    return value


def voices(settings: Settings) -> Choices:
    """Offline-safe: espeak's voices plus edge's common Chinese voices (no network call)."""
    offline = BACKENDS["espeak"](settings).list_voices()
    return ([(f"{v.description}（{v.id}，edge 在线）", v.id) for v in COMMON_VOICES]
            + [(f"{v.description}（{v.id}，离线）", v.id) for v in offline])


def default_voice(settings: Settings) -> str:
    """The voice the configured backend speaks with: with espeak, the offline voice (`cmn`),
    not the edge voice in `settings.voice`, which espeak would reject when passed explicitly."""
    try:
        return plan_voice(settings).primary.params.voice
    except WorkbenchError:  # bad settings: the 设置 tab and the badge say why
        return settings.voice


def template_voice(settings: Settings, template: str) -> tuple[str | None, int | None]:
    """The voice and rate (percent) a template asks for, as the 配音 controls show them, None
    for what it does not ask for; the user's own settings still win (see `plan_voice`)."""
    hint = get_template(template, settings.template_dirs).voice_hint
    if not hint:
        return None, None
    params = plan_voice(settings, hint=hint).primary.params
    return (params.voice if hint.gender else None,
            params.rate_percent if hint.rate else None)


def backgrounds(settings: Settings) -> Choices:
    out: Choices = [("阅读页 · 纸张", "page:paper"), ("阅读页 · 夜间", "page:night")]
    out += [(f"内置动画 · 配色 {seed + 1}", f"generated:{seed}")
            for seed in range(GENERATED_BACKGROUNDS)]
    out += [(f"上传：{p.name}", f"upload:{p.name}") for p in list_uploads(settings, "background")]
    if settings.images_backend != "none" and (settings.images_base_url or settings.images_api_key
                                              or settings.images_backend == "openai"):
        out.append(("AI 配图（按文案逐段生成）", STORY_IMAGES))
    return out + [(f"素材库：{tag}", f"{TAG_PREFIX}{tag}") for tag in _tags(settings, "video")]


def _tags(settings: Settings, kind: str) -> list[str]:
    with closing(open_db(settings.db_path)) as db:
        return library_tags(db, kind)


def background_spec(settings: Settings, choice: str | None) -> tuple[str | None, int]:
    """A background choice → (MakeJob.background, seed)."""
    choice = choice or "page:paper"
    kind, _, rest = choice.partition(":")
    if kind == "page":
        return choice, 0
    if kind == "generated":  # by name: no background (None) now means the reading page
        try:
            return GENERATED, int(rest or 0)
        except ValueError:
            raise InputError(f"背景选项无效: {choice}") from None
    if choice == STORY_IMAGES:
        return STORY_IMAGES, 0
    if kind == "upload":
        return str(inside_uploads(settings, "background",
                                  uploads_dir(settings, "background") / rest)), 0
    if is_tag(choice):
        return choice, 0
    raise InputError(f"背景选项无效: {choice}"
                     "（应为 page:主题、generated:N、upload:文件名、tag:标签 或 images:ai）")


def background_gallery(settings: Settings) -> list[tuple[str, str]]:
    """(thumbnail path, caption) per background choice, in the order of `backgrounds`."""
    items = []
    for label, value in backgrounds(settings):
        spec, seed = background_spec(settings, str(value))
        try:
            thumb = (_tag_thumbnail(settings, str(spec)) if is_tag(spec)
                     else background_thumbnail(spec, seed, settings.cache_dir))
        except InputError:
            continue
        items.append((str(thumb), label))
    return items


def _tag_thumbnail(settings: Settings, spec: str) -> str:
    """A tag's picture in the gallery: the thumbnail of its first clip."""
    with closing(open_db(settings.db_path)) as db:
        clips = list_footage(db, spec[len(TAG_PREFIX):], "video")
    if not clips or not clips[0]["thumb"]:
        raise InputError(f"素材库里没有 {spec} 的缩略图")
    return clips[0]["thumb"]


BUILT_IN_PADS = ("柔和和弦铺底", "明亮和弦", "悬疑和弦", "抒情和弦")


def bgms(settings: Settings) -> Choices:
    pads: Choices = [(f"内置：{name}", "generated" if n == 0 else f"generated:{n}")
                     for n, name in enumerate(BUILT_IN_PADS)]
    return (pads + [("不要背景音乐", "none")]
            + [(f"上传：{p.name}", f"upload:{p.name}") for p in list_uploads(settings, "bgm")]
            + [(f"素材库：{tag}", f"{TAG_PREFIX}{tag}") for tag in _tags(settings, "music")])


def bgm_spec(settings: Settings, choice: str | None) -> str:
    choice = choice or "generated"
    if choice == "none" or generated_variant(choice) is not None or is_tag(choice):
        return choice
    kind, _, rest = choice.partition(":")
    if kind != "upload":
        raise InputError(f"背景音乐选项无效: {choice}")
    return str(inside_uploads(settings, "bgm", uploads_dir(settings, "bgm") / rest))
