"""A stop always ends a component's work. Python 3.11's ``asyncio.wait_for`` swallows a
cancellation that arrives as what it waits for completes: the sender, woken by a delivery at
the moment the daemon stopped, then ran on and held the shutdown (a CI run ended in "daemon did
not stop" in ``tests/e2e/test_restart.py`` while mail was flowing). The components wait with
``wait_for_event`` now, and a scope cancels its tasks again until they end."""

from __future__ import annotations

import asyncio

import pytest

from agenticmail.daemon.component import Scope, wait_for_event


def test_a_cancellation_as_the_event_is_set_is_not_lost() -> None:
    async def main() -> None:
        event = asyncio.Event()
        waiting = asyncio.Event()

        async def worker() -> None:
            for _ in range(2):  # as the sender's loop: wait for a wake-up, then look for work
                waiting.set()
                await wait_for_event(event, 60)
                event.clear()

        task = asyncio.create_task(worker())
        await waiting.wait()
        event.set()  # a wake-up and a stop at the same moment
        task.cancel()
        done, _ = await asyncio.wait([task], timeout=5)
        assert done and task.cancelled()

    asyncio.run(main())


def test_wait_for_event_says_whether_it_was_set() -> None:
    async def main() -> None:
        event = asyncio.Event()
        assert await wait_for_event(event, 0.01) is False
        event.set()
        assert await wait_for_event(event, 60) is True

    asyncio.run(main())


@pytest.mark.parametrize("swallowed", [1, 3])
def test_a_scope_cancels_a_task_again_until_it_ends(swallowed: int) -> None:
    """A task that ignores its first cancellations (as third-party code may) still ends when
    its component stops."""
    async def main() -> None:
        ignored = 0
        running = asyncio.Event()

        async def stubborn() -> None:
            nonlocal ignored
            for _ in range(100):  # ends by itself within seconds: a failing run cannot hang
                running.set()
                try:
                    await asyncio.sleep(0.1)  # its work, not a synchronisation
                except asyncio.CancelledError:
                    if ignored == swallowed:
                        raise
                    ignored += 1

        scope = Scope("stubborn")
        task = scope.spawn(stubborn(), "work")
        await running.wait()
        await scope.aclose()
        assert task.cancelled() and ignored == swallowed

    asyncio.run(main())
