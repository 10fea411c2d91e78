"""Outbox throughput: accept latency of ``POST /v1/mail/send`` and sustained sends per second.

Runs a real daemon (subprocess) with an outbound route to a local TLS SMTP sink, then
1. accept latency: p50/p99 of N sequential POSTs (each answered 202 once durable), and the
   accept rate with ``--clients`` concurrent clients (N more POSTs);
2. sustained rate: N messages accepted as fast as the client can, timed until the sink has
   them all (external, over TLS with AUTH), and the same for local agent-to-agent delivery;
3. the accept path alone: the same two measurements with sends scheduled a year ahead, so
   nothing is delivered meanwhile (the daemon's CPU per accept is then the accept's own);
4. sustained accepts: ``--sustained`` sends from ``--clients`` clients, scheduled (the accept
   path alone) and then due at once (the sender delivering them meanwhile), each with its
   rate overall and in its slowest and median whole second.

    python -m scripts.bench.outbox [--messages 500] [--clients 8] [--sustained 5000]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import time
import warnings
from concurrent.futures import ThreadPoolExecutor

from agenticmail_testing.process import DaemonProcess
from agenticmail_testing.smtp_sink import SmtpSink
from scripts.bench.latency import cpu_seconds


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def per_second(answered: list[tuple[int, float]]) -> str:
    """The rate of answers overall, and while every client was still sending (until the
    first finished its share: after that fewer clients are left) with the slowest and the
    median whole second of that stretch. ``answered``: (client, seconds from the start)."""
    times = sorted(t for _, t in answered)
    steady = min(max(t for c, t in answered if c == client) for client, _ in answered)
    whole = max(1, int(steady))
    counts = [0] * whole
    for t in times:
        if t < whole:
            counts[int(t)] += 1
    rate = sum(t < steady for t in times) / steady
    return (f"{len(times)} accepted in {times[-1]:.2f} s ({len(times) / times[-1]:.0f}/s); "
            f"while all clients sent ({steady:.1f} s): {rate:.0f}/s, whole seconds: slowest "
            f"{min(counts)}, median {statistics.median(counts):.0f}")


def settle(pid: int, timeout: float = 300.0) -> None:
    """Wait (up to ``timeout``) until the daemon is idle: under 2 % of a CPU for half a
    second (the background work of earlier phases done)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = cpu_seconds(pid)
        time.sleep(0.5)
        if cpu_seconds(pid) - before < 0.01:
            return


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--sustained", type=int, default=5000)
    args = parser.parse_args()
    n = args.messages
    # the sink (in this process) would warn on every connection: noise, and CPU taken from
    # the clients being measured
    warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    sink = SmtpSink().start()
    big = str(10 * max(n, args.sustained))
    daemon = DaemonProcess(rate_per_minute=big, rate_per_hour=big, rate_per_day=big).start()
    try:
        with daemon.client() as owner:
            owner.put("/v1/route", json=sink.route()).raise_for_status()
            key = owner.post("/v1/agents", json={"name": "bench"}).json()["api_key"]
            owner.post("/v1/agents", json={"name": "peer"}).raise_for_status()
        assert daemon.proc is not None
        with daemon.client(key) as api:
            pid = daemon.proc.pid

            def sequential(prefix: str, **extra: str) -> tuple[list[float], float, float]:
                """N sends one after another: latencies, seconds, daemon CPU seconds."""
                latencies = []
                cpu0 = cpu_seconds(pid)
                start = time.perf_counter()
                for i in range(n):
                    t0 = time.perf_counter()
                    r = api.post("/v1/mail/send", json={"to": [f"{prefix}{i}@example.org"],
                                                        "subject": f"{prefix} {i}",
                                                        "text": "hello", **extra})
                    latencies.append(time.perf_counter() - t0)
                    assert r.status_code == 202, r.text
                # CPU is robust on a busy machine, unlike rates
                return latencies, time.perf_counter() - start, cpu_seconds(pid) - cpu0

            def concurrently(prefix: str, **extra: str) -> float:
                """N sends from ``--clients`` clients at once: seconds."""
                return max(t for _, t in timed_burst(prefix, n, **extra))

            def timed_burst(prefix: str, count: int, **extra: str) -> list[tuple[int, float]]:
                """``count`` sends from ``--clients`` clients at once: when each was
                answered, in seconds from the start, by which client."""
                start = time.perf_counter()
                answered: list[tuple[int, float]] = []

                def burst(c: int) -> None:
                    with daemon.client(key) as own:
                        for i in range(c, count, args.clients):
                            r = own.post("/v1/mail/send", json={
                                "to": [f"{prefix}{i}@example.org"],
                                "subject": f"{prefix} {i}", "text": "hello", **extra})
                            assert r.status_code == 202, r.text
                            answered.append((c, time.perf_counter() - start))

                with ThreadPoolExecutor(args.clients) as pool:
                    list(pool.map(burst, range(args.clients)))
                return answered

            start = time.perf_counter()
            latencies, accepted, cpu = sequential("ext")
            sink.wait_for(lambda rs: len(rs) >= n, timeout=600)
            external = time.perf_counter() - start
            concurrent = concurrently("burst")
            sink.wait_for(lambda rs: len(rs) >= 2 * n, timeout=600)
            later = {"send_at": f"{time.gmtime().tm_year + 1}-01-01T00:00:00Z"}
            settle(pid)  # the Sent copies of the sends above are still being embedded
            alone, alone_seconds, alone_cpu = sequential("sched", **later)
            alone_concurrent = concurrently("schedc", **later)

            def sent_count() -> int:
                rows = api.get("/v1/mail/outbox", params={"status": "sent",
                                                          "limit": 1000}).json()["outbox"]
                return sum(1 for r in rows if r["subject"].startswith("loc "))

            start = time.perf_counter()
            for i in range(n):
                api.post("/v1/mail/send", json={"to": ["peer@localhost"],
                                                "subject": f"loc {i}", "text": "hello"})
            deadline = time.monotonic() + 600
            while sent_count() < min(n, 1000) and time.monotonic() < deadline:
                time.sleep(0.2)
            local = time.perf_counter() - start
            settle(pid)
            sustained = {"scheduled": timed_burst("sus", args.sustained, **later),
                         "delivered meanwhile": timed_burst("sud", args.sustained)}

        ms = [x * 1000 for x in latencies]
        print(f"POST /v1/mail/send accept latency (n={n}, sequential): "
              f"p50={statistics.median(ms):.1f} ms  p99={pct(ms, 0.99):.1f} ms  "
              f"max={max(ms):.1f} ms")
        print(f"daemon CPU while accepting them: {cpu / n * 1000:.2f} ms per accept (the "
              f"sender delivering meanwhile included)")
        print(f"accepted {n} in {accepted:.2f} s ({n / accepted:.0f}/s) one client; "
              f"{n} in {concurrent:.2f} s ({n / concurrent:.0f}/s) with {args.clients} "
              f"concurrent clients")
        ms = [x * 1000 for x in alone]
        print(f"accept path alone (scheduled a year ahead, nothing delivered meanwhile): "
              f"p50={statistics.median(ms):.1f} ms  p99={pct(ms, 0.99):.1f} ms; daemon CPU "
              f"{alone_cpu / n * 1000:.2f} ms per accept; {n / alone_seconds:.0f}/s one "
              f"client, {n / alone_concurrent:.0f}/s with {args.clients} concurrent clients")
        print(f"external (SMTP route, implicit TLS + AUTH, new connection per message): "
              f"{n} delivered in {external:.2f} s = {n / external:.1f} msg/s")
        print(f"local (LMTP into an agent mailbox + Sent copy): {n} delivered in "
              f"{local:.2f} s = {n / local:.1f} msg/s")
        for label, answered in sustained.items():
            print(f"sustained, {label}: {per_second(answered)}")
    finally:
        daemon.close()
        sink.stop()


if __name__ == "__main__":
    main()
