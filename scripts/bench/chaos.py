"""Fault injection against a real daemon (subprocess, private Dovecot, a local TLS SMTP sink):
each scenario sends a batch, injects one fault, and reports per scenario: runs,
delivered/expected, duplicates (copies beyond the first; external ones flagged in doubt are
counted apart), lost, failed rows, and the recovery time (fault over -> every row done).

Scenarios: ``sigkill-local``, ``sigkill-external`` (SIGKILL of the daemon mid-batch),
``dovecot`` (Dovecot SIGKILLed mid-batch), ``route-down`` (the SMTP route answers 451 for
``--outage`` seconds, 300 by default), ``hung-route`` (a route that never answers while
local mail flows: local latency), ``disk-full`` (the home on a small tmpfs filled, then
freed; root only), ``corrupt-db`` (start and doctor with a damaged database).

    python -m scripts.bench.chaos [--runs 3] [--batch 100] [--outage 300] [--only dovecot,...]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from imapclient.exceptions import IMAPClientError

from agenticmail.config import load_settings
from agenticmail.hosts import build_host
from agenticmail_testing.disk import fill, small_disk
from agenticmail_testing.mailbox import message_ids
from agenticmail_testing.process import DaemonProcess
from agenticmail_testing.smtp_sink import SmtpSink
from agenticmail_testing.sse import EventStream

RECIPIENTS = 4
RATE = {"rate_per_minute": "100000", "rate_per_hour": "100000", "rate_per_day": "100000"}


@dataclass
class Outcome:
    expected: int = 0
    delivered: int = 0
    duplicates: int = 0  # extra copies nobody was warned of
    in_doubt_duplicates: int = 0  # extra external copies of rows flagged in doubt
    announced_twice: int = 0
    failed: int = 0
    recovery_s: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def lost(self) -> int:
        return self.expected - self.delivered


def wait(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


def outbox(daemon: DaemonProcess) -> list[dict[str, Any]]:
    with daemon.client() as owner:
        rows: list[dict[str, Any]] = owner.get("/v1/mail/outbox",
                                               params={"limit": 10000}).json()["outbox"]
    return rows


def all_done(daemon: DaemonProcess, n: int) -> bool:
    try:
        rows = outbox(daemon)
    except httpx.HTTPError:  # the daemon is restarting
        return False
    return len(rows) >= n and all(r["status"] in ("sent", "failed") for r in rows)


def agents(daemon: DaemonProcess, prefix: str) -> list[dict[str, Any]]:
    with daemon.client() as owner:
        return [owner.post("/v1/agents", json={"name": f"{prefix}{i}"}).json()
                for i in range(RECIPIENTS + 1)]


def send_batch(daemon: DaemonProcess, sender: dict[str, Any], recipients: list[dict[str, Any]],
               n: int, external_every: int = 0, local: bool = True
               ) -> tuple[dict[str, set[str]], set[str]]:
    """Queue ``n`` messages; returns (local recipient -> Message-IDs, external Message-IDs)."""
    to_local: dict[str, set[str]] = collections.defaultdict(set)
    external: set[str] = set()
    with daemon.client(sender["api_key"]) as api:
        for i in range(n):
            rcpt = recipients[i % len(recipients)]["agent"]["address"]
            ext = bool(external_every) and i % external_every == 0
            to = ([rcpt] if local else []) + ([f"far{i}@example.org"] if ext or not local else [])
            r = api.post("/v1/mail/send", json={"to": to, "subject": f"chaos {i}", "text": "x"})
            r.raise_for_status()
            mid = r.json()["message_id"]
            if local:
                to_local[rcpt].add(mid)
            if ext or not local:
                external.add(mid)
    return to_local, external


def count_local(out: Outcome, daemon: DaemonProcess, sender: dict[str, Any],
                recipients: list[dict[str, Any]], to_local: dict[str, set[str]]) -> None:
    for rcpt in recipients:
        wanted = to_local.get(rcpt["agent"]["address"], set())
        if not wanted:
            continue
        inbox = message_ids(rcpt, "INBOX")
        out.expected += len(wanted)
        out.delivered += len(wanted & set(inbox))
        out.duplicates += sum(n - 1 for m, n in inbox.items() if m in wanted)
        news: collections.Counter[str] = collections.Counter()
        with EventStream(daemon.api_url, rcpt["api_key"], last_event_id=0) as stream:
            while not wanted <= set(news):
                news[stream.next("message.new", timeout=60)["data"]["message"]
                     ["message_id"]] += 1
            for event in stream.drain(quiet=0.5):
                if event["type"] == "message.new":
                    news[event["data"]["message"]["message_id"]] += 1
        out.announced_twice += sum(1 for n in news.values() if n > 1)
    sent = message_ids(sender, "Sent")
    extra = sum(n - 1 for n in sent.values())
    if extra:
        out.notes.append(f"{extra} extra Sent copies")


def count_external(out: Outcome, sink: SmtpSink, external: set[str],
                   rows: list[dict[str, Any]]) -> None:
    counts = collections.Counter(r.message_id for r in sink.received if r.message_id in external)
    doubt = {r["message_id"] for r in rows if r["in_doubt"]}
    out.expected += len(external)
    out.delivered += len(set(counts))
    for mid, n in counts.items():
        if n > 1:
            if mid in doubt:
                out.in_doubt_duplicates += n - 1
            else:
                out.duplicates += n - 1


def finish(out: Outcome, daemon: DaemonProcess, n: int, since: float, timeout: float
           ) -> list[dict[str, Any]]:
    wait(lambda: all_done(daemon, n), timeout, "every row to be done")
    out.recovery_s = time.monotonic() - since
    rows = outbox(daemon)
    out.failed = sum(r["status"] == "failed" for r in rows)
    return rows


def sent_copies(agent: dict[str, Any]) -> int:
    """How many messages the agent's Sent folder holds (0 while the mail host is down)."""
    try:
        return sum(message_ids(agent, "Sent").values())
    except (OSError, IMAPClientError):
        return 0


