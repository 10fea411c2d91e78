"""One IDLE watcher thread per agent, running for as long as the daemon runs.

Each watcher resumes from the last UID it reported (the checkpoint commits together with the
``message.new`` event), reconnects with jittered exponential backoff, and reports flag changes
and expunges in INBOX by diffing flags after the server announces a change.
"""

from __future__ import annotations

import logging
import random
import threading
from dataclasses import dataclass, field

from ..errors import AgenticMailError
from ..mail.idle import FolderWatch
from ..models import Agent
from ..services import inbox
from ..services.agents import credentials
from ..services.context import ServiceContext
from ..store import messages as index

log = logging.getLogger(__name__)

WAIT_SLICE = 1.0  # how often a watcher checks whether it was asked to stop
MAX_BACKOFF = 60.0


@dataclass
class WatcherStatus:
    connected: bool = False
    last_error: str | None = None
    reconnects: int = 0
    last_uid: int = 0


class AgentWatcher(threading.Thread):
    def __init__(self, ctx: ServiceContext, agent: Agent, folder: str = "INBOX") -> None:
        super().__init__(name=f"watch-{agent.name}", daemon=True)
        self.ctx, self.agent, self.folder = ctx, agent, folder
        self.status = WatcherStatus()
        self._stop_event = threading.Event()
        self._flags: dict[int, tuple[str, ...]] = {}

    def stop(self) -> None:
        self._stop_event.set()

    def run(self) -> None:
        backoff = 1.0
        while not self._stop_event.is_set():
            watch = FolderWatch(self.ctx.host.endpoints(), credentials(self.ctx, self.agent),
                                self.folder, renew_seconds=self.ctx.settings.idle_renew_seconds)
            try:
                self._watch(watch)
            except AgenticMailError as exc:
                self._note_failure(exc)
            except Exception as exc:  # a bug must not kill the watcher for good
                log.exception("watcher for %s crashed", self.agent.name)
                self._note_failure(exc)
            finally:
                watch.close()
                was_connected, self.status.connected = self.status.connected, False
            if self._stop_event.is_set():
                break
            if was_connected:  # a drop after a good connection starts the schedule afresh
                backoff = 1.0
            self._stop_event.wait(backoff * random.uniform(0.5, 1.5))
            backoff = min(backoff * 2, MAX_BACKOFF)

    def _note_failure(self, exc: BaseException) -> None:
        self.status.last_error = str(exc)
        self.status.reconnects += 1
        if not self._stop_event.is_set():
            log.warning("watcher for %s: %s; reconnecting", self.agent.name, exc)

    def _watch(self, watch: FolderWatch) -> None:
        uidvalidity = watch.connect()
        if self.folder == "INBOX":
            inbox.recover_spam(self.ctx, self.agent)
        saved = index.checkpoint(self.ctx.db, self.agent.id, self.folder)
        last_uid = saved[1] if saved and saved[0] == uidvalidity else 0
        self._flags = watch.all_flags()
        last_uid = self._sync_new(watch, uidvalidity, last_uid)
        self.status.connected, self.status.last_error = True, None
        while not self._stop_event.is_set():
            kinds = watch.wait(WAIT_SLICE)  # includes what replies to our own commands announced
            if kinds & {"expunge", "fetch"}:
                self._sync_changes(watch)
            if kinds:
                last_uid = self._sync_new(watch, uidvalidity, last_uid)

    def _sync_new(self, watch: FolderWatch, uidvalidity: int, last_uid: int) -> int:
        """Ingest every UID after ``last_uid``. Mail arriving meanwhile is announced in the
        replies to these commands, and the next ``wait`` reports it at once."""
        for uid in watch.uids_after(last_uid):
            fetched = watch.fetch(uid)
            if fetched is not None:
                raw, flags = fetched
                outcome = inbox.ingest(self.ctx, self.agent, self.folder, uidvalidity, uid,
                                       raw, flags)
                if outcome != "spam":  # spam was moved out: its expunge is not news
                    self._flags[uid] = flags
            last_uid = uid
            self.status.last_uid = uid
        return last_uid

    def _sync_changes(self, watch: FolderWatch) -> None:
        current = watch.all_flags()
        gone = [uid for uid in self._flags if uid not in current]
        changed = {uid: f for uid, f in current.items()
                   if uid in self._flags and set(self._flags[uid]) != set(f)}
        if gone:
            inbox.expunged(self.ctx, self.agent, self.folder, gone)
        if changed:
            inbox.flags_changed(self.ctx, self.agent, self.folder, changed)
        # new UIDs are picked up by _sync_new (on its EXISTS); keep their flags once seen
        self._flags = {uid: f for uid, f in current.items() if uid in self._flags}


@dataclass
class WatcherManager:
    ctx: ServiceContext
    watchers: dict[str, AgentWatcher] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start_all(self, agents: list[Agent]) -> None:
        for agent in agents:
            self.add(agent)

    def add(self, agent: Agent) -> None:
        with self._lock:
            if agent.name in self.watchers:
                return
            watcher = AgentWatcher(self.ctx, agent)
            self.watchers[agent.name] = watcher
        watcher.start()

    def remove(self, name: str) -> None:
        with self._lock:
            watcher = self.watchers.pop(name, None)
        if watcher is not None:
            watcher.stop()

    def stop_all(self, timeout: float = 5.0) -> None:
        with self._lock:
            watchers = list(self.watchers.values())
            self.watchers.clear()
        for watcher in watchers:
            watcher.stop()
        for watcher in watchers:
            watcher.join(timeout)

    def status(self) -> dict[str, dict[str, object]]:
        with self._lock:
            return {name: vars(w.status).copy() for name, w in self.watchers.items()}
