"""Migration 0012_bounces on a database written before it: outbox rows keep everything and
read 'bounced' once a bounce says a recipient failed (stored as 'sent': the status CHECK is
left as it is); suppressions start empty."""

from __future__ import annotations

from pathlib import Path

from agenticmail.store import outbox
from agenticmail.store.db import Database
from agenticmail.store.migrations import migrate

STEP = "0012_bounces"


def test_outbox_rows_survive_and_read_bounced_after_a_failed_report(tmp_path: Path) -> None:
    database = Database(tmp_path / "legacy.db")
    migrate(database, stop_before=STEP)
    with database.write() as conn:
        conn.execute("INSERT INTO agents (id, name, address, role, display_name, "
                     "mail_password_enc, created_at) VALUES (1, 'a', 'a@localhost', "
                     "'secretary', 'a', 'p', '2026-01-01')")
        for id_ in ("ob_1", "ob_2"):
            conn.execute(
                "INSERT INTO outbox (id, agent, agent_id, status, message_id, envelope_from, "
                "local_rcpts, external_rcpts, raw, next_attempt_at, created, created_at, "
                "updated_at, filed) VALUES (?, 'a', 1, 'sent', ?, 'a@localhost', '[]', "
                "'[\"x@example.org\"]', x'41', 0, 5, 'c', 'u', 1)", (id_, f"<{id_}@localhost>"))
    before = [dict(r) for r in database.query("SELECT * FROM outbox ORDER BY id")]

    assert STEP in migrate(database)
    after = [dict(r) for r in database.query("SELECT * FROM outbox ORDER BY id")]
    assert [{k: v for k, v in r.items() if k in before[0]} for r in after] == before
    assert all(r["bounce"] is None for r in after)
    assert database.query("SELECT * FROM suppressions") == []

    with database.write() as conn:
        outbox.mark_bounced(conn, "ob_1", {"kind": "hard", "failed": True, "reports": []})
        outbox.mark_bounced(conn, "ob_2", {"kind": "soft", "failed": False, "reports": []})
    hard, soft = outbox.get_outbox(database, "ob_1"), outbox.get_outbox(database, "ob_2")
    assert (hard.status, hard.to_dict()["status"], hard.bounce) == (
        "sent", "bounced", {"kind": "hard", "failed": True, "reports": []})
    assert soft.to_dict()["status"] == "sent"
    assert [r.id for r in outbox.list_outbox(database, 1, "bounced")] == ["ob_1"]
    assert [r.id for r in outbox.list_outbox(database, 1, "sent")] == ["ob_2"]
