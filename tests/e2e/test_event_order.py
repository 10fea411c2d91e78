"""Events reach the bus, and so the event stream, in commit order, whichever threads commit them.

The stream sends event ids in increasing order and skips an id it has passed (that is how it
joins its replay to the live events). Each thread publishes its transaction's events after the
commit, so when the relay thread's ``relay.delivered`` (committed second) overtook the
watcher's ``message.new`` (committed first) on its way to the bus, the agent never heard of
its new message: the flaky provider-outage test in tests/relay/test_relay_e2e.py.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from typing import Any

from agenticmail.event_types import RELAY_DELIVERED
from agenticmail.models import Event
from agenticmail.services.context import transaction
from agenticmail.store.agents import find_agent
from agenticmail_testing.daemon import DaemonHandle
from agenticmail_testing.sse import EventStream

# How long the first publisher waits for the second commit to be published before it goes on:
# with events published in commit order the second commit cannot happen meanwhile.
HOLD_SECONDS = 2.0


def test_a_later_commit_from_another_thread_never_overtakes_an_earlier_ones_events(
        daemon: DaemonHandle, agent_pair: tuple[dict, dict]) -> None:
    assert daemon.daemon is not None
    ctx = daemon.daemon.ctx
    _, bob = agent_pair
    first, second = (f"<{uuid.uuid4().hex}@example.org>" for _ in range(2))
    first_committed, second_published = threading.Event(), threading.Event()
    emit = _emitter(daemon, bob)

    def slow_first_publisher(event: Event) -> None:
        # a listener runs in the publishing thread before the stream gets the event: the
        # first thread is descheduled between its commit and its publish, for a while
        if event.data.get("message_id") == first:
            first_committed.set()
            second_published.wait(HOLD_SECONDS)
        elif event.data.get("message_id") == second:
            second_published.set()

    ctx.bus.add_listener(slow_first_publisher)
    try:
        with EventStream(daemon.api_url, bob["api_key"]) as stream:
            publisher = threading.Thread(target=emit, args=(first,), name="first-publisher")
            publisher.start()
            assert first_committed.wait(10)
            emit(second)  # this thread commits after the first one
            publisher.join(10)
            got = _both(stream, first, second)
    finally:
        ctx.bus.remove_listener(slow_first_publisher)
    assert [e["data"]["message_id"] for e in got] == [first, second]
    assert got[0]["id"] < got[1]["id"]


def test_an_event_published_on_the_daemons_loop_never_overtakes_one_from_a_thread(
        daemon: DaemonHandle, agent_pair: tuple[dict, dict]) -> None:
    """Another thread's event is on its way to the stream (queued for the daemon's loop) when
    code running on that loop commits and publishes the next one."""
    assert daemon.daemon is not None and daemon.daemon.loop is not None
    _, bob = agent_pair
    emit = _emitter(daemon, bob)
    first, second = (f"<{uuid.uuid4().hex}@example.org>" for _ in range(2))

    async def on_the_loop() -> None:
        # the loop is busy here, so what the thread publishes waits in its queue
        publisher = threading.Thread(target=emit, args=(first,), name="first-publisher")
        publisher.start()
        publisher.join(10)
        emit(second)

    with EventStream(daemon.api_url, bob["api_key"]) as stream:
        asyncio.run_coroutine_threadsafe(on_the_loop(), daemon.daemon.loop).result(20)
        got = _both(stream, first, second)
    assert [e["data"]["message_id"] for e in got] == [first, second]


def _emitter(daemon: DaemonHandle, created: dict[str, Any]) -> Any:
    """A function that commits a ``relay.delivered`` event for the agent ``created``."""
    assert daemon.daemon is not None
    ctx = daemon.daemon.ctx
    agent = find_agent(ctx.db, created["agent"]["name"])
    assert agent is not None

    def emit(message_id: str) -> None:
        with transaction(ctx) as tx:
            tx.emit(RELAY_DELIVERED, agent.name, {"agent": agent.name, "message_id": message_id,
                                                  "route": "tag", "relay_uid": 1},
                    agent_id=agent.id)

    return emit


def _both(stream: EventStream, first: str, second: str) -> list[dict[str, Any]]:
    ours = {first, second}
    return [stream.next(RELAY_DELIVERED, timeout=10,
                        where=lambda e: e["data"]["message_id"] in ours) for _ in range(2)]
