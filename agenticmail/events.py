"""In-process event fan-out: any thread publishes, asyncio subscribers consume.

The event types and their payload models are :mod:`agenticmail.event_types`. Persisting
events (for replay after a reconnect) is the store's job; the bus only delivers
already-recorded events to live subscribers. A slow subscriber never blocks a producer: when
its queue is full it is marked overflowed and closed, and the client reconnects with
``Last-Event-ID`` to replay what it missed from the store.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable

from .event_types import (  # noqa: F401  (the event names, re-exported for their users)
    AGENT_CREATED,
    AGENT_DELETED,
    MESSAGE_APPROVED,
    MESSAGE_DELAYED,
    MESSAGE_EXPUNGED,
    MESSAGE_FAILED,
    MESSAGE_FLAGS,
    MESSAGE_HELD,
    MESSAGE_NEW,
    MESSAGE_REJECTED,
    MESSAGE_SENT,
    MESSAGE_SPAM,
    RELAY_CONFIGURED,
    RELAY_DELIVERED,
    RELAY_DISABLED,
)
from .models import Event

EventFilter = Callable[[Event], bool]



class Subscription:
    def __init__(self, bus: EventBus, loop: asyncio.AbstractEventLoop, accept: EventFilter,
                 maxsize: int) -> None:
        self._bus = bus
        self._loop = loop
        self._accept = accept
        self._queue: asyncio.Queue[Event | None] = asyncio.Queue(maxsize)
        self.overflowed = False

    def _offer(self, event: Event) -> None:  # runs in the subscriber's loop
        if self.overflowed or not self._accept(event):
            return
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self._bus.unsubscribe(self)
            self._end()

    def _end(self) -> None:  # runs in the subscriber's loop
        self.overflowed = True
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(None)

    async def get(self, timeout: float | None = None) -> Event | None:
        """The next event, or None on overflow/close (or when ``timeout`` passes)."""
        try:  # asyncio.timeout, not wait_for: a cancellation as an event arrives is not lost
            async with asyncio.timeout(timeout):
                return await self._queue.get()
        except TimeoutError:
            return None

    def close(self) -> None:
        self._bus.unsubscribe(self)

    async def __aiter__(self) -> AsyncIterator[Event]:
        while True:
            event = await self._queue.get()
            if event is None:
                return
            yield event


class EventBus:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subs: list[Subscription] = []
        self._listeners: list[Callable[[Event], None]] = []

    def subscribe(self, accept: EventFilter = lambda e: True, maxsize: int = 10_000
                  ) -> Subscription:
        """Subscribe from inside a running event loop."""
        sub = Subscription(self, asyncio.get_running_loop(), accept, maxsize)
        with self._lock:
            self._subs.append(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            if sub in self._subs:
                self._subs.remove(sub)

    def add_listener(self, listener: Callable[[Event], None]) -> None:
        """A synchronous callback run in the publishing thread (keep it quick, never raise;
        no I/O: it runs while the database's writer lock is held, see ``transaction``)."""
        with self._lock:
            self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[Event], None]) -> None:
        """Undo :meth:`add_listener` (a stopping component); no error if it is not there."""
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def close_all(self) -> None:
        """End every live subscription (their streams finish); used at shutdown."""
        with self._lock:
            subs, self._subs = list(self._subs), []
        for sub in subs:
            if not sub._loop.is_closed():
                sub._loop.call_soon_threadsafe(sub._end)

    def publish(self, event: Event) -> None:
        """Deliver a recorded event to every subscriber; safe from any thread."""
        with self._lock:
            subs = list(self._subs)
            listeners = list(self._listeners)
        for listener in listeners:
            listener(event)
        for sub in subs:  # queued even from the subscriber's own loop: an event published
            # there after one from another thread must not overtake it (subscribers get events
            # in publish order, which transaction() makes the commit order)
            if not sub._loop.is_closed():
                sub._loop.call_soon_threadsafe(sub._offer, event)
