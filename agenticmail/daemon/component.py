"""The one shape of every long-lived daemon component, and the scope it starts into.

A component has a ``name`` and ``async def start(self, stack)``: it starts its parts one by
one and registers each part's cleanup on ``stack`` as soon as that part exists, so closing the
stack undoes exactly what started, in reverse (as pymap does). ``stack`` is a :class:`Scope`,
an ``AsyncExitStack`` that also carries how the component's work reports a crash: tasks run
with :meth:`Scope.spawn`, threads call :meth:`Scope.fail`. The
:class:`~agenticmail.daemon.supervisor.Supervisor` then logs it, closes the scope and starts
the component again with backoff.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Callable, Coroutine
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


CANCEL_AGAIN_AFTER = 0.5  # seconds a cancelled task has to end before it is cancelled again


async def wait_for_event(event: asyncio.Event, timeout: float) -> bool:
    """Wait until ``event`` is set or ``timeout`` seconds pass; whether it is set. Unlike
    ``asyncio.wait_for(event.wait(), timeout)`` on Python 3.11, a cancellation that arrives
    as the event is set is never lost (the waiting task would otherwise run on after a stop
    and hold the daemon's shutdown)."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            await event.wait()
    return event.is_set()


class ComponentExited(RuntimeError):
    """A component's task ended by itself although the component was meant to keep running."""


class Scope(contextlib.AsyncExitStack):
    """The exit stack one start of one component registers its cleanup on."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self._loop = asyncio.get_running_loop()
        self.failed: asyncio.Future[BaseException] = self._loop.create_future()

    def fail(self, error: BaseException) -> None:
        """Report that the component's work died (safe from any thread); the first report
        counts."""
        self._loop.call_soon_threadsafe(self._failed, error)

    def _failed(self, error: BaseException) -> None:
        if not self.failed.done():
            self.failed.set_result(error)

    def spawn(self, work: Coroutine[Any, Any, None], what: str) -> asyncio.Task[None]:
        """Run ``work`` for as long as the component runs: it is cancelled (and awaited) when
        the scope closes; if it ends by itself, raising or not, the component has failed."""
        task = asyncio.create_task(work, name=f"{self.name}:{what}")

        def done(task: asyncio.Task[None]) -> None:
            if not task.cancelled():
                self._failed(task.exception()
                             or ComponentExited(f"{self.name}: {what} stopped by itself"))

        task.add_done_callback(done)

        async def cancel() -> None:
            # cancelled again until it ends: a task can swallow one cancellation (Python
            # 3.11's asyncio.wait_for does when what it waits for completes at that moment)
            while not task.done():
                task.cancel()
                await asyncio.wait([task], timeout=CANCEL_AGAIN_AFTER)  # never re-raises

        self.push_async_callback(cancel)
        return task


class Component(Protocol):
    """What the supervisor runs: see the module docstring."""

    name: str

    async def start(self, stack: Scope) -> None: ...


async def in_thread(func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``asyncio.to_thread``, except that a cancelled caller still waits for the thread to
    finish, so cleanup never races a half-done blocking start (e.g. SIGTERM during startup)."""
    return await _finished(asyncio.ensure_future(asyncio.to_thread(func, *args, **kwargs)))


async def in_executor(executor: concurrent.futures.Executor, func: Callable[..., T],
                      *args: Any) -> T:
    """:func:`in_thread` on a component's own ``executor`` (e.g. one low-priority thread)."""
    loop = asyncio.get_running_loop()
    return await _finished(asyncio.ensure_future(loop.run_in_executor(executor, func, *args)))


async def in_own_thread(func: Callable[..., T], *args: Any, name: str, grace: float) -> T:
    """Run ``func`` in a thread of its own (a daemon thread: it never holds up the process's
    exit). Unlike :func:`in_thread`, a cancelled caller waits at most ``grace`` seconds for it,
    then leaves it to finish alone: only for work already told to stop touching anything the
    component's cleanup closes (see :class:`~agenticmail.services.search.StopFlag`) whose
    current step cannot be interrupted (e.g. an embedding batch in a niced thread)."""
    done: concurrent.futures.Future[T] = concurrent.futures.Future()

    def run() -> None:
        done.set_running_or_notify_cancel()
        try:
            done.set_result(func(*args))
        except BaseException as exc:
            done.set_exception(exc)

    threading.Thread(target=run, name=name, daemon=True).start()
    return await _finished(asyncio.wrap_future(done), grace)


async def _finished(work: asyncio.Future[T], grace: float | None = None) -> T:
    try:
        return await asyncio.shield(work)
    except asyncio.CancelledError:
        await asyncio.wait([work], timeout=grace)
        raise
