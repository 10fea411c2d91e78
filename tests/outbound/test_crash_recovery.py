"""SIGKILL the daemon while 200 sends are in flight; after a restart each is delivered once."""

from __future__ import annotations

import collections
from collections.abc import Iterator

import pytest

from tests.support.daemon import wait_until
from tests.support.process import DaemonProcess
from tests.support.smtp_sink import SmtpSink

BATCH = 200


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    server = SmtpSink().start()
    yield server
    server.stop()


def test_sigkill_mid_batch_delivers_every_message_exactly_once(sink: SmtpSink) -> None:
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
        with daemon.client() as owner:
            def all_sent() -> bool:
                rows = owner.get("/v1/mail/outbox", params={"limit": 1000}).json()["outbox"]
                return len(rows) == BATCH and {r["status"] for r in rows} == {"sent"}

            wait_until(all_sent, timeout=60, interval=0.2, what="every outbox row to be sent")
    finally:
        daemon.close()
    counts = collections.Counter(r.message_id for r in sink.received)
    assert set(counts) == wanted
    duplicates = {mid: n for mid, n in counts.items() if n > 1}
    assert duplicates == {}, f"{len(duplicates)} delivered twice"
