"""The message index (one row per message seen in an agent's folder) and watcher checkpoints."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

from ._time import now_iso
from .db import Database


@dataclass(frozen=True)
class IndexEntry:
    agent_id: int
    folder: str
    uidvalidity: int
    uid: int
    message_id: str | None
    thread_id: str | None
    from_addr: str
    to_addrs: tuple[str, ...]
    subject: str
    date: str | None
    flags: tuple[str, ...]
    subject_norm: str | None = None  # the subject without Re:/Fwd:/list tags, lower case
    snippet: str | None = None  # the start of the sanitised text


def upsert(conn: sqlite3.Connection, entry: IndexEntry) -> bool:
    """Index a message; returns False if it was already indexed (same folder/uidvalidity/uid)."""
    cur = conn.execute(
        "INSERT INTO messages (agent_id, folder, uidvalidity, uid, message_id, thread_id, "
        "from_addr, to_addrs, subject, date, flags, indexed_at, subject_norm, snippet) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (agent_id, folder, uidvalidity, uid) DO NOTHING",
        (entry.agent_id, entry.folder, entry.uidvalidity, entry.uid, entry.message_id,
         entry.thread_id, entry.from_addr, json.dumps(entry.to_addrs), entry.subject,
         entry.date, json.dumps(entry.flags), now_iso(), entry.subject_norm, entry.snippet),
    )
    return cur.rowcount == 1


def copies(conn: sqlite3.Connection, agent_id: int, folder: str, message_id: str) -> int:
    """How many indexed messages in the agent's ``folder`` carry ``message_id``."""
    row = conn.execute("SELECT count(*) FROM messages WHERE message_id = ? AND agent_id = ? "
                       "AND folder = ?", (message_id, agent_id, folder)).fetchone()
    return int(row[0])


def set_flags(conn: sqlite3.Connection, agent_id: int, folder: str, uid: int,
              flags: tuple[str, ...]) -> None:
    conn.execute(
        "UPDATE messages SET flags = ? WHERE agent_id = ? AND folder = ? AND uid = ?",
        (json.dumps(flags), agent_id, folder, uid),
    )


def remove(conn: sqlite3.Connection, agent_id: int, folder: str, uids: list[int]) -> None:
    conn.executemany(
        "DELETE FROM messages WHERE agent_id = ? AND folder = ? AND uid = ?",
        [(agent_id, folder, uid) for uid in uids],
    )


def known_uids(db: Database, agent_id: int, folder: str, uidvalidity: int,
               uids: list[int]) -> set[int]:
    """Which of ``uids`` (in ``folder`` at ``uidvalidity``) are indexed."""
    if not uids:  # the common case at a watcher's start: nothing to look up
        return set()
    rows = db.query(
        "SELECT uid FROM messages WHERE agent_id = ? AND folder = ? AND uidvalidity = ?",
        (agent_id, folder, uidvalidity),
    )
    return {int(r["uid"]) for r in rows} & set(uids)


def thread_of(db: Database, message_ids: list[str]) -> str | None:
    """The thread id already recorded for any of ``message_ids`` (for threading replies)."""
    for mid in message_ids:
        row = db.one("SELECT thread_id FROM messages WHERE message_id = ? LIMIT 1", (mid,))
        if row is not None and row["thread_id"]:
            return str(row["thread_id"])
    return None


def thread_by_subject(db: Database, agent_id: int, subject_norm: str, since: str
                      ) -> str | None:
    """The thread of the agent's newest message (since ``since``) with this subject key."""
    row = db.one(
        "SELECT thread_id FROM messages WHERE agent_id = ? AND subject_norm = ? "
        "AND indexed_at >= ? AND thread_id IS NOT NULL ORDER BY indexed_at DESC LIMIT 1",
        (agent_id, subject_norm, since))
    return None if row is None else str(row["thread_id"])


def rows_for_agent(db: Database, agent_id: int, thread_id: str | None = None,
                   limit: int = 5000) -> list[sqlite3.Row]:
    """The agent's index rows (one thread's, or the newest ``limit``), newest first."""
    if thread_id is None:
        return db.query("SELECT * FROM messages WHERE agent_id = ? ORDER BY indexed_at DESC "
                        "LIMIT ?", (agent_id, limit))
    return db.query("SELECT * FROM messages WHERE agent_id = ? AND thread_id = ? "
                    "ORDER BY indexed_at", (agent_id, thread_id))


def find_by_message_id(db: Database, agent_id: int, message_id: str) -> sqlite3.Row | None:
    return db.one("SELECT * FROM messages WHERE agent_id = ? AND message_id = ? "
                  "ORDER BY indexed_at DESC LIMIT 1", (agent_id, message_id))


def count(db: Database, agent_id: int, folder: str | None = None) -> int:
    if folder is None:
        row = db.one("SELECT count(*) AS n FROM messages WHERE agent_id = ?", (agent_id,))
    else:
        row = db.one("SELECT count(*) AS n FROM messages WHERE agent_id = ? AND folder = ?",
                     (agent_id, folder))
    return int(row["n"]) if row else 0


# -- watcher checkpoints ----------------------------------------------------------------------

def checkpoint(db: Database, agent_id: int, folder: str) -> tuple[int, int] | None:
    """(uidvalidity, last_uid) last recorded for a watched folder."""
    row = db.one("SELECT uidvalidity, last_uid FROM watch_state WHERE agent_id = ? AND folder = ?",
                 (agent_id, folder))
    return None if row is None else (int(row["uidvalidity"]), int(row["last_uid"]))


def save_checkpoint(conn: sqlite3.Connection, agent_id: int, folder: str, uidvalidity: int,
                    last_uid: int) -> None:
    conn.execute(
        "INSERT INTO watch_state (agent_id, folder, uidvalidity, last_uid, updated_at) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (agent_id, folder) DO UPDATE SET "
        "uidvalidity = excluded.uidvalidity, last_uid = excluded.last_uid, "
        "updated_at = excluded.updated_at",
        (agent_id, folder, uidvalidity, last_uid, now_iso()),
    )


def count_from(db: Database, agent_id: int, address: str, *, since: str) -> int:
    """How many of the agent's messages from ``address`` (stored bare or as ``Name <addr>``)
    were indexed since ``since``."""
    bare = address.lower()
    shown = "%<" + bare.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + ">"
    row = db.one("SELECT count(*) AS n FROM messages WHERE agent_id = ? AND indexed_at >= ? "
                 "AND (lower(from_addr) = ? OR lower(from_addr) LIKE ? ESCAPE '\\')",
                 (agent_id, since, bare, shown))
    return 0 if row is None else int(row["n"])