# -- scenarios -----------------------------------------------------------------------------

def sigkill(batch: int, external: bool) -> Outcome:
    out, sink = Outcome(), SmtpSink().start()
    sink.set_script(lambda m: time.sleep(0.02))  # a provider's per-message latency
    daemon = DaemonProcess(**RATE).start()
    try:
        with daemon.client() as owner:
            owner.put("/v1/route", json=sink.route()).raise_for_status()
        team = agents(daemon, "k")
        to_local, ext = send_batch(daemon, team[0], team[1:], batch, local=not external)
        wait(lambda: sum(r["status"] == "sent" for r in outbox(daemon)) >= batch // 10, 60,
             "part of the batch")
        daemon.kill()
        daemon.start()
        rows = finish(out, daemon, batch, time.monotonic(), 300)
        if external:
            count_external(out, sink, ext, rows)
        else:
            count_local(out, daemon, team[0], team[1:], to_local)
    finally:
        daemon.close()
        sink.stop()
    return out


def dovecot(batch: int) -> Outcome:
    out, sink = Outcome(), SmtpSink().start()
    daemon = DaemonProcess(**RATE).start()
    try:
        with daemon.client() as owner:
            owner.put("/v1/route", json=sink.route()).raise_for_status()
        team = agents(daemon, "d")
        to_local, ext = send_batch(daemon, team[0], team[1:], batch, external_every=2)
        wait(lambda: sum(r["status"] == "sent" for r in outbox(daemon)) >= batch // 10, 60,
             "part of the batch")
        host = build_host(load_settings(daemon.home, env=daemon.env))
        pid = int((host.layout.base_dir / "master.pid").read_text().split()[0])  # type: ignore[attr-defined]
        os.kill(pid, signal.SIGKILL)
        killed = time.monotonic()
        rows = finish(out, daemon, batch, killed, 300)
        wait(lambda: sent_copies(team[0]) >= batch, 300, "Sent copies")
        out.recovery_s = time.monotonic() - killed
        count_local(out, daemon, team[0], team[1:], to_local)
        count_external(out, sink, ext, rows)
    finally:
        daemon.close()
        sink.stop()
    return out


def route_down(batch: int, outage: float) -> Outcome:
    out, sink = Outcome(), SmtpSink().start()
    down = {"on": True}
    sink.set_script(lambda m: "451 4.3.0 the route is down" if down["on"] else None)
    daemon = DaemonProcess(**RATE).start()
    try:
        with daemon.client() as owner:
            owner.put("/v1/route", json=sink.route()).raise_for_status()
        team = agents(daemon, "r")
        _, ext = send_batch(daemon, team[0], team[1:], batch, local=False)
        time.sleep(outage)  # the outage itself
        down["on"] = False
        rows = finish(out, daemon, batch, time.monotonic(), 900)
        count_external(out, sink, ext, rows)
        out.notes.append(f"route down {outage:.0f} s")
    finally:
        daemon.close()
        sink.stop()
    return out


