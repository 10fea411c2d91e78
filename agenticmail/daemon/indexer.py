"""The search indexer: a supervised component that keeps the search index whole in the
background.

At start it repairs the index of every agent never rebuilt (an index added to an existing
install, or left behind by a crash) from the mailbox. Then, when the semantic extra is
installed, it embeds what was indexed and has no vector yet, in batches, woken whenever
documents are indexed (the full-text part is written at ingest, in the ingest's own
transaction; only the slow embeddings are left to this component).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging

from ..errors import AgenticMailError
from ..processes import lower_thread_priority
from ..services import search
from ..services.agents import list_agents
from ..services.context import ServiceContext
from .component import Scope, in_executor, in_thread

log = logging.getLogger(__name__)

IDLE_WAIT = 60.0  # how long to sleep with nothing to embed before looking again anyway


class Indexer:
    name = "indexer"

    def __init__(self, ctx: ServiceContext, batch: int = 32) -> None:
        self.ctx, self.batch = ctx, batch
        self.embedded = 0
        self._wake: asyncio.Event | None = None

    async def start(self, stack: Scope) -> None:
        loop = asyncio.get_running_loop()
        wake = self._wake = asyncio.Event()
        # embedding is slow, CPU-bound background work: its one thread (and the model's
        # threads it starts) runs at the lowest priority, so accepting and delivering mail
        # are not slowed by it
        pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="embed", initializer=lower_thread_priority)
        stack.callback(pool.shutdown, wait=False)

        def indexed() -> None:  # from any thread
            loop.call_soon_threadsafe(wake.set)

        stack.callback(search.on_indexed(indexed))
        stack.spawn(self._run(wake, pool), "embed")

    def repair(self) -> None:
        """Rebuild (incrementally) the index of each agent that was never rebuilt."""
        for agent in list_agents(self.ctx):
            if search.needs_repair(self.ctx, agent):
                try:
                    report = search.rebuild(self.ctx, agent, full=False)
                    log.info("search index of %s repaired: %d messages indexed, %d dropped",
                             agent.name, report.indexed, report.removed)
                except AgenticMailError as exc:
                    log.warning("could not repair the search index of %s: %s",
                                agent.name, exc)

    async def _run(self, wake: asyncio.Event, pool: concurrent.futures.Executor) -> None:
        await in_thread(self.repair)
        while True:
            wake.clear()
            try:
                done = await in_executor(pool, search.embed_pending, self.ctx, self.batch)
            except AgenticMailError as exc:
                log.warning("embedding failed: %s", exc)
                done = 0
            self.embedded += done
            if done:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), IDLE_WAIT)
