"""Agent tasks: one agent assigns work (a type and a JSON payload, an optional deadline) to
another; the assignee claims it (exactly one claim wins), then completes or fails it with a
result. Each step is an event to both agents (``task.assigned``, ``task.claimed``,
``task.completed``, ``task.failed``), committed with the step. Only the two agents see a task.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

from ..errors import Conflict, InvalidRequest, NotFound, PayloadTooLarge, PermissionDenied
from ..event_types import TASK_ASSIGNED, TASK_CLAIMED, TASK_COMPLETED, TASK_FAILED
from ..models import Agent
from ..store import agents as agent_store
from ..store import tasks as store
from ..timestamps import parse_instant
from .context import ServiceContext, Tx, transaction
from .queue import new_id

MAX_PAYLOAD_BYTES = 64 * 1024
_TYPE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
ROLES = ("assignee", "assigner")


def _json(value: Any, what: str) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError):
        raise InvalidRequest(f"the {what} must be JSON") from None
    if len(text.encode()) > MAX_PAYLOAD_BYTES:
        raise PayloadTooLarge(f"the {what} is larger than {MAX_PAYLOAD_BYTES} bytes",
                              code=f"task_{what}_too_large")
    return text


def _announce(tx: Tx, type_: str, row: store.TaskRow, **extra: Any) -> None:
    data = {"task_id": row.id, "task_type": row.type, "assigner": row.assigner,
            "assignee": row.assignee, "status": row.status,
            "deadline": row.to_dict()["deadline"], **extra}
    for agent_id, name in dict.fromkeys(((row.assigner_id, row.assigner),
                                         (row.assignee_id, row.assignee))):
        if agent_id is not None:  # an assigner deleted since sees nothing
            tx.emit(type_, name, data, agent_id=agent_id)


def assign(ctx: ServiceContext, agent: Agent, assignee: str, type_: str, payload: Any = None,
           deadline: str | None = None) -> store.TaskRow:
    """``agent`` gives ``assignee`` (an agent's name) a task."""
    if not isinstance(type_, str) or not _TYPE_RE.match(type_):
        raise InvalidRequest("a task type is 1-64 letters, digits and . _ : - "
                             "(e.g. 'summarise' or 'crm.lookup')", code="invalid_task_type")
    target = agent_store.find_agent(ctx.db, (assignee or "").lower())
    if target is None:
        raise NotFound(f"no agent named {assignee!r}", code="unknown_assignee")
    payload_json = _json(payload, "payload")
    due = None if deadline is None else parse_instant(deadline, "deadline")
    if due is not None and due <= time.time():
        raise InvalidRequest("the deadline has already passed", code="deadline_passed")
    task_id = new_id("task")
    with transaction(ctx) as tx:
        store.insert(tx.conn, id=task_id, assigner_id=agent.id, assigner=agent.name,
                     assignee_id=target.id, assignee=target.name, type=type_,
                     payload_json=payload_json, deadline=due)
        _announce(tx, TASK_ASSIGNED, store.get(tx.conn, task_id))
    return store.get(ctx.db, task_id)


def get(ctx: ServiceContext, agent: Agent | None, task_id: str) -> store.TaskRow:
    """A task ``agent`` assigned or was assigned (any task for the owner: ``agent=None``);
    another agent's task is as unknown as a task that does not exist."""
    row = store.get(ctx.db, task_id)
    if agent is not None and agent.id not in (row.assigner_id, row.assignee_id):
        raise NotFound(f"no task {task_id!r}", code="task_not_found")
    return row


def list_tasks(ctx: ServiceContext, agent: Agent | None, *, role: str = "assignee",
               status: str | None = None, limit: int = 50, offset: int = 0
               ) -> list[store.TaskRow]:
    if role not in ROLES:
        raise InvalidRequest(f"role must be one of {', '.join(ROLES)}")
    if status is not None and status not in (*store.STATUSES, "expired"):
        raise InvalidRequest(f"status must be one of {', '.join((*store.STATUSES, 'expired'))}")
    if not 1 <= limit <= 1000 or offset < 0:
        raise InvalidRequest("limit must be 1-1000 and offset not negative")
    return store.list_for(ctx.db, agent.id if agent else None, role=role, status=status,
                          now=time.time(), limit=limit, offset=offset)


def _assignee_only(row: store.TaskRow, agent: Agent, verb: str) -> None:
    if agent.id != row.assignee_id:
        raise PermissionDenied(f"only the assignee ({row.assignee}) may {verb} task {row.id}",
                               code="not_assignee")


def _refused(row: store.TaskRow, verb: str) -> Conflict:
    if row.expired():
        return Conflict(f"task {row.id} passed its deadline", code="task_expired")
    if row.status == "claimed" and verb == "claim":
        return Conflict(f"task {row.id} is already claimed", code="task_already_claimed")
    if row.status in ("completed", "failed"):
        return Conflict(f"task {row.id} is already {row.status}", code="task_finished")
    done = {"complete": "completed", "fail": "failed"}.get(verb, verb)
    return Conflict(f"task {row.id} must be claimed before it is {done}",
                    code="task_not_claimed")


def claim(ctx: ServiceContext, agent: Agent, task_id: str) -> store.TaskRow:
    """Claim a task assigned to ``agent``: of two racing claims exactly one wins (one
    conditional UPDATE); the other gets a 409 ``task_already_claimed``."""
    _assignee_only(get(ctx, agent, task_id), agent, "claim")
    with transaction(ctx) as tx:
        won = store.claim(tx.conn, task_id, agent.id, time.time())
        row = store.get(tx.conn, task_id)
        if not won:
            raise _refused(row, "claim")
        _announce(tx, TASK_CLAIMED, row)
    return row


def finish(ctx: ServiceContext, agent: Agent, task_id: str, *, ok: bool,
           result: Any = None) -> store.TaskRow:
    """Complete (``ok``) or fail a task ``agent`` claimed, with a JSON ``result``."""
    _assignee_only(get(ctx, agent, task_id), agent, "complete" if ok else "fail")
    result_json = _json(result, "result")
    with transaction(ctx) as tx:
        done = store.finish(tx.conn, task_id, agent.id, "completed" if ok else "failed",
                            result_json)
        row = store.get(tx.conn, task_id)
        if not done:
            raise _refused(row, "complete" if ok else "fail")
        _announce(tx, TASK_COMPLETED if ok else TASK_FAILED, row, result=row.result)
    return row
