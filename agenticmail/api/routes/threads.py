"""/v1/mail/threads and /v1/mail/wait: conversations and waiting for the next message."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Query

from ...security import fence as fencing
from ...services import threads
from ...services.auth import resolve_agent
from ...services.waiting import MAX_WAIT, WaitFilter, wait_for_message
from .. import errors
from ..auth import Caller, Ctx
from ..schemas import SQL_INT_MAX, Offset
from .mail import AgentQ, FenceQ

router = APIRouter(prefix="/v1/mail", tags=["threads"],
                   responses=errors.documented(403, 404, 502, 503))


@router.get("/threads")
def list_threads(ctx: Ctx, caller: Caller, agent: AgentQ = None, limit: int = 20,
                 offset: Offset = 0, fence: FenceQ = False) -> dict[str, Any]:
    """The agent's conversations, newest activity first."""
    data = threads.list_threads(ctx, resolve_agent(ctx, caller, agent), limit, offset)
    if fence:
        marker = fencing.new_marker()
        data["threads"] = [{**t, "subject": fencing.fence_message({"subject": t["subject"]},
                                                                  marker)["subject"],
                            "snippet": fencing.fence_message({"snippet": t["snippet"]},
                                                             marker)["snippet"]}
                           for t in data["threads"]]
        data["fence"] = {"marker": marker, "note": fencing.PREAMBLE}
    return data


@router.get("/threads/{thread_id}")
def get_thread(thread_id: str, ctx: Ctx, caller: Caller, agent: AgentQ = None,
               fence: FenceQ = False) -> dict[str, Any]:
    """One conversation, oldest first, each message sanitised with its security block and
    its quoted history in ``quoted``."""
    data = threads.get_thread(ctx, resolve_agent(ctx, caller, agent), thread_id)
    if fence:
        marker = fencing.new_marker()
        fenced = []
        for message in data["messages"]:
            security = message.get("security")
            out = fencing.fence_message(message, marker)
            out["fence"]["verdict"] = fencing.verdict_summary(security)
            fenced.append(out)
        data["messages"] = fenced
    return data


@router.get("/wait")
async def wait(ctx: Ctx, caller: Caller, agent: AgentQ = None,
               thread: str | None = None,
               from_: Annotated[str | None, Query(alias="from")] = None,
               subject: str | None = None,
               timeout: Annotated[float, Query(ge=0, le=MAX_WAIT)] = 30.0,
               since: Annotated[int | None, Query(ge=0, le=SQL_INT_MAX,
                                                  description="also match events after this "
                                                              "event id")] = None,
               fence: FenceQ = False) -> dict[str, Any]:
    """Long-poll until a matching ``message.new`` arrives (``{"message": …}``) or ``timeout``
    seconds pass (``{"message": null, "timed_out": true}``)."""
    who = await asyncio.to_thread(resolve_agent, ctx, caller, agent)
    found = await wait_for_message(ctx, who, WaitFilter(thread, from_, subject), timeout, since)
    if found is None:
        return {"message": None, "timed_out": True}
    if fence:
        found["message"] = fencing.fence_message(found["message"], fencing.new_marker())
    return {**found, "timed_out": False}
