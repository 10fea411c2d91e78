"""The per-agent send limits (per minute, hour and day): each agent's recent sends kept in
memory, so checking a send costs no query however many it made.

What counts is what the tables count: every message an agent had queued or held (a held
message once, when held; the owner's approval of it is not a second send). An agent's times
are loaded from the outbox and the held mail on its first send after start, under the
database's writer lock, and every later send is added once its transaction has committed,
under the same lock (:meth:`Tx.after_commit <agenticmail.services.context.Tx.after_commit>`):
so a send is counted exactly once, whichever came first. A second context on the same
database (a tool, a test) loads its own; the daemon is the one process that accepts sends.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import RateLimited
from ..store import outbox as store
from ..store.db import Database

DAY = 86400


@dataclass(frozen=True)
class Limit:
    seconds: int
    count: int
    label: str  # "minute" | "hour" | "day"


class SendLimits:
    """Each agent's send times within the widest window (a day), oldest first."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._times: dict[int, list[float]] = {}

    def check(self, db: Database, agent_id: int, name: str, limits: tuple[Limit, ...],
              now: float | None = None) -> None:
        """Raise :class:`RateLimited` when one more send would exceed a limit; its
        ``retry_after`` is when the send that fills that window leaves it."""
        now = time.time() if now is None else now
        times = self._loaded(db, agent_id, now)
        with self._lock:
            del times[:bisect.bisect_left(times, now - DAY)]
            for limit in limits:
                inside = len(times) - bisect.bisect_left(times, now - limit.seconds)
                if limit.count <= 0 or inside >= limit.count:
                    # the limit-th most recent leaving the window makes room for one more
                    oldest = times[-limit.count] if 0 < limit.count <= len(times) else now
                    raise RateLimited(
                        f"agent {name} may send {limit.count} messages per {limit.label}",
                        retry_after=max(1, int(oldest + limit.seconds - now) + 1),
                        hint="wait before sending more, or raise the limit in config.toml")

    def recorder(self, agent_id: int) -> Callable[[], None]:
        """What to run once a send of the agent's has committed (under the writer lock)."""
        return lambda: self._record(agent_id, time.time())

    def _record(self, agent_id: int, when: float) -> None:
        with self._lock:
            times = self._times.get(agent_id)
            if times is not None:  # not yet loaded: the load will read it from the tables
                bisect.insort(times, when)

    def _loaded(self, db: Database, agent_id: int, now: float) -> list[float]:
        with self._lock:
            times = self._times.get(agent_id)
        if times is not None:
            return times
        with db.exclusive():  # no send commits (and records itself) meanwhile
            with self._lock:
                times = self._times.get(agent_id)
            if times is None:
                times = store.send_times(db, agent_id, now - DAY)
                with self._lock:
                    self._times[agent_id] = times
        return times
