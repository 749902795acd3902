"""Template versions: the lab's history of every script template, in SQLite (m011).

The rules (README "Template lab"):

- A version is a whole `.j2` text whose front matter `version:` is the version number; its
  content hash is `ScriptTemplate.content_hash` of that text. So a submission made from it
  records exactly (template_id, version, hash) and joins back to its row.
- `save_version` makes a new version only when the text differs from the latest version's
  (compared with the version line set to the latest's number: the number the editor shows does
  not count). The new number is latest + 1; old versions are never changed or removed.
- A template the lab has not seen yet (bundled, or a file in a templates folder) is recorded
  first, as it is (`adopt`), so its history starts with what `make` has been using.
- Saving writes the new version to the *active* file as well — the user's copy in
  `$WORKBENCH_HOME/templates/<id>.j2`, or the user file that already defines the id — so
  `workbench make --template <id>` uses the newest version. Bundled files are never written.
- Export writes versions to `.j2` files; import reads one back as a version (keeping its
  number when that number is free and newer than the latest, so a template moved between
  studios keeps its identity).

Nothing here prints; every function returns plain values for the CLI and the app.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from workbench.config import PROJECT_ROOT, Settings
from workbench.errors import InputError, TemplateError
from workbench.files import write_text_atomic
from workbench.frontmatter import read_utf8, split_front_matter
from workbench.script.lint import lint_source
from workbench.script.templates import (
    ScriptTemplate,
    load_template,
    scan_templates,
    template_from_source,
)
from workbench.store import utcnow, write_transaction

MAX_VERSIONS = 10_000  # per template: far more than any studio writes; a runaway script stops
_REF = re.compile(r"^(?P<id>[a-z0-9_-]+)(?:@v?(?P<version>\d{1,6}))?$")
_VERSION_LINE = re.compile(r"^version[ \t]*:.*$", re.MULTILINE)


@dataclass(frozen=True)
class TemplateVersion:
    template_id: str
    version: int
    content_hash: str
    source: str
    origin: str  # lab | import | file:<path>
    note: str
    actor: str
    created_at: str

    @property
    def ref(self) -> str:
        return f"{self.template_id}@{self.version}"

    def template(self) -> ScriptTemplate:
        """The parsed template; messages name it `<id>@<version>.j2`."""
        return template_from_source(self.source, Path(f"{self.ref}.j2"))

    def to_dict(self, with_source: bool = False) -> dict[str, Any]:
        data = {"template_id": self.template_id, "version": self.version,
                "hash": self.content_hash, "origin": self.origin, "note": self.note,
                "actor": self.actor, "created_at": self.created_at}
        return {**data, "source": self.source} if with_source else data


@dataclass(frozen=True)
class SaveResult:
    version: TemplateVersion
    created: bool  # False: the text was the latest version already
    written: Path | None  # the active template file written, if any
    adopted: TemplateVersion | None = None  # the file version recorded first, if any


def parse_ref(ref: str) -> tuple[str, int | None]:
    """`suspense` → ("suspense", None); `suspense@3` or `suspense@v3` → ("suspense", 3)."""
    match = _REF.match(ref.strip())
    if not match:
        raise InputError(f"模板引用 {ref!r} 无效：写成 模板ID 或 模板ID@版本号（如 suspense@3）")
    version = match.group("version")
    return match.group("id"), int(version) if version else None


def with_version(text: str, version: int) -> str:
    """`text` with its front matter `version:` set to `version` (added after `id:` when the
    header has none). Only the top-level key is touched; the body is left as it is."""
    header, _body, _first = split_front_matter(text)
    start = text.index("\n") + 1  # the header follows the opening --- line
    line = f"version: {version}"
    if _VERSION_LINE.search(header):
        new_header = _VERSION_LINE.sub(line, header, count=1)
    else:
        id_line = re.search(r"^id[ \t]*:.*$", header, re.MULTILINE)
        at = id_line.end() + 1 if id_line else 0
        new_header = header[:at] + line + "\n" + header[at:]
    return text[:start] + new_header + text[start + len(header):]


def _row(row: dict[str, Any]) -> TemplateVersion:
    return TemplateVersion(row["template_id"], int(row["version"]), row["content_hash"],
                           row["source"], row["origin"] or "", row["note"] or "",
                           row["actor"] or "", row["created_at"])


def list_versions(db: Database, template_id: str) -> list[TemplateVersion]:
    """Oldest first."""
    return [_row(r) for r in db["template_versions"].rows_where(
        "template_id = ?", [template_id], order_by="version", limit=MAX_VERSIONS)]


def latest_version(db: Database, template_id: str) -> TemplateVersion | None:
    rows = list(db["template_versions"].rows_where(
        "template_id = ?", [template_id], order_by="version desc", limit=1))
    return _row(rows[0]) if rows else None


def get_version(db: Database, template_id: str, version: int | None = None) -> TemplateVersion:
    """One version (the latest when `version` is None)."""
    if version is None:
        found = latest_version(db, template_id)
    else:
        rows = list(db["template_versions"].rows_where(
            "template_id = ? AND version = ?", [template_id, version], limit=1))
        found = _row(rows[0]) if rows else None
    if found is None:
        known = [v.version for v in list_versions(db, template_id)]
        have = f"已有版本：{', '.join(map(str, known))}" if known else "实验室里还没有这个模板的版本"
        raise InputError(f"找不到模板 {template_id}" + (f" 的版本 {version}" if version else "")
                         + f"（{have}；workbench lab versions {template_id} 查看）")
    return found


def active_template(settings: Settings, template_id: str) -> ScriptTemplate | None:
    """The template `make --template <id>` would use now (None if no file defines it)."""
    for template in scan_templates(settings.template_dirs)[0]:
        if template.id == template_id:
            return template
    return None


def active_path(settings: Settings, template_id: str) -> Path:
    """Where saving writes: the user file that defines the id, else the user's templates
    folder (which overrides the bundled file of the same id)."""
    current = active_template(settings, template_id)
    bundled = (PROJECT_ROOT / "templates").resolve()
    if current is not None and current.path.parent.resolve() != bundled:
        return current.path
    return settings.home / "templates" / f"{template_id}.j2"


def _number(template: ScriptTemplate) -> int | None:
    return int(template.version) if template.version.isdigit() and int(template.version) > 0 \
        else None


def _insert(db: Database, template_id: str, version: int, source: str, *, origin: str,
            note: str, actor: str) -> TemplateVersion:
    parsed = template_from_source(source, Path(f"{template_id}@{version}.j2"))
    row = {"template_id": template_id, "version": version, "content_hash": parsed.content_hash,
           "source": source, "origin": origin, "note": note or None, "actor": actor,
           "created_at": utcnow()}
    db["template_versions"].insert(row)
    return _row(row)


def _record_as_is(db: Database, template: ScriptTemplate, *, origin: str, note: str,
                  actor: str) -> TemplateVersion:
    """The text as a version: its own number when that is free and newer than the latest
    (the text, and so its hash, stays exactly as it is), else latest + 1 with the version line
    set to it."""
    latest = latest_version(db, template.id)
    next_number = (latest.version if latest else 0) + 1
    if next_number > MAX_VERSIONS:
        raise InputError(f"模板 {template.id} 已有 {MAX_VERSIONS:,} 个版本，不能再增加")
    own = _number(template)
    if own is not None and own >= next_number:
        return _insert(db, template.id, own, template.source, origin=origin, note=note,
                       actor=actor)
    return _insert(db, template.id, next_number, with_version(template.source, next_number),
                   origin=origin, note=note, actor=actor)


def adopt(db: Database, settings: Settings, template_id: str, *, actor: str = "system"
          ) -> TemplateVersion | None:
    """Record the active file of `template_id` when the lab has no version with its hash (the
    lab had not seen it, or it was edited outside the lab), so no text `make` used is lost
    from the history. Writes only to the database. Returns the recorded version, if any."""
    current = active_template(settings, template_id)
    if current is None:
        return None
    known = {v.content_hash for v in list_versions(db, template_id)}
    if current.content_hash in known:
        return None
    with write_transaction(db):
        return _record_as_is(db, current, origin=f"file:{current.path}",
                             note="实验室首次看到的模板文件", actor=actor)


def _checked(text: str, name: Path, settings: Settings) -> ScriptTemplate:
    """The template in `text`, refused (with every error and its line) when lint finds errors."""
    errors = [i for i in lint_source(text, name, chars_per_second=settings.chars_per_second)
              if i.is_error]
    if errors:
        first = errors[0]
        more = f"（另有 {len(errors) - 1} 处错误，workbench lab lint 查看全部）" if len(errors) > 1 else ""
        raise InputError(f"{first.path}:{first.line}: {first.message}{more}；"
                         "模板有错误，没有保存，请改正后再保存")
    try:
        return template_from_source(text, name)
    except TemplateError as exc:
        raise InputError(f"{exc}；模板没有保存") from None


def _writable_target(settings: Settings, template_id: str) -> Path:
    """The active file path, refused when a different (or broken) file already sits there:
    saving must never overwrite someone's other template."""
    path = active_path(settings, template_id)
    if path.exists():
        try:
            other = load_template(path)
        except TemplateError:
            raise InputError(f"{path} 已存在但无法加载（可能正在编辑）；为免覆盖，没有保存："
                             "先修好或移走这个文件再保存") from None
        if other.id != template_id:
            raise InputError(f"{path} 是另一个模板（id {other.id}）；为免覆盖，没有保存")
    return path


