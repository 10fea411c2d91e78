"""Mail template rows: an agent's named subject/text/HTML templates (rendered elsewhere)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from ..errors import Conflict, NotFound
from ._time import now_iso
from .db import Database


@dataclass(frozen=True)
class TemplateRow:
    id: str
    agent_id: int
    name: str
    subject: str
    text: str | None
    html: str | None
    created_at: str
    updated_at: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "subject": self.subject, "text": self.text,
                "html": self.html, "created_at": self.created_at,
                "updated_at": self.updated_at}


def _row(row: sqlite3.Row) -> TemplateRow:
    return TemplateRow(**dict(row))


def insert(conn: sqlite3.Connection, *, id: str, agent_id: int, name: str, subject: str,
           text: str | None, html: str | None) -> None:
    now = now_iso()
    try:
        conn.execute("INSERT INTO templates (id, agent_id, name, subject, text, html, "
                     "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                     (id, agent_id, name, subject, text, html, now, now))
    except sqlite3.IntegrityError as exc:
        if "UNIQUE" not in str(exc):
            raise
        raise Conflict(f"a template named {name!r} already exists",
                       code="template_exists") from exc


def update(conn: sqlite3.Connection, id: str, *, subject: str, text: str | None,
           html: str | None) -> None:
    conn.execute("UPDATE templates SET subject = ?, text = ?, html = ?, updated_at = ? "
                 "WHERE id = ?", (subject, text, html, now_iso(), id))


def delete(conn: sqlite3.Connection, id: str) -> None:
    conn.execute("DELETE FROM templates WHERE id = ?", (id,))


def get(db: Database, agent_id: int, name: str) -> TemplateRow:
    row = db.one("SELECT * FROM templates WHERE agent_id = ? AND name = ?", (agent_id, name))
    if row is None:
        raise NotFound(f"no template named {name!r}", code="template_not_found")
    return _row(row)


def list_for(db: Database, agent_id: int) -> list[TemplateRow]:
    return [_row(r) for r in db.query(
        "SELECT * FROM templates WHERE agent_id = ? ORDER BY name", (agent_id,))]
