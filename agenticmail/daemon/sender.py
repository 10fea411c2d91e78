"""The sender worker: claims due outbox rows with a lease and hands each to the delivery
service (``services/delivery.py``), which does the work and records the outcome.

Two lanes with their own slots: ``local`` (LMTP delivery and Sent copies) and ``external``
(the SMTP route), so a slow or dead route never holds up agent-to-agent mail.

A stop waits a few seconds for the deliveries in flight, then cuts off those that hang (an
outside SMTP server that does not answer): their rows go back to the queue for the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from ..services import delivery
from ..services.context import ServiceContext
from ..services.sessions import SessionPool
from .component import Scope, in_thread, wait_for_event

if TYPE_CHECKING:
    from ..store.outbox import OutboxRow

log = logging.getLogger(__name__)

LEASE_SECONDS = 120.0
IDLE_POLL = 1.0  # scheduled sends come due without a wake-up
DRAIN_GRACE = 5.0  # how long a stop waits for deliveries in flight before cutting them off
CUT_GRACE = 2.0  # how long it then waits for those cut off to put their rows back


class SenderWorker:
    """A supervised component: one claiming loop plus up to ``concurrency`` deliveries
    per lane."""

    name = "sender"

    def __init__(self, ctx: ServiceContext, concurrency: int | None = None) -> None:
        self.ctx = ctx
        self.concurrency = concurrency or ctx.settings.send_concurrency  # per lane
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lanes: dict[str, set[asyncio.Task[None]]] = {lane: set()
                                                           for lane in delivery.LANES}
        self._recovered = False
        self._sessions: SessionPool | None = None

    async def start(self, stack: Scope) -> None:
        if not self._recovered:  # leases left by a previous process (a restart in this one
            await in_thread(self._release_leases)  # waits for its deliveries instead)
            self._recovered = True
        self._loop = asyncio.get_running_loop()
        # the Sent copies' IMAP sessions, kept between deliveries; logged out at the stop
        # (in a thread), after the deliveries in flight (cleanup unwinds in reverse)
        self._sessions = sessions = SessionPool(self.ctx)
        stack.push_async_callback(in_thread, sessions.close)
        self.ctx.sender_wakeups.append(self.wake)
        stack.callback(self._unwake)
        stack.push_async_callback(self._drain)
        stack.spawn(self._run(), "claim")

    @property
    def sessions(self) -> SessionPool | None:
        """The pool of the Sent copies' IMAP sessions (while started)."""
        return self._sessions

    def _release_leases(self) -> None:
        released, in_doubt = delivery.release_leases(self.ctx)
        if released:
            log.warning("resuming %d sends interrupted by a crash (%d in doubt: their SMTP "
                        "transaction was cut off, so a recipient may get them twice)",
                        released, in_doubt)

    def wake(self) -> None:
        """Thread-safe: rows may be due now."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._wake.set)

    def _unwake(self) -> None:
        with contextlib.suppress(ValueError):
            self.ctx.sender_wakeups.remove(self.wake)

    async def _drain(self) -> None:
        """Let deliveries in flight finish for :data:`DRAIN_GRACE` seconds, then cut off the
        rest: an SMTP transaction cut off puts its row back in the queue (in doubt if its
        final dot was sent); any other row stays leased until the next start releases it."""
        inflight = set().union(*self._lanes.values())
        if not inflight:
            return
        _, hanging = await asyncio.wait(inflight, timeout=DRAIN_GRACE)
        for task in hanging:
            task.cancel()
        if hanging:
            await asyncio.wait(hanging, timeout=CUT_GRACE)

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            busy = False
            for lane, inflight in self._lanes.items():
                free = self.concurrency - len(inflight)
                rows = await self._claim(lane, free) if free > 0 else []
                assert self._sessions is not None
                for row in rows:
                    task = asyncio.create_task(delivery.deliver(self.ctx, row, self._sessions))
                    inflight.add(task)
                    task.add_done_callback(self._done)
                busy = busy or bool(rows and len(rows) == free)
            if busy:
                continue
            await wait_for_event(self._wake, IDLE_POLL)

    def _done(self, task: asyncio.Task[None]) -> None:
        for inflight in self._lanes.values():
            inflight.discard(task)
        self._wake.set()
        if not task.cancelled() and task.exception() is not None:
            log.error("sender task crashed", exc_info=task.exception())

    async def _claim(self, lane: str, limit: int) -> list[OutboxRow]:
        """Lease due rows; a claim cut off by a stop still commits: its rows are given back
        at once (a restart of the sender in this process would find them leased for
        :data:`LEASE_SECONDS`; one that does not end within :data:`CUT_GRACE` is left to the
        next start)."""
        claim = asyncio.ensure_future(asyncio.to_thread(
            delivery.claim_due, self.ctx, lane, limit, LEASE_SECONDS))
        try:
            return await asyncio.shield(claim)
        except asyncio.CancelledError:
            await asyncio.wait([claim], timeout=CUT_GRACE)
            claimed = (claim.result() if claim.done() and not claim.cancelled()
                       and claim.exception() is None else [])
            if claimed:
                await asyncio.to_thread(delivery.give_back, self.ctx, claimed)
            raise
