"""Domain mode's inbound log: the webhook ids already accepted (replays are refused) and the
(Message-ID, agent) pairs already delivered (a message reaches an agent once, however often
Cloudflare's Worker posts it)."""

from __future__ import annotations

import sqlite3

from ._time import now_iso
from .db import Database

DELIVERED_RETAIN = 100_000


def claim_webhook_id(conn: sqlite3.Connection, webhook_id: str, expires: float,
                     now: float) -> bool:
    """Record ``webhook_id`` as seen until ``expires`` (Unix time); False when it was seen
    already (a replay). Ids past their time are dropped first."""
    conn.execute("DELETE FROM domain_webhook_seen WHERE expires < ?", (now,))
    cursor = conn.execute("INSERT OR IGNORE INTO domain_webhook_seen (webhook_id, expires) "
                          "VALUES (?, ?)", (webhook_id, expires))
    return cursor.rowcount == 1


def already_delivered(db: Database, message_key: str, agent: str) -> bool:
    return db.one("SELECT 1 FROM domain_delivered WHERE message_key = ? AND agent = ?",
                  (message_key, agent)) is not None


def record_delivered(conn: sqlite3.Connection, message_key: str, agent: str, *,
                     agent_id: int | None, webhook_id: str) -> None:
    conn.execute("INSERT OR IGNORE INTO domain_delivered (message_key, agent, agent_id, "
                 "webhook_id, delivered_at) VALUES (?, ?, ?, ?, ?)",
                 (message_key, agent, agent_id, webhook_id, now_iso()))
    conn.execute("DELETE FROM domain_delivered WHERE rowid <= (SELECT max(rowid) FROM "
                 "domain_delivered) - ?", (DELIVERED_RETAIN,))
