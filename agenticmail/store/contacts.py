"""Contact rows: an agent's address book, counted from its correspondence and editable."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from ._time import now_iso
from .db import Database

STATUSES = ("block", "allow")


@dataclass(frozen=True)
class ContactRow:
    address: str
    name: str | None
    notes: str | None
    tags: list[str]
    status: str | None
    received: int
    sent: int
    first_seen: str | None
    last_seen: str | None
    created_at: str
    updated_at: str

    def to_dict(self) -> dict[str, Any]:
        return {"address": self.address, "name": self.name, "notes": self.notes,
                "tags": self.tags, "status": self.status, "count": self.received + self.sent,
                "received": self.received, "sent": self.sent, "first_seen": self.first_seen,
                "last_seen": self.last_seen, "created_at": self.created_at,
                "updated_at": self.updated_at}


def _row(row: sqlite3.Row) -> ContactRow:
    return ContactRow(row["address"], row["name"], row["notes"], json.loads(row["tags"]),
                      row["status"], int(row["received"]), int(row["sent"]), row["first_seen"],
                      row["last_seen"], row["created_at"], row["updated_at"])


def seen(conn: sqlite3.Connection, agent_id: int, addresses: list[str], *, inbound: bool,
         name: str | None = None) -> None:
    """Count one message from (``inbound``) or to each of ``addresses`` (lower case)."""
    now = now_iso()
    column = "received" if inbound else "sent"
    for address in addresses:
        conn.execute(
            f"INSERT INTO contacts (agent_id, address, name, {column}, first_seen, last_seen, "
            "created_at, updated_at) VALUES (?, ?, ?, 1, ?, ?, ?, ?) "
            f"ON CONFLICT (agent_id, address) DO UPDATE SET {column} = {column} + 1, "
            "last_seen = excluded.last_seen, first_seen = coalesce(first_seen, "
            "excluded.first_seen), name = coalesce(name, excluded.name)",
            (agent_id, address, name, now, now, now, now))


def find(db: Database | sqlite3.Connection, agent_id: int, address: str) -> ContactRow | None:
    sql, params = "SELECT * FROM contacts WHERE agent_id = ? AND address = ?", (agent_id, address)
    row = db.execute(sql, params).fetchone() if isinstance(db, sqlite3.Connection) \
        else db.one(sql, params)
    return None if row is None else _row(row)


def status_of(db: Database, agent_id: int, address: str, domain: str) -> ContactRow | None:
    """The contact with a block/allow status for ``address``, else for ``@domain``."""
    rows = db.query("SELECT * FROM contacts WHERE agent_id = ? AND status IS NOT NULL AND "
                    "address IN (?, ?) ORDER BY address = ? DESC LIMIT 1",
                    (agent_id, address, "@" + domain, address))
    return _row(rows[0]) if rows else None


def domains(db: Database, agent_id: int) -> frozenset[str]:
    """The (lower-case) domains of every contact the agent has exchanged mail with or
    allowed, blocked ones left out."""
    rows = db.query("SELECT DISTINCT substr(address, instr(address, '@') + 1) AS domain "
                    "FROM contacts WHERE agent_id = ? AND (status IS NULL OR status = 'allow') "
                    "AND (received > 0 OR sent > 0 OR status = 'allow')", (agent_id,))
    return frozenset(str(r["domain"]).lower() for r in rows if r["domain"])


def list_contacts(db: Database, agent_id: int, *, status: str | None, query: str | None,
                  limit: int, offset: int) -> tuple[int, list[ContactRow]]:
    where: list[str] = ["agent_id = ?"]
    params: list[Any] = [agent_id]
    if status is not None:
        where.append("status = ?")
        params.append(status)
    if query:
        pattern = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        where.append("(address LIKE ? ESCAPE '\\' OR name LIKE ? ESCAPE '\\')")
        params += [pattern, pattern]
    clause = " AND ".join(where)
    total = db.one(f"SELECT count(*) AS n FROM contacts WHERE {clause}", tuple(params))
    rows = db.query(f"SELECT * FROM contacts WHERE {clause} ORDER BY last_seen DESC, address "
                    "LIMIT ? OFFSET ?", (*params, limit, offset))
    return int(total["n"]) if total else 0, [_row(r) for r in rows]


def upsert(conn: sqlite3.Connection, agent_id: int, address: str, changes: dict[str, Any]
           ) -> ContactRow:
    """Create the contact or change the given fields (``name``, ``notes``, ``tags``,
    ``status``); a field given as None is cleared."""
    now = now_iso()
    conn.execute("INSERT INTO contacts (agent_id, address, created_at, updated_at) "
                 "VALUES (?, ?, ?, ?) ON CONFLICT (agent_id, address) DO NOTHING",
                 (agent_id, address, now, now))
    allowed = {"name", "notes", "tags", "status"}
    fields = {k: (json.dumps(v) if k == "tags" else v) for k, v in changes.items()
              if k in allowed}
    if fields:
        sets = ", ".join(f"{k} = ?" for k in fields)
        conn.execute(f"UPDATE contacts SET {sets}, updated_at = ? WHERE agent_id = ? AND "
                     "address = ?", (*fields.values(), now, agent_id, address))
    found = find(conn, agent_id, address)
    assert found is not None
    return found


def delete(conn: sqlite3.Connection, agent_id: int, address: str) -> bool:
    cur = conn.execute("DELETE FROM contacts WHERE agent_id = ? AND address = ?",
                       (agent_id, address))
    return cur.rowcount == 1
