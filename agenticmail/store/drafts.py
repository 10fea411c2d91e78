"""Draft rows: which IMAP message in the agent's Drafts folder a draft is, and its content."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from ..errors import NotFound
from ._time import now_iso
from .db import Database


@dataclass(frozen=True)
class DraftRow:
    id: str
    agent_id: int
    folder: str
    uid: int | None
    message_id: str
    spec: dict[str, Any]
    created_at: str
    updated_at: str

    def to_dict(self) -> dict[str, Any]:
        spec = dict(self.spec)
        spec["attachments"] = [{k: v for k, v in a.items() if k != "content_base64"}
                               for a in spec.get("attachments", [])]
        return {"id": self.id, "folder": self.folder, "uid": self.uid,
                "message_id": self.message_id, "created_at": self.created_at,
                "updated_at": self.updated_at, **spec}


def _row(row: sqlite3.Row) -> DraftRow:
    data = dict(row)
    data["spec"] = json.loads(data["spec"])
    return DraftRow(**data)


def insert(conn: sqlite3.Connection, *, id: str, agent_id: int, folder: str, uid: int | None,
           message_id: str, spec: dict[str, Any]) -> None:
    now = now_iso()
    conn.execute("INSERT INTO drafts (id, agent_id, folder, uid, message_id, spec, created_at, "
                 "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                 (id, agent_id, folder, uid, message_id, json.dumps(spec), now, now))


def update(conn: sqlite3.Connection, id: str, *, uid: int | None, message_id: str,
           spec: dict[str, Any]) -> None:
    conn.execute("UPDATE drafts SET uid = ?, message_id = ?, spec = ?, updated_at = ? "
                 "WHERE id = ?", (uid, message_id, json.dumps(spec), now_iso(), id))


def delete(conn: sqlite3.Connection, id: str) -> None:
    conn.execute("DELETE FROM drafts WHERE id = ?", (id,))


def get(db: Database, agent_id: int, id: str) -> DraftRow:
    row = db.one("SELECT * FROM drafts WHERE id = ? AND agent_id = ?", (id, agent_id))
    if row is None:
        raise NotFound(f"no draft {id!r}")
    return _row(row)


def list_for(db: Database, agent_id: int, limit: int, offset: int) -> list[DraftRow]:
    return [_row(r) for r in db.query(
        "SELECT * FROM drafts WHERE agent_id = ? ORDER BY updated_at DESC LIMIT ? OFFSET ?",
        (agent_id, limit, offset))]
