"""Periodic housekeeping: keep the event log bounded (SSE replay needs recent events only),
forget webhook messages delivered (or given up) long ago, and DMARC reports over a year old.

A stop never waits for a prune still waiting for its turn to write (behind a long write of
another thread): the prunes run in a thread of their own, and each checks the component's
stop flag once it holds the database's writer lock, so once the flag is up nothing more is
written and the database may close. A prune already writing is waited for (one DELETE). What
was not pruned is pruned at the next start.
"""

from __future__ import annotations

import asyncio
import functools
import logging

from ..services import dmarc_reports, event_log, webhooks
from ..services.context import ServiceContext
from ..services.search import StopFlag
from .component import Scope, in_own_thread, in_thread

log = logging.getLogger(__name__)

STOP_GRACE = 1.0  # how long a stop waits for a prune before leaving it behind


class Maintenance:
    """A supervised component: one task running :meth:`run_once` every ``interval``."""

    name = "maintenance"

    def __init__(self, ctx: ServiceContext, interval: float = 3600.0,
                 keep_events: int = event_log.RETAIN_EVENTS) -> None:
        self.ctx, self.interval, self.keep_events = ctx, interval, keep_events

    def run_once(self, stop: StopFlag | None = None) -> None:
        """Prune the event log, the webhook messages, then the DMARC reports (none of it once
        ``stop`` is set)."""
        stop = stop or StopFlag()
        for prune in (functools.partial(event_log.prune, self.ctx, self.keep_events),
                      functools.partial(webhooks.prune, self.ctx),
                      functools.partial(dmarc_reports.prune, self.ctx)):
            with self.ctx.db.exclusive(), stop.unless_set() as go:
                if not go:
                    return
                prune()

    async def start(self, stack: Scope) -> None:
        stop = StopFlag()
        stack.spawn(self._run(stop), "prune")
        stack.push_async_callback(in_thread, stop.set)  # unwound first: nothing more written

    async def _run(self, stop: StopFlag) -> None:
        while True:
            try:
                await in_own_thread(self.run_once, stop, name="prune", grace=STOP_GRACE)
            except Exception:  # housekeeping must never take the daemon down
                log.exception("maintenance failed")
            await asyncio.sleep(self.interval)
