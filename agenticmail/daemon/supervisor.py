"""Keeps the mail host alive: restarts it with backoff when its process dies."""

from __future__ import annotations

import asyncio
import logging

from ..errors import AgenticMailError
from ..hosts.base import MailHost
from .task import BackgroundTask

log = logging.getLogger(__name__)


class HostSupervisor(BackgroundTask):
    name = "host-supervisor"

    def __init__(self, host: MailHost, interval: float = 2.0, max_backoff: float = 60.0) -> None:
        super().__init__()
        self.host, self.interval, self.max_backoff = host, interval, max_backoff
        self.restarts = 0
        self.last_error: str | None = None

    async def _run(self) -> None:
        backoff = self.interval
        while True:
            await asyncio.sleep(backoff)
            if await asyncio.to_thread(self.host.is_running):
                backoff = self.interval
                continue
            log.warning("mail host %s is not running; restarting it", self.host.kind)
            try:
                await asyncio.to_thread(self.host.start)
                self.restarts += 1
                self.last_error = None
                backoff = self.interval
            except AgenticMailError as exc:
                self.last_error = str(exc)
                log.error("restarting the mail host failed: %s", exc)
                backoff = min(backoff * 2, self.max_backoff)
