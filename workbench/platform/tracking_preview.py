"""A look at a tracking export before it is imported: which column the detected preset (or the
user's `列名=字段,…` map) reads for each field, and the first rows as they would be read, each
with the reason it would be rejected. Nothing is stored; the same reading and checks as
`import_tracking` are used, so what the preview shows is what the import does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlite_utils import Database

from workbench.errors import InputError
from workbench.platform.tracking import DEFAULT_SOURCE, find_header, import_options
from workbench.platform.tracking_mapping import FIELDS
from workbench.platform.tracking_read import cell_text, open_export
from workbench.platform.tracking_rows import Rejection, RowChecker

PREVIEW_ROWS = 10
MAX_PREVIEW_ROWS = 100


@dataclass
class PreviewRow:
    line: int
    values: dict[str, str]  # mapped field → the cell as text
    problem: str | None  # why the import would reject this row; None when it is good


@dataclass
class TrackingPreview:
    header: list[str]
    preset: str | None  # the preset that fits (named or detected); None for a map
    source: str  # what the rows would be stored under
    columns: dict[str, str]  # field → the file's column name, in FIELDS order
    rows: list[PreviewRow] = field(default_factory=list)
    more: bool = False  # rows follow beyond those shown

    @property
    def unmapped(self) -> list[str]:
        """The file's columns no field reads (left out of the import)."""
        used = set(self.columns.values())
        return [name for name in self.header if name and name not in used]


def preview_tracking(db: Database, path: Path | str, *, preset: str | None = None,
                     mapping: str | None = None, source: str | None = None,
                     task: int | str | None = None, rows: int = PREVIEW_ROWS
                     ) -> TrackingPreview:
    """The mapping `import_tracking` would use with these options and the first `rows` data
    rows it would read (blank rows left out). Raises InputError as the import would."""
    if not 1 <= rows <= MAX_PREVIEW_ROWS:
        raise InputError(f"预览行数应在 1 到 {MAX_PREVIEW_ROWS} 之间，收到 {rows}")
    chosen, spec, named_source, checker_index = import_options(db, preset, mapping, source, task)
    with open_export(path) as export:
        sheet, header, fit = find_header(export, chosen, spec)
        checker = RowChecker(fit, checker_index)
        ordered = {name: fit.names[name] for name in FIELDS if name in fit.columns}
        found = TrackingPreview(header=header, preset=fit.preset, columns=ordered,
                                source=named_source or fit.preset or DEFAULT_SOURCE)
        for line, cells in sheet.rows:
            outcome = checker.check(line, cells)
            if outcome is None:
                continue
            if len(found.rows) == rows:
                found.more = True
                break
            values = {name: cell_text(cells[index]) if index < len(cells) else ""
                      for name, index in fit.columns.items()}
            problem = outcome.reason if isinstance(outcome, Rejection) else None
            found.rows.append(PreviewRow(line, values, problem))
        close = getattr(sheet.rows, "close", None)
        if close:  # an XLSX sheet's reader holds its part of the archive open
            close()
    return found
