"""Rule rows: an agent's ordered server-side filters (conditions and actions kept as JSON)."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from ._time import now_iso
from .db import Database


@dataclass(frozen=True)
class RuleRow:
    id: str
    name: str
    position: int
    enabled: bool
    match: str
    conditions: list[dict[str, Any]]
    actions: list[dict[str, Any]]
    created_at: str
    updated_at: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "position": self.position,
                "enabled": self.enabled, "match": self.match, "conditions": self.conditions,
                "actions": self.actions, "created_at": self.created_at,
                "updated_at": self.updated_at}


def _row(row: sqlite3.Row) -> RuleRow:
    return RuleRow(row["id"], row["name"], int(row["position"]), bool(row["enabled"]),
                   row["match"], json.loads(row["conditions"]), json.loads(row["actions"]),
                   row["created_at"], row["updated_at"])


def list_rules(db: Database, agent_id: int) -> list[RuleRow]:
    """The agent's rules in the order they run."""
    return [_row(r) for r in db.query(
        "SELECT * FROM rules WHERE agent_id = ? ORDER BY position, created_at", (agent_id,))]


def find(db: Database, agent_id: int, ref: str) -> RuleRow | None:
    """A rule by id or by name."""
    row = db.one("SELECT * FROM rules WHERE agent_id = ? AND (id = ? OR name = ?) "
                 "ORDER BY id = ? DESC LIMIT 1", (agent_id, ref, ref, ref))
    return None if row is None else _row(row)


def name_taken(conn: sqlite3.Connection, agent_id: int, name: str, but: str | None = None
               ) -> bool:
    row = conn.execute("SELECT id FROM rules WHERE agent_id = ? AND name = ? AND id IS NOT ?",
                       (agent_id, name, but)).fetchone()
    return row is not None


def save(conn: sqlite3.Connection, agent_id: int, rule: RuleRow) -> RuleRow:
    """Insert or replace ``rule`` at its position, moving the rules at and after it down."""
    now = now_iso()
    exists = conn.execute("SELECT created_at FROM rules WHERE id = ?", (rule.id,)).fetchone()
    created = exists[0] if exists else now
    conn.execute("DELETE FROM rules WHERE id = ?", (rule.id,))
    conn.execute("UPDATE rules SET position = position + 1 WHERE agent_id = ? AND position >= ?",
                 (agent_id, rule.position))
    conn.execute(
        "INSERT INTO rules (id, agent_id, name, position, enabled, match, conditions, actions, "
        "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (rule.id, agent_id, rule.name, rule.position, int(rule.enabled), rule.match,
         json.dumps(rule.conditions), json.dumps(rule.actions), created, now))
    _renumber(conn, agent_id)
    found = conn.execute("SELECT * FROM rules WHERE id = ?", (rule.id,)).fetchone()
    return _row(found)


def next_position(conn: sqlite3.Connection, agent_id: int) -> int:
    row = conn.execute("SELECT coalesce(max(position), 0) FROM rules WHERE agent_id = ?",
                       (agent_id,)).fetchone()
    return int(row[0]) + 1


def delete(conn: sqlite3.Connection, agent_id: int, rule_id: str) -> None:
    conn.execute("DELETE FROM rules WHERE agent_id = ? AND id = ?", (agent_id, rule_id))
    _renumber(conn, agent_id)


def _renumber(conn: sqlite3.Connection, agent_id: int) -> None:
    """Positions 1..n in order, no gaps."""
    ids = [r[0] for r in conn.execute(
        "SELECT id FROM rules WHERE agent_id = ? ORDER BY position, updated_at DESC",
        (agent_id,))]
    conn.executemany("UPDATE rules SET position = ? WHERE id = ?",
                     [(i, rule_id) for i, rule_id in enumerate(ids, 1)])
