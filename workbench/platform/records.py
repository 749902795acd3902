"""A platform record by its id, as people type it (`12` or `#12`)."""

from __future__ import annotations

from typing import Any

from sqlite_utils import Database

from workbench.errors import InputError


def get_record(db: Database, table: str, ref: int | str, what: str, listing: str
               ) -> dict[str, Any]:
    """The row of `table` with id `ref` (`12` or `#12`); InputError naming `what` (任务, 账号)
    and the command that lists them."""
    try:
        number = int(str(ref).lstrip("#"))
    except ValueError:
        raise InputError(f"{what}编号应为数字，收到 {ref!r}") from None
    rows = list(db[table].rows_where("id = ?", [number], limit=1))
    if not rows:
        raise InputError(f"没有编号为 {number} 的{what}（{listing} 查看全部）")
    return dict(rows[0])
