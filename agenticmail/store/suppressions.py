"""Each agent's suppression list: addresses it no longer mails, and why.

One row per (agent, lower-cased address); ``reason`` is ``hard_bounce``, ``complaint``,
``unsubscribe`` or ``manual``. Adding an address already on the list keeps the first reason.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from ._time import now_iso
from .db import Database

REASONS = ("hard_bounce", "complaint", "unsubscribe", "manual")


@dataclass(frozen=True)
class Suppression:
    agent_id: int
    address: str
    reason: str
    detail: str | None
    source: str | None
    created_at: str

    def to_dict(self) -> dict[str, Any]:
        return {"address": self.address, "reason": self.reason, "detail": self.detail,
                "source": self.source, "created_at": self.created_at}


def add(conn: sqlite3.Connection, agent_id: int, address: str, reason: str,
        detail: str | None = None, source: str | None = None) -> bool:
    """Put ``address`` on the agent's list; False when it already was (nothing changes)."""
    if reason not in REASONS:
        raise ValueError(reason)
    return conn.execute(
        "INSERT OR IGNORE INTO suppressions (agent_id, address, reason, detail, source, "
        "created_at) VALUES (?, ?, ?, ?, ?, ?)",
        (agent_id, address.lower(), reason, detail, source, now_iso())).rowcount == 1


def remove(conn: sqlite3.Connection, agent_id: int, address: str) -> bool:
    return conn.execute("DELETE FROM suppressions WHERE agent_id = ? AND address = ?",
                        (agent_id, address.lower())).rowcount == 1


def list_for(db: Database, agent_id: int, limit: int = 1000, offset: int = 0
             ) -> list[Suppression]:
    rows = db.query("SELECT * FROM suppressions WHERE agent_id = ? ORDER BY created_at DESC, "
                    "address LIMIT ? OFFSET ?", (agent_id, limit, offset))
    return [Suppression(**dict(r)) for r in rows]


def matching(db: Database, agent_id: int, addresses: list[str]) -> list[Suppression]:
    """The entries of the agent's list among ``addresses`` (compared in lower case)."""
    wanted = sorted({a.lower() for a in addresses})
    if not wanted:
        return []
    marks = ", ".join("?" for _ in wanted)
    rows = db.query(f"SELECT * FROM suppressions WHERE agent_id = ? AND address IN ({marks}) "
                    "ORDER BY address", (agent_id, *wanted))
    return [Suppression(**dict(r)) for r in rows]
