"""Deletion reports, and taking out what a deleted agent owned (for its archive)."""

from __future__ import annotations

import base64
import json
import sqlite3
from typing import Any

from ._time import now_iso
from .db import Database

# Every table whose rows belong to one agent by ``agent_id`` and outlive nothing of it (the
# mail index, watcher checkpoints and keys go with the agent row by foreign-key cascade;
# tasks given to it go the same way, tasks it gave stay with their assignee).
OWNED_TABLES = ("events", "outbox", "pending_outbound", "spam_log", "relay_delivered",
                "sent_messages", "signatures", "suppressions", "templates", "domain_delivered")
# a dead approval code (or its HMAC, from 0006_approval_hardening) is worth nothing but a risk
_NOT_ARCHIVED = frozenset({"code_enc", "code_hash"})


def _archived(row: sqlite3.Row) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in dict(row).items():
        if key in _NOT_ARCHIVED:
            continue
        if isinstance(value, bytes):
            out[f"{key}_base64"] = base64.b64encode(value).decode()
        else:
            out[key] = value
    return out


def take_owned(conn: sqlite3.Connection, agent_id: int) -> dict[str, list[dict[str, Any]]]:
    """Remove every row the agent with ``agent_id`` owns; return them, table by table."""
    taken: dict[str, list[dict[str, Any]]] = {}
    for table in OWNED_TABLES:  # names are ours, never input
        rows = conn.execute(f"SELECT * FROM {table} WHERE agent_id = ? ORDER BY rowid",
                            (agent_id,)).fetchall()
        taken[table] = [_archived(r) for r in rows]
        conn.execute(f"DELETE FROM {table} WHERE agent_id = ?", (agent_id,))
    return taken


def record(conn: sqlite3.Connection, *, agent_name: str, agent_id: int, address: str,
           archive_path: str, report: dict[str, Any]) -> None:
    conn.execute(
        "INSERT INTO deletions (agent_name, agent_id, address, deleted_at, archive_path, "
        "report) VALUES (?, ?, ?, ?, ?, ?)",
        (agent_name, agent_id, address, now_iso(), archive_path, json.dumps(report)),
    )


def list_deletions(db: Database) -> list[dict[str, Any]]:
    return [
        {**dict(r), "report": json.loads(r["report"])}
        for r in db.query("SELECT * FROM deletions ORDER BY id")
    ]
