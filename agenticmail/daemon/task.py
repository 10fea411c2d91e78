"""The start/stop shape shared by the daemon's long-lived asyncio components."""

from __future__ import annotations

import asyncio
import contextlib


class BackgroundTask:
    """Runs ``_run()`` as one asyncio task from ``start()`` until ``stop()`` cancels it."""

    name = "background"

    def __init__(self) -> None:
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        raise NotImplementedError
