"""Agent task rows: work one agent assigns another, and its state.

A task moves ``assigned`` -> ``claimed`` -> ``completed``/``failed``. Each move is one
conditional UPDATE (the row must still be in the state the move starts from, and belong to
the assignee), so two agents or requests racing for the same move cannot both win: the
caller looks at the row count. Deadlines are epoch seconds (REAL) so they compare cheaply.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..errors import NotFound
from ._time import now_iso
from .db import Database

OPEN = ("assigned", "claimed")
STATUSES = ("assigned", "claimed", "completed", "failed")


def _iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class TaskRow:
    id: str
    assigner_id: int | None
    assigner: str
    assignee_id: int
    assignee: str
    type: str
    payload: Any
    status: str
    result: Any
    deadline: float | None
    created: float
    created_at: str
    updated_at: str
    claimed_at: str | None
    finished_at: str | None

    def expired(self, now: float | None = None) -> bool:
        """An open task whose deadline has passed."""
        return (self.status in OPEN and self.deadline is not None
                and self.deadline <= (time.time() if now is None else now))

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "assigner": self.assigner,
                "assignee": self.assignee, "status": self.status,
                "expired": self.expired(), "payload": self.payload, "result": self.result,
                "deadline": _iso(self.deadline), "created_at": self.created_at,
                "updated_at": self.updated_at, "claimed_at": self.claimed_at,
                "finished_at": self.finished_at}


def _row(row: sqlite3.Row) -> TaskRow:
    data = dict(row)
    data["payload"] = json.loads(data["payload"])
    data["result"] = None if data["result"] is None else json.loads(data["result"])
    return TaskRow(**data)


def insert(conn: sqlite3.Connection, *, id: str, assigner_id: int | None, assigner: str,
           assignee_id: int, assignee: str, type: str, payload_json: str,
           deadline: float | None) -> None:
    now = now_iso()
    conn.execute("INSERT INTO agent_tasks (id, assigner_id, assigner, assignee_id, assignee, "
                 "type, payload, status, deadline, created, created_at, updated_at) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?, 'assigned', ?, ?, ?, ?)",
                 (id, assigner_id, assigner, assignee_id, assignee, type, payload_json,
                  deadline, time.time(), now, now))


def get(db: Database | sqlite3.Connection, id: str) -> TaskRow:
    if isinstance(db, sqlite3.Connection):
        row = db.execute("SELECT * FROM agent_tasks WHERE id = ?", (id,)).fetchone()
    else:
        row = db.one("SELECT * FROM agent_tasks WHERE id = ?", (id,))
    if row is None:
        raise NotFound(f"no task {id!r}", code="task_not_found")
    return _row(row)


def claim(conn: sqlite3.Connection, id: str, assignee_id: int, now: float) -> bool:
    """Claim an assigned, unexpired task for its assignee: True for the one caller that won."""
    return conn.execute(
        "UPDATE agent_tasks SET status = 'claimed', claimed_at = ?, updated_at = ? "
        "WHERE id = ? AND assignee_id = ? AND status = 'assigned' "
        "AND (deadline IS NULL OR deadline > ?)",
        (now_iso(), now_iso(), id, assignee_id, now)).rowcount == 1


def finish(conn: sqlite3.Connection, id: str, assignee_id: int, status: str,
           result_json: str | None) -> bool:
    """Complete or fail a claimed task of its assignee: True when this call did it."""
    if status not in ("completed", "failed"):
        raise ValueError(status)
    return conn.execute(
        "UPDATE agent_tasks SET status = ?, result = ?, finished_at = ?, updated_at = ? "
        "WHERE id = ? AND assignee_id = ? AND status = 'claimed'",
        (status, result_json, now_iso(), now_iso(), id, assignee_id)).rowcount == 1


def list_for(db: Database, agent_id: int | None, *, role: str, status: str | None,
             now: float, limit: int, offset: int) -> list[TaskRow]:
    """Tasks assigned to (``role="assignee"``) or by (``"assigner"``) an agent (everyone's
    when ``agent_id`` is None), newest first; ``status`` may also be ``expired``."""
    where: list[str] = []
    params: list[Any] = []
    if agent_id is not None:
        where.append("assignee_id = ?" if role == "assignee" else "assigner_id = ?")
        params.append(agent_id)
    if status == "expired":
        where.append("status IN ('assigned', 'claimed') AND deadline IS NOT NULL "
                     "AND deadline <= ?")
        params.append(now)
    elif status is not None:
        where.append("status = ?")
        params.append(status)
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    return [_row(r) for r in db.query(
        f"SELECT * FROM agent_tasks {clause} ORDER BY created DESC, id DESC LIMIT ? OFFSET ?",
        (*params, limit, offset))]
