"""The tunnel runner: ``cloudflared`` as a supervised child of the daemon, while domain mode
has a tunnel.

It starts ``cloudflared tunnel ... run`` with the token in the child's environment only
(``services/tunnel.py``), in a session of its own; reads its log lines (each cut at
:data:`MAX_LINE` bytes) to know its state (starting, connected with N connections,
disconnected); restarts it when it exits, after ``tunnel_backoff_seconds`` doubling up to
``tunnel_max_backoff_seconds`` (afresh once it ran ``tunnel_healthy_after_seconds``); and
stops it (SIGTERM, then SIGKILL after ``tunnel_stop_timeout_seconds``) when the daemon stops
or domain mode changes its tunnel or goes away. A change is seen at once when the services
save the configuration (``ServiceContext.domain_changed``), else within
:data:`CONFIG_POLL` seconds. Without domain mode it idles. Its live state is kept in memory
(:meth:`TunnelRunner.snapshot`, in ``/v1/health``) and under ``TUNNEL_STATE_KEY``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import signal
import time
from collections.abc import AsyncIterator
from typing import Any

from ..errors import AgenticMailError, DependencyMissing
from ..log import register_secret
from ..processes import signal_group
from ..services import tunnel
from ..services.context import ServiceContext
from ..timestamps import now_iso
from .component import Scope, in_thread, wait_for_event

log = logging.getLogger(__name__)

MAX_LINE = 4096  # bytes of one log line kept; the rest of a longer line is dropped
CONFIG_POLL = 10.0  # seconds: the safety net for a configuration change nobody announced
REDACTED = "[redacted]"


async def bounded_lines(stream: asyncio.StreamReader, limit: int = MAX_LINE
                        ) -> AsyncIterator[str]:
    """The lines of ``stream`` until its end, each cut at ``limit`` bytes."""
    pending, skipping = bytearray(), False
    while chunk := await stream.read(65536):
        pending += chunk
        while (end := pending.find(b"\n")) >= 0:
            line = bytes(pending[:end])
            del pending[:end + 1]
            if not skipping:
                yield line[:limit].decode("utf-8", "replace")
            skipping = False
        if len(pending) > limit:
            if not skipping:
                yield bytes(pending[:limit]).decode("utf-8", "replace")
            pending.clear()
            skipping = True
    if pending and not skipping:
        yield bytes(pending[:limit]).decode("utf-8", "replace")


class TunnelRunner:
    """A supervised component: one task that runs cloudflared while domain mode wants it."""

    name = "tunnel"

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self._state: dict[str, Any] = {
            "state": tunnel.IDLE, "connections": 0, "pid": None, "restarts": 0,
            "last_error": None, "last_exit_code": None, "since": now_iso(), "binary": None,
            "version": None, "retry_in": None}
        self._links: dict[int, str | None] = {}  # connection index -> location
        self._wake: asyncio.Event | None = None
        self._recording = asyncio.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None

    def snapshot(self) -> dict[str, Any]:
        """The live state (safe from any thread: a copy)."""
        return dict(self._state)

    def config_changed(self) -> None:
        """Thread-safe: domain mode's configuration changed; look at it now."""
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None and not loop.is_closed():
            loop.call_soon_threadsafe(wake.set)

    async def start(self, stack: Scope) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._recording = asyncio.Lock()
        await in_thread(self._stop_leftover)
        self.ctx.domain_listeners.append(self.config_changed)
        stack.callback(self._unlisten)
        stack.push_async_callback(self._stopped)  # after the task below ended (and its child)
        stack.spawn(self._run(), "cloudflared")

    def _unlisten(self) -> None:
        with contextlib.suppress(ValueError):
            self.ctx.domain_listeners.remove(self.config_changed)

    def _stop_leftover(self) -> None:
        """A cloudflared a daemon killed without its cleanup left running: stop it."""
        pid = tunnel.running_pid(tunnel.current(self.ctx))
        if pid is not None:
            log.warning("stopping the cloudflared a previous daemon left running (pid %d)", pid)
            signal_group(pid, signal.SIGTERM)

    async def _stopped(self) -> None:
        self._links.clear()
        await self._update(state=tunnel.STOPPED, pid=None, connections=0, retry_in=None)

    # -- state -------------------------------------------------------------------------
    async def _update(self, **changes: Any) -> None:
        if changes.get("state", self._state["state"]) != self._state["state"]:
            changes["since"] = now_iso()
        if all(self._state.get(k) == v for k, v in changes.items()):
            return
        self._state.update(changes)
        async with self._recording:  # the last write holds the latest state
            try:
                await in_thread(tunnel.record, self.ctx, self.snapshot())
            except AgenticMailError as exc:  # e.g. the disk is full: the live state holds
                log.warning("cannot record the tunnel state: %s", exc)

    async def _links_changed(self) -> None:
        count = len(self._links)
        state = tunnel.CONNECTED if count else (
            tunnel.DISCONNECTED if self._state["state"] == tunnel.CONNECTED
            else self._state["state"])
        await self._update(state=state, connections=count)

    # -- the run loop ------------------------------------------------------------------
    async def _run(self) -> None:
        settings = self.ctx.settings
        first = max(settings.tunnel_backoff_seconds, 0.01)
        delay = first
        while True:
            assert self._wake is not None
            self._wake.clear()
            try:
                plan = await in_thread(tunnel.launch, self.ctx)
            except AgenticMailError as exc:
                missing = isinstance(exc, DependencyMissing)
                await self._update(state=tunnel.NOT_INSTALLED if missing else tunnel.FAILED,
                                   last_error=exc.message, pid=None, connections=0,
                                   retry_in=round(delay, 3))
                log.warning("cannot start cloudflared: %s", exc.message)
                await self._pause(delay, await in_thread(tunnel.wanted_token, self.ctx))
                delay = min(delay * 2, settings.tunnel_max_backoff_seconds)
                continue
            if plan is None:
                delay = first
                await self._update(state=tunnel.IDLE, pid=None, connections=0, retry_in=None)
                await self._pause(None, None)
                continue
            register_secret(plan.token)
            started = time.monotonic()
            code, changed = await self._run_once(plan)
            if changed:
                delay = first
                continue
            if time.monotonic() - started >= settings.tunnel_healthy_after_seconds:
                delay = first
            wait = delay * random.uniform(0.8, 1.2)
            log.warning("cloudflared exited with code %s; starting it again in %.2f s", code,
                        wait)
            await self._update(state=tunnel.RESTARTING, pid=None, connections=0,
                               last_exit_code=code, retry_in=round(wait, 3),
                               restarts=self._state["restarts"] + 1)
            if await self._pause(wait, plan.token):
                delay = first
            else:
                delay = min(delay * 2, settings.tunnel_max_backoff_seconds)

    async def _pause(self, timeout: float | None, token: str | None) -> bool:
        """Wait ``timeout`` seconds (None: for ever); True as soon as domain mode wants another
        token than ``token``."""
        assert self._wake is not None
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = CONFIG_POLL if deadline is None else min(deadline - time.monotonic(),
                                                            CONFIG_POLL)
            if left <= 0:
                return False
            await wait_for_event(self._wake, left)
            self._wake.clear()
            if await in_thread(tunnel.wanted_token, self.ctx) != token:
                return True

    async def _run_once(self, plan: tunnel.Launch) -> tuple[int | None, bool]:
        """Run cloudflared until it exits (its exit code, False) or domain mode wants another
        token (None, True)."""
        assert self._wake is not None
        self._links.clear()
        try:
            proc = await asyncio.create_subprocess_exec(
                *plan.argv, env=plan.env, stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
                start_new_session=True)
        except OSError as exc:
            await self._update(last_error=f"cannot run {plan.binary}: {exc.strerror or exc}")
            return None, False
        log.info("cloudflared started (pid %d)", proc.pid)
        await self._update(state=tunnel.STARTING, pid=proc.pid, connections=0,
                           binary=plan.binary, version=plan.version, retry_in=None)
        assert proc.stdout is not None
        reader = asyncio.create_task(self._read(proc.stdout, plan.token), name="tunnel:log")
        try:
            while True:
                waker = asyncio.create_task(self._wake.wait())
                try:
                    done, _ = await asyncio.wait({reader, waker}, timeout=CONFIG_POLL,
                                                 return_when=asyncio.FIRST_COMPLETED)
                finally:
                    waker.cancel()
                if reader in done:
                    return await proc.wait(), False
                self._wake.clear()
                if await in_thread(tunnel.wanted_token, self.ctx) != plan.token:
                    log.info("domain mode changed its tunnel: stopping cloudflared")
                    await self._terminate(proc)
                    return None, True
        finally:
            await self._terminate(proc)
            reader.cancel()
            await asyncio.wait([reader])

    async def _terminate(self, proc: asyncio.subprocess.Process) -> None:
        """SIGTERM to its process group, SIGKILL after the stop timeout; waits for the exit."""
        if proc.returncode is not None:
            return
        signal_group(proc.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), self.ctx.settings.tunnel_stop_timeout_seconds)
        except TimeoutError:
            log.warning("cloudflared (pid %d) did not stop on SIGTERM: killing it", proc.pid)
            signal_group(proc.pid, signal.SIGKILL)
            await proc.wait()

    async def _read(self, stream: asyncio.StreamReader, token: str) -> None:
        last = ""
        async for raw in bounded_lines(stream):
            line = raw.replace(token, REDACTED) if token in raw else raw
            if line.strip():
                last = line.strip()
            event = tunnel.parse_line(line)
            if event is None:
                continue
            if event.kind == "connected" and event.index is not None:
                log.info("tunnel connection %d registered (%s)", event.index, event.location)
                self._links[event.index] = event.location
                await self._links_changed()
            elif event.kind == "disconnected" and event.index is not None:
                if event.message:
                    await self._update(last_error=event.message)
                if event.index in self._links:
                    del self._links[event.index]
                    log.warning("tunnel connection %d lost", event.index)
                    await self._links_changed()
            elif event.kind == "error":
                log.warning("cloudflared: %s", event.message)
                await self._update(last_error=event.message)
            elif event.kind == "version":
                await self._update(version=event.message)
        if last and self._state["state"] == tunnel.STARTING:
            await self._update(last_error=last[:300])  # e.g. why it would not start
