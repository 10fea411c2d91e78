"""Periodic housekeeping: keep the event log bounded (SSE replay needs recent events only) and
forget webhook messages delivered (or given up) long ago."""

from __future__ import annotations

import asyncio
import logging

from ..services import event_log, webhooks
from ..services.context import ServiceContext
from .component import Scope

log = logging.getLogger(__name__)


class Maintenance:
    """A supervised component: one task running :meth:`run_once` every ``interval``."""

    name = "maintenance"

    def __init__(self, ctx: ServiceContext, interval: float = 3600.0,
                 keep_events: int = event_log.RETAIN_EVENTS) -> None:
        self.ctx, self.interval, self.keep_events = ctx, interval, keep_events

    def run_once(self) -> None:
        event_log.prune(self.ctx, self.keep_events)
        webhooks.prune(self.ctx)

    async def start(self, stack: Scope) -> None:
        stack.spawn(self._run(), "prune")

    async def _run(self) -> None:
        while True:
            try:
                await asyncio.to_thread(self.run_once)
            except Exception:  # housekeeping must never take the daemon down
                log.exception("maintenance failed")
            await asyncio.sleep(self.interval)
