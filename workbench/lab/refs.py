"""Which template the lab works on: a `.j2` file being edited, a template id (what `make`
would use now), or one stored version (`id@3`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlite_utils import Database

from workbench.config import Settings
from workbench.errors import InputError, TemplateError
from workbench.files import write_text_atomic
from workbench.lab.versions import (
    TemplateVersion,
    active_template,
    adopt,
    get_version,
    list_versions,
    parse_ref,
    read_template_text,
)
from workbench.script.templates import ScriptTemplate, template_from_source


@dataclass(frozen=True)
class LabTemplate:
    template: ScriptTemplate
    label: str  # how the lab names it: suspense@3, my.j2
    version: int | None  # the stored version it is, if any
    file: Path  # a file with exactly this text, for the pipeline (`make`'s --template)


def is_file_ref(ref: str) -> bool:
    return ref.endswith(".j2") or "/" in ref or "\\" in ref


def version_file(settings: Settings, version: TemplateVersion) -> Path:
    """A stored version as a file under the cache, named by its hash (written once)."""
    path = settings.cache_dir / "lab" / "templates" / version.content_hash / \
        f"{version.template_id}.j2"
    if not path.is_file():
        write_text_atomic(path, version.source)
    return path


def from_text(text: str, name: Path, settings: Settings) -> LabTemplate:
    """An unsaved text (the editor's): written to the cache by content, like a version."""
    try:
        template = template_from_source(text, name)
    except TemplateError as exc:
        raise InputError(f"{exc}（workbench lab lint 查看全部问题）") from None
    path = settings.cache_dir / "lab" / "drafts" / template.content_hash / f"{template.id}.j2"
    if not path.is_file():
        write_text_atomic(path, text)
    return LabTemplate(template, name.name, None, path)


def resolve(db: Database, settings: Settings, ref: str, *, actor: str = "system"
            ) -> LabTemplate:
    """`my.j2` (a file), `suspense` (the active template; recorded as a version first if the
    lab has not seen it) or `suspense@3` (a stored version)."""
    if is_file_ref(ref):
        path = Path(ref).expanduser()
        text = read_template_text(path)
        try:
            return LabTemplate(template_from_source(text, path), path.name, None, path)
        except TemplateError as exc:
            raise InputError(f"{exc}（workbench lab lint {path} 查看全部问题）") from None
    template_id, number = parse_ref(ref)
    if number is not None:
        version = get_version(db, template_id, number)
        return LabTemplate(version.template(), version.ref, version.version,
                           version_file(settings, version))
    adopt(db, settings, template_id, actor=actor)
    current = active_template(settings, template_id)
    if current is None:  # no file any more: the newest stored version
        version = get_version(db, template_id)
        return LabTemplate(version.template(), version.ref, version.version,
                           version_file(settings, version))
    stored = {v.content_hash: v for v in list_versions(db, template_id)}.get(
        current.content_hash)
    label = stored.ref if stored else current.id
    return LabTemplate(current, label,
                       stored.version if stored else None, current.path)
