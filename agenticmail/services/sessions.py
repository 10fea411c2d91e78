"""Logging in as an agent: its mail credentials (the stored password, decrypted with the
daemon's key), a short IMAP session opened with them, and a pool of sessions kept open for
work that logs in as the same agents again and again (the sender's Sent copies)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from ..errors import MailHostUnavailable
from ..mail.imap import MailboxSession
from ..models import Agent, Credentials
from ..store import agents as agent_store
from .context import ServiceContext


def credentials(ctx: ServiceContext, agent: Agent) -> Credentials:
    return Credentials(agent.address,
                       ctx.secrets.decrypt(agent_store.password_enc(ctx.db, agent.id)))


@contextmanager
def open_session(ctx: ServiceContext, agent: Agent) -> Iterator[MailboxSession]:
    with MailboxSession.open(ctx.host.endpoints(), credentials(ctx, agent)) as session:
        yield session


T = TypeVar("T")


class SessionPool:
    """Logged-in IMAP sessions kept between uses, per agent (thread-safe).

    A login costs the mail host and the daemon far more than the command it is for (a Sent
    copy: 8 ms with a login of its own, 2 ms on a session already open, measured here). A
    session is lent to one caller at a time and given back after work that raised nothing;
    one that raised is logged out. At most ``keep`` per agent wait, each at most
    ``idle_seconds`` (the mail host may drop a quiet connection, an agent may be deleted).
    :meth:`close` logs out every waiting session (its owner's stop)."""

    def __init__(self, ctx: ServiceContext, keep: int = 2, idle_seconds: float = 60.0) -> None:
        self.ctx, self.keep, self.idle_seconds = ctx, keep, idle_seconds
        self._waiting: dict[int, list[tuple[float, MailboxSession]]] = {}
        self._lock = threading.Lock()
        self._closed = False
        self.logins = 0  # sessions opened (a figure for tests and benchmarks)

    def run(self, agent: Agent, work: Callable[[MailboxSession, bool], T]) -> T:
        """``work(session, again)`` on a session of ``agent``'s. A kept session that turns
        out to be dead (the mail host restarted) is dropped and ``work`` runs once more on a
        new one, with ``again`` True: it may have done part of its job on the first."""
        session, kept = self._take(agent)
        try:
            try:
                result = work(session, False)
            except MailHostUnavailable:
                if not kept:
                    raise
                session.close()
                session = self._open(agent)
                result = work(session, True)
        except BaseException:
            session.close()  # safe twice
            raise
        self._give(agent, session)
        return result

    def close(self) -> None:
        with self._lock:
            self._closed = True
            waiting, self._waiting = self._waiting, {}
        for sessions in waiting.values():
            for _, session in sessions:
                session.close()

    def _open(self, agent: Agent) -> MailboxSession:
        session = MailboxSession.open(self.ctx.host.endpoints(), credentials(self.ctx, agent))
        with self._lock:
            self.logins += 1
        return session

    def _take(self, agent: Agent) -> tuple[MailboxSession, bool]:
        """A kept session of ``agent``'s (True) or a new one (False)."""
        stale: list[MailboxSession] = []
        found = None
        now = time.monotonic()
        with self._lock:
            for agent_id, sessions in list(self._waiting.items()):
                fresh = [(at, s) for at, s in sessions if now - at < self.idle_seconds]
                stale += [s for at, s in sessions if now - at >= self.idle_seconds]
                if fresh:
                    self._waiting[agent_id] = fresh
                else:
                    del self._waiting[agent_id]
            mine = self._waiting.get(agent.id)
            if mine:
                found = mine.pop()[1]
        for session in stale:
            session.close()
        return (found, True) if found is not None else (self._open(agent), False)

    def _give(self, agent: Agent, session: MailboxSession) -> None:
        with self._lock:
            mine = self._waiting.get(agent.id, [])
            if not self._closed and len(mine) < self.keep:
                self._waiting[agent.id] = [*mine, (time.monotonic(), session)]
                return
        session.close()
