"""One IDLE watcher thread per agent, running for as long as the daemon runs.

:class:`WatcherManager` is the supervised component that owns them all: it starts one per
agent (and one for each agent created later, stopping the watcher of a deleted one), and
revives a watcher thread that died of an unexpected error, with backoff, counting it in the
watcher's ``crashes``.

Each watcher resumes from the last UID it reported (the checkpoint commits together with the
``message.new`` event), reconnects with jittered exponential backoff, and reports flag changes
and expunges in INBOX by diffing flags after the server announces a change.

When the daemon itself has just put mail into an agent's INBOX (its own LMTP delivery), it
calls ``ServiceContext.mail_arrived``; the manager wakes that agent's watcher, which ends its
IDLE wait and searches for UIDs after its checkpoint at once instead of waiting for Dovecot's
IDLE notification (at least 500 ms later). The wake changes only *when* the watcher looks,
never what it takes, so the checkpoint guarantee holds; IDLE remains the safety net for mail
that arrives any other way.

Parking: when the mail host pushes every change to an INBOX (the local Dovecot's push plugin:
new mail, flags, expunges, from LMTP and mail clients alike) and the daemon wakes the watcher
after its own changes (deliveries, the mailbox API), a watcher whose mailbox has been quiet for
``watch_linger_seconds`` closes its IMAP session ("parked") instead of holding an IDLE session
open: a thousand agents then cost Dovecot no process memory. A wake, or every
``watch_check_seconds`` (the safety net for a change nobody announced), opens the session
again; the watcher reports what changed meanwhile (flags and expunges against the flags it
remembers, new mail after its checkpoint) exactly as if IDLE had told it.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..errors import AgenticMailError, InvalidRequest
from ..events import AGENT_CREATED, AGENT_DELETED
from ..models import Agent, Event
from ..services import inbox, watching
from ..services.agents import find_by_id, list_agents
from ..services.context import ServiceContext
from .component import Scope, in_thread

if TYPE_CHECKING:
    from ..mail.idle import FolderWatch, Wakeup

log = logging.getLogger(__name__)

# The longest IDLE wait between looks at the watcher's own state: a stop, a fault or new mail
# the daemon knows of end it at once (its Wakeup), so this only bounds how late an IDLE renewal
# may come. Not 1 s: a thousand watchers would then wake a thousand times a second for nothing.
WAIT_SLICE = 30.0
MAX_BACKOFF = 60.0
REVIVE_EVERY = 1.0  # how often the manager looks for watcher threads that died
STOP_WAIT = 5.0  # how long a stop waits for all the watchers together


class WatcherCrash(BaseException):
    """A fault injected by :meth:`WatcherManager.inject_fault`: it escapes the watcher's own
    error handling and ends its thread, as a bug in the watcher would."""


@dataclass
class WatcherStatus:
    connected: bool = False
    last_error: str | None = None
    reconnects: int = 0
    last_uid: int = 0
    crashes: int = 0  # the thread died of an unexpected error and was started again
    wakes: int = 0  # IDLE waits ended early because the daemon delivered mail here
    parked: bool = False  # session closed while the host pushes changes (still watching)


class AgentWatcher(threading.Thread):
    def __init__(self, ctx: ServiceContext, agent: Agent, folder: str = "INBOX",
                 status: WatcherStatus | None = None) -> None:
        super().__init__(name=f"watch-{agent.name}", daemon=True)
        self.ctx, self.agent, self.folder = ctx, agent, folder
        self.status = status or WatcherStatus()
        self.crash: BaseException | None = None
        self._stop_event = threading.Event()
        self._wakeup: Wakeup = watching.new_wakeup()
        self.fault: BaseException | None = None  # see WatcherManager.inject_fault
        # flags of the INBOX messages reported so far, and the UIDVALIDITY they belong to:
        # kept across a park, so the next session reports what changed meanwhile
        self._flags: dict[int, tuple[str, ...]] | None = None
        self._uidvalidity: int | None = None
        self._unparked = False  # the next session follows a park (not a failure or a start)

    def stop(self) -> None:
        self._stop_event.set()
        self._wakeup.set()

    def wake(self) -> None:
        """Thread-safe: new mail is in the folder now; look without waiting for IDLE."""
        self._wakeup.set()

    @property
    def stopping(self) -> bool:
        return self._stop_event.is_set()

    def run(self) -> None:
        try:
            self._loop()
        except BaseException as exc:  # noted for the manager, which starts it again
            self.crash = exc
            self.status.connected, self.status.last_error = False, str(exc)
            log.error("watcher for %s died", self.agent.name, exc_info=exc)
        finally:
            self._wakeup.close()

    def _loop(self) -> None:
        backoff = 1.0
        while not self._stop_event.is_set():
            watch: FolderWatch | None = None
            parked = False
            try:
                watch = watching.open_watch(self.ctx, self.agent, self.folder)
                parked = self._watch(watch)
            except AgenticMailError as exc:
                self._note_failure(exc)
            except Exception as exc:  # a bug must not kill the watcher for good
                log.exception("watcher for %s crashed", self.agent.name)
                self._note_failure(exc)
            finally:
                if watch is not None:
                    watch.close()
                was_connected = self.status.connected
                if not parked:
                    self.status.connected = False
            if self._stop_event.is_set():
                break
            if parked:
                self._park()
                backoff = 1.0
                continue
            if was_connected:  # a drop after a good connection starts the schedule afresh
                backoff = 1.0
            self._stop_event.wait(backoff * random.uniform(0.5, 1.5))
            backoff = min(backoff * 2, MAX_BACKOFF)

    def _note_failure(self, exc: BaseException) -> None:
        self.status.last_error = str(exc)
        self.status.reconnects += 1
        if not self._stop_event.is_set():
            log.warning("watcher for %s: %s; reconnecting", self.agent.name, exc)

    def _park(self) -> None:
        """Wait, with no session open, for a wake, a stop, or the next safety-net check."""
        self.status.parked = True
        try:
            self._wakeup.wait(watching.check_seconds(self.ctx) * random.uniform(0.8, 1.2))
        finally:
            self.status.parked = False
        self._take_fault()
        self._unparked = True
        # cleared before the session opens: what it announced is in what the session reads
        if self._wakeup.clear():
            self.status.wakes += 1

    def _take_fault(self) -> None:
        if self.fault is not None:
            fault, self.fault = self.fault, None
            raise WatcherCrash(str(fault)) from fault

    def _watch(self, watch: FolderWatch) -> bool:
        """Report what is new, then what the server announces, until stopped (False) or,
        when the host pushes changes, until quiet for the linger time (True: park)."""
        uidvalidity = watch.connect()
        if self.folder == "INBOX" and not self._unparked:
            inbox.recover_spam(self.ctx, self.agent)  # after a park there is nothing to recover
        self._unparked = False
        saved = watching.checkpoint(self.ctx, self.agent, self.folder)
        last_uid = saved[1] if saved and saved[0] == uidvalidity else 0
        current = watch.all_flags()
        if self._flags is not None and self._uidvalidity == uidvalidity:
            self._report_changes(current)  # made while this watcher had no session open
        else:
            self._flags = current
        self._uidvalidity = uidvalidity
        last_uid = self._sync_new(watch, uidvalidity, last_uid)
        self.status.connected, self.status.last_error = True, None
        linger = watching.linger_seconds(self.ctx)
        quiet_since = time.monotonic()
        while not self._stop_event.is_set():
            wait = WAIT_SLICE
            if linger is not None:
                wait = max(0.0, min(WAIT_SLICE, quiet_since + linger - time.monotonic()))
            # includes what replies to our own commands announced
            kinds = watch.wait(wait, self._wakeup)
            if self._stop_event.is_set():
                break
            self._take_fault()
            if "woken" in kinds:
                self.status.wakes += 1
            if kinds & {"expunge", "fetch"}:
                self._sync_changes(watch)
            if kinds:
                last_uid = self._sync_new(watch, uidvalidity, last_uid)
                quiet_since = time.monotonic()
            elif linger is not None and time.monotonic() - quiet_since >= linger:
                return True
        return False

    def _sync_new(self, watch: FolderWatch, uidvalidity: int, last_uid: int) -> int:
        """Ingest every UID after ``last_uid``. Mail arriving meanwhile is announced in the
        replies to these commands, and the next ``wait`` reports it at once."""
        for uid in watch.uids_after(last_uid):
            fetched = watch.fetch(uid)
            if fetched is not None:
                raw, flags = fetched
                outcome = inbox.ingest(self.ctx, self.agent, self.folder, uidvalidity, uid,
                                       raw, flags)
                if outcome not in ("spam", "moved") and self._flags is not None:
                    self._flags[uid] = flags  # moved out: its expunge is not news
            last_uid = uid
            self.status.last_uid = uid
        return last_uid

    def _sync_changes(self, watch: FolderWatch) -> None:
        self._report_changes(watch.all_flags())

    def _report_changes(self, current: dict[int, tuple[str, ...]]) -> None:
        """Report expunges and flag changes of the messages known so far (``current``: the
        folder's flags now)."""
        known = self._flags or {}
        gone = [uid for uid in known if uid not in current]
        changed = {uid: f for uid, f in current.items()
                   if uid in known and set(known[uid]) != set(f)}
        if gone:
            inbox.expunged(self.ctx, self.agent, self.folder, gone)
        if changed:
            inbox.flags_changed(self.ctx, self.agent, self.folder, changed)
        # new UIDs are picked up by _sync_new (on its EXISTS); keep their flags once seen
        self._flags = {uid: f for uid, f in current.items() if uid in known}


@dataclass
class WatcherManager:
    ctx: ServiceContext
    watchers: dict[str, AgentWatcher] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _revive_at: dict[str, float] = field(default_factory=dict)
    _names: dict[str, str] = field(default_factory=dict)  # address (lower case) -> agent name

    name = "watchers"

    async def start(self, stack: Scope) -> None:
        self.ctx.bus.add_listener(self._on_event)
        stack.callback(self.ctx.bus.remove_listener, self._on_event)
        self.ctx.arrival_listeners.append(self.mail_arrived)
        stack.callback(self.ctx.arrival_listeners.remove, self.mail_arrived)
        stack.push_async_callback(in_thread, self.stop_all)
        self.start_all(await in_thread(list_agents, self.ctx))
        stack.spawn(self._revive_loop(), "revive")

    def _on_event(self, event: Event) -> None:
        if event.type == AGENT_CREATED and event.agent:
            agent = find_by_id(self.ctx, event.agent_id)
            if agent is not None:
                self.add(agent)
        elif event.type == AGENT_DELETED and event.agent:
            self.remove(event.agent)

    def start_all(self, agents: list[Agent]) -> None:
        for agent in agents:
            self.add(agent)

    def add(self, agent: Agent) -> None:
        with self._lock:
            if agent.name in self.watchers:
                return
            watcher = AgentWatcher(self.ctx, agent)
            self.watchers[agent.name] = watcher
            self._names[agent.address.lower()] = agent.name
        watcher.start()

    def remove(self, name: str) -> None:
        with self._lock:
            watcher = self.watchers.pop(name, None)
            self._revive_at.pop(name, None)
            if watcher is not None:
                self._names.pop(watcher.agent.address.lower(), None)
        if watcher is not None:
            watcher.stop()

    def stop_all(self, timeout: float = STOP_WAIT) -> list[str]:
        """Stop every watcher at once and wait for them all, ``timeout`` seconds in total;
        the names of those still busy then (left behind: an IMAP call that hangs ends with its
        own timeout, their threads never hold up the process's exit, and an ingest cut off
        is not checkpointed, so it is taken again at the next start)."""
        with self._lock:
            watchers = list(self.watchers.values())
            self.watchers.clear()
            self._revive_at.clear()
            self._names.clear()
        for watcher in watchers:
            watcher.stop()
        deadline = time.monotonic() + timeout
        for watcher in watchers:
            watcher.join(max(0.0, deadline - time.monotonic()))
        busy = [w.agent.name for w in watchers if w.is_alive()]
        if busy:
            log.warning("%d watcher(s) still busy %.0f s after the stop, left behind: %s",
                        len(busy), timeout, ", ".join(busy))
        return busy

    def mail_arrived(self, address: str) -> None:
        """Thread-safe: the daemon has just delivered mail to ``address``'s INBOX."""
        base = watching.mailbox_address(address)
        if base is None:
            return
        with self._lock:
            name = self._names.get(base)
            watcher = self.watchers.get(name) if name is not None else None
        if watcher is not None:
            watcher.wake()

    async def _revive_loop(self) -> None:
        while True:
            await asyncio.sleep(REVIVE_EVERY)
            self.revive()

    def revive(self) -> None:
        """Start again, after a backoff, each watcher whose thread died unexpectedly."""
        now = time.monotonic()
        started: list[AgentWatcher] = []
        with self._lock:
            for name, watcher in list(self.watchers.items()):
                if watcher.is_alive() or watcher.stopping or watcher.ident is None:
                    continue
                due = self._revive_at.get(name)
                if due is None:
                    watcher.status.crashes += 1
                    delay = min(2.0 ** (watcher.status.crashes - 1), MAX_BACKOFF)
                    self._revive_at[name] = now + delay * random.uniform(0.8, 1.2)
                    continue
                if now < due:
                    continue
                del self._revive_at[name]
                replacement = AgentWatcher(self.ctx, watcher.agent, watcher.folder,
                                           status=watcher.status)
                self.watchers[name] = replacement
                started.append(replacement)
        for watcher in started:
            log.warning("watcher for %s started again after it died (%d times)",
                        watcher.agent.name, watcher.status.crashes)
            watcher.start()

    def inject_fault(self, name: str, error: BaseException) -> None:
        """Make the watcher of agent ``name`` die of ``error`` within a second (its thread
        ends; :meth:`revive` starts it again). A testing and drill seam, as
        ``Supervisor.inject_fault`` is for whole components."""
        with self._lock:
            watcher = self.watchers.get(name)
        if watcher is None:
            raise InvalidRequest(f"no watcher for an agent named {name!r}")
        watcher.fault = error
        watcher.wake()

    def status(self) -> dict[str, dict[str, object]]:
        with self._lock:
            return {name: vars(w.status).copy() for name, w in self.watchers.items()}