def save_version(db: Database, settings: Settings, text: str, *, name: Path | None = None,
                 note: str = "", actor: str = "system", origin: str = "lab",
                 keep_number: bool = False, write_active: bool = True) -> SaveResult:
    """Save `text` (a whole template) as the next version of its id, unless it is the latest
    version already. Lint must find no errors. With `write_active` the new version also
    becomes the active template file. `keep_number` (import) keeps the text's own version
    number when that is free and newer."""
    name = name or Path("<编辑器>")
    template = _checked(text, name, settings)
    target = _writable_target(settings, template.id) if write_active else None
    adopted = adopt(db, settings, template.id, actor=actor)
    with write_transaction(db):  # the latest number read and the next one written as one
        latest = latest_version(db, template.id)
        if latest is not None:
            same = template_from_source(with_version(text, latest.version), name)
            if same.content_hash == latest.content_hash:
                return SaveResult(latest, False, None, adopted)
        if keep_number:
            version = _record_as_is(db, template, origin=origin, note=note, actor=actor)
        else:
            number = (latest.version if latest else 0) + 1
            if number > MAX_VERSIONS:
                raise InputError(f"模板 {template.id} 已有 {MAX_VERSIONS:,} 个版本，不能再增加")
            version = _insert(db, template.id, number, with_version(text, number),
                              origin=origin, note=note, actor=actor)
        # the file inside the transaction: a failed write leaves no row behind
        if target is not None:
            write_text_atomic(target, version.source)
    return SaveResult(version, True, target, adopted)


