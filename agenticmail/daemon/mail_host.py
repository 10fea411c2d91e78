"""The mail host as a supervised component: started with the daemon, stopped with it, and
watched every ``interval`` seconds; a host whose process is gone fails the component, so the
supervisor restarts it with backoff (any error: a restart that fails with ``OSError`` on a
full disk is retried like any other)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from ..errors import MailHostUnavailable
from .component import Scope, in_thread

if TYPE_CHECKING:
    from ..hosts.base import MailHost


class MailHostComponent:
    name = "mail-host"

    def __init__(self, host: MailHost, interval: float = 2.0) -> None:
        self.host, self.interval = host, interval

    async def start(self, stack: Scope) -> None:
        stack.push_async_callback(in_thread, self.host.stop)  # also clears a half-done start
        await in_thread(self.host.start)
        stack.spawn(self._watch(), "watch")

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            if not await in_thread(self.host.is_running):
                raise MailHostUnavailable(f"the mail host ({self.host.kind}) is not running")
