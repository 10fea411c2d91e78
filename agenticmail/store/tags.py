"""Tag rows: an agent's named, coloured tags and the IMAP keyword each one is on a message."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from ._time import now_iso
from .db import Database


@dataclass(frozen=True)
class TagRow:
    name: str
    keyword: str
    color: str | None
    created_at: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "keyword": self.keyword, "color": self.color,
                "created_at": self.created_at}


def _row(row: sqlite3.Row) -> TagRow:
    return TagRow(row["name"], row["keyword"], row["color"], row["created_at"])


def insert(conn: sqlite3.Connection, agent_id: int, name: str, keyword: str,
           color: str | None) -> TagRow | None:
    """The new tag, or None when the agent already has one of that name or keyword."""
    now = now_iso()
    cur = conn.execute(
        "INSERT INTO tags (agent_id, name, keyword, color, created_at) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT DO NOTHING", (agent_id, name, keyword, color, now))
    return TagRow(name, keyword, color, now) if cur.rowcount == 1 else None


def find(db: Database, agent_id: int, name: str) -> TagRow | None:
    row = db.one("SELECT * FROM tags WHERE agent_id = ? AND name = ?", (agent_id, name))
    return None if row is None else _row(row)


def list_tags(db: Database, agent_id: int) -> list[TagRow]:
    return [_row(r) for r in db.query("SELECT * FROM tags WHERE agent_id = ? ORDER BY name",
                                      (agent_id,))]


def delete(conn: sqlite3.Connection, agent_id: int, name: str) -> bool:
    cur = conn.execute("DELETE FROM tags WHERE agent_id = ? AND name = ?", (agent_id, name))
    return cur.rowcount == 1
