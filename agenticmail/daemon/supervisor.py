"""Keeps the mail host alive: restarts it with backoff when its process dies."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from ..errors import AgenticMailError
from ..hosts.base import MailHost

log = logging.getLogger(__name__)


class HostSupervisor:
    def __init__(self, host: MailHost, interval: float = 2.0, max_backoff: float = 60.0) -> None:
        self.host, self.interval, self.max_backoff = host, interval, max_backoff
        self.restarts = 0
        self.last_error: str | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="host-supervisor")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

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
