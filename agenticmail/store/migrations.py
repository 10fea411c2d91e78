"""The only DDL in the project: named, append-only migration steps.

A step, once released, is never edited; schema changes add a new step at the end.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import sqlite_utils

from .db import Database

Step = Callable[[sqlite_utils.Database], None]


_INITIAL = (
    """CREATE TABLE agents (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        address TEXT NOT NULL UNIQUE,
        role TEXT NOT NULL,
        display_name TEXT NOT NULL,
        metadata TEXT NOT NULL DEFAULT '{}',
        mail_password_enc TEXT NOT NULL,
        created_at TEXT NOT NULL)""",
    """CREATE TABLE api_keys (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('master', 'agent')),
        agent_id INTEGER REFERENCES agents(id) ON DELETE CASCADE,
        key_hash TEXT NOT NULL UNIQUE,
        prefix TEXT NOT NULL,
        created_at TEXT NOT NULL,
        revoked_at TEXT)""",
    "CREATE TABLE config (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE messages (
        id INTEGER PRIMARY KEY,
        agent_id INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
        folder TEXT NOT NULL,
        uidvalidity INTEGER NOT NULL,
        uid INTEGER NOT NULL,
        message_id TEXT,
        thread_id TEXT,
        from_addr TEXT,
        to_addrs TEXT,
        subject TEXT,
        date TEXT,
        flags TEXT NOT NULL DEFAULT '[]',
        indexed_at TEXT NOT NULL,
        UNIQUE (agent_id, folder, uidvalidity, uid))""",
    "CREATE INDEX messages_message_id ON messages(message_id)",
    "CREATE INDEX messages_thread_id ON messages(agent_id, thread_id)",
    """CREATE TABLE watch_state (
        agent_id INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
        folder TEXT NOT NULL,
        uidvalidity INTEGER NOT NULL,
        last_uid INTEGER NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (agent_id, folder))""",
    """CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        type TEXT NOT NULL,
        agent TEXT,
        data TEXT NOT NULL,
        created_at TEXT NOT NULL)""",
    "CREATE INDEX events_agent ON events(agent, id)",
    """CREATE TABLE deletions (
        id INTEGER PRIMARY KEY,
        agent_name TEXT NOT NULL,
        address TEXT NOT NULL,
        deleted_at TEXT NOT NULL,
        archive_path TEXT NOT NULL,
        report TEXT NOT NULL)""",
)


def _initial(db: sqlite_utils.Database) -> None:
    for statement in _INITIAL:
        db.execute(statement)


_AUDIT_LOG = (
    """CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        subject TEXT,
        detail TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL)""",
    "CREATE INDEX audit_log_action ON audit_log(action, id)",
    """CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END""",
    """CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END""",
)


def _audit_log(db: sqlite_utils.Database) -> None:
    """The hash-chained audit log (``store/audit.py``); triggers refuse UPDATE and DELETE."""
    for statement in _AUDIT_LOG:
        db.execute(statement)


def _outbound(db: sqlite_utils.Database) -> None:
    from .outbound import DDL

    for statement in DDL:
        db.execute(statement)


def _inbound_protection(db: sqlite_utils.Database) -> None:
    from .spam import DDL

    for statement in DDL:
        db.execute(statement)


def _relay(db: sqlite_utils.Database) -> None:
    from .relay import DDL

    for statement in DDL:
        db.execute(statement)


def _verdicts_by_message(db: sqlite_utils.Database) -> None:
    """Verdicts keyed by the message's bytes (``store/verdicts.py``). The Message-ID keyed
    ``messages.security`` column is no longer read: any sender can reuse a Message-ID."""
    from .verdicts import DDL

    for statement in DDL:
        db.execute(statement)


MIGRATIONS: list[tuple[str, Step]] = [
    ("0001_initial", _initial),
    ("0002_audit_log", _audit_log),
    ("0003_outbound", _outbound),
    ("0004_inbound_protection", _inbound_protection),
    ("0005_relay", _relay),
    ("0007_verdicts_by_message", _verdicts_by_message),
]


def applied(database: Database) -> list[str]:
    if "_migrations" not in database.utils.table_names():
        return []
    return [r["name"] for r in database.query("SELECT name FROM _migrations ORDER BY rowid")]


def migrate(database: Database) -> list[str]:
    """Apply every pending step, each in its own transaction; return the names applied."""
    done_now: list[str] = []
    with database.write():
        if "_migrations" not in database.utils.table_names():
            database.utils.table("_migrations").create({"name": str, "applied_at": str}, pk="name")
    for name, step in MIGRATIONS:
        if name in applied(database):
            continue
        with database.write() as conn:
            conn.execute("PRAGMA defer_foreign_keys=ON")
            step(database.utils)
            conn.execute(
                "INSERT INTO _migrations (name, applied_at) VALUES (?, ?)",
                (name, datetime.now(UTC).isoformat()),
            )
        done_now.append(name)
    return done_now