def hung_route(batch: int) -> Outcome:
    out = Outcome()
    silent = socket.create_server(("127.0.0.1", 0), backlog=128)
    daemon = DaemonProcess(**RATE).start()
    try:
        with daemon.client() as owner:
            owner.put("/v1/route", json={
                "host": "127.0.0.1", "port": silent.getsockname()[1], "tls": "none",
                "address": "o@example.com", "username": "o@example.com",
                "password": "x"}).raise_for_status()
        team = agents(daemon, "h")
        send_batch(daemon, team[0], team[1:], 8, local=False)  # they hang
        started = time.monotonic()
        to_local, _ = send_batch(daemon, team[0], team[1:], batch)
        wait(lambda: sum(r["status"] == "sent" for r in outbox(daemon)) >= batch, 120,
             "local mail past the hung route")
        out.recovery_s = time.monotonic() - started
        count_local(out, daemon, team[0], team[1:], to_local)
        out.notes.append(f"{batch} local messages in {out.recovery_s:.1f} s behind 8 hung "
                         "external sends")
    finally:
        with daemon.client() as owner:
            owner.delete("/v1/route")
        daemon.close()
        silent.close()
    return out


def disk_full(batch: int) -> Outcome:
    out = Outcome()
    with small_disk() as where:
        if where is None:
            out.notes.append("skipped: needs root and mount")
            return out
        daemon = DaemonProcess(home=where, **RATE)
        try:
            daemon.start()
            team = agents(daemon, "f")
            filler = fill(where)
            codes: collections.Counter[str] = collections.Counter()
            with daemon.client(team[0]["api_key"]) as api:
                for i in range(10):
                    r = api.post("/v1/mail/send", json={"to": [team[1]["agent"]["address"]],
                                                        "subject": f"full {i}", "text": "x"})
                    codes[r.json().get("error", {}).get("code", str(r.status_code))] += 1
            with daemon.client() as owner:
                health = owner.get("/v1/health").json()
            out.notes.append(f"sends while full: {dict(codes)}; health {health['status']}")
            filler.unlink()
            freed = time.monotonic()
            to_local, _ = send_batch(daemon, team[0], team[1:], batch)
            finish(out, daemon, batch, freed, 120)
            count_local(out, daemon, team[0], team[1:], to_local)
        finally:
            daemon.close()
    return out


def corrupt_db() -> Outcome:
    out = Outcome()
    daemon = DaemonProcess()
    try:
        daemon.cli("setup", "--yes", "--no-start", "--mail-host", "local")
        (daemon.home / "agenticmail.db").write_bytes(b"not a database" * 100)
        for command in (["start"], ["doctor"]):
            result = subprocess.run([sys.executable, "-m", "agenticmail", *command],
                                    env=daemon.env, capture_output=True, text=True, timeout=60)
            text = result.stdout + result.stderr
            first = next((line for line in result.stderr.splitlines() if line.strip()), "")
            out.notes.append(f"{command[0]}: exit {result.returncode}, "
                             f"{'TRACEBACK' if 'Traceback' in text else 'no traceback'}: "
                             f"{first[:100]}")
    finally:
        daemon.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--outage", type=float, default=300.0)
    parser.add_argument("--only", default="", metavar="NAME,…",
                        help="scenarios to run (default: all): sigkill-local, sigkill-external, "
                             "dovecot, route-down, hung-route, disk-full, corrupt-db")
    args = parser.parse_args()
    scenarios: dict[str, Callable[[], Outcome]] = {
        "sigkill-local": lambda: sigkill(args.batch, external=False),
        "sigkill-external": lambda: sigkill(args.batch, external=True),
        "dovecot": lambda: dovecot(args.batch),
        "route-down": lambda: route_down(args.batch, args.outage),
        "hung-route": lambda: hung_route(args.batch),
        "disk-full": lambda: disk_full(args.batch),
        "corrupt-db": corrupt_db,
    }
    chosen = [s for s in args.only.split(",") if s] or list(scenarios)
    unknown = [s for s in chosen if s not in scenarios]
    if unknown:
        parser.error(f"no scenario named {', '.join(unknown)}; choose from {', '.join(scenarios)}")
    for name in chosen:
        results = [scenarios[name]() for _ in range(args.runs)]
        summary = {
            "scenario": name, "runs": len(results),
            "delivered/expected": f"{sum(r.delivered for r in results)}/"
                                  f"{sum(r.expected for r in results)}",
            "duplicates": sum(r.duplicates for r in results),
            "in_doubt_duplicates": sum(r.in_doubt_duplicates for r in results),
            "announced_twice": sum(r.announced_twice for r in results),
            "lost": sum(r.lost for r in results),
            "failed": sum(r.failed for r in results),
            "recovery_s": [round(r.recovery_s, 1) for r in results],
            "notes": [n for r in results for n in r.notes],
        }
        print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
