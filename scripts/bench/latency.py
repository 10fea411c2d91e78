"""Submit → ``message.new`` latency on the local mail host, and daemon RSS with many agents.

Runs a real daemon (subprocess) on a private Dovecot. Prints p50/p95/max over N sequential
sends through ``POST /v1/mail/send`` and through SMTP submission, then the daemon's RSS with
``--agents`` agents all watched by IDLE.

    python -m scripts.bench.latency [--messages 200] [--agents 100]
"""

from __future__ import annotations

import argparse
import json
import smtplib
import statistics
import threading
import time
from email.message import EmailMessage

import httpx

from agenticmail_testing.process import DaemonProcess


class Arrivals:
    """Reads the SSE stream and records when each subject's message.new arrived."""

    def __init__(self, api_url: str, key: str) -> None:
        self.seen: dict[str, float] = {}
        self.cond = threading.Condition()
        self.ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(api_url, key), daemon=True)
        self._thread.start()
        self.ready.wait(10)

    def _run(self, api_url: str, key: str) -> None:
        with httpx.Client(timeout=None) as client, client.stream(
                "GET", f"{api_url}/v1/events", headers={"Authorization": f"Bearer {key}"}) as r:
            event = ""
            for line in r.iter_lines():
                if line.startswith("event:"):
                    event = line[6:].strip()
                    if event == "ready":
                        self.ready.set()
                elif line.startswith("data:") and event == "message.new":
                    subject = json.loads(line[5:])["data"]["message"]["subject"]
                    with self.cond:
                        self.seen[subject] = time.perf_counter()
                        self.cond.notify_all()

    def wait_for(self, subject: str, timeout: float = 30) -> float:
        with self.cond:
            if not self.cond.wait_for(lambda: subject in self.seen, timeout):
                raise TimeoutError(subject)
            return self.seen[subject]


def _report(label: str, samples: list[float]) -> None:
    ms = sorted(s * 1000 for s in samples)
    p95 = ms[max(0, int(len(ms) * 0.95) - 1)]
    print(f"{label:<28} n={len(ms):<4} p50={statistics.median(ms):7.1f} ms  "
          f"p95={p95:7.1f} ms  max={ms[-1]:7.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--agents", type=int, default=100)
    args = parser.parse_args()

    big = str(10 * args.messages)  # the default per-agent rate limits would throttle this
    daemon = DaemonProcess(rate_per_minute=big, rate_per_hour=big, rate_per_day=big).start()
    try:
        with daemon.client() as owner:
            alice = owner.post("/v1/agents", json={"name": "alice"}).json()
            bob = owner.post("/v1/agents", json={"name": "bob"}).json()
        arrivals = Arrivals(daemon.api_url, bob["api_key"])
        api_lat: list[float] = []
        with daemon.client(alice["api_key"]) as api:
            for i in range(args.messages):
                subject = f"api {i}"
                t0 = time.perf_counter()
                api.post("/v1/mail/send", json={"to": "bob@localhost", "subject": subject,
                                                "text": "x"}).raise_for_status()
                api_lat.append(arrivals.wait_for(subject) - t0)
        smtp_lat: list[float] = []
        creds = alice["mail"]
        with smtplib.SMTP(creds["smtp_host"], creds["smtp_port"]) as smtp:
            smtp.login(creds["username"], creds["password"])
            for i in range(max(1, args.messages // 4)):
                msg = EmailMessage()
                msg["From"], msg["To"], msg["Subject"] = creds["username"], "bob@localhost", \
                    f"smtp {i}"
                msg.set_content("x")
                t0 = time.perf_counter()
                smtp.send_message(msg)
                smtp_lat.append(arrivals.wait_for(f"smtp {i}") - t0)
        print(f"submit -> message.new on the SSE stream (local host, Dovecot "
              f"{'IDLE'}; sequential sends)")
        _report("POST /v1/mail/send", api_lat)
        _report("SMTP submission", smtp_lat)

        rss_2 = daemon.rss_kib()
        t0 = time.perf_counter()
        with daemon.client() as owner:
            for i in range(args.agents - 2):
                owner.post("/v1/agents", json={"name": f"agent{i:03d}"}).raise_for_status()
        created = time.perf_counter() - t0
        deadline = time.monotonic() + 60
        connected = 0
        while time.monotonic() < deadline:
            with daemon.client() as owner:  # the watchers are shown to the master key only
                health = owner.get("/v1/health").json()
            connected = sum(1 for w in health["watchers"].values() if w["connected"])
            if connected >= args.agents:
                break
            time.sleep(0.2)
        print(f"created {args.agents - 2} agents in {created:.1f} s "
              f"({created / max(1, args.agents - 2) * 1000:.0f} ms each); "
              f"{connected} watchers connected")
        print(f"daemon RSS: {rss_2 / 1024:.1f} MiB with 2 agents, "
              f"{daemon.rss_kib() / 1024:.1f} MiB with {args.agents} agents watched")
    finally:
        daemon.close()


if __name__ == "__main__":
    main()
