"""The composition root: one asyncio process with the API, SMTP submission, the mail host
and its supervisor, and an IDLE watcher per agent.

``serve(settings)`` runs it in the foreground until SIGINT/SIGTERM; ``Daemon`` is the same
thing as an object tests can start and stop in-process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from typing import Any

import uvicorn

from ..config import Settings, write_private
from ..errors import Conflict, NotConfigured
from ..events import AGENT_CREATED, AGENT_DELETED
from ..log import setup_logging
from ..models import Event
from ..processes import pid_alive
from ..services.context import ServiceContext, build_context
from ..store import agents as agent_store
from .maintenance import Maintenance
from .relay import RelayWorker
from .sender import SenderWorker
from .submission import SubmissionServer
from .supervisor import HostSupervisor
from .watchers import WatcherManager

log = logging.getLogger(__name__)


class _Server(uvicorn.Server):
    """uvicorn, but an exit request (signal or ``request_stop``) also ends open event streams,
    which graceful shutdown would otherwise wait on forever."""

    def __init__(self, config: uvicorn.Config, on_exit: Any) -> None:
        super().__init__(config)
        self._on_exit = on_exit

    def handle_exit(self, sig: int, frame: Any) -> None:
        self._on_exit()
        super().handle_exit(sig, frame)
        # uvicorn re-raises a captured signal once serve() returns, which kills the process
        # before Daemon.run's cleanup (stop the mail host, remove the pid file) can run
        self._captured_signals.clear()


class Daemon:
    def __init__(self, settings: Settings, ctx: ServiceContext | None = None) -> None:
        if not settings.is_configured:
            raise NotConfigured("agenticmail is not set up yet", hint="run: agenticmail setup")
        self.settings = settings
        self.ctx = ctx or build_context(settings)
        self.watchers = WatcherManager(self.ctx)
        self.supervisor = HostSupervisor(self.ctx.host)
        self.sender = SenderWorker(self.ctx)
        self.maintenance = Maintenance(self.ctx)
        self.relay = RelayWorker(self.ctx)
        self.submission = SubmissionServer(self.ctx, "127.0.0.1", settings.submission_port)
        self.started_at = time.time()
        self._server: uvicorn.Server | None = None
        self.ready = asyncio.Event()

    # -- lifecycle -------------------------------------------------------------------------
    def _claim_pidfile(self) -> None:
        path = self.settings.pid_path
        if path.exists():
            try:
                pid = int(path.read_text().strip() or 0)
            except (OSError, ValueError):
                pid = 0
            if pid and pid != os.getpid() and pid_alive(pid):
                raise Conflict(f"the daemon is already running (pid {pid})",
                               hint="stop it with: agenticmail stop")
        write_private(path, f"{os.getpid()}\n".encode())

    def _on_event(self, event: Event) -> None:
        if event.type == AGENT_CREATED and event.agent:
            agent = agent_store.find_agent_by_id(self.ctx.db, event.agent_id)
            if agent is not None:
                self.watchers.add(agent)
        elif event.type == AGENT_DELETED and event.agent:
            self.watchers.remove(event.agent)

    def status(self) -> dict[str, Any]:
        return {
            "pid": os.getpid(),
            "uptime_seconds": round(time.time() - self.started_at, 1),
            "api_url": self.settings.api_url,
            "submission": {"host": "127.0.0.1", "port": self.settings.submission_port},
            "watchers": self.watchers.status(),
            "host_restarts": self.supervisor.restarts,
        }

    async def run(self) -> None:
        from ..api.app import create_app

        self._claim_pidfile()
        try:
            await asyncio.to_thread(self.ctx.host.start)
            self.supervisor.start()
            self.maintenance.start()
            self.ctx.bus.add_listener(self._on_event)
            self.watchers.start_all(agent_store.list_agents(self.ctx.db))
            await self.submission.start()
            self.sender.start()
            self.relay.start()
            app = create_app(self.ctx, self.status)
            config = uvicorn.Config(app, host=self.settings.api_host, port=self.settings.api_port,
                                    log_level="warning", access_log=False, lifespan="off",
                                    timeout_graceful_shutdown=5)
            self._server = _Server(config, self.ctx.bus.close_all)
            serve = asyncio.create_task(self._server.serve())
            while not self._server.started and not serve.done():
                await asyncio.sleep(0.02)
            if serve.done():
                await serve  # re-raises the bind error
                raise Conflict(f"cannot listen on {self.settings.api_url}: the port is in use",
                               hint="change api_port in config.toml or stop the other process")
            self.ready.set()
            log.info("agenticmail daemon ready on %s", self.settings.api_url)
            await serve
        finally:
            await self._shutdown()

    def request_stop(self) -> None:
        self.ctx.bus.close_all()
        if self._server is not None:
            self._server.should_exit = True

    async def _shutdown(self) -> None:
        await self.submission.stop()
        await self.sender.stop()
        await self.relay.stop()
        await self.supervisor.stop()
        await self.maintenance.stop()
        await asyncio.to_thread(self.watchers.stop_all)
        await asyncio.to_thread(self.ctx.host.stop)
        with contextlib.suppress(OSError, ValueError):
            if int(self.settings.pid_path.read_text().strip()) == os.getpid():
                self.settings.pid_path.unlink()
        self.ctx.db.close()


def serve(settings: Settings, *, console_log: bool = True) -> None:
    """Run the daemon in the foreground until SIGINT/SIGTERM (``console_log=False``: log to
    ``logs/agenticmail.log`` only, as the detached daemon does)."""
    setup_logging(settings.log_level, settings.logs_dir, console=console_log)
    daemon = Daemon(settings)
    asyncio.run(daemon.run())
