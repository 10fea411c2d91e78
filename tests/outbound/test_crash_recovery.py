"""SIGKILL the daemon while 200 sends are in flight; after a restart every message is
delivered, each exactly once except those whose SMTP transaction the kill cut off.

A server that has the whole message accepts it even if the client dies before reading the
250 (RFC 5321 §6.1): the sender cannot know, so it sends those again and flags them in doubt.
The sink here takes 20 ms per message, like a real provider, so that window is real."""

from __future__ import annotations

import collections
import time
from collections.abc import Iterator

import pytest

from agenticmail_testing.daemon import wait_until
from agenticmail_testing.process import DaemonProcess
from agenticmail_testing.smtp_sink import SmtpSink

BATCH = 200


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    server = SmtpSink().start()
    yield server
    server.stop()


def _slow_server(message: object) -> None:
    time.sleep(0.02)  # a provider's per-message latency keeps sends in flight at the kill


def test_sigkill_mid_batch_delivers_every_message_exactly_once(sink: SmtpSink) -> None:
    sink.set_script(_slow_server)
    daemon = DaemonProcess(rate_per_minute="1000", rate_per_hour="1000").start()
    try:
        with daemon.client() as owner:
            assert owner.put("/v1/route", json=sink.route()).status_code == 200
            key = owner.post("/v1/agents", json={"name": "bulk"}).json()["api_key"]
        accepted: list[str] = []
        with daemon.client(key) as api:
            for i in range(BATCH):
                r = api.post("/v1/mail/send", json={"to": [f"r{i}@example.org"],
                                                    "subject": f"batch {i}", "text": "x"})
                assert r.status_code == 202, r.text
                accepted.append(r.json()["message_id"])
        # crash while the sender is part-way through the batch
        sink.wait_for(lambda rs: len(rs) >= 20, timeout=60)
        daemon.kill()
        delivered_before = len(sink.received)
        assert delivered_before < BATCH, "the batch finished before the kill; nothing tested"

        daemon.start()
        wanted = set(accepted)
        sink.wait_for(lambda rs: wanted <= {r.message_id for r in rs}, timeout=120)
        rows: list[dict] = []
        with daemon.client() as owner:
            def all_sent() -> bool:
                rows[:] = owner.get("/v1/mail/outbox", params={"limit": 1000}).json()["outbox"]
                return len(rows) == BATCH and {r["status"] for r in rows} == {"sent"}

            wait_until(all_sent, timeout=60, interval=0.2, what="every outbox row to be sent")
    finally:
        daemon.close()
    counts = collections.Counter(r.message_id for r in sink.received)
    assert set(counts) == wanted
    duplicates = {mid for mid, n in counts.items() if n > 1}
    in_doubt = {r["message_id"] for r in rows if r["in_doubt"]}
    assert max(counts.values()) <= 2
    assert duplicates <= in_doubt, "a message was sent twice without being in doubt"
    assert len(in_doubt) <= 4  # at most the sender's concurrency was mid-transaction
