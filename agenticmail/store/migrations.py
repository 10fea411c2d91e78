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


def _approval_hardening(db: sqlite_utils.Database) -> None:
    """Codes kept as HMACs only, notifications queued encrypted, the owner-mail ids."""
    from .outbound import APPROVAL_HARDENING

    for statement in APPROVAL_HARDENING:
        db.execute(statement)


# Tables whose rows belong to one agent but were keyed by its name, with the column giving
# each row's time (to tell a row of an earlier agent of the same name from the current one's).
_OWNED_BY_NAME = (  # (table, time column, index on agent_id)
    ("events", "created_at", "agent_id, id"),
    ("outbox", "created_at", "agent_id, created"),
    ("pending_outbound", "created_at", "agent_id, created"),
    ("spam_log", "created_at", "agent_id, id"),
    ("relay_delivered", "delivered_at", "agent_id"),
    ("sent_messages", "sent_at", "agent_id"),
)

_AGENT_IDENTITY = (
    # The highest agent id ever given. ``agents.id`` is a plain INTEGER PRIMARY KEY, so SQLite
    # would hand the newest agent's id to the next one after a delete; rebuilding the table
    # with AUTOINCREMENT would need foreign keys off (DROP TABLE would cascade-delete keys,
    # index and checkpoints), which cannot be switched inside a migration's transaction.
    """CREATE TABLE agent_id_seq (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        last INTEGER NOT NULL)""",
    "INSERT INTO agent_id_seq (id, last) SELECT 1, coalesce(max(id), 0) FROM agents",
    """CREATE TRIGGER agents_id_never_reused AFTER INSERT ON agents BEGIN
        SELECT RAISE(ABORT, 'agent ids are never reused')
            WHERE NEW.id <= (SELECT last FROM agent_id_seq);
        UPDATE agent_id_seq SET last = NEW.id;
    END""",
    """CREATE TRIGGER agents_id_fixed BEFORE UPDATE OF id ON agents BEGIN
        SELECT RAISE(ABORT, 'an agent id never changes');
    END""",
    "ALTER TABLE deletions ADD COLUMN agent_id INTEGER",
)


def _agent_identity(db: sqlite_utils.Database) -> None:
    """Every row an agent owns carries its never-reused id; reads filter by it.

    Existing rows get the id of the live agent of that name, unless they are older than it
    (a deleted agent's rows, which a re-created name would otherwise inherit): those keep no
    id and so are the owner's alone, and give up their idempotency keys (a name-keyed unique
    index would otherwise refuse the new agent's first use of the same key).
    """
    for statement in _AGENT_IDENTITY:
        db.execute(statement)
    for table, at, indexed in _OWNED_BY_NAME:
        db.execute(f"ALTER TABLE {table} ADD COLUMN agent_id INTEGER")
        db.execute(f"UPDATE {table} SET agent_id = (SELECT a.id FROM agents a WHERE "
                   f"a.name = {table}.agent AND a.created_at <= {table}.{at})")
        db.execute(f"CREATE INDEX {table}_agent_id ON {table}({indexed})")
    for table in ("outbox", "pending_outbound"):
        db.execute(f"UPDATE {table} SET idempotency_key = NULL WHERE agent_id IS NULL")


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
    ("0006_approval_hardening", _approval_hardening),
    ("0007_verdicts_by_message", _verdicts_by_message),
    ("0008_agent_identity", _agent_identity),
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
