"""The supervisor: starts the daemon's components in order, restarts a crashed one with
backoff, stops them in reverse, and reports each one's state.

A component's first start happens during daemon startup: if it fails, the daemon does not
start (what started so far is undone). Once running, anything that kills it (an error in its
task or thread, any exception type) is logged with its traceback, its scope is closed, and it
is started again after ``backoff`` seconds, doubling up to ``max_backoff``; the delay starts
afresh once it has run for ``healthy_after`` seconds. A failing restart is retried the same
way, for as long as the daemon runs. Stopping never raises: a component whose cleanup fails is
logged and the others are still stopped.

States: ``starting``, ``running``, ``failed`` (crashed, cleaning up), ``restarting`` (waiting
for its next start), ``stopped``. :meth:`Supervisor.inject_fault` is the documented seam to
make a component fail on purpose (tests, drills); :meth:`halt` and :meth:`resume` stop and
start one component by hand.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidRequest
from ..timestamps import now_iso
from .component import Component, Scope

log = logging.getLogger(__name__)

STARTING, RUNNING, FAILED, RESTARTING, STOPPED = (
    "starting", "running", "failed", "restarting", "stopped")


@dataclass
class ComponentStatus:
    state: str = STOPPED
    restarts: int = 0
    last_error: str | None = None
    last_error_at: str | None = None


async def _raise(error: BaseException) -> None:
    raise error.with_traceback(None)  # the same fault raised again: a fresh traceback


class _Slot:
    """One component under supervision."""

    def __init__(self, sup: Supervisor, component: Component) -> None:
        self.sup, self.component, self.name = sup, component, component.name
        self.status = ComponentStatus()
        self.scope: Scope | None = None
        self.task: asyncio.Task[None] | None = None
        self.fault: BaseException | None = None
        self.fault_starts = 0

    async def _start_once(self) -> None:
        """One start into a fresh scope; on failure the scope is closed and the error raised."""
        self.status.state = STARTING
        self.scope = scope = Scope(self.name)
        try:
            if self.fault_starts > 0 and self.fault is not None:
                self.fault_starts -= 1
                await _raise(self.fault)
            await self.component.start(scope)
        except BaseException:
            await self._close()
            raise
        self.status.state = RUNNING

    async def start(self) -> None:
        """The first start (errors propagate), then supervision."""
        await self._start_once()
        self.task = asyncio.create_task(self._supervise(), name=f"supervise:{self.name}")

    async def _supervise(self) -> None:
        delay = self.sup.backoff
        while True:
            assert self.scope is not None
            running_since = time.monotonic()
            error = await self.scope.failed
            self._record(error)
            log.error("%s crashed: %s", self.name, _describe(error), exc_info=error)
            self.status.state = FAILED
            await self._close()
            if time.monotonic() - running_since >= self.sup.healthy_after:
                delay = self.sup.backoff
            while True:
                self.status.state = RESTARTING
                wait = delay * random.uniform(0.8, 1.2)
                log.warning("restarting %s in %.2f s", self.name, wait)
                await asyncio.sleep(wait)
                delay = min(delay * 2, self.sup.max_backoff)
                try:
                    await self._start_once()
                except Exception as exc:
                    self._record(exc)
                    self.status.state = FAILED
                    log.error("restarting %s failed: %s", self.name, _describe(exc),
                              exc_info=exc)
                    continue
                self.status.restarts += 1
                log.info("%s is running again (restart %d)", self.name, self.status.restarts)
                break

    def _record(self, error: BaseException) -> None:
        self.status.last_error = _describe(error)
        self.status.last_error_at = now_iso()

    async def _close(self) -> None:
        scope, self.scope = self.scope, None
        if scope is None:
            return
        try:
            await scope.aclose()
        except Exception:
            log.exception("stopping %s failed", self.name)

    async def stop(self) -> None:
        """Stop supervising and undo what started; never raises."""
        task, self.task = self.task, None
        if task is not None:
            task.cancel()
            await asyncio.wait([task])
            if not task.cancelled() and task.exception() is not None:
                log.error("supervising %s failed", self.name, exc_info=task.exception())
        await self._close()
        self.status.state = STOPPED


def _describe(error: BaseException) -> str:
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


class Supervisor:
    """Runs ``components`` (started in order, stopped in reverse); itself a component of the
    daemon's outer stack."""

    name = "supervisor"

    def __init__(self, components: Sequence[Component], *, backoff: float = 1.0,
                 max_backoff: float = 60.0, healthy_after: float = 60.0) -> None:
        self.backoff, self.max_backoff, self.healthy_after = backoff, max_backoff, healthy_after
        self._slots = {c.name: _Slot(self, c) for c in components}
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self, stack: contextlib.AsyncExitStack) -> None:
        self._loop = asyncio.get_running_loop()
        for slot in self._slots.values():
            stack.push_async_callback(slot.stop)  # before it starts: covers a cancelled start
            await slot.start()

    def status(self) -> dict[str, dict[str, Any]]:
        """Each component's state, restarts and last error, in start order."""
        return {name: vars(slot.status).copy() for name, slot in self._slots.items()}

    @property
    def healthy(self) -> bool:
        return all(s.status.state == RUNNING for s in self._slots.values())

    def restarts(self, name: str) -> int:
        return self._slot(name).status.restarts

    def _slot(self, name: str) -> _Slot:
        try:
            return self._slots[name]
        except KeyError:
            raise InvalidRequest(f"no component named {name!r}; there are "
                                 f"{', '.join(self._slots)}") from None

    def inject_fault(self, name: str, error: BaseException, *, starts: int = 0) -> None:
        """Make component ``name`` crash with ``error`` (raised inside its own scope, as if its
        work had raised it), and its next ``starts`` starts raise it too. Safe from any
        thread; a testing and drill seam, not used by the daemon itself."""
        slot = self._slot(name)
        loop = self._loop
        if loop is None:
            raise InvalidRequest("the supervisor has not started")

        def inject() -> None:
            slot.fault, slot.fault_starts = error, starts
            if slot.scope is not None and slot.status.state == RUNNING:
                slot.scope.spawn(_raise(error), "injected fault")

        loop.call_soon_threadsafe(inject)

    async def halt(self, name: str) -> None:
        """Stop one component (state ``stopped``) until :meth:`resume`."""
        await self._slot(name).stop()

    async def resume(self, name: str) -> None:
        """Start a halted component again (errors propagate, as at daemon startup)."""
        slot = self._slot(name)
        if slot.task is None:
            await slot.start()
