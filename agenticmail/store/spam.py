"""The spam log (what the inbound filter moved to Spam, and why).

Verdicts themselves are stored by :mod:`.verdicts` (keyed by the message's bytes); the
``messages.security`` column added here was keyed by Message-ID and is no longer used.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from ._time import now_iso
from .db import Database

DDL = (
    """CREATE TABLE spam_log (
        id INTEGER PRIMARY KEY,
        agent TEXT NOT NULL,
        message_id TEXT,
        from_addr TEXT,
        subject TEXT,
        score INTEGER NOT NULL,
        category TEXT,
        rules TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'spam' CHECK (status IN ('spam', 'not_spam')),
        created_at TEXT NOT NULL)""",
    "CREATE INDEX spam_log_agent ON spam_log(agent, id)",
    "ALTER TABLE messages ADD COLUMN security TEXT",
)


def log_spam(conn: sqlite3.Connection, *, agent: str, agent_id: int, message_id: str | None,
             from_addr: str, subject: str, score: int, category: str | None,
             rules: list[dict[str, Any]]) -> None:
    conn.execute(
        "INSERT INTO spam_log (agent, agent_id, message_id, from_addr, subject, score, "
        "category, rules, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (agent, agent_id, message_id, from_addr, subject, score, category, json.dumps(rules),
         now_iso()))


def mark_not_spam(conn: sqlite3.Connection, agent_id: int, message_id: str | None) -> None:
    conn.execute("UPDATE spam_log SET status = 'not_spam' WHERE agent_id = ? AND "
                 "message_id IS ?", (agent_id, message_id))


def list_spam(db: Database, agent_id: int | None, limit: int = 100) -> list[dict[str, Any]]:
    """The spam log of the agent with ``agent_id`` (everyone's when None), newest first."""
    if agent_id is None:
        rows = db.query("SELECT * FROM spam_log ORDER BY id DESC LIMIT ?", (limit,))
    else:
        rows = db.query("SELECT * FROM spam_log WHERE agent_id = ? ORDER BY id DESC LIMIT ?",
                        (agent_id, limit))
    shown = [{**dict(r), "rules": json.loads(r["rules"])} for r in rows]
    for entry in shown:
        del entry["agent_id"]  # the API shows names
    return shown

