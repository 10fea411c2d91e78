"""Deletion reports: what was archived when an agent was deleted."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from ._time import now_iso
from .db import Database


def record(conn: sqlite3.Connection, *, agent_name: str, address: str, archive_path: str,
           report: dict[str, Any]) -> None:
    conn.execute(
        "INSERT INTO deletions (agent_name, address, deleted_at, archive_path, report) "
        "VALUES (?, ?, ?, ?, ?)",
        (agent_name, address, now_iso(), archive_path, json.dumps(report)),
    )


def list_deletions(db: Database) -> list[dict[str, Any]]:
    return [
        {**dict(r), "report": json.loads(r["report"])}
        for r in db.query("SELECT * FROM deletions ORDER BY id")
    ]
