"""The composition root: one asyncio process with the mail host, the API, SMTP submission,
the sender, the relay, housekeeping, an IDLE watcher per agent and domain mode's tunnel.

Every long-lived part is a component (:mod:`.component`) run by one :class:`Supervisor`:
started in the order listed in ``Daemon.__init__``, each registering its cleanup as it starts,
and stopped in reverse. ``serve(settings)`` runs the daemon in the foreground until
SIGINT/SIGTERM (also during startup: what started is undone, the pid file removed);
``Daemon`` is the same thing as an object tests can start and stop in-process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import resource
import signal
import threading
import time
from collections.abc import Callable
from typing import Any

from ..config import Settings, write_private
from ..errors import Conflict, NotConfigured
from ..log import register_secret, setup_logging
from ..processes import pid_alive
from ..services import policies
from ..services.context import ServiceContext, build_context
from .api_server import ApiServer
from .indexer import Indexer
from .mail_host import MailHostComponent
from .maintenance import Maintenance
from .policy_watcher import PolicyWatcher
from .relay_worker import RelayWorker
from .sender import SenderWorker
from .submission import SubmissionServer
from .supervisor import Supervisor
from .tunnel import TunnelRunner
from .watchers import WatcherManager
from .webhooks import WebhookDispatcher

log = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


OPEN_FILES = 65536  # wanted: each agent's watcher holds 3 (its IMAP socket, a wake-up pair)


def raise_open_file_limit(wanted: int = OPEN_FILES) -> int:
    """Raise this process's soft limit on open files towards ``wanted`` (within the hard
    limit; a laptop's soft default of 256-1024 would stop the watchers of a few hundred
    agents, and the Dovecot started from here inherits it). Returns the limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError) as exc:  # e.g. macOS caps it below the hard limit
            log.warning("could not raise the open-file limit from %d: %s", soft, exc)
    return soft


class Daemon:
    def __init__(self, settings: Settings, ctx: ServiceContext | None = None, *,
                 restart_backoff: float = 1.0, max_restart_backoff: float = 60.0) -> None:
        from ..api.app import create_app

        if not settings.is_configured:
            raise NotConfigured("agenticmail is not set up yet", hint="run: agenticmail setup")
        self.settings = settings
        register_secret(settings.master_key)
        self.ctx = ctx or build_context(settings)
        self.watchers = WatcherManager(self.ctx)
        self.sender = SenderWorker(self.ctx)
        self.relay = RelayWorker(self.ctx)
        self.webhooks = WebhookDispatcher(self.ctx)
        self.tunnel = TunnelRunner(self.ctx)
        self.supervisor = Supervisor([
            MailHostComponent(self.ctx.host),
            Maintenance(self.ctx),
            PolicyWatcher(self.ctx),
            self.watchers,
            Indexer(self.ctx),
            SubmissionServer(self.ctx, "127.0.0.1", settings.submission_port),
            self.sender,
            self.relay,
            self.webhooks,
            self.tunnel,
            ApiServer(settings, create_app(self.ctx, self.status), self.request_stop,
                      self.ctx.bus.close_all),
        ], backoff=restart_backoff, max_backoff=max_restart_backoff)
        self.started_at = time.time()
        self.ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._stop_requested = False

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

    def _release_pidfile(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            if int(self.settings.pid_path.read_text().strip()) == os.getpid():
                self.settings.pid_path.unlink()

    def status(self) -> dict[str, Any]:
        components = self.supervisor.status()
        return {
            "pid": os.getpid(),
            "uptime_seconds": round(time.time() - self.started_at, 1),
            "api_url": self.settings.api_url,
            "submission": {"host": "127.0.0.1", "port": self.settings.submission_port},
            "components": components,
            "watchers": self.watchers.status(),
            "host_restarts": components["mail-host"]["restarts"],
            "tunnel": self.tunnel.snapshot(),
            "policy_problems": [{"agent": p.agent, "error": p.error}
                                for p in policies.problems(self.ctx)],
        }

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """The loop the daemon runs in (to call the supervisor from another thread)."""
        return self._loop

    @property
    def healthy(self) -> bool:
        """Every component is running."""
        return self.supervisor.healthy

    async def run(self) -> None:
        raise_open_file_limit()
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        if self._stop_requested:
            self._stopping.set()
        with self._signals():
            async with contextlib.AsyncExitStack() as stack:
                stack.callback(self.ctx.db.close)
                self._claim_pidfile()
                stack.callback(self._release_pidfile)
                startup = asyncio.create_task(self.supervisor.start(stack), name="startup")
                stopping = asyncio.create_task(self._stopping.wait(), name="stopping")
                stack.callback(stopping.cancel)
                await asyncio.wait({startup, stopping}, return_when=asyncio.FIRST_COMPLETED)
                if not startup.done():
                    log.info("stop requested during startup; undoing what started")
                    startup.cancel()
                    await asyncio.wait([startup])
                    return
                startup.result()  # a component that cannot start: undo, then report it
                self.ready.set()
                log.info("agenticmail daemon ready on %s", self.settings.api_url)
                await stopping
                log.info("agenticmail daemon stopping")

    @contextlib.contextmanager
    def _signals(self) -> Any:
        """SIGINT/SIGTERM ask the daemon to stop (the main thread only: tests run it in
        another thread and call :meth:`request_stop`)."""
        loop = self._loop
        caught = loop is not None and threading.current_thread() is threading.main_thread()
        if caught and loop is not None:
            for sig in STOP_SIGNALS:
                loop.add_signal_handler(sig, self.request_stop)
        try:
            yield
        finally:
            if caught and loop is not None:
                for sig in STOP_SIGNALS:
                    loop.remove_signal_handler(sig)

    def run_in_loop(self) -> None:
        """:meth:`run` in a new event loop of its own (uvloop where installed), until stopped."""
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            runner.run(self.run())

    def request_stop(self) -> None:
        """Ask the daemon to stop (safe from any thread and from a signal handler)."""
        self._stop_requested = True
        self.ctx.bus.close_all()
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None and not loop.is_closed():
            loop.call_soon_threadsafe(stopping.set)


def serve(settings: Settings, *, console_log: bool = True) -> None:
    """Run the daemon in the foreground until SIGINT/SIGTERM (``console_log=False``: log to
    ``logs/agenticmail.log`` only, as the detached daemon does)."""
    setup_logging(settings.log_level, settings.logs_dir, console=console_log,
                  fmt=settings.log_format, max_bytes=settings.log_max_bytes,
                  backups=settings.log_backup_count)
    Daemon(settings).run_in_loop()


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop where it is installed (a dependency everywhere but Windows): the same asyncio
    API on libuv, so each API request and IMAP/SMTP exchange costs the daemon less CPU."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop
