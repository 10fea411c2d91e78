"""Signature rows: an agent's named signatures (text and/or HTML), at most one the default."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from ..errors import Conflict, NotFound
from ._time import now_iso
from .db import Database


@dataclass(frozen=True)
class SignatureRow:
    id: str
    agent_id: int
    name: str
    text: str | None
    html: str | None
    is_default: bool
    created_at: str
    updated_at: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "text": self.text, "html": self.html,
                "default": self.is_default, "created_at": self.created_at,
                "updated_at": self.updated_at}


def _row(row: sqlite3.Row) -> SignatureRow:
    data = dict(row)
    data["is_default"] = bool(data["is_default"])
    return SignatureRow(**data)


def _clear_default(conn: sqlite3.Connection, agent_id: int) -> None:
    conn.execute("UPDATE signatures SET is_default = 0 WHERE agent_id = ? AND is_default = 1",
                 (agent_id,))


def insert(conn: sqlite3.Connection, *, id: str, agent_id: int, name: str, text: str | None,
           html: str | None, is_default: bool) -> None:
    if is_default:
        _clear_default(conn, agent_id)
    now = now_iso()
    try:
        conn.execute("INSERT INTO signatures (id, agent_id, name, text, html, is_default, "
                     "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                     (id, agent_id, name, text, html, int(is_default), now, now))
    except sqlite3.IntegrityError as exc:
        if "UNIQUE" not in str(exc):
            raise
        raise Conflict(f"a signature named {name!r} already exists",
                       code="signature_exists") from exc


def update(conn: sqlite3.Connection, row: SignatureRow, *, text: str | None,
           html: str | None, is_default: bool) -> None:
    if is_default and not row.is_default:
        _clear_default(conn, row.agent_id)
    conn.execute("UPDATE signatures SET text = ?, html = ?, is_default = ?, updated_at = ? "
                 "WHERE id = ?", (text, html, int(is_default), now_iso(), row.id))


def delete(conn: sqlite3.Connection, id: str) -> None:
    conn.execute("DELETE FROM signatures WHERE id = ?", (id,))


def get(db: Database, agent_id: int, name: str) -> SignatureRow:
    row = db.one("SELECT * FROM signatures WHERE agent_id = ? AND name = ?", (agent_id, name))
    if row is None:
        raise NotFound(f"no signature named {name!r}", code="signature_not_found")
    return _row(row)


def default(db: Database, agent_id: int) -> SignatureRow | None:
    row = db.one("SELECT * FROM signatures WHERE agent_id = ? AND is_default = 1", (agent_id,))
    return None if row is None else _row(row)


def list_for(db: Database, agent_id: int) -> list[SignatureRow]:
    return [_row(r) for r in db.query(
        "SELECT * FROM signatures WHERE agent_id = ? ORDER BY name", (agent_id,))]
