"""Webhook endpoints, their delivery queue and the log of every delivery attempt.

:func:`enqueue` runs inside the transaction that records an event (``Tx.emit``), so an event
and the messages that will carry it to each matching endpoint commit together or not at all.
A message is delivered in id order per endpoint (the oldest pending one first) until it
succeeds or runs out of attempts; ``webhook_deliveries`` keeps one row per attempt.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from dataclasses import dataclass
from typing import Any

from ..models import Event
from ..timestamps import iso
from ._time import now_iso
from .db import Database

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"


@dataclass(frozen=True)
class Endpoint:
    id: str
    agent_id: int | None  # None: the owner's endpoint for every agent's events
    agent: str | None
    url: str
    events: list[str]  # empty: every event type
    description: str
    secret_enc: str
    owner_url: bool  # the URL was set with the master key: no address check
    enabled: bool
    disabled_reason: str | None
    failing_since: float | None
    created_at: str
    updated_at: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "agent": self.agent, "url": self.url, "events": self.events,
                "description": self.description, "enabled": self.enabled,
                "disabled_reason": self.disabled_reason,
                "failing_since": _iso(self.failing_since), "created_at": self.created_at,
                "updated_at": self.updated_at}


@dataclass(frozen=True)
class Due:
    """The oldest pending message of an endpoint, due now."""

    id: int
    endpoint: Endpoint
    event_type: str
    webhook_id: str
    body: str
    attempts: int
    due_at: float  # its next_attempt_at when taken (a replay meanwhile changes it)


def _iso(at: float | None) -> str | None:
    return None if at is None else iso(at)


def _endpoint(row: sqlite3.Row) -> Endpoint:
    return Endpoint(id=row["id"], agent_id=row["agent_id"], agent=row["agent"], url=row["url"],
                    events=json.loads(row["events"]), description=row["description"],
                    secret_enc=row["secret_enc"], owner_url=bool(row["owner_url"]),
                    enabled=bool(row["enabled"]), disabled_reason=row["disabled_reason"],
                    failing_since=row["failing_since"], created_at=row["created_at"],
                    updated_at=row["updated_at"])


def new_endpoint_id() -> str:
    return "wh_" + secrets.token_hex(8)


def insert_endpoint(conn: sqlite3.Connection, *, agent_id: int | None, agent: str | None,
                    url: str, events: list[str], description: str, secret_enc: str,
                    owner_url: bool) -> str:
    endpoint_id, created = new_endpoint_id(), now_iso()
    conn.execute(
        "INSERT INTO webhook_endpoints (id, agent_id, agent, url, events, description, "
        "secret_enc, owner_url, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (endpoint_id, agent_id, agent, url, json.dumps(events), description, secret_enc,
         int(owner_url), created, created))
    return endpoint_id


def get_endpoint(db: Database | sqlite3.Connection, endpoint_id: str) -> Endpoint | None:
    sql, params = "SELECT * FROM webhook_endpoints WHERE id = ?", (endpoint_id,)
    row = db.execute(sql, params).fetchone() if isinstance(db, sqlite3.Connection) \
        else db.one(sql, params)
    return None if row is None else _endpoint(row)


def list_endpoints(db: Database, agent_id: int | None = None) -> list[Endpoint]:
    """Every endpoint, or those of the agent with ``agent_id``."""
    if agent_id is None:
        rows = db.query("SELECT * FROM webhook_endpoints ORDER BY created_at, id")
    else:
        rows = db.query("SELECT * FROM webhook_endpoints WHERE agent_id = ? "
                        "ORDER BY created_at, id", (agent_id,))
    return [_endpoint(r) for r in rows]


_CHANGEABLE = {"url", "events", "description", "secret_enc", "owner_url", "enabled",
               "disabled_reason", "failing_since"}


def update_endpoint(conn: sqlite3.Connection, endpoint_id: str, **changes: Any) -> None:
    unknown = set(changes) - _CHANGEABLE
    if unknown:
        raise ValueError(f"not endpoint columns: {sorted(unknown)}")
    values = {k: (json.dumps(v) if k == "events" else int(v) if isinstance(v, bool) else v)
              for k, v in changes.items()}
    values["updated_at"] = now_iso()
    columns = ", ".join(f"{k} = :{k}" for k in values)
    conn.execute(f"UPDATE webhook_endpoints SET {columns} WHERE id = :endpoint_id",
                 {**values, "endpoint_id": endpoint_id})


def delete_endpoint(conn: sqlite3.Connection, endpoint_id: str) -> None:
    conn.execute("DELETE FROM webhook_endpoints WHERE id = ?", (endpoint_id,))


# -- the queue ---------------------------------------------------------------------------

_MATCHING = """
    e.enabled = 1 AND (e.agent_id IS NULL OR e.agent_id = :agent_id)
    AND :type != 'webhook.test'
    AND (e.events = '[]' OR EXISTS (SELECT 1 FROM json_each(e.events) j WHERE j.value = :type
         OR j.value = '*' OR (substr(j.value, -2) = '.*'
             AND substr(:type, 1, length(j.value) - 1) = substr(j.value, 1, length(j.value) - 1)
         )))"""


def enqueue(conn: sqlite3.Connection, event: Event, only: str | None = None) -> int:
    """Queue ``event`` for every enabled endpoint that wants it (inside the event's own
    transaction); ``only``: for that endpoint alone, whatever its filter (a test event). The
    number of messages queued."""
    now = time.time()
    params = {"event_id": event.id, "type": event.type, "agent_id": event.agent_id,
              "webhook_id": "msg_" + secrets.token_hex(12),
              "body": json.dumps(event.to_dict(), default=str), "now": now, "only": only}
    where = "e.id = :only AND e.enabled = 1" if only is not None else _MATCHING
    cur = conn.execute(
        "INSERT INTO webhook_messages (endpoint_id, event_id, event_type, webhook_id, body, "
        "next_attempt_at, created_at) SELECT e.id, :event_id, :type, :webhook_id, :body, "
        f":now, :now FROM webhook_endpoints e WHERE {where}", params)
    return cur.rowcount


_HEADS = """FROM webhook_endpoints e JOIN webhook_messages m ON m.id = (
        SELECT min(id) FROM webhook_messages WHERE endpoint_id = e.id AND status = 'pending')
    WHERE e.enabled = 1"""


_NOT_BUSY = " AND e.id NOT IN (SELECT value FROM json_each(?))"


def due(db: Database, now: float, limit: int, busy: set[str]) -> list[Due]:
    """The head message of each enabled endpoint (but those in ``busy``) whose next attempt
    is due, soonest first."""
    rows = db.query(
        "SELECT e.*, m.id AS m_id, m.event_type AS m_type, m.webhook_id AS m_webhook_id, "
        f"m.body AS m_body, m.attempts AS m_attempts, m.next_attempt_at AS m_due "
        f"{_HEADS}{_NOT_BUSY} "
        "AND m.next_attempt_at <= ? ORDER BY m.next_attempt_at LIMIT ?",
        (json.dumps(sorted(busy)), now, limit))
    return [Due(id=r["m_id"], endpoint=_endpoint(r), event_type=r["m_type"],
                webhook_id=r["m_webhook_id"], body=r["m_body"], attempts=r["m_attempts"],
                due_at=r["m_due"])
            for r in rows]


def next_due_at(db: Database, busy: set[str]) -> float | None:
    """When the soonest head message (of an endpoint not in ``busy``) is due (None: nothing
    pending)."""
    row = db.one(f"SELECT min(m.next_attempt_at) AS at {_HEADS}{_NOT_BUSY}",
                 (json.dumps(sorted(busy)),))
    return None if row is None or row["at"] is None else float(row["at"])


def record_attempt(conn: sqlite3.Connection, message: Due, *, attempt: int,
                   status_code: int | None, duration_ms: float, outcome: str,
                   error: str | None, at: float) -> None:
    conn.execute(
        "INSERT INTO webhook_deliveries (message_id, endpoint_id, agent_id, event_type, "
        "webhook_id, attempt, status_code, duration_ms, outcome, error, at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (message.id, message.endpoint.id, message.endpoint.agent_id, message.event_type,
         message.webhook_id, attempt, status_code, duration_ms, outcome, error, at))


def finish(conn: sqlite3.Connection, message: Due, status: str, attempts: int,
           at: float) -> None:
    """The message was delivered, or given up (``failed``) — unless it was replayed while
    this attempt was on its way (then the replay stands)."""
    conn.execute("UPDATE webhook_messages SET status = ?, attempts = ?, finished_at = ? "
                 "WHERE id = ? AND next_attempt_at = ?",
                 (status, attempts, at, message.id, message.due_at))


def retry_at(conn: sqlite3.Connection, message: Due, attempts: int, at: float) -> None:
    """The next attempt of the message is at ``at`` (unless it was replayed meanwhile)."""
    conn.execute("UPDATE webhook_messages SET attempts = ?, next_attempt_at = ? "
                 "WHERE id = ? AND next_attempt_at = ?",
                 (attempts, at, message.id, message.due_at))


def replay(conn: sqlite3.Connection, endpoint_id: str, *, webhook_id: str | None = None,
           since: float | None = None) -> int:
    """Queue messages again (due now, with a fresh budget of attempts): the one with
    ``webhook_id``, or every one created at or after ``since``. How many."""
    now = time.time()
    param: str | float
    if webhook_id is not None:
        where, param = "webhook_id = ?", webhook_id
    else:
        where, param = "created_at >= ?", since if since is not None else 0.0
    cur = conn.execute(
        "UPDATE webhook_messages SET status = 'pending', attempts = 0, next_attempt_at = ?, "
        f"finished_at = NULL WHERE endpoint_id = ? AND {where}", (now, endpoint_id, param))
    return cur.rowcount


def deliveries(db: Database, endpoint_id: str, limit: int, offset: int = 0
               ) -> list[dict[str, Any]]:
    """The endpoint's delivery attempts, newest first."""
    rows = db.query(
        "SELECT id, webhook_id, event_type, attempt, status_code, duration_ms, outcome, error, "
        "at FROM webhook_deliveries WHERE endpoint_id = ? ORDER BY id DESC LIMIT ? OFFSET ?",
        (endpoint_id, limit, offset))
    return [{"id": r["id"], "webhook_id": r["webhook_id"], "event_type": r["event_type"],
             "attempt": r["attempt"], "status_code": r["status_code"],
             "duration_ms": r["duration_ms"], "outcome": r["outcome"], "error": r["error"],
             "at": _iso(r["at"])} for r in rows]


def queue_counts(db: Database, endpoint_id: str) -> dict[str, int]:
    """How many of the endpoint's messages are pending, delivered and failed."""
    rows = db.query("SELECT status, count(*) AS n FROM webhook_messages WHERE endpoint_id = ? "
                    "GROUP BY status", (endpoint_id,))
    counts = {PENDING: 0, DELIVERED: 0, FAILED: 0}
    counts.update({r["status"]: r["n"] for r in rows})
    return counts


def prune(conn: sqlite3.Connection, before: float) -> int:
    """Forget messages finished (delivered or given up) before ``before``, with their
    attempts; how many."""
    cur = conn.execute("DELETE FROM webhook_messages WHERE status != 'pending' "
                       "AND finished_at < ?", (before,))
    return cur.rowcount
