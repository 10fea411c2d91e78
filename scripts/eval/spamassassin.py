"""SpamAssassin as the comparison for ``eval_filters.py``: a private ``spamd`` on a free
loopback port, queried with ``spamc``; scores cached by message hash in the corpus cache."""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path


class SpamAssassin:
    """spamd on a free loopback port + spamc, results cached by message hash."""

    def __init__(self, cache: Path) -> None:
        self.cache_file = cache / "sa_scores.json"
        self.scores: dict[str, float] = (
            json.loads(self.cache_file.read_text()) if self.cache_file.is_file() else {}
        )
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    def _start(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.proc = subprocess.Popen(
            [
                "spamd",
                "-L",  # local tests only: no DNS/network rules (this machine has no network)
                "-x",  # no per-user preferences: the run does not depend on ~/.spamassassin
                "--cf=use_bayes 0",  # Bayes untrained here; keep the run deterministic
                "--cf=bayes_auto_learn 0",
                "-i",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-A",
                "127.0.0.1",
                "-m",
                "2",
                "-s",
                "stderr",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("spamd did not start")

    def _one(self, raw: bytes) -> float:
        out = (
            subprocess.run(
                ["spamc", "-d", "127.0.0.1", "-p", str(self.port), "-c", "-t", "60"],
                input=raw,
                capture_output=True,
                timeout=120,
            )
            .stdout.decode()
            .strip()
        )
        return float(out.split("/")[0]) if "/" in out else float("nan")

    def timed(self, messages: list[tuple[str, bytes]],
              cpu_of: Callable[[int], float]) -> tuple[int, float, float]:
        """Score every message with a fresh spamd, cache ignored: (messages scored, seconds
        of wall clock from the first spamc to the last answer, CPU seconds of spamd's
        process tree meanwhile by ``cpu_of(pid)``); spamd's start-up excluded."""
        self._start()
        assert self.proc is not None
        try:
            start, cpu = time.perf_counter(), cpu_of(self.proc.pid)
            with concurrent.futures.ThreadPoolExecutor(2) as pool:
                values = list(pool.map(lambda m: self._one(m[1]), messages))
            elapsed, cpu = time.perf_counter() - start, cpu_of(self.proc.pid) - cpu
        finally:
            self.proc.terminate()
            self.proc.wait(timeout=30)
        return sum(1 for v in values if v == v), elapsed, cpu  # NaN: spamc failed

    def score_all(self, messages: list[tuple[str, bytes]]) -> dict[str, float]:
        keys = {name: hashlib.sha1(raw).hexdigest() for name, raw in messages}
        todo = [(name, raw) for name, raw in messages if keys[name] not in self.scores]
        if todo:
            print(
                f"SpamAssassin: scoring {len(todo)} messages with spamd (cached afterwards) ...",
                file=sys.stderr,
            )
            self._start()
            try:
                with concurrent.futures.ThreadPoolExecutor(2) as pool:
                    for (name, _), value in zip(
                        todo, pool.map(lambda m: self._one(m[1]), todo), strict=True
                    ):
                        self.scores[keys[name]] = value
            finally:
                if self.proc:
                    self.proc.terminate()
                    self.proc.wait(timeout=30)
                self.cache_file.write_text(json.dumps(self.scores))
        return {name: self.scores[keys[name]] for name, _ in messages}
