"""/v1/tasks: tasks one agent assigns another (assign, list, claim, complete, fail)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from ...services import tasks
from ...services.auth import resolve_agent
from .. import errors
from ..auth import Caller, Ctx
from ..schemas import AgentOnlyBody, Offset, TaskBody, TaskResultBody
from .mail import AgentQ

router = APIRouter(prefix="/v1/tasks", tags=["tasks"],
                   responses=errors.documented(403, 404, 409))


@router.post("", status_code=201)
def assign_task(body: TaskBody, ctx: Ctx, caller: Caller) -> dict[str, Any]:
    """Assign a task (a type and a JSON payload, optionally a deadline) to another agent;
    both agents get ``task.assigned``."""
    who = resolve_agent(ctx, caller, body.agent)
    return {"task": tasks.assign(ctx, who, body.assignee, body.type, body.payload,
                                 body.deadline).to_dict()}


@router.get("")
def list_tasks(ctx: Ctx, caller: Caller, agent: AgentQ = None,
               role: Annotated[str, Query(description="assignee (tasks given to the agent) "
                                                      "or assigner (tasks it gave)")
                               ] = "assignee",
               status: Annotated[str | None, Query(description="assigned, claimed, completed, "
                                                               "failed or expired")] = None,
               limit: int = 50, offset: Offset = 0) -> dict[str, Any]:
    who = resolve_agent(ctx, caller, agent) if (agent or caller.agent) else None
    rows = tasks.list_tasks(ctx, who, role=role, status=status, limit=limit, offset=offset)
    return {"tasks": [t.to_dict() for t in rows]}


@router.get("/{task_id}")
def get_task(task_id: str, ctx: Ctx, caller: Caller, agent: AgentQ = None) -> dict[str, Any]:
    who = resolve_agent(ctx, caller, agent) if (agent or caller.agent) else None
    return {"task": tasks.get(ctx, who, task_id).to_dict()}


@router.post("/{task_id}/claim")
def claim_task(task_id: str, body: AgentOnlyBody, ctx: Ctx, caller: Caller) -> dict[str, Any]:
    """Claim a task assigned to this agent: of racing claims exactly one wins; the others
    get 409 ``task_already_claimed``."""
    who = resolve_agent(ctx, caller, body.agent)
    return {"task": tasks.claim(ctx, who, task_id).to_dict()}


@router.post("/{task_id}/complete")
def complete_task(task_id: str, body: TaskResultBody, ctx: Ctx, caller: Caller
                  ) -> dict[str, Any]:
    who = resolve_agent(ctx, caller, body.agent)
    return {"task": tasks.finish(ctx, who, task_id, ok=True, result=body.result).to_dict()}


@router.post("/{task_id}/fail")
def fail_task(task_id: str, body: TaskResultBody, ctx: Ctx, caller: Caller) -> dict[str, Any]:
    who = resolve_agent(ctx, caller, body.agent)
    return {"task": tasks.finish(ctx, who, task_id, ok=False, result=body.result).to_dict()}
