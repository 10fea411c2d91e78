"""Reload the agents' per-sender policies as soon as their files change (``watchfiles``).

The policy book also checks a file's stamp before every use, so a change always applies to
the next message; watching makes a broken file known at once (logged, and shown by ``status``
and ``doctor``), not only when the next message arrives.
"""

from __future__ import annotations

import asyncio
import logging

import watchfiles

from ..services import policies
from ..services.context import ServiceContext
from .component import Scope, in_thread

log = logging.getLogger(__name__)


class PolicyWatcher:
    """A supervised component: one task reloading the policy book on every change."""

    name = "policies"

    def __init__(self, ctx: ServiceContext, debounce_ms: int = 200) -> None:
        self.ctx, self.debounce_ms = ctx, debounce_ms

    async def start(self, stack: Scope) -> None:
        book = policies.book(self.ctx)
        book.directory.mkdir(mode=0o700, exist_ok=True)
        await in_thread(book.reload)
        stop = asyncio.Event()
        stack.spawn(self._watch(book, stop), "watch")
        stack.callback(stop.set)  # runs first on close: the watcher ends its wait at once

    async def _watch(self, book: policies.PolicyBook, stop: asyncio.Event) -> None:
        async for changes in watchfiles.awatch(book.directory, stop_event=stop,
                                               debounce=self.debounce_ms, step=50,
                                               recursive=False):
            log.debug("policy directory changed: %s", sorted(p for _, p in changes))
            await in_thread(book.reload)
        await stop.wait()  # the stop event ended the watch: wait to be cancelled
