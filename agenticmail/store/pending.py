"""Held mail: outbound messages the guard stopped, awaiting the owner's approval, and the
Message-IDs of the daemon's own mail to the owner (notifications, confirmations) that let the
relay recognise it and every reply to it.

``created`` is epoch seconds (REAL), for rate windows and idempotency; display times are ISO
strings.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from typing import Any

from ..errors import NotFound
from ._time import now_iso
from .db import Database, where_equal


@dataclass(frozen=True)
class PendingRow:
    id: str
    agent: str
    agent_id: int | None
    status: str
    request: dict[str, Any]
    message_id: str
    subject: str
    findings: list[dict[str, Any]]
    summary: str
    idempotency_key: str | None
    code_hash: str | None  # HMAC of the one-time code under the daemon's key, never the code
    notification_message_id: str | None
    owner_notified: bool
    resolved_by: str | None
    resolved_at: str | None
    outbox_id: str | None
    created_at: str

    def to_dict(self, *, include_request: bool = True) -> dict[str, Any]:
        data = {
            "id": self.id, "agent": self.agent, "status": self.status,
            "message_id": self.message_id, "subject": self.subject, "findings": self.findings,
            "summary": self.summary, "owner_notified": self.owner_notified,
            "resolved_by": self.resolved_by, "resolved_at": self.resolved_at,
            "outbox_id": self.outbox_id, "created_at": self.created_at,
        }
        if include_request:  # the message for review; never the raw bytes held for sending
            data["request"] = {"mail": self.request.get("mail", {})}
        return data


def _pending(row: sqlite3.Row) -> PendingRow:
    data = dict(row)
    data["request"] = json.loads(data["request"])
    data["findings"] = json.loads(data["findings"])
    data["owner_notified"] = bool(data["owner_notified"])
    data.pop("created")
    data.pop("code_enc", None)  # always NULL since 0006_approval_hardening
    return PendingRow(**data)


def insert_pending(conn: sqlite3.Connection, *, id: str, agent: str, agent_id: int,
                   request: dict[str, Any], message_id: str, subject: str,
                   findings: list[dict[str, Any]], summary: str,
                   idempotency_key: str | None, code_hash: str | None) -> None:
    conn.execute(
        "INSERT INTO pending_outbound (id, agent, agent_id, status, request, message_id, "
        "subject, findings, summary, idempotency_key, code_hash, created, created_at) "
        "VALUES (?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (id, agent, agent_id, json.dumps(request), message_id, subject, json.dumps(findings),
         summary, idempotency_key, code_hash, time.time(), now_iso()),
    )


def set_notification(conn: sqlite3.Connection, id: str, message_id: str | None) -> None:
    conn.execute("UPDATE pending_outbound SET notification_message_id = ?, owner_notified = ? "
                 "WHERE id = ?", (message_id, int(message_id is not None), id))


def resolve_pending(conn: sqlite3.Connection, id: str, status: str, by: str,
                    outbox_id: str | None) -> bool:
    """Move a pending item to approved/rejected; False if it was no longer pending."""
    cur = conn.execute(
        "UPDATE pending_outbound SET status = ?, resolved_by = ?, resolved_at = ?, "
        "outbox_id = ? WHERE id = ? AND status = 'pending'",
        (status, by, now_iso(), outbox_id, id))
    return cur.rowcount == 1


def get_pending(db: Database, id: str) -> PendingRow:
    row = db.one("SELECT * FROM pending_outbound WHERE id = ?", (id,))
    if row is None:
        raise NotFound(f"no held message {id!r}")
    return _pending(row)


def pending_by_notification(db: Database, message_ids: list[str]) -> PendingRow | None:
    for mid in message_ids:
        row = db.one("SELECT * FROM pending_outbound WHERE lower(notification_message_id) = ?",
                     (mid.lower(),))
        if row is not None:
            return _pending(row)
    return None


def find_pending_by_idempotency(db: Database, agent_id: int, key: str, since: float
                                ) -> PendingRow | None:
    row = db.one("SELECT * FROM pending_outbound WHERE agent_id = ? AND idempotency_key = ? "
                 "AND created >= ?", (agent_id, key, since))
    return None if row is None else _pending(row)


def list_pending(db: Database, agent_id: int | None, status: str | None = None,
                 limit: int = 50) -> list[PendingRow]:
    """The held mail of the agent with ``agent_id`` (everyone's when None), newest first."""
    where, params = where_equal(agent_id=agent_id, status=status)
    rows = db.query(f"SELECT * FROM pending_outbound {where} ORDER BY created DESC LIMIT ?",
                    (*params, limit))
    return [_pending(r) for r in rows]


# -- the daemon's mail to the owner -------------------------------------------------------

def remember_owner_mail(conn: sqlite3.Connection, message_id: str,
                        pending_id: str | None) -> None:
    """Record the Message-ID of a mail the daemon wrote to the owner (a notification or a
    confirmation): the proof, held only here, that lets the relay recognise it and every
    reply to it, whatever their headers claim."""
    conn.execute("INSERT OR IGNORE INTO owner_mail (message_id, pending_id, created_at) "
                 "VALUES (?, ?, ?)", (message_id.lower(), pending_id, now_iso()))


def is_owner_mail(db: Database, message_ids: list[str]) -> bool:
    """Whether any of ``message_ids`` is one of the daemon's mails to the owner."""
    return any(db.one("SELECT 1 FROM owner_mail WHERE message_id = ?", (mid.lower(),))
               is not None for mid in message_ids[:200])
