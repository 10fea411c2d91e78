"""The durable outbox (one row per accepted send, until delivered and filed in Sent) and the
Message-IDs agents sent (reply routing). Held mail awaiting the owner is :mod:`.pending`.

Times used for scheduling (next attempt, lease, send_at, created) are epoch seconds (REAL) so
they compare and index cheaply; display times are ISO strings.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from typing import Any

from ..errors import Conflict, NotFound
from ._time import now_iso
from .db import Database, where_equal

SENT_IDS_RETAIN = 100_000


# Which lane does a row's next step: the external one while only its SMTP part is left (a
# dead route then holds external slots only); the local one for everything else (LMTP
# delivery, the Sent copy), so agent-to-agent mail never waits behind a slow route.
_EXTERNAL_STEP = ("(external_rcpts != '[]' AND delivered_external = 0 "
                  "AND (local_rcpts = '[]' OR delivered_local = 1))")
LANE_WHERE = {
    "external": f"status IN ('queued', 'sending') AND {_EXTERNAL_STEP}",
    # a sent row whose Sent copy failed is retried here on its own schedule
    "local": f"((status IN ('queued', 'sending') AND NOT {_EXTERNAL_STEP}) OR "
             "(status = 'sent' AND filed = 0 AND file_error IS NULL))",
}

_JSON_COLS = ("local_rcpts", "external_rcpts", "bcc")


@dataclass(frozen=True)
class OutboxRow:
    id: str
    agent: str
    agent_id: int | None  # the owning agent (None: the system's own mail)
    status: str
    message_id: str
    envelope_from: str
    local_rcpts: list[str]
    external_rcpts: list[str]
    bcc: list[str]
    raw: bytes
    thread_id: str | None
    subject: str
    idempotency_key: str | None
    pending_id: str | None
    attempts: int
    delivered_local: bool
    delivered_external: bool
    in_doubt: bool
    filed: bool
    last_error: str | None
    send_at: str | None
    created_at: str
    updated_at: str
    sent_at: str | None
    sealed: bool = False  # raw is encrypted with the daemon's key (owner notifications)
    due: float = 0.0  # epoch seconds the message became due (created, or its send_at)
    delayed: bool = False  # message.delayed was announced
    cancelled: bool = False  # cancelled by its agent before it left (stored as failed)
    bounce: dict[str, Any] | None = None  # what bounces said about it (services/bounces)

    @property
    def bounced(self) -> bool:
        """A bounce said a recipient was given up on (stored as sent: it did leave)."""
        return self.status == "sent" and bool((self.bounce or {}).get("failed"))

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "agent": self.agent,
            "status": "cancelled" if self.cancelled else "bounced" if self.bounced
            else self.status,
            "message_id": self.message_id, "subject": self.subject,
            # the routed lists already hold the bcc recipients: each address once
            "recipients": list(dict.fromkeys(self.local_rcpts + self.external_rcpts)),
            "bcc": list(self.bcc),
            "attempts": self.attempts, "last_error": self.last_error, "send_at": self.send_at,
            "created_at": self.created_at, "updated_at": self.updated_at,
            "sent_at": self.sent_at, "pending_id": self.pending_id,
            "in_doubt": self.in_doubt, "bounce": self.bounce,
        }


def _outbox(row: sqlite3.Row) -> OutboxRow:
    data = dict(row)
    for col in _JSON_COLS:
        data[col] = json.loads(data[col])
    for col in ("delivered_local", "delivered_external", "filed", "in_doubt", "sealed"):
        data[col] = bool(data.get(col, 0))
    send_at = data["send_at"]
    data["due"] = max(data["created"], _epoch(send_at) if send_at else 0.0)
    data["delayed"] = data.pop("delayed_at", None) is not None
    data["cancelled"] = data.pop("cancelled_at", None) is not None
    for col in ("next_attempt_at", "lease_until", "created", "external_started", "file_error"):
        data.pop(col, None)
    data["raw"] = bytes(data["raw"])
    data["bounce"] = json.loads(data["bounce"]) if data.get("bounce") else None
    return OutboxRow(**data)


def insert_outbox(conn: sqlite3.Connection, *, id: str, agent: str, agent_id: int | None,
                  message_id: str, envelope_from: str, local_rcpts: list[str],
                  external_rcpts: list[str], bcc: list[str], raw: bytes,
                  thread_id: str | None, subject: str, idempotency_key: str | None,
                  pending_id: str | None = None, send_at: float | None = None,
                  sealed: bool = False) -> None:
    now = time.time()
    try:
        conn.execute(
            "INSERT INTO outbox (id, agent, agent_id, status, message_id, envelope_from, "
            "local_rcpts, external_rcpts, bcc, raw, thread_id, subject, idempotency_key, "
            "pending_id, next_attempt_at, send_at, created, created_at, updated_at, sealed) "
            "VALUES (?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (id, agent, agent_id, message_id, envelope_from, json.dumps(local_rcpts),
             json.dumps(external_rcpts), json.dumps(bcc), raw, thread_id, subject, idempotency_key,
             pending_id, max(now, send_at or 0),
             None if send_at is None else iso(send_at), now, now_iso(), now_iso(), int(sealed)),
        )
    except sqlite3.IntegrityError as exc:  # the unique (agent, idempotency_key) index
        if idempotency_key is None or "UNIQUE" not in str(exc):
            raise
        raise Conflict(f"a message with the Idempotency-Key {idempotency_key!r} is already "
                       "queued", code="duplicate_idempotency_key") from exc


def _epoch(value: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(value).timestamp()


def iso(epoch: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")


def get_outbox(db: Database, id: str) -> OutboxRow:
    row = db.one("SELECT * FROM outbox WHERE id = ?", (id,))
    if row is None:
        raise NotFound(f"no outbox entry {id!r}")
    return _outbox(row)


def list_outbox(db: Database, agent_id: int | None, status: str | None = None, limit: int = 50,
                offset: int = 0) -> list[OutboxRow]:
    """The outbox of the agent with ``agent_id`` (everyone's when None), newest first;
    ``status`` as rows read (``bounced`` is a sent row a bounce said failed)."""
    stored = "sent" if status == "bounced" else status
    where, params = where_equal(agent_id=agent_id, status=stored)
    if status in ("sent", "bounced"):
        failed = "coalesce(json_extract(bounce, '$.failed'), 0)"
        where += f" AND {failed}" if status == "bounced" else f" AND NOT {failed}"
    rows = db.query(f"SELECT * FROM outbox {where} ORDER BY created DESC LIMIT ? OFFSET ?",
                    (*params, limit, offset))
    return [_outbox(r) for r in rows]


# a row none of whose parts has started leaving (what cancelling may still stop)
_UNTOUCHED = ("status = 'queued' AND delivered_local = 0 AND delivered_external = 0 "
              "AND external_started IS NULL")


def list_scheduled(db: Database, agent_id: int | None, limit: int = 50, offset: int = 0
                   ) -> list[OutboxRow]:
    """Scheduled sends (``send_at``) that have not started leaving, soonest first."""
    where, params = where_equal(agent_id=agent_id)
    clause = f"{where} AND" if where else "WHERE"
    rows = db.query(f"SELECT * FROM outbox {clause} send_at IS NOT NULL AND {_UNTOUCHED} "
                    "ORDER BY next_attempt_at LIMIT ? OFFSET ?", (*params, limit, offset))
    return [_outbox(r) for r in rows]


def cancel(conn: sqlite3.Connection, id: str) -> bool:
    """Stop a row nothing of which has left yet: True when this call cancelled it (one
    conditional UPDATE, so a sender claiming it at the same moment and this cannot both win)."""
    return conn.execute(
        f"UPDATE outbox SET status = 'failed', cancelled_at = ?, lease_until = NULL, "
        f"last_error = 'cancelled', updated_at = ? WHERE id = ? AND {_UNTOUCHED}",
        (now_iso(), now_iso(), id)).rowcount == 1


def find_by_idempotency(db: Database, agent_id: int, key: str, since: float
                        ) -> OutboxRow | None:
    row = db.one("SELECT * FROM outbox WHERE agent_id = ? AND idempotency_key = ? "
                 "AND created >= ?", (agent_id, key, since))
    return None if row is None else _outbox(row)


def expire_idempotency(conn: sqlite3.Connection, agent: str, key: str, before: float) -> None:
    """Free a key whose first use is older than the idempotency window."""
    conn.execute("UPDATE outbox SET idempotency_key = NULL WHERE agent = ? AND "
                 "idempotency_key = ? AND created < ?", (agent, key, before))
    conn.execute("UPDATE pending_outbound SET idempotency_key = NULL WHERE agent = ? AND "
                 "idempotency_key = ? AND created < ?", (agent, key, before))


def claim_due(conn: sqlite3.Connection, now: float, lease_seconds: float, limit: int,
              lane: str = "local") -> list[OutboxRow]:
    """Lease up to ``limit`` due rows of ``lane`` (see ``LANE_WHERE``): queued ones,
    'sending' ones whose lease ran out (a crashed sender), and sent ones whose Sent copy is
    due again (they stay 'sent'). The caller commits, then works outside the transaction."""
    rows = conn.execute(
        f"SELECT * FROM outbox WHERE {LANE_WHERE[lane]} AND ("
        "(status IN ('queued', 'sent') AND next_attempt_at <= ? "
        " AND (lease_until IS NULL OR lease_until < ?)) "
        "OR (status = 'sending' AND lease_until < ?)) ORDER BY next_attempt_at LIMIT ?",
        (now, now, now, limit),
    ).fetchall()
    for row in rows:
        conn.execute("UPDATE outbox SET status = CASE status WHEN 'sent' THEN 'sent' ELSE "
                     "'sending' END, lease_until = ?, attempts = attempts + 1, updated_at = ? "
                     "WHERE id = ?", (now + lease_seconds, now_iso(), row["id"]))
    return [_outbox(conn.execute("SELECT * FROM outbox WHERE id = ?", (r["id"],)).fetchone())
            for r in rows]


def release_leases(conn: sqlite3.Connection) -> tuple[int, int]:
    """Requeue rows leased by a sender that is gone (the daemon holds the data dir's pid
    file, so at start no other sender can be working on them). Progress flags are kept.

    A row whose SMTP transaction had started but not been confirmed is *in doubt*: the
    server may have accepted it before the crash (RFC 5321 §6.1). It is sent again
    (at-least-once beats losing mail) and flagged. Returns (requeued, in doubt)."""
    doubt = conn.execute("UPDATE outbox SET in_doubt = 1 WHERE status = 'sending' AND "
                         "external_started IS NOT NULL AND delivered_external = 0").rowcount
    cur = conn.execute("UPDATE outbox SET status = 'queued', lease_until = NULL, "
                       "external_started = NULL, next_attempt_at = ?, updated_at = ? "
                       "WHERE status = 'sending'", (time.time(), now_iso()))
    conn.execute("UPDATE outbox SET lease_until = NULL WHERE status = 'sent' AND "
                 "lease_until IS NOT NULL")  # a Sent copy being filed at the crash
    return cur.rowcount, doubt


def release(conn: sqlite3.Connection, id: str, *, in_doubt: bool = False) -> None:
    """Give back at once the lease of one row whose work was cut off by a stop (or never
    began): a 'sending' row is requeued, progress flags kept (``in_doubt``: its SMTP
    transaction was cut after the final dot); a sent one keeps waiting for its Sent copy."""
    conn.execute("UPDATE outbox SET status = 'queued', lease_until = NULL, "
                 "external_started = NULL, in_doubt = MAX(in_doubt, ?), next_attempt_at = ?, "
                 "updated_at = ? WHERE id = ? AND status = 'sending'",
                 (int(in_doubt), time.time(), now_iso(), id))
    conn.execute("UPDATE outbox SET lease_until = NULL WHERE id = ? AND status = 'sent'", (id,))


def mark_in_doubt(conn: sqlite3.Connection, id: str) -> None:
    conn.execute("UPDATE outbox SET in_doubt = 1, updated_at = ? WHERE id = ?",
                 (now_iso(), id))


def mark_delayed(conn: sqlite3.Connection, id: str) -> bool:
    """Record that ``message.delayed`` is announced; False if it already was."""
    return conn.execute("UPDATE outbox SET delayed_at = ? WHERE id = ? AND delayed_at IS NULL",
                        (time.time(), id)).rowcount == 1


def mark_external_started(conn: sqlite3.Connection, id: str) -> None:
    conn.execute("UPDATE outbox SET external_started = ? WHERE id = ?", (time.time(), id))


def mark_progress(conn: sqlite3.Connection, id: str, **flags: bool) -> None:
    allowed = {"delivered_local", "delivered_external", "filed"}
    for name, value in flags.items():
        if name not in allowed:
            raise ValueError(name)
        conn.execute(f"UPDATE outbox SET {name} = ?, updated_at = ? WHERE id = ?",
                     (int(value), now_iso(), id))


def mark_sent(conn: sqlite3.Connection, id: str) -> None:
    conn.execute("UPDATE outbox SET status = 'sent', lease_until = NULL, last_error = NULL, "
                 "sent_at = ?, updated_at = ? WHERE id = ?", (now_iso(), now_iso(), id))


def mark_filed(conn: sqlite3.Connection, id: str) -> None:
    """The Sent copy is saved (the last step of a row)."""
    conn.execute("UPDATE outbox SET filed = 1, lease_until = NULL, last_error = CASE status "
                 "WHEN 'sent' THEN NULL ELSE last_error END, updated_at = ? WHERE id = ?",
                 (now_iso(), id))


def mark_filing_retry(conn: sqlite3.Connection, id: str, next_attempt_at: float,
                      error: str) -> None:
    """The Sent copy of a sent message failed: try it again at ``next_attempt_at``."""
    conn.execute("UPDATE outbox SET lease_until = NULL, next_attempt_at = ?, last_error = ?, "
                 "updated_at = ? WHERE id = ?", (next_attempt_at, error, now_iso(), id))


def mark_filing_failed(conn: sqlite3.Connection, id: str, error: str) -> None:
    """Give up the Sent copy of a sent message (the message itself was delivered)."""
    conn.execute("UPDATE outbox SET lease_until = NULL, file_error = ?, last_error = ?, "
                 "updated_at = ? WHERE id = ?", (error, error, now_iso(), id))


def mark_retry(conn: sqlite3.Connection, id: str, next_attempt_at: float, error: str | None
               ) -> None:
    conn.execute("UPDATE outbox SET status = 'queued', lease_until = NULL, next_attempt_at = ?, "
                 "last_error = ?, updated_at = ? WHERE id = ?",
                 (next_attempt_at, error, now_iso(), id))


def mark_failed(conn: sqlite3.Connection, id: str, error: str) -> None:
    conn.execute("UPDATE outbox SET status = 'failed', lease_until = NULL, last_error = ?, "
                 "updated_at = ? WHERE id = ?", (error, now_iso(), id))


def find_sent(conn: sqlite3.Connection, agent_id: int, message_ids: list[str]
              ) -> OutboxRow | None:
    """The agent's outbox row that sent one of ``message_ids`` (the first found, in order)."""
    for mid in message_ids:
        row = conn.execute("SELECT * FROM outbox WHERE agent_id = ? AND lower(message_id) = ? "
                           "ORDER BY created DESC LIMIT 1", (agent_id, mid.lower())).fetchone()
        if row is not None:
            return _outbox(row)
    return None


def mark_bounced(conn: sqlite3.Connection, id: str, bounce: dict[str, Any]) -> None:
    """Record what bounces said; ``bounce["failed"]`` (a recipient was given up on) makes
    the row read 'bounced' (:attr:`OutboxRow.bounced`)."""
    conn.execute("UPDATE outbox SET bounce = ?, updated_at = ? WHERE id = ?",
                 (json.dumps(bounce), now_iso(), id))


def send_times(db: Database, agent_id: int, since: float) -> list[float]:
    """When the agent made each send (queued or held) since ``since``, oldest first: what
    its rate limits count (:mod:`agenticmail.services.send_limits`)."""
    return [row[0] for row in db.query(
        "SELECT created FROM outbox WHERE agent_id = :agent AND created >= :since AND "
        "pending_id IS NULL UNION ALL SELECT created FROM pending_outbound WHERE "
        "agent_id = :agent AND created >= :since ORDER BY created",
        {"agent": agent_id, "since": since})]


def count_thread(db: Database, agent_id: int, thread_id: str, since: float) -> int:
    row = db.one("SELECT count(*) AS n FROM outbox WHERE agent_id = ? AND thread_id = ? "
                 "AND created >= ?", (agent_id, thread_id, since))
    return int(row["n"]) if row else 0


# -- sent Message-IDs (reply routing) -----------------------------------------------------------

def remember_sent(conn: sqlite3.Connection, message_id: str, agent: str,
                  thread_id: str | None, *, agent_id: int | None) -> None:
    conn.execute("INSERT OR IGNORE INTO sent_messages (message_id, agent, agent_id, thread_id, "
                 "sent_at) VALUES (?, ?, ?, ?, ?)",
                 (message_id.lower(), agent, agent_id, thread_id, now_iso()))
    conn.execute("DELETE FROM sent_messages WHERE rowid <= (SELECT max(rowid) FROM "
                 "sent_messages) - ?", (SENT_IDS_RETAIN,))


def queued_by_us(db: Database, message_id: str) -> bool:
    """Whether the daemon itself queued a message with this Message-ID (any agent's mail or
    its own): such a message coming back through the relay is our own echo, never the
    owner's answer."""
    return db.one("SELECT 1 FROM outbox WHERE message_id = ? LIMIT 1",
                  (message_id,)) is not None


def agent_for_message_ids(db: Database, message_ids: list[str]) -> str | None:
    """The name of the live agent that sent one of ``message_ids`` (a deleted agent's mail
    routes to nobody, even when its name was given to a new agent)."""
    for mid in message_ids:
        row = db.one("SELECT a.name FROM sent_messages s JOIN agents a ON a.id = s.agent_id "
                     "WHERE s.message_id = ?", (mid.lower(),))
        if row is not None:
            return str(row["name"])
    return None
