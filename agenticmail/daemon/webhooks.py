"""The webhook dispatcher: delivers the queued webhook messages (``services/webhooks.py``).

One POST in flight per endpoint (its oldest pending message: in order), up to
``webhook_concurrency`` endpoints at once. It looks for due messages when an event is
published (the bus), when a delivery ends, when a use-case asks (replay, enable) and, as a
safety net, every :data:`IDLE_POLL` seconds or when the soonest retry is due. The queue lives
in the database, so a restart (or a SIGKILL) resumes where the last process stopped: a POST
cut off is sent again (at least once). So a stop waits only :data:`DRAIN_GRACE` seconds for
the POSTs in flight, not their whole timeout, then cuts them off.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING

from ..models import Event
from ..services import webhooks
from ..services.context import ServiceContext
from .component import Scope, wait_for_event

if TYPE_CHECKING:
    from ..providers.webhook_http import WebhookPoster

log = logging.getLogger(__name__)

IDLE_POLL = 5.0
REST_AFTER_CRASH = 5.0  # an endpoint whose delivery crashed (e.g. the disk is full) waits
DRAIN_GRACE = 3.0  # how long a stop waits for POSTs in flight before cutting them off
CUT_GRACE = 2.0  # and then for the POSTs cut off to unwind


class WebhookDispatcher:
    """A supervised component: one scheduling loop plus a task per endpoint in flight."""

    name = "webhooks"

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._inflight: dict[str, asyncio.Task[str]] = {}
        self._resting: dict[str, float] = {}  # endpoint -> until when

    async def start(self, stack: Scope) -> None:
        webhooks.check_settings(self.ctx.settings)  # a bad setting stops the start, clearly
        self._loop = asyncio.get_running_loop()
        poster = webhooks.open_poster(self.ctx)
        stack.push_async_callback(poster.aclose)
        self.ctx.bus.add_listener(self._on_event)
        stack.callback(self.ctx.bus.remove_listener, self._on_event)
        self.ctx.webhook_wakeups.append(self.wake)
        stack.callback(self._unwake)
        stack.push_async_callback(self._drain)
        stack.spawn(self._run(poster), "dispatch")

    def wake(self) -> None:
        """Thread-safe: messages may be due now."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._wake.set)

    def _on_event(self, event: Event) -> None:
        self.wake()

    def _unwake(self) -> None:
        with contextlib.suppress(ValueError):
            self.ctx.webhook_wakeups.remove(self.wake)

    async def _drain(self) -> None:
        """Let POSTs in flight finish for :data:`DRAIN_GRACE` seconds, then cut off the rest:
        a POST cut off records no attempt (it is no failure of the endpoint), its message stays
        pending and the next start sends it again, with the same webhook-id."""
        tasks = list(self._inflight.values())
        if tasks:
            _, hanging = await asyncio.wait(tasks, timeout=DRAIN_GRACE)
            for task in hanging:
                task.cancel()
            if hanging:
                _, stuck = await asyncio.wait(hanging, timeout=CUT_GRACE)
                if stuck:
                    log.warning("left %d webhook deliveries behind at the stop", len(stuck))
        self._inflight.clear()

    def _busy(self) -> set[str]:
        now = time.monotonic()
        self._resting = {e: until for e, until in self._resting.items() if until > now}
        return set(self._inflight) | set(self._resting)

    async def _run(self, poster: WebhookPoster) -> None:
        limit = max(self.ctx.settings.webhook_concurrency, 1)
        while True:
            self._wake.clear()
            free = limit - len(self._inflight)
            if free > 0:
                busy = self._busy()
                for message in await asyncio.to_thread(webhooks.due, self.ctx, free, busy):
                    self._send(poster, message)
            busy = self._busy()
            at = await asyncio.to_thread(webhooks.next_due_at, self.ctx, busy)
            wait = IDLE_POLL if at is None else min(max(at - time.time(), 0.0), IDLE_POLL)
            if self._resting:
                wait = min(wait or REST_AFTER_CRASH, REST_AFTER_CRASH)
            if wait > 0 or len(self._inflight) >= limit:
                await wait_for_event(self._wake, wait or IDLE_POLL)

    def _send(self, poster: WebhookPoster, message: webhooks.Due) -> None:
        endpoint = message.endpoint.id
        task = asyncio.create_task(webhooks.deliver(self.ctx, poster, message),
                                   name=f"webhook:{endpoint}")
        self._inflight[endpoint] = task

        def done(task: asyncio.Task[str]) -> None:
            if self._inflight.get(endpoint) is task:
                del self._inflight[endpoint]
            self._wake.set()
            if not task.cancelled() and task.exception() is not None:
                self._resting[endpoint] = time.monotonic() + REST_AFTER_CRASH
                log.error("webhook delivery to %s crashed", endpoint, exc_info=task.exception())

        task.add_done_callback(done)
