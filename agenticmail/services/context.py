"""What every service function works with, and the one way to write rows and emit events.

Events are recorded in the same transaction as the state change they describe and handed to
the in-process bus only after that transaction commits.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..config import Settings
from ..event_types import EventPayload, payload
from ..events import EventBus
from ..hosts import build_host
from ..hosts.base import MailHost
from ..models import Event
from ..security.keys import SecretBox
from ..store import events as event_log
from ..store import webhooks as webhook_queue
from ..store.db import Database
from ..store.migrations import migrate
from ..store.secret_key import load_or_create
from .send_limits import SendLimits

if TYPE_CHECKING:
    import sqlite3


@dataclass
class ServiceContext:
    settings: Settings
    db: Database
    host: MailHost
    bus: EventBus
    secrets: SecretBox
    sender_wakeups: list[Callable[[], None]] = field(default_factory=list)
    arrival_listeners: list[Callable[[str], None]] = field(default_factory=list)
    webhook_wakeups: list[Callable[[], None]] = field(default_factory=list)
    domain_listeners: list[Callable[[], None]] = field(default_factory=list)
    send_limits: SendLimits = field(default_factory=SendLimits)

    def writer_within(self, seconds: float) -> contextlib.AbstractContextManager[bool]:
        """The database's writer lock if it comes free within ``seconds``, held for the
        block (True), or not at all (False): see :meth:`Database.writer_within`."""
        return self.db.writer_within(seconds)

    def wake_sender(self) -> None:
        """Tell the sender worker (if one runs in this process) that rows are due."""
        for wake in self.sender_wakeups:
            wake()

    def wake_webhooks(self) -> None:
        """Tell the webhook dispatcher (if one runs in this process) that messages are due."""
        for wake in self.webhook_wakeups:
            wake()

    def domain_changed(self) -> None:
        """Domain mode's saved configuration changed (set up, reconfigured, torn down): the
        parts that run from it (the tunnel) look at it again at once."""
        for listener in list(self.domain_listeners):
            listener()

    def mail_arrived(self, addresses: list[str]) -> None:
        """The daemon has just put mail into (or changed mail in) these addresses' mailboxes
        (a local delivery the mail host accepted, a flag or move through the API): the
        watchers (if they run in this process) look at once."""
        for listener in list(self.arrival_listeners):
            for address in addresses:
                listener(address)


@dataclass
class Tx:
    conn: sqlite3.Connection
    events: list[Event] = field(default_factory=list)
    committed: list[Callable[[], None]] = field(default_factory=list)

    def after_commit(self, action: Callable[[], None]) -> None:
        """Run ``action`` once this transaction has committed, before any later one commits
        (nothing when it rolls back): for state kept beside the tables."""
        self.committed.append(action)

    def emit(self, type_: str, agent: str | None, data: Mapping[str, Any] | EventPayload, *,
             agent_id: int | None = None, only_webhook: str | None = None) -> Event:
        """Record an event; only the agent with ``agent_id`` (and the owner) will see it.
        ``data`` is checked against the type's model (:mod:`agenticmail.event_types`): a
        payload that does not fit raises :class:`~agenticmail.event_types.InvalidEventPayload`.
        The webhook messages that will carry it are queued in the same transaction (to the
        endpoint ``only_webhook`` alone, for a test event)."""
        checked = payload(type_, data).to_dict()
        event = event_log.append(self.conn, type_, agent, checked, agent_id)
        webhook_queue.enqueue(self.conn, event, only_webhook)
        self.events.append(event)
        return event


@contextmanager
def transaction(ctx: ServiceContext) -> Iterator[Tx]:
    """A write transaction whose emitted events are published once it has committed, before
    any later transaction commits: the bus sees events in commit (= id) order, which the event
    stream relies on (it sends ids in increasing order and skips any id it has passed)."""
    with ctx.db.exclusive():
        with ctx.db.write() as conn:
            tx = Tx(conn)
            yield tx
        for action in tx.committed:
            action()
        for event in tx.events:
            ctx.bus.publish(event)


def build_context(settings: Settings, host: MailHost | None = None,
                  bus: EventBus | None = None) -> ServiceContext:
    """Open the database (migrating it) and the secret box for ``settings``."""
    db = Database(settings.db_path)
    migrate(db)
    return ServiceContext(
        settings=settings, db=db, host=host or build_host(settings), bus=bus or EventBus(),
        secrets=load_or_create(settings.secret_key_path),
    )
