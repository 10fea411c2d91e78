"""The webhook queue survives a SIGKILL of the daemon: every event recorded before the crash is
delivered after the restart, in order, none lost (one cut off mid-POST may come twice: at
least once)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from agenticmail_testing.daemon import wait_until
from agenticmail_testing.process import DaemonProcess
from agenticmail_testing.webhook_receiver import Received, Receiver


@pytest.fixture
def proc() -> Iterator[DaemonProcess]:
    daemon = DaemonProcess(webhook_retry_seconds="0.2,0.5,1,1,1,2,3,5",
                           webhook_timeout_seconds="2")
    try:
        yield daemon.start()
    finally:
        daemon.close()


def _first_seen_order(received: list[Received]) -> list[int]:
    """Event ids in the order each first arrived (a repeat of an earlier one is skipped)."""
    seen: list[int] = []
    for request in received:
        event_id = json.loads(request.body)["id"]
        if event_id not in seen:
            seen.append(event_id)
    return seen


def _queue_tests(proc: DaemonProcess, endpoint: str, count: int) -> list[int]:
    with proc.client() as api:
        return [api.post(f"/v1/webhooks/{endpoint}/test").json()["event"]["id"]
                for _ in range(count)]


def test_down_receiver_and_sigkilled_daemon_lose_nothing(proc: DaemonProcess) -> None:
    receiver = Receiver()
    receiver.up()
    try:
        with proc.client() as api:
            r = api.post("/v1/webhooks", json={"url": receiver.url})
            assert r.status_code == 201, r.text
            endpoint = r.json()["webhook"]["id"]
        receiver.down()
        sent = _queue_tests(proc, endpoint, 6)

        def failures() -> int:
            with proc.client() as api:
                rows = api.get(f"/v1/webhooks/{endpoint}/deliveries").json()["deliveries"]
            return sum(1 for a in rows if a["outcome"] == "error")

        wait_until(lambda: failures() >= 1, 20, what="a failed attempt")
        proc.kill()  # SIGKILL while the receiver is down: the queue is all on disk
        receiver.default = (200, 0.3)  # slow enough to be killed mid-delivery below
        receiver.up()
        proc.start()
        receiver.wait_for(2)
        proc.kill()  # SIGKILL in the middle of delivering the backlog
        proc.start()
        sent += _queue_tests(proc, endpoint, 4)  # and new events after the restart
        wait_until(lambda: set(_first_seen_order(receiver.bodies())) >= set(sent), 60,
                   what="every event to arrive")
        assert _first_seen_order(receiver.bodies()) == sent  # in order, none lost
        ids = [json.loads(r.body)["id"] for r in receiver.bodies()]
        assert len(ids) - len(set(ids)) <= 2  # at most the POSTs cut off by the kills repeat
    finally:
        receiver.down()
