"""Waiting for a message: a long poll on the event bus instead of polling the mailbox.

Returns the first ``message.new`` for the agent matching every given filter (thread, sender,
subject substring) — from the event log after ``since`` first (no gap between a send and the
wait), then live — or None when ``timeout`` passes.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidRequest
from ..events import MESSAGE_NEW
from ..models import Agent, Event
from ..store import events as event_log
from .context import ServiceContext
from .threads import key_of, public_id

MAX_WAIT = 300.0


@dataclass(frozen=True)
class WaitFilter:
    thread: str | None = None  # public thread id
    from_: str | None = None
    subject: str | None = None

    def matches(self, event: Event, agent_id: int) -> bool:
        if event.type != MESSAGE_NEW or event.agent_id != agent_id:
            return False
        data = event.data
        message = data.get("message") or {}
        if self.thread and key_of(self.thread) != data.get("thread_id"):
            return False
        if self.from_ and self.from_.lower() not in str(message.get("from", "")).lower():
            return False
        return not (self.subject and
                    self.subject.lower() not in str(message.get("subject", "")).lower())


def _result(event: Event) -> dict[str, Any]:
    data = dict(event.data)
    if data.get("thread_id"):
        data["thread_id"] = public_id(str(data["thread_id"]))
    return {"event_id": event.id, **data}


async def wait_for_message(ctx: ServiceContext, agent: Agent, wanted: WaitFilter,
                           timeout: float, since: int | None = None) -> dict[str, Any] | None:
    if not 0 <= timeout <= MAX_WAIT:
        raise InvalidRequest(f"timeout must be between 0 and {int(MAX_WAIT)} seconds")
    if wanted.thread:
        key_of(wanted.thread)  # not_found for an id that is not a thread id
    subscription = ctx.bus.subscribe(lambda e: wanted.matches(e, agent.id), maxsize=100)
    try:
        if since is not None:
            last = since
            while True:
                batch = await asyncio.to_thread(event_log.after, ctx.db, last, agent.id, 1000)
                for event in batch:
                    last = event.id
                    if wanted.matches(event, agent.id):
                        return _result(event)
                if len(batch) < 1000:
                    break
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            live = await subscription.get(left)
            if live is None:
                return None
            if since is None or live.id > since:
                return _result(live)
        return None
    finally:
        subscription.close()
