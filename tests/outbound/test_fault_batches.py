"""Faults in the middle of a batch of sends (issue 17): the daemon SIGKILLed during local
delivery, and Dovecot killed while local and external mail flows. Afterwards every message
has reached every recipient exactly once, each sender has one Sent copy of it, no recipient
was told of a Message-ID twice, and nothing failed."""

from __future__ import annotations

import collections
import os
import signal
from collections.abc import Iterator
from typing import Any

import pytest

from agenticmail.processes import pid_alive
from agenticmail_testing.daemon import DaemonHandle, unique, wait_until
from agenticmail_testing.mailbox import message_ids
from agenticmail_testing.process import DaemonProcess
from agenticmail_testing.smtp_sink import SmtpSink
from agenticmail_testing.sse import EventStream

RECIPIENTS = 4


def announced(api_url: str, agent: dict[str, Any], expected: set[str]) -> collections.Counter[str]:
    """Every ``message.new`` the agent was ever sent (replayed from the start), by Message-ID,
    once all of ``expected`` are among them."""
    seen: collections.Counter[str] = collections.Counter()
    with EventStream(api_url, agent["api_key"], last_event_id=0) as stream:
        while not expected <= set(seen):
            event = stream.next("message.new", timeout=60)
            seen[event["data"]["message"]["message_id"]] += 1
        for event in stream.drain():
            if event["type"] == "message.new":
                seen[event["data"]["message"]["message_id"]] += 1
    return seen


def assert_exactly_once(api_url: str, sender: dict[str, Any], recipients: list[dict[str, Any]],
                        sent_to: dict[str, set[str]]) -> None:
    for rcpt in recipients:
        wanted = sent_to[rcpt["agent"]["address"]]
        inbox = message_ids(rcpt, "INBOX")
        assert set(inbox) == wanted
        assert max(inbox.values()) == 1, "a recipient got a message twice"
        news = announced(api_url, rcpt, wanted)
        assert max(news.values()) == 1, "a recipient was told of one Message-ID twice"
    sent = message_ids(sender, "Sent")
    assert set(sent) == set().union(*sent_to.values())
    assert max(sent.values()) == 1, "a second Sent copy"


def _outbox(client: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = client.get("/v1/mail/outbox",
                                            params={"limit": 1000}).json()["outbox"]
    return rows


def test_sigkill_mid_local_batch_delivers_each_message_once() -> None:
    batch = 160
    daemon = DaemonProcess(rate_per_minute="1000", rate_per_hour="1000").start()
    try:
        with daemon.client() as owner:
            agents = [owner.post("/v1/agents", json={"name": unique(f"k{i}")}).json()
                      for i in range(RECIPIENTS + 1)]
        sender, recipients = agents[0], agents[1:]
        sent_to: dict[str, set[str]] = collections.defaultdict(set)
        with daemon.client(sender["api_key"]) as api:
            for i in range(batch):
                to = recipients[i % RECIPIENTS]["agent"]["address"]
                r = api.post("/v1/mail/send", json={"to": [to], "subject": f"local {i}",
                                                    "text": "x"})
                assert r.status_code == 202, r.text
                sent_to[to].add(r.json()["message_id"])
            wait_until(lambda: sum(r["status"] == "sent" for r in _outbox(api)) >= 10,
                       timeout=60, interval=0.01, what="part of the batch to be delivered")
        daemon.kill()
        daemon.start()
        with daemon.client() as owner:
            rows: list[dict[str, Any]] = []

            def all_sent() -> bool:
                rows[:] = _outbox(owner)
                return len(rows) == batch and {r["status"] for r in rows} == {"sent"}

            wait_until(all_sent, timeout=120, interval=0.2, what="every row to be sent")
        assert_exactly_once(daemon.api_url, sender, recipients, sent_to)
    finally:
        daemon.close()


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    server = SmtpSink().start()
    yield server
    server.stop()


def test_dovecot_killed_during_a_batch_fails_nothing_and_duplicates_nothing(
        sink: SmtpSink) -> None:
    batch = 80
    handle = DaemonHandle(rate_per_minute=1000, rate_per_hour=1000,
                          send_backoff_max_seconds=2).start()
    try:
        with handle.client() as owner:
            assert owner.put("/v1/route", json=sink.route()).status_code == 200
        agents = [handle.create_agent(unique(f"d{i}")) for i in range(RECIPIENTS + 1)]
        sender, recipients = agents[0], agents[1:]
        sent_to: dict[str, set[str]] = collections.defaultdict(set)
        external: set[str] = set()
        with handle.client(sender["api_key"]) as api:
            for i in range(batch):
                local = recipients[i % RECIPIENTS]["agent"]["address"]
                to = [local] + ([f"far{i}@example.org"] if i % 2 else [])
                r = api.post("/v1/mail/send", json={"to": to, "subject": f"mixed {i}",
                                                    "text": "x"})
                assert r.status_code == 202, r.text
                sent_to[local].add(r.json()["message_id"])
                if i % 2:
                    external.add(r.json()["message_id"])
            wait_until(lambda: sum(r["status"] == "sent" for r in _outbox(api)) >= 5,
                       timeout=60, interval=0.01, what="part of the batch to be delivered")
            assert handle.daemon is not None
            pid = handle.daemon.ctx.host.pid  # type: ignore[attr-defined]
            os.kill(pid, signal.SIGKILL)
            wait_until(lambda: not pid_alive(pid), timeout=10, what="Dovecot to die")

            rows: list[dict[str, Any]] = []

            def all_done() -> bool:
                rows[:] = _outbox(api)
                return len(rows) == batch and all(r["status"] in ("sent", "failed")
                                                  for r in rows)

            wait_until(all_done, timeout=180, interval=0.2, what="every row to finish")
        assert [r["last_error"] for r in rows if r["status"] == "failed"] == []

        def all_filed() -> bool:
            try:
                return sum(message_ids(sender, "Sent").values()) >= batch
            except OSError:  # the supervisor is still bringing the mail host back
                return False

        wait_until(all_filed, timeout=90, interval=0.5,
                   what="the Sent copies retried on their own")
        assert_exactly_once(handle.api_url, sender, recipients, sent_to)
        counts = collections.Counter(r.message_id for r in sink.received)
        assert set(counts) == external
        in_doubt = {r["message_id"] for r in rows if r["in_doubt"]}
        assert {m for m, n in counts.items() if n > 1} <= in_doubt
    finally:
        handle.close()