def save_file(db: Database, settings: Settings, path: Path, *, note: str = "",
              actor: str = "system") -> SaveResult:
    return save_version(db, settings, read_template_text(path), name=path, note=note,
                        actor=actor)


def read_template_text(path: Path) -> str:
    if not path.is_file():
        raise InputError(f"找不到模板文件：{path}")
    try:
        return read_utf8(path)
    except TemplateError as exc:
        raise InputError(str(exc)) from None


# --- which submissions used which version -----------------------------------------------------

@dataclass(frozen=True)
class VersionUsage:
    counts: dict[int, int]  # version → submissions made with it
    unmatched: int  # submissions of this template id whose version/hash the lab does not know


def usage(db: Database, template_id: str) -> VersionUsage:
    """Submissions per version: matched by content hash, or by version number for rows with
    no hash."""
    versions = list_versions(db, template_id)
    by_hash = {v.content_hash: v.version for v in versions}
    numbers = {str(v.version) for v in versions}
    counts = dict.fromkeys((v.version for v in versions), 0)
    unmatched = 0
    for row in db.query(
            "SELECT template_version, template_hash, count(*) AS n FROM submissions "
            "WHERE template_id = ? GROUP BY template_version, template_hash", [template_id]):
        version = by_hash.get(row["template_hash"] or "")
        if version is None and not row["template_hash"] and row["template_version"] in numbers:
            version = int(row["template_version"])
        if version is None:
            unmatched += row["n"]
        else:
            counts[version] += row["n"]
    return VersionUsage(counts, unmatched)


def submissions_of(db: Database, version: TemplateVersion, limit: int = 200
                   ) -> list[dict[str, Any]]:
    """The submissions made with `version` (newest first, at most `limit`)."""
    return [dict(r) for r in db.query(
        "SELECT id, status, keyword, title, created_at FROM submissions WHERE template_id = ? "
        "AND (template_hash = ? OR (template_hash IS NULL AND template_version = ?)) "
        "ORDER BY created_at DESC LIMIT ?",
        [version.template_id, version.content_hash, str(version.version), limit])]


# --- export and import ------------------------------------------------------------------------

def export_name(version: TemplateVersion) -> str:
    return f"{version.template_id}.v{version.version}.j2"


def export_versions(versions: list[TemplateVersion], out: Path) -> list[Path]:
    """One version to `out` (a file, or a folder it goes into); several into the folder
    `out`. Files are named `<id>.v<version>.j2` inside a folder; each keeps its front matter
    version, so importing it elsewhere gives the same version and hash."""
    if not versions:
        raise InputError("没有可导出的版本")
    if len(versions) == 1 and out.suffix == ".j2":
        targets = [out]
    else:
        if out.exists() and not out.is_dir():
            raise InputError(f"{out} 是文件；导出多个版本时 --out 应为文件夹")
        targets = [out / export_name(v) for v in versions]
    for version, target in zip(versions, targets, strict=True):
        write_text_atomic(target, version.source)
    return targets


def import_file(db: Database, settings: Settings, path: Path, *, note: str = "",
                actor: str = "system") -> SaveResult:
    """A `.j2` file as a version of its id (lint must find no errors). Its own version number
    is kept when free and newer than the latest; identical to the latest: nothing new. Like a
    save, the imported version becomes the active template file."""
    return save_version(db, settings, read_template_text(path), name=path,
                        note=note or f"导入自 {path.name}", actor=actor, origin="import",
                        keep_number=True)
