"""Stopping housekeeping while a prune waits for its turn to write (issue 16: once a
component has stopped, nothing of it writes to the database the daemon then closes).

The component runs on its own (it is the code under test) on a set-up daemon's database;
another thread holds the database's writer lock, as a long write of another part does."""

from __future__ import annotations

import asyncio
import threading

from agenticmail.daemon.component import Scope
from agenticmail.daemon.maintenance import Maintenance
from agenticmail.services.context import build_context
from agenticmail.store import events
from agenticmail_testing.daemon import DaemonHandle, wait_until
from agenticmail_testing.frames import some_thread_in


def test_a_prune_waiting_to_write_at_the_stop_writes_nothing_after_it() -> None:
    handle = DaemonHandle()  # set up, not started
    ctx = build_context(handle.settings)
    release = threading.Event()
    loop = asyncio.new_event_loop()
    try:
        with ctx.db.write() as conn:
            for _ in range(3):
                events.append(conn, "test.event", None, {}, None)
        before = ctx.db.one("SELECT count(*) AS n FROM events")["n"]
        holding = threading.Event()

        def hold_the_writer_lock() -> None:
            with ctx.db.exclusive():
                holding.set()
                release.wait(60)

        holder = threading.Thread(target=hold_the_writer_lock)
        holder.start()
        assert holding.wait(10)
        maintenance = Maintenance(ctx, keep_events=1)

        def pruning() -> bool:
            return some_thread_in(Maintenance.run_once, lambda args: args["self"] is maintenance)

        async def start_then_stop() -> None:
            scope = Scope(maintenance.name)
            await maintenance.start(scope)
            await asyncio.to_thread(wait_until, pruning, 10, what="a prune to start")
            await scope.aclose()

        loop.run_until_complete(start_then_stop())
        release.set()  # the prune gets the lock now: it must write nothing
        holder.join()
        wait_until(lambda: not pruning(), 10, what="the prune thread to end")
        after = ctx.db.one("SELECT count(*) AS n FROM events")["n"]
        assert after == before, "the prune wrote after its component had stopped"
    finally:
        release.set()
        loop.close()
        ctx.db.close()
        handle.close()
