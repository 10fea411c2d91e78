"""/v1/events: Server-Sent Events, replayable with ``Last-Event-ID`` (or ``?since=``).

The stream opens with an ``event: ready`` carrying the newest event id, so a client knows
from which point it is live. An agent key sees only its agent's events.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query
from sse_starlette.sse import EventSourceResponse

from ...errors import InvalidRequest
from ...models import Event
from ...services import event_log
from ...services.auth import resolve_agent
from .. import errors
from ..auth import Caller, Ctx
from ..schemas import SQL_INT_MAX

router = APIRouter(prefix="/v1", tags=["events"],
                   responses=errors.documented(403, 404))
REPLAY_BATCH = 1000


def _sse(event: Event) -> dict[str, Any]:
    return {"id": str(event.id), "event": event.type, "data": json.dumps(event.to_dict())}


@router.get("/events")
async def events(
    ctx: Ctx, caller: Caller,
    agent: Annotated[str | None, Query(description="agent name (master key only)")] = None,
    since: Annotated[int | None, Query(ge=0, le=SQL_INT_MAX,
                                       description="replay events after this id")] = None,
    types: Annotated[str | None, Query(description="comma-separated event types")] = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> EventSourceResponse:
    who = None  # the agent's id: names can be reused after a deletion, ids never
    if caller.agent is not None or agent:
        who = (await asyncio.to_thread(resolve_agent, ctx, caller, agent)).id
    if last_event_id is not None:
        try:
            since = int(last_event_id)
        except ValueError:
            since = -1
        if not 0 <= since <= SQL_INT_MAX:
            raise InvalidRequest("Last-Event-ID must be an event id")
    wanted = {t.strip() for t in types.split(",")} if types else None

    def accept(event: Event) -> bool:
        return (who is None or event.agent_id == who) and (wanted is None or event.type in wanted)

    subscription = ctx.bus.subscribe(accept)

    async def stream() -> AsyncIterator[dict[str, Any]]:
        try:
            newest = await asyncio.to_thread(event_log.newest_id, ctx)
            yield {"event": "ready", "data": json.dumps({"last_event_id": newest})}
            last = since if since is not None else newest
            if since is not None:
                while True:
                    batch = await asyncio.to_thread(event_log.replay, ctx, last, who,
                                                    REPLAY_BATCH)
                    for event in batch:
                        last = event.id
                        if accept(event):
                            yield _sse(event)
                    if len(batch) < REPLAY_BATCH:
                        break
            async for event in subscription:
                if event.id > last:
                    last = event.id
                    yield _sse(event)
        finally:
            subscription.close()

    return EventSourceResponse(stream(), ping=15)
