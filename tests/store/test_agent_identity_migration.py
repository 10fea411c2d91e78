"""Migration 0008_agent_identity on a database written before it: rows keyed by an agent's
name get that agent's id, unless they are older than the agent (a deleted agent of the same
name wrote them); ids are never handed out again."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from agenticmail.models import Role
from agenticmail.store import agents, outbox, pending, spam
from agenticmail.store import events as event_log
from agenticmail.store.db import Database
from agenticmail.store.migrations import applied, migrate

STEP = "0008_agent_identity"
EARLY, CREATED, LATER = "2026-01-01T00:00:00.000+00:00", "2026-02-01T00:00:00.000+00:00", \
    "2026-03-01T00:00:00.000+00:00"


def _migrate_before(database: Database, name: str) -> None:
    """Bring a new database to the schema it had just before step ``name``."""
    migrate(database, stop_before=name)
    with database.write() as conn:  # applied long ago
        conn.execute("UPDATE _migrations SET applied_at = ?", (EARLY,))


@pytest.fixture
def legacy(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "legacy.db")
    _migrate_before(database, STEP)
    conn = database.conn
    for id_, name in ((1, "keep"), (3, "x")):  # agent 2 ("x" before) was deleted
        conn.execute("INSERT INTO agents (id, name, address, role, display_name, "
                     "mail_password_enc, created_at) VALUES (?, ?, ?, 'secretary', ?, 'p', ?)",
                     (id_, name, f"{name}@localhost", name, CREATED))
    for agent, at in (("x", EARLY), ("x", LATER), ("keep", LATER), ("gone", LATER),
                      (None, LATER)):
        conn.execute("INSERT INTO events (type, agent, data, created_at) VALUES "
                     "('message.new', ?, '{}', ?)", (agent, at))
    for id_, at, key in (("ob_old", EARLY, "k"), ("ob_new", LATER, "k2")):
        conn.execute(
            "INSERT INTO outbox (id, agent, status, message_id, envelope_from, local_rcpts, "
            "external_rcpts, raw, idempotency_key, next_attempt_at, created, created_at, "
            "updated_at) VALUES (?, 'x', 'sent', ?, 'x@localhost', '[]', '[]', x'00', ?, 0, 0, "
            "?, ?)", (id_, f"<{id_}@localhost>", key, at, at))
        conn.execute(
            "INSERT INTO pending_outbound (id, agent, status, request, message_id, findings, "
            "summary, idempotency_key, created, created_at) VALUES (?, 'x', 'pending', '{}', "
            "?, '[]', 's', ?, 0, ?)", (f"pm{id_}", f"<pm{id_}@localhost>", key, at))
        conn.execute("INSERT INTO spam_log (agent, score, rules, created_at) VALUES "
                     "('x', 90, '[]', ?)", (at,))
        conn.execute("INSERT INTO relay_delivered (message_key, agent, uid, delivered_at) "
                     "VALUES (?, 'x', 1, ?)", (id_, at))
        conn.execute("INSERT INTO sent_messages (message_id, agent, sent_at) VALUES "
                     "(?, 'x', ?)", (f"<{id_}@localhost>", at))
    yield database
    database.close()


def test_rows_get_the_id_of_the_agent_that_wrote_them(legacy: Database) -> None:
    assert STEP in migrate(legacy) and STEP in applied(legacy)
    events = [(r["agent"], r["created_at"], r["agent_id"])
              for r in legacy.query("SELECT * FROM events ORDER BY id")]
    assert events == [("x", EARLY, None), ("x", LATER, 3), ("keep", LATER, 1),
                      ("gone", LATER, None), (None, LATER, None)]
    for table in ("outbox", "pending_outbound", "spam_log", "relay_delivered",
                  "sent_messages"):
        ids = [r["agent_id"] for r in legacy.query(f"SELECT agent_id FROM {table} ORDER BY "
                                                   "rowid")]
        assert ids == [None, 3], table
    for table in ("outbox", "pending_outbound"):  # a dead row gives its key up
        keys = [r["idempotency_key"] for r in legacy.query(
            f"SELECT idempotency_key FROM {table} ORDER BY rowid")]
        assert keys == [None, "k2"], table
    with legacy.write() as conn:  # so the agent now called x may use it
        conn.execute("UPDATE pending_outbound SET idempotency_key = 'k' WHERE agent_id = 3")
    # what the agent now called x sees: its own rows only
    assert [e.created_at for e in event_log.after(legacy, 0, 3)] == [LATER]
    assert [r.id for r in outbox.list_outbox(legacy, 3)] == ["ob_new"]
    assert [r.id for r in pending.list_pending(legacy, 3)] == ["pmob_new"]
    assert [r["created_at"] for r in spam.list_spam(legacy, 3)] == [LATER]
    assert outbox.agent_for_message_ids(legacy, ["<ob_old@localhost>"]) is None
    assert outbox.agent_for_message_ids(legacy, ["<ob_new@localhost>"]) == "x"


def test_ids_are_never_handed_out_again(legacy: Database) -> None:
    migrate(legacy)

    def new_agent(name: str) -> int:
        with legacy.write() as conn:
            return agents.insert_agent(conn, name=name, address=f"{name}@localhost",
                                       role=Role.SECRETARY, display_name=name, metadata={},
                                       password_enc="p")

    first = new_agent("y")
    assert first == 4
    with legacy.write() as conn:
        agents.delete_agent_row(conn, first)
    assert new_agent("z") == 5
    with pytest.raises(sqlite3.IntegrityError, match="never reused"), legacy.write() as conn:
        conn.execute("INSERT INTO agents (id, name, address, role, display_name, "
                     "mail_password_enc, created_at) VALUES (4, 'w', 'w@localhost', "
                     "'secretary', 'w', 'p', ?)", (LATER,))
