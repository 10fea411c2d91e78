"""Messages per second side by side, in one invocation, on the same message set: agenticmail's
scorer (in process, and ``agenticmail filter score DIR`` as a user runs it), rspamd (a private
``rspamd`` scanned with ``rspamc``, :mod:`.rspamd`) and SpamAssassin (a private ``spamd``
queried with ``spamc``, :mod:`.spamassassin`). A tool that is not installed is skipped with a
line saying so; the numbers are wall-clock rates on this machine, printed, never asserted.

The set is written to a temporary directory as ``.eml`` files, so every tool reads the same
bytes from the same disk. agenticmail's CLI runs with one process (``-j 1``) and with one
worker per CPU (its default); rspamd with one scanner process and with one per CPU (its
default); spamd with two children.

Two rates per tool: wall clock, and messages per CPU-second of the scanning processes
(agenticmail's process and its workers; rspamd's and spamd's process trees, read from ``/proc``; the
clients ``rspamc``/``spamc`` not counted). On a shared, busy machine the wall-clock rates
follow the load of the moment; the CPU rates compare the filters' own cost.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from agenticmail.cli.eml_files import auto_jobs
from agenticmail.security import score
from scripts.eval import rspamd
from scripts.eval.spamassassin import SpamAssassin


def _rate(n: int, seconds: float) -> str:
    return f"{n / seconds:.0f}" if seconds > 0 else "inf"


def _row(tool: str, how: str, n: int, seconds: float, cpu: float) -> None:
    print(f"| {tool} | {how} | {n} | {seconds:.2f} | {_rate(n, seconds)} | {cpu:.2f} | "
          f"{_rate(n, cpu)} |")


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by process ``pid`` and its descendants."""
    tick = os.sysconf("SC_CLK_TCK")
    stats: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        stats[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        total += stats.get(current, (0, 0.0))[1]
        todo.extend(child for child, (parent, _) in stats.items() if parent == current)
    return total


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def eval_speed(messages: list[tuple[str, bytes]], cache: Path, spamassassin: bool = True) -> None:
    """Print the throughput table for ``messages`` ((name, raw) pairs)."""
    tmp = Path(tempfile.mkdtemp(prefix="am-speed-"))
    try:
        for i, (_, raw) in enumerate(messages):
            (tmp / f"{i:05d}.eml").write_bytes(raw)
        n = len(messages)
        print(f"\n### throughput, side by side — the same {n} messages, {os.cpu_count()} CPUs\n")
        print("| tool | how | messages | wall s | msg/s | CPU s | msg per CPU-s |\n"
              "|---|---|---|---|---|---|---|")
        raws = [raw for _, raw in messages]
        score(raws[0])  # models and rule tables loaded, as in a running daemon
        start, cpu = time.perf_counter(), time.process_time()
        for raw in raws:
            score(raw)
        _row("agenticmail", "score() in process, 1 core", n, time.perf_counter() - start,
             time.process_time() - cpu)
        for jobs, how in (("1", "`agenticmail filter score -j 1 DIR`, one process"),
                          ("0", f"`agenticmail filter score DIR`, {auto_jobs()} worker "
                                "process(es) (the default: one per CPU)")):
            start, cpu = time.perf_counter(), _children_cpu()
            done = subprocess.run(
                [sys.executable, "-m", "agenticmail", "filter", "score", "-j", jobs, str(tmp)],
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=False)
            elapsed, cpu = time.perf_counter() - start, _children_cpu() - cpu
            _row("agenticmail", how + ", start-up included", done.stdout.count(b"\n"), elapsed,
                 cpu)
        if rspamd.available():
            for workers in sorted({1, os.cpu_count() or 1}):
                with rspamd.Rspamd(workers) as server:
                    assert server.proc is not None
                    start, cpu = time.perf_counter(), tree_cpu(server.proc.pid)
                    scanned = server.scan(tmp)
                    elapsed, cpu = time.perf_counter() - start, tree_cpu(server.proc.pid) - cpu
                _row("rspamd 3.x", f"`rspamc -n 8 DIR`, {workers} scanner process"
                     f"{'es' if workers > 1 else ''}, network checks off", len(scanned), elapsed,
                     cpu)
        else:
            print("| rspamd | not installed: skipped (apt-get install rspamd) | | | |")
        if not spamassassin:
            print("| SpamAssassin | skipped (--no-spamassassin) | | | |")
        elif shutil.which("spamd") and shutil.which("spamc"):
            scored, elapsed, cpu = SpamAssassin(cache).timed(messages, tree_cpu)
            _row("SpamAssassin", "`spamc` x 2 in flight, `spamd -L -m 2`", scored, elapsed, cpu)
        else:
            print("| SpamAssassin | not installed: skipped (apt-get install spamassassin "
                  "spamc) | | | |")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
