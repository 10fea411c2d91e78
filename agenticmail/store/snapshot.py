"""A consistent copy of the database while the daemon writes to it (SQLite's online backup
API: the copy is one committed state, whatever the writer does meanwhile)."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from ..errors import ConfigError
from .db import storage_error

PAGES_PER_STEP = 1024  # the writer waits at most one step's worth of copying


def snapshot(src: Path, dest: Path) -> None:
    """Copy the database at ``src`` into a new 0600 file ``dest``."""
    if not src.is_file():
        raise ConfigError(f"there is no database at {src}", hint="run: agenticmail setup")
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    try:
        source = sqlite3.connect(str(src), timeout=10)  # reads only
        try:
            target = sqlite3.connect(str(dest))
            try:
                source.backup(target, pages=PAGES_PER_STEP)
                target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            finally:
                target.close()
        finally:
            source.close()
    except sqlite3.Error as exc:
        dest.unlink(missing_ok=True)
        raise storage_error(exc, src) or ConfigError(
            f"cannot copy the database {src}: {exc}") from exc
