"""Migration 0006_approval_hardening on a database written by the previous release: no code
kept in a readable form, sent notifications wiped, owner-mail Message-IDs recorded."""

from __future__ import annotations

from pathlib import Path

from agenticmail.security.keys import SecretBox, new_encryption_key
from agenticmail.store import outbox, pending
from agenticmail.store.db import Database
from agenticmail.store.migrations import applied, migrate

CODE = "K7QF-9M2X"


def _at_0005(path: Path) -> Database:
    database = Database(path)
    migrate(database, stop_before="0006_approval_hardening")
    assert applied(database)[-1] == "0005_relay"
    return database


def test_0006_drops_stored_codes_and_sent_notification_bodies(tmp_path: Path) -> None:
    box = SecretBox(new_encryption_key())
    database = _at_0005(tmp_path / "old.db")
    with database.write() as conn:
        conn.execute(
            "INSERT INTO pending_outbound (id, agent, status, request, message_id, findings, "
            "summary, code_enc, notification_message_id, created, created_at) VALUES "
            "('pm_1', 'ops', 'pending', '{}', '<held@x>', '[]', 's', ?, '<Note-1@x>', 0, 'now')",
            (box.encrypt(CODE),))
        for oid, status in (("ob_1", "sent"), ("ob_2", "queued")):
            conn.execute(
                "INSERT INTO outbox (id, agent, status, message_id, envelope_from, "
                "local_rcpts, external_rcpts, raw, next_attempt_at, created, created_at, "
                "updated_at) VALUES (?, '_system', ?, ?, 'o@x', '[]', '[]', ?, 0, 0, 'n', 'n')",
                (oid, status, f"<{oid}@x>", f"APPROVE {CODE}".encode()))

    assert migrate(database)[0] == "0006_approval_hardening"
    row = pending.get_pending(database, "pm_1")
    assert row.code_hash is None  # email approval off for it; the CLI still decides
    assert database.one("SELECT code_enc FROM pending_outbound")["code_enc"] is None
    assert bytes(outbox.get_outbox(database, "ob_1").raw) == b""
    assert outbox.get_outbox(database, "ob_2").sealed is False  # queued: sent as it was
    assert pending.is_owner_mail(database, ["<note-1@X>"])
    assert pending.is_owner_mail(database, ["<ob_1@x>"])
    assert not pending.is_owner_mail(database, ["<held@x>"])
    database.close()
