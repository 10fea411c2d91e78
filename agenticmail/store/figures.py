"""Counts across the store for metrics and the status dashboard, read in one snapshot.

Every figure is counted from durable rows at the moment it is asked for (nothing is
incremented in memory), so the numbers survive a restart and no code path has to remember to
bump one: messages received (one screening verdict per inbound message, kept for the life of
the agent), sent / failed / bounced (outbox rows by status; a bounced message was sent first
and stays counted as sent, so no count ever goes down), held (every hold ever made),
the outbox queue (depth, oldest row, rows overdue), the inbound filter's verdicts by category,
and webhook deliveries when the ``webhook_deliveries`` table exists (see
:func:`webhook_deliveries`).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

from .db import Database

ACTIVE = ("queued", "sending")  # outbox rows still waiting to go out


@dataclass(frozen=True)
class OutboxQueue:
    depth: dict[str, int]  # status -> rows (queued, sending)
    oldest_created: float | None  # epoch seconds of the oldest waiting row
    overdue: int  # queued rows whose next attempt is more than ``late`` seconds past
    oldest_overdue_due: float | None  # when the most overdue row was due (epoch seconds)


@dataclass(frozen=True)
class WebhookDeliveries:
    """Deliveries by outcome, their response times as cumulative bucket counts (upper bound
    in seconds -> deliveries that took at most that long), and the endpoints failing now."""

    by_outcome: dict[str, int]
    buckets: dict[float, int] = field(default_factory=dict)
    timed: int = 0  # deliveries with a response time
    seconds: float = 0.0  # their total response time
    failing_endpoints: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Figures:
    messages: dict[str, dict[str, int]]  # agent -> received/sent/held/failed/bounced
    outbox: OutboxQueue
    verdicts: dict[tuple[str, str], int]  # (verdict: clean|warning|spam, category) -> count
    webhooks: WebhookDeliveries | None  # None: no webhook_deliveries table (not installed)


def _by_agent(conn: sqlite3.Connection, sql: str) -> dict[tuple[str, str], int]:
    return {(r[0], r[1]): int(r[2]) for r in conn.execute(sql)}


def message_counts(conn: sqlite3.Connection) -> dict[str, dict[str, int]]:
    """Agent -> event (received, sent, held, failed, bounced, and waiting statuses) -> count."""
    counts: dict[tuple[str, str], int] = {}
    # an inbound message is screened once: one verdict row per agent and message bytes
    counts.update(_by_agent(conn, "SELECT a.name, 'received', count(v.agent_id) FROM agents a "
                                  "LEFT JOIN verdicts v ON v.agent_id = a.id GROUP BY a.name"))
    counts.update(_by_agent(conn, "SELECT agent, status, count(*) FROM outbox "
                                  "GROUP BY agent, status"))
    # a bounce comes after the send: the row stays 'sent' (so counted as sent) and a bounce
    # that gave a recipient up marks it (``bounce``, services/bounces)
    counts.update(_by_agent(conn, "SELECT agent, 'bounced', count(*) FROM outbox WHERE "
                                  "status = 'sent' AND json_extract(bounce, '$.failed') "
                                  "GROUP BY agent"))
    counts.update(_by_agent(conn, "SELECT agent, 'held', count(*) FROM pending_outbound "
                                  "GROUP BY agent"))
    found: dict[str, dict[str, int]] = {}
    for (agent, kind), n in counts.items():
        found.setdefault(agent, {})[kind] = n
    return found


def _outbox(conn: sqlite3.Connection, now: float, late: float) -> OutboxQueue:
    marks = ", ".join("?" * len(ACTIVE))
    depth = {status: 0 for status in ACTIVE}
    oldest = None
    for status, n, first in conn.execute(
            f"SELECT status, count(*), min(created) FROM outbox WHERE status IN ({marks}) "
            "GROUP BY status", ACTIVE):
        depth[status] = int(n)
        oldest = first if oldest is None else min(oldest, first)
    n, due = conn.execute("SELECT count(*), min(next_attempt_at) FROM outbox "
                          "WHERE status = 'queued' AND next_attempt_at < ?",
                          (now - late,)).fetchone()
    return OutboxQueue(depth, oldest, int(n), due)


def _verdicts(conn: sqlite3.Connection) -> dict[tuple[str, str], int]:
    rows = conn.execute(
        "SELECT CASE WHEN json_extract(security, '$.spam') THEN 'spam' "
        "WHEN json_extract(security, '$.warning') THEN 'warning' ELSE 'clean' END, "
        "coalesce(json_extract(security, '$.category'), 'none'), count(*) "
        "FROM verdicts GROUP BY 1, 2")
    return {(r[0], r[1]): int(r[2]) for r in rows}


# The webhook delivery log, when the webhooks feature is installed: one row per attempt, with
# its outcome and how long the endpoint took. The first column of each list that the table has
# is used, so the figures follow the table as it is.
_OUTCOME_COLUMNS = ("outcome", "status")
_DURATION_COLUMNS = (("duration_ms", 1000.0), ("response_ms", 1000.0), ("latency_ms", 1000.0),
                     ("duration_seconds", 1.0), ("duration", 1.0))
_ENDPOINT_COLUMNS = ("endpoint_id", "webhook_id", "endpoint")
FAILING_WINDOW = 20  # an endpoint whose last this-many attempts all failed is failing
_SUCCESS = ("success", "succeeded", "ok", "delivered")


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]


def webhook_deliveries(conn: sqlite3.Connection, buckets: tuple[float, ...] = ()
                       ) -> WebhookDeliveries | None:
    """Deliveries by outcome and their response times counted into ``buckets`` (upper bounds,
    seconds); None when there is no delivery table."""
    columns = _columns(conn, "webhook_deliveries")
    outcome = next((c for c in _OUTCOME_COLUMNS if c in columns), None)
    if outcome is None:
        return None
    by_outcome = {str(r[0]): int(r[1]) for r in conn.execute(
        f"SELECT {outcome}, count(*) FROM webhook_deliveries GROUP BY 1")}
    duration = next(((c, scale) for c, scale in _DURATION_COLUMNS if c in columns), None)
    counted: dict[float, int] = {}
    timed, seconds = 0, 0.0
    if duration is not None:
        took = f"({duration[0]} / {duration[1]})"
        sums = "".join(f"sum({took} <= ?), " for _ in buckets)
        row = conn.execute(f"SELECT {sums}count({took}), total({took}) FROM webhook_deliveries",
                           buckets).fetchone()
        counted = {b: int(n or 0) for b, n in zip(buckets, row, strict=False)}
        timed, seconds = int(row[-2]), float(row[-1])
    endpoint = next((c for c in _ENDPOINT_COLUMNS if c in columns), None)
    failing: list[str] = []
    if endpoint is not None:
        ok = ", ".join("?" * len(_SUCCESS))
        failing = [str(r[0]) for r in conn.execute(
            f"SELECT {endpoint} FROM (SELECT {endpoint}, {outcome}, row_number() OVER "
            f"(PARTITION BY {endpoint} ORDER BY rowid DESC) AS n FROM webhook_deliveries) "
            f"WHERE n <= ? GROUP BY {endpoint} "
            f"HAVING count(*) = ? AND sum({outcome} IN ({ok})) = 0",
            (FAILING_WINDOW, FAILING_WINDOW, *_SUCCESS))]
    return WebhookDeliveries(by_outcome, counted, timed, seconds, failing)


def collect(db: Database, *, now: float, late: float,
            webhook_buckets: tuple[float, ...] = ()) -> Figures:
    """Every figure, from one consistent snapshot. ``late``: how far past its due time a
    queued outbox row counts as overdue (seconds); ``webhook_buckets``: the upper bounds
    (seconds) webhook response times are counted into."""
    with db.read() as conn:
        return Figures(message_counts(conn), _outbox(conn, now, late), _verdicts(conn),
                       webhook_deliveries(conn, webhook_buckets))
