"""Another process holding SQLite's write lock, as a long import or a batch in a second
terminal would: for tests of what Workbench does when the database is busy."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HOLD = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")  # the write lock
print("holding", flush=True)
time.sleep(float(sys.argv[2]))
db.execute("ROLLBACK")
"""


def hold_write_lock(db_path: Path, seconds: float = 60.0) -> subprocess.Popen:
    """A process that holds the write lock on `db_path` for `seconds` (returns once it does);
    kill it to release the lock sooner."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(db_path), str(seconds)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "holding"
    return proc
