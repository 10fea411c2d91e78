"""Stopping the IDLE watchers while their IMAP server hangs (issue 16: a stop is prompt).

Each watcher's IMAP call ends only with its own 30 s timeout; the stop waits for all of them
together, once, not for each in turn. The watchers here belong to a manager whose mail host
answers IMAP on a server that accepts connections and never says a word (the agents are real
ones of the session daemon)."""

from __future__ import annotations

import dataclasses
import socket
import threading
from collections.abc import Iterator

import pytest

from agenticmail.daemon.watchers import WatcherManager
from agenticmail.hosts.base import MailHost
from agenticmail.models import Endpoints
from agenticmail.services.agents import get_agent
from agenticmail.services.context import build_context
from agenticmail_testing.daemon import DaemonHandle, unique, wait_until

STUCK = 4
WAIT = 2.0  # the stop's overall wait
RETURNS_WITHIN = 6.0  # generous for WAIT, and under STUCK * WAIT (one wait per watcher)


class HungImapHost:
    """The session daemon's mail host, except that IMAP is at ``port`` (plain TCP)."""

    push_enabled = False

    def __init__(self, host: MailHost, port: int) -> None:
        self.host, self.port = host, port

    def endpoints(self) -> Endpoints:
        return dataclasses.replace(self.host.endpoints(), imap_socket="",
                                   imap_host="127.0.0.1", imap_port=self.port, imap_tls=False)


@pytest.fixture
def hung_imap() -> Iterator[socket.socket]:
    """Accepts connections (the kernel does) and never says a word."""
    server = socket.create_server(("127.0.0.1", 0), backlog=64)
    server.settimeout(30)
    yield server
    server.close()


def test_stopping_stuck_watchers_waits_once_for_all(daemon: DaemonHandle,
                                                     hung_imap: socket.socket) -> None:
    assert daemon.daemon is not None
    host = HungImapHost(daemon.daemon.ctx.host, hung_imap.getsockname()[1])
    ctx = build_context(daemon.settings, host=host)  # type: ignore[arg-type]
    agents = [get_agent(ctx, daemon.create_agent(unique("stuck"))["agent"]["name"])
              for _ in range(STUCK)]
    manager = WatcherManager(ctx)
    accepted: list[socket.socket] = []
    manager.start_all(agents)
    watchers = list(manager.watchers.values())
    try:
        while len(accepted) < STUCK:  # each watcher now waits for a greeting
            accepted.append(hung_imap.accept()[0])
        busy: list[str] = []
        stopper = threading.Thread(target=lambda: busy.extend(manager.stop_all(WAIT)))
        stopper.start()
        stopper.join(RETURNS_WITHIN)
        assert not stopper.is_alive(), "the stop waited for each stuck watcher in turn"
        assert sorted(busy) == sorted(a.name for a in agents)
        assert manager.watchers == {}
    finally:
        for conn in accepted:  # the greeting never comes: their reads fail, they end
            conn.close()
        wait_until(lambda: not any(w.is_alive() for w in watchers), 40,
                   what="the left-behind watchers to end")
        ctx.db.close()
