"""Relay behaviours that need a fresh daemon and provider each: the first run over an existing
INBOX, duplicates and a UIDVALIDITY reset, and a server without IDLE (polling)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from agenticmail_testing.daemon import DaemonHandle, wait_until
from agenticmail_testing.dovecot import dovecot_available
from agenticmail_testing.relay_provider import Provider
from agenticmail_testing.sse import EventStream
from tests.relay.helpers import mail, new_for

Fresh = Callable[..., tuple[Provider, DaemonHandle]]


@pytest.fixture
def fresh() -> Iterator[Fresh]:
    if not dovecot_available():
        pytest.skip("needs Dovecot")
    made: list[tuple[Provider, DaemonHandle]] = []

    def make(idle: bool = True, **settings: Any) -> tuple[Provider, DaemonHandle]:
        provider = Provider("first@example.com", idle=idle).start()
        handle = DaemonHandle(relay_backoff_seconds=1, **settings).start()
        made.append((provider, handle))
        return provider, handle

    yield make
    for provider, handle in made:
        handle.close()
        provider.close()


def status(handle: DaemonHandle) -> dict[str, Any]:
    with handle.client() as owner:
        data: dict[str, Any] = owner.get("/v1/relay").json()["relay"]
    return data


def setup_relay(handle: DaemonHandle, provider: Provider) -> None:
    with handle.client() as owner:
        r = owner.put("/v1/relay", json=provider.relay_account())
    assert r.status_code == 200, r.text


def subjects(handle: DaemonHandle, key: str) -> list[str]:
    with handle.client(key) as api:
        return sorted(m["subject"] for m in api.get(
            "/v1/mail/messages", params={"limit": 100}).json()["messages"])


def last_uid(handle: DaemonHandle) -> int | None:
    checkpoint = status(handle)["checkpoint"]
    return int(checkpoint["last_uid"]) if checkpoint else None


def test_first_run_looks_at_the_50_newest_only(fresh: Fresh) -> None:
    provider, handle = fresh()
    created = handle.create_agent("early")
    for i in range(55):
        provider.deliver(f"From: f@example.org\r\nTo: first+early@example.com\r\n"
                         f"Subject: old {i:02d}\r\nMessage-ID: <old{i}@example.org>\r\n\r\n"
                         "x\r\n".encode())
    assert status(handle)["mode"] == "off"
    setup_relay(handle, provider)
    wait_until(lambda: last_uid(handle) == 55, timeout=30, interval=0.1, what="the first sync")
    assert status(handle)["delivered"] == 50
    wait_until(lambda: len(subjects(handle, created["api_key"])) == 50, timeout=30,
               interval=0.2, what="50 messages")
    assert subjects(handle, created["api_key"]) == [f"old {i:02d}" for i in range(5, 55)]


def test_duplicates_and_a_uidvalidity_reset_deliver_nothing_twice(fresh: Fresh) -> None:
    provider, handle = fresh()
    created = handle.create_agent("dup")
    setup_relay(handle, provider)
    wait_until(lambda: status(handle)["mode"] == "idle", timeout=20, what="IDLE")
    with EventStream(handle.api_url, created["api_key"]) as events:
        raw, mid = mail("twice", to="first+dup@example.com")
        provider.deliver(raw)
        provider.deliver(raw)  # the same message again (e.g. To and Cc both the account)
        events.next("message.new", timeout=10, where=new_for(mid))
        one, one_id = mail("marker one", to="first+dup@example.com")
        provider.deliver(one)
        events.next("message.new", timeout=10, where=new_for(one_id))
        validity = status(handle)["checkpoint"]["uidvalidity"]

        provider.stop_imap()
        provider.reset_uidvalidity()
        provider.start_imap()
        wait_until(lambda: (c := status(handle)["checkpoint"])["uidvalidity"] != validity
                   and c["last_uid"] == 3, timeout=60, interval=0.1, what="the rescan")
        two, two_id = mail("marker two", to="first+dup@example.com")
        provider.deliver(two)
        events.next("message.new", timeout=10, where=new_for(two_id))
        again = [e for e in events.drain() if e["type"] == "message.new"]
    assert again == []
    assert subjects(handle, created["api_key"]) == ["marker one", "marker two", "twice"]
    assert status(handle)["delivered"] == 3


def test_a_server_without_idle_is_polled(fresh: Fresh) -> None:
    provider, handle = fresh(idle=False, relay_poll_seconds=1)
    created = handle.create_agent("polled")
    setup_relay(handle, provider)
    wait_until(lambda: status(handle)["mode"] == "poll", timeout=20, what="poll mode")
    with EventStream(handle.api_url, created["api_key"]) as events:
        raw, mid = mail("polled", to="first+polled@example.com")
        provider.deliver(raw)
        events.next("message.new", timeout=15, where=new_for(mid))
    assert status(handle)["connected"]
    with handle.client() as owner:
        assert owner.delete("/v1/relay").status_code == 200
        assert owner.get("/v1/route").json()["route"] is None  # the relay's SMTP went too
    off = status(handle)
    assert not off["configured"] and off["mode"] == "off" and "account" not in off


def test_a_daemon_restart_resumes_after_the_checkpoint(fresh: Fresh) -> None:
    provider, handle = fresh()
    created = handle.create_agent("resume")
    setup_relay(handle, provider)
    with EventStream(handle.api_url, created["api_key"]) as events:
        raw, mid = mail("before the restart", to="first+resume@example.com")
        provider.deliver(raw)
        events.next("message.new", timeout=10, where=new_for(mid))
    handle.stop()
    raw, mid = mail("while the daemon was down", to="first+resume@example.com")
    provider.deliver(raw)
    handle.start()
    with EventStream(handle.api_url, created["api_key"]) as events:
        # no Last-Event-ID: only what happens from now on
        wait_until(lambda: "while the daemon was down" in subjects(handle, created["api_key"]),
                   timeout=30, interval=0.2, what="the message that arrived meanwhile")
        marker, marker_id = mail("marker", to="first+resume@example.com")
        provider.deliver(marker)
        events.next("message.new", timeout=10, where=new_for(marker_id))
    assert subjects(handle, created["api_key"]) == [
        "before the restart", "marker", "while the daemon was down"]
    assert status(handle)["delivered"] == 3
