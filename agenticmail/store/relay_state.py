"""Relay gateway state: the INBOX checkpoint, the (Message-ID, agent) dedup log, live status.

The checkpoint (UIDVALIDITY + last UID) advances in the same transaction that records a
message as handled, and only after it was delivered, so a failed delivery is retried and a
message is never handled twice (the dedup log also covers a UIDVALIDITY reset).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from ._time import now_iso
from .db import Database

DELIVERED_RETAIN = 100_000


COUNTERS = ("delivered", "skipped", "approvals", "failed")


@dataclass(frozen=True)
class RelayState:
    mode: str
    connected: bool
    last_activity_at: str | None
    last_error: str | None
    last_error_at: str | None
    failures: int
    next_retry_at: str | None
    delivered: int
    skipped: int
    approvals: int
    failed: int

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


def checkpoint(db: Database, account: str) -> tuple[int, int] | None:
    row = db.one("SELECT uidvalidity, last_uid FROM relay_checkpoint WHERE account = ?",
                 (account.lower(),))
    return None if row is None else (int(row["uidvalidity"]), int(row["last_uid"]))


def save_checkpoint(conn: sqlite3.Connection, account: str, uidvalidity: int, uid: int) -> None:
    conn.execute(
        "INSERT INTO relay_checkpoint (account, uidvalidity, last_uid, updated_at) "
        "VALUES (?, ?, ?, ?) ON CONFLICT (account) DO UPDATE SET uidvalidity = excluded."
        "uidvalidity, last_uid = excluded.last_uid, updated_at = excluded.updated_at",
        (account.lower(), uidvalidity, uid, now_iso()))


def already_delivered(db: Database, message_key: str, agent: str) -> bool:
    return db.one("SELECT 1 FROM relay_delivered WHERE message_key = ? AND agent = ?",
                  (message_key, agent)) is not None


def record_delivered(conn: sqlite3.Connection, message_key: str, agent: str, uid: int, *,
                     agent_id: int) -> None:
    conn.execute("INSERT OR IGNORE INTO relay_delivered (message_key, agent, agent_id, uid, "
                 "delivered_at) VALUES (?, ?, ?, ?, ?)",
                 (message_key, agent, agent_id, uid, now_iso()))
    conn.execute("DELETE FROM relay_delivered WHERE rowid <= (SELECT max(rowid) FROM "
                 "relay_delivered) - ?", (DELIVERED_RETAIN,))


def _ensure(conn: sqlite3.Connection) -> None:
    conn.execute("INSERT OR IGNORE INTO relay_state (id, updated_at) VALUES (1, ?)",
                 (now_iso(),))


def update_state(conn: sqlite3.Connection, **fields: Any) -> None:
    """Set status columns (names are ours, never input)."""
    _ensure(conn)
    if fields:
        sets = ", ".join(f"{name} = ?" for name in fields)
        conn.execute(f"UPDATE relay_state SET {sets}, updated_at = ? WHERE id = 1",
                     (*fields.values(), now_iso()))


def bump(conn: sqlite3.Connection, counter: str, by: int = 1) -> None:
    if counter not in COUNTERS:
        raise ValueError(counter)
    _ensure(conn)
    conn.execute(f"UPDATE relay_state SET {counter} = {counter} + ?, updated_at = ? "
                 "WHERE id = 1", (by, now_iso()))


def state(db: Database) -> RelayState:
    row = db.one("SELECT * FROM relay_state WHERE id = 1")
    if row is None:
        return RelayState("off", False, None, None, None, 0, None, 0, 0, 0, 0)
    data = dict(row)
    return RelayState(mode=data["mode"], connected=bool(data["connected"]),
                      last_activity_at=data["last_activity_at"], last_error=data["last_error"],
                      last_error_at=data["last_error_at"], failures=int(data["failures"]),
                      next_retry_at=data["next_retry_at"], delivered=int(data["delivered"]),
                      skipped=int(data["skipped"]), approvals=int(data["approvals"]),
                      failed=int(data["failed"]))


def sent_count(db: Database) -> int:
    """Messages agents sent to the internet (through the relay's SMTP)."""
    row = db.one("SELECT count(*) AS n FROM outbox WHERE delivered_external = 1 "
                 "AND agent != '_system'")
    return int(row["n"]) if row else 0
