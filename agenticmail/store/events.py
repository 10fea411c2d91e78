"""The persistent event log: what SSE clients replay after a reconnect (``Last-Event-ID``)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from ..models import Event
from ._time import now_iso
from .db import Database

RETAIN_EVENTS = 100_000


def append(conn: sqlite3.Connection, type_: str, agent: str | None, data: dict[str, Any],
           agent_id: int | None = None) -> Event:
    """Record an event; ``agent_id`` (never reused) decides which agent may see it, ``agent``
    is the name shown. An event without an id is the owner's alone."""
    created = now_iso()
    cur = conn.execute(
        "INSERT INTO events (type, agent, agent_id, data, created_at) VALUES (?, ?, ?, ?, ?)",
        (type_, agent, agent_id, json.dumps(data, default=str), created),
    )
    assert cur.lastrowid is not None
    return Event(id=cur.lastrowid, type=type_, agent=agent, data=data, created_at=created,
                 agent_id=agent_id)


def _event(row: sqlite3.Row) -> Event:
    return Event(id=row["id"], type=row["type"], agent=row["agent"],
                 data=json.loads(row["data"]), created_at=row["created_at"],
                 agent_id=row["agent_id"])


def after(db: Database, last_id: int, agent_id: int | None = None, limit: int = 1000
          ) -> list[Event]:
    """Events after ``last_id``: all of them, or those of the agent with ``agent_id``."""
    if agent_id is None:
        rows = db.query("SELECT * FROM events WHERE id > ? ORDER BY id LIMIT ?", (last_id, limit))
    else:
        rows = db.query("SELECT * FROM events WHERE id > ? AND agent_id = ? ORDER BY id LIMIT ?",
                        (last_id, agent_id, limit))
    return [_event(r) for r in rows]


def last_id(db: Database) -> int:
    row = db.one("SELECT max(id) AS m FROM events")
    return int(row["m"] or 0) if row else 0


def prune(conn: sqlite3.Connection, keep: int = RETAIN_EVENTS) -> None:
    conn.execute("DELETE FROM events WHERE id <= (SELECT max(id) FROM events) - ?", (keep,))
