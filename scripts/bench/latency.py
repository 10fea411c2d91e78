"""Arrival → ``message.new`` latency on the local mail host, and memory with many agents.

Runs a real daemon (subprocess) on a private Dovecot. Prints p50/p95/max over N sequential
messages on every path into an agent's INBOX: ``POST /v1/mail/send`` and SMTP submission (the
daemon delivers by LMTP and wakes the watcher), a mail client's IMAP APPEND and an LMTP
delivery by another process (relay-style: Dovecot's push notification wakes the watcher).
Then it creates ``--agents`` agents, all watched by IDLE, and prints the time that took, the
RSS of the daemon and of Dovecot's processes (summed), and the API-send latency again.

    python -m scripts.bench.latency [--messages 200] [--agents 100]
"""

from __future__ import annotations

import argparse
import json
import os
import smtplib
import statistics
import threading
import time
from email.message import EmailMessage
from pathlib import Path

import httpx
from imapclient import IMAPClient

from agenticmail.config import load_settings
from agenticmail.hosts import build_host
from agenticmail.hosts.local import LocalHost
from agenticmail.mail.delivery import deliver_lmtp
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


def _memory_kib(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of a process: PSS shares each shared page among the processes mapping it."""
    rss = pss = 0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Rss:"):
                rss = int(line.split()[1])
            elif line.startswith("Pss:"):
                pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


def dovecot_memory_kib(master: int) -> tuple[int, int, int]:
    """(summed RSS, summed PSS, process count) of the Dovecot master ``master`` and its
    children."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                ppid = int(Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    rss = pss = count = 0
    todo = [master]
    while todo:
        pid = todo.pop()
        r, p = _memory_kib(pid)
        rss, pss, count = rss + r, pss + p, count + 1
        todo += children.get(pid, [])
    return rss, pss, count


def imap_processes(master: int) -> int:
    """How many ``imap`` (session) processes the Dovecot master ``master`` runs."""
    count = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(entry.path, "stat").read_text()
            except OSError:
                continue
            name, rest = stat.split("(", 1)[1].rsplit(")", 1)
            count += name == "imap" and int(rest.split()[1]) == master
    return count


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def send_api(api: httpx.Client, to: str, subject: str) -> None:
    api.post("/v1/mail/send", json={"to": to, "subject": subject,
                                    "text": "x"}).raise_for_status()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--agents", type=int, default=100)
    parser.add_argument("--settle", type=float, default=60,
                        help="seconds to wait, at most, for quiet watchers to park")
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
        append_lat: list[float] = []
        imap = IMAPClient(creds["imap_host"], port=creds["imap_port"], ssl=False)
        imap.login(bob["mail"]["username"], bob["mail"]["password"])
        for i in range(max(1, args.messages // 4)):
            raw = (f"From: someone@example.org\r\nTo: bob@localhost\r\n"
                   f"Subject: append {i}\r\n\r\nx\r\n").encode()
            t0 = time.perf_counter()
            imap.append("INBOX", raw)
            append_lat.append(arrivals.wait_for(f"append {i}") - t0)
        imap.logout()
        lmtp_lat: list[float] = []
        socket_path = build_host(load_settings(daemon.home, env=daemon.env)).endpoints()
        for i in range(max(1, args.messages // 4)):
            raw = (f"From: someone@example.org\r\nTo: bob@localhost\r\n"
                   f"Subject: lmtp {i}\r\n\r\nx\r\n").encode()
            t0 = time.perf_counter()
            deliver_lmtp(socket_path.delivery_host, socket_path.delivery_port,
                         "someone@example.org", ["bob@localhost"], raw)
            lmtp_lat.append(arrivals.wait_for(f"lmtp {i}") - t0)
        print("arrival -> message.new on the SSE stream (local host; sequential)")
        _report("POST /v1/mail/send", api_lat)
        _report("SMTP submission", smtp_lat)
        _report("IMAP APPEND (a client)", append_lat)
        _report("LMTP by another process", lmtp_lat)

        host = build_host(load_settings(daemon.home, env=daemon.env))
        assert isinstance(host, LocalHost)
        master = int((host.layout.base_dir / "master.pid").read_text().split()[0])
        rss_2, (dovecot_2, dovecot_pss_2, _) = daemon.rss_kib(), dovecot_memory_kib(master)
        t0 = time.perf_counter()
        with daemon.client() as owner:
            for i in range(args.agents - 2):
                owner.post("/v1/agents", json={"name": f"agent{i:03d}"}).raise_for_status()
        created = time.perf_counter() - t0
        deadline = time.monotonic() + 60 + args.agents / 5
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
        # with a host that pushes, quiet watchers park (close their IMAP sessions) after
        # watch_linger_seconds and Dovecot ends processes left without sessions (idle_kill):
        # measure that steady state, as a laptop with 1000 mostly quiet agents would run
        settle = time.monotonic()
        parked = 0
        while time.monotonic() < settle + args.settle:
            with daemon.client() as owner:
                watchers = owner.get("/v1/health").json()["watchers"]
            parked = sum(1 for w in watchers.values() if w.get("parked"))
            if parked >= args.agents and imap_processes(master) == 0:
                break
            time.sleep(0.5)
        print(f"{parked} watchers parked, {imap_processes(master)} imap processes left "
              f"{time.monotonic() - settle:.0f} s later")
        dovecot_n, dovecot_pss_n, procs = dovecot_memory_kib(master)
        assert daemon.proc is not None
        cpu0, t0 = cpu_seconds(daemon.proc.pid), time.monotonic()
        time.sleep(5)  # measuring the idle daemon, not synchronising
        idle_cpu = (cpu_seconds(daemon.proc.pid) - cpu0) / (time.monotonic() - t0) * 100
        daemon_n = daemon.rss_kib()
        print(f"daemon RSS: {rss_2 / 1024:.1f} MiB with 2 agents, "
              f"{daemon_n / 1024:.1f} MiB with {args.agents} agents watched")
        print(f"daemon CPU while idle with {args.agents} watched: {idle_cpu:.1f}% of a core")
        print(f"Dovecot, summed over its processes: RSS {dovecot_2 / 1024:.1f} MiB "
              f"(PSS {dovecot_pss_2 / 1024:.1f}) with 2 agents; RSS {dovecot_n / 1024:.1f} MiB "
              f"(PSS {dovecot_pss_n / 1024:.1f}) in {procs} processes with {args.agents} watched")
        print(f"together with {args.agents} watched: daemon RSS + Dovecot PSS = "
              f"{(daemon_n + dovecot_pss_n) / 1024:.1f} MiB (+ Dovecot RSS: "
              f"{(daemon_n + dovecot_n) / 1024:.1f} MiB)")
        many_lat: list[float] = []
        with daemon.client(alice["api_key"]) as api:
            for i in range(max(1, args.messages // 4)):
                t0 = time.perf_counter()
                send_api(api, "bob@localhost", f"many {i}")
                many_lat.append(arrivals.wait_for(f"many {i}") - t0)
        _report(f"API send, {args.agents} watched", many_lat)
    finally:
        daemon.close()


if __name__ == "__main__":
    main()
