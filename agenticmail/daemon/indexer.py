"""The search indexer: a supervised component that keeps the search index whole in the
background.

At start it repairs the index of every agent never rebuilt (an index added to an existing
install, or left behind by a crash) from the mailbox. Then, when the semantic extra is
installed, it embeds what was indexed and has no vector yet, in batches, woken whenever
documents are indexed (the full-text part is written at ingest, in the ingest's own
transaction; only the slow embeddings are left to this component).

Stopping never waits for long work: the repair ends after its current batch, and an embedding
batch (a niced thread that may crawl under load, its model call not interruptible) writes
nothing once the component's stop flag is up, so stopping waits for it at most
:data:`EMBED_GRACE` seconds; what it committed stays, the rest is embedded at the next start.
"""

from __future__ import annotations

import asyncio
import logging

from ..errors import AgenticMailError
from ..processes import lower_thread_priority
from ..services import search
from ..services.agents import list_agents
from ..services.context import ServiceContext
from .component import Scope, in_own_thread, in_thread, wait_for_event

log = logging.getLogger(__name__)

IDLE_WAIT = 60.0  # how long to sleep with nothing to embed before looking again anyway
EMBED_GRACE = 1.0  # how long a stop waits for an embedding batch before leaving it behind


class Indexer:
    name = "indexer"

    def __init__(self, ctx: ServiceContext, batch: int = 32) -> None:
        self.ctx, self.batch = ctx, batch
        self.embedded = 0
        self._wake: asyncio.Event | None = None

    async def start(self, stack: Scope) -> None:
        loop = asyncio.get_running_loop()
        wake = self._wake = asyncio.Event()
        stop = search.StopFlag()

        def indexed() -> None:  # from any thread
            loop.call_soon_threadsafe(wake.set)

        stack.callback(search.on_indexed(indexed))
        stack.spawn(self._run(wake, stop), "embed")
        # unwound first: the repair ends after its batch, an embedding batch writes nothing more
        stack.push_async_callback(in_thread, stop.set)

    def repair(self, stop: search.StopFlag) -> None:
        """Rebuild (incrementally) the index of each agent that was never rebuilt (until
        ``stop``: the rest is repaired at the next start)."""
        for agent in list_agents(self.ctx):
            if stop.is_set():
                return
            if search.needs_repair(self.ctx, agent):
                try:
                    report = search.rebuild(self.ctx, agent, full=False, stop=stop)
                    log.info("search index of %s %s: %d messages indexed, %d dropped",
                             agent.name, "repair stopped" if stop.is_set() else "repaired",
                             report.indexed, report.removed)
                except AgenticMailError as exc:
                    log.warning("could not repair the search index of %s: %s",
                                agent.name, exc)

    def embed(self, stop: search.StopFlag) -> int:
        """One embedding batch, in its own thread: embedding is slow, CPU-bound background
        work, so the thread (and the model's threads it starts) runs at the lowest priority,
        and accepting and delivering mail are not slowed by it."""
        lower_thread_priority()
        return search.embed_pending(self.ctx, self.batch, stop)

    async def _run(self, wake: asyncio.Event, stop: search.StopFlag) -> None:
        await in_thread(self.repair, stop)
        while True:
            wake.clear()
            try:
                done = await in_own_thread(self.embed, stop, name="embed", grace=EMBED_GRACE)
            except AgenticMailError as exc:
                log.warning("embedding failed: %s", exc)
                done = 0
            self.embedded += done
            if done:
                continue
            await wait_for_event(wake, IDLE_WAIT)
