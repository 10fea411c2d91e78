"""Webhook delivery: event → POST latency with many endpoints, and sustained deliveries/s.

Runs a real daemon (subprocess) on a private Dovecot and a real HTTP receiver on loopback
(``agenticmail_testing.webhook_receiver``, in this process). The owner registers
``--endpoints`` endpoints (one path each) for every event. Then:

- latency: ``--events`` events, one at a time (each an agent created: ``agent.created`` goes to
  every endpoint); for each POST, the time from the event's ``created_at`` to its arrival at
  the receiver: p50/p95/max over all of them;
- throughput: with the receiver down, ``--backlog`` more events are queued (``--endpoints``
  messages each); then the receiver comes up and the queue drains: deliveries per second from
  the first POST after the outage to the last, and the daemon's CPU time per delivery (what
  the rate would be on one free core: the receiver runs on the same machine).

    python -m scripts.bench.webhooks [--endpoints 100] [--events 20] [--backlog 30]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from datetime import datetime
from pathlib import Path

from agenticmail_testing.daemon import wait_until
from agenticmail_testing.process import DaemonProcess
from agenticmail_testing.webhook_receiver import Receiver


def _report(label: str, ms: list[float]) -> None:
    ms = sorted(ms)
    p95 = ms[max(0, int(len(ms) * 0.95) - 1)]
    print(f"{label:<34} n={len(ms):<6} p50={statistics.median(ms):7.1f} ms  "
          f"p95={p95:7.1f} ms  max={ms[-1]:7.1f} ms")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _created(body: bytes) -> float:
    return datetime.fromisoformat(json.loads(body)["created_at"]).timestamp()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoints", type=int, default=100)
    parser.add_argument("--events", type=int, default=20, help="latency samples (x endpoints)")
    parser.add_argument("--backlog", type=int, default=30, help="events queued for throughput")
    args = parser.parse_args()

    proc = DaemonProcess(webhook_retry_seconds=",".join(["1"] * 20),
                         webhook_concurrency=str(max(args.endpoints, 1)))
    receiver = Receiver().up()
    try:
        proc.start()
        with proc.client() as api:
            for n in range(args.endpoints):
                r = api.post("/v1/webhooks", json={"url": f"{receiver.url}/{n}",
                                                   "events": ["agent.created"]})
                r.raise_for_status()
            # latency: one event at a time, fanned out to every endpoint
            started = time.perf_counter()
            for n in range(args.events):
                api.post("/v1/agents", json={"name": f"lat{n}"}).raise_for_status()
                receiver.wait_for((n + 1) * args.endpoints, timeout=120)
            took = time.perf_counter() - started
            samples = [(r.at - _created(r.body)) * 1000 for r in receiver.bodies()]
            print(f"{args.endpoints} endpoints, {args.events} events one at a time "
                  f"({took:.1f} s)")
            _report("event -> webhook POST", samples)
            # throughput: a backlog queued while the receiver is down, then drained
            receiver.down()
            before = len(receiver.bodies())
            for n in range(args.backlog):
                api.post("/v1/agents", json={"name": f"bulk{n}"}).raise_for_status()
            total = args.backlog * args.endpoints
            assert proc.proc is not None
            cpu = _cpu_seconds(proc.proc.pid)
            receiver.up()
            wait_until(lambda: len(receiver.bodies()) >= before + total, 600, interval=0.1,
                       what="the backlog to drain")
            drained = receiver.bodies()[before:]
            span = drained[-1].at - drained[0].at
            cpu = _cpu_seconds(proc.proc.pid) - cpu
            print(f"backlog of {total} messages ({args.backlog} events x {args.endpoints} "
                  f"endpoints) drained in {span:.2f} s: {total / span:.0f} deliveries/s")
            print(f"daemon CPU while draining: {cpu * 1000 / total:.2f} ms per delivery "
                  f"(one core's worth: ~{total / cpu:.0f} deliveries/s); load average "
                  f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
            seen = {(r.path, json.loads(r.body)["id"]) for r in receiver.bodies()}
            print(f"distinct (endpoint, event) pairs received: {len(seen)} of "
                  f"{(args.events + args.backlog) * args.endpoints}")
    finally:
        receiver.down()
        proc.close()


if __name__ == "__main__":
    main()
