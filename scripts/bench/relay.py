"""Relay latency: from a message reaching the relay account's INBOX to the agent's
``message.new`` event, p50/p95 over N messages, next to what 30-second polling gives.

Runs a real daemon in-process and a stand-in provider (Dovecot over IMAPS with a trustme
certificate, SMTP sink). Each message is delivered into the relay INBOX by LMTP (the provider's
MX); the clock starts when LMTP confirms it is stored and stops when the agent's event stream
shows it. Messages are sent one at a time.

    python -m scripts.bench.relay [--messages 50]
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid

from agenticmail_testing.daemon import DaemonHandle
from agenticmail_testing.relay_provider import Provider
from agenticmail_testing.sse import EventStream

POLL_SECONDS = 30.0


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=50)
    args = parser.parse_args()
    provider = Provider("bench@example.com").start()
    handle = DaemonHandle().start()
    try:
        agent = handle.create_agent("bench")
        with handle.client() as owner:
            owner.put("/v1/relay", json=provider.relay_account()).raise_for_status()
            mode = owner.get("/v1/relay").json()["relay"]["mode"]
        deadline = time.monotonic() + 20
        while mode != "idle" and time.monotonic() < deadline:
            with handle.client() as owner:
                mode = owner.get("/v1/relay").json()["relay"]["mode"]
        samples: list[float] = []
        with EventStream(handle.api_url, agent["api_key"]) as events:
            for i in range(args.messages):
                mid = f"<{uuid.uuid4().hex}@example.org>"
                raw = (f"From: f@example.org\r\nTo: bench+bench@example.com\r\n"
                       f"Subject: bench {i}\r\nMessage-ID: {mid}\r\n\r\nping\r\n").encode()
                provider.deliver(raw)
                arrived = time.perf_counter()
                events.next("message.new", timeout=30,
                            where=lambda e, m=mid: e["data"]["message"]["message_id"] == m)
                samples.append(time.perf_counter() - arrived)
    finally:
        handle.close()
        provider.close()
    p50, p95 = pct(samples, 0.50), pct(samples, 0.95)
    print(f"relay mode: {mode}; {len(samples)} messages, one at a time")
    print(f"IDLE   relay INBOX -> message.new: p50 {p50 * 1000:7.0f} ms   p95 "
          f"{p95 * 1000:7.0f} ms   (mean {statistics.mean(samples) * 1000:.0f} ms, "
          f"max {max(samples) * 1000:.0f} ms)")
    # a poll every P seconds finds a message after a uniform wait in [0, P), plus the same
    # fetch/deliver/ingest work measured above
    print(f"30 s polling (expected):            p50 {(POLL_SECONDS * 0.50 + p50) * 1000:7.0f} ms"
          f"   p95 {(POLL_SECONDS * 0.95 + p50) * 1000:7.0f} ms")


if __name__ == "__main__":
    main()
