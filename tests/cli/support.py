"""Helpers for the CLI tests: configs, ``--json`` runs and a ``watch`` subprocess.

Every command that talks to a daemon runs against the real one (``tests/conftest.py``'s
``daemon`` fixture, or a dedicated ``DaemonHandle`` when a test must restart it).
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from typer.testing import Result

from agenticmail_testing.ports import free_port

__all__ = ["Invoke", "Watcher", "free_port", "run_json", "write_config"]

Invoke = Callable[..., Result]

PLACEHOLDER_KEY = "mk_placeholder_not_a_real_key"


def write_config(home: Path, api_port: int, master_key: str = PLACEHOLDER_KEY) -> Path:
    """A minimal ``config.toml`` (API port and master key) in ``home``."""
    home.mkdir(parents=True, exist_ok=True)
    config = home / "config.toml"
    config.write_text(f'api_port = {api_port}\nmaster_key = "{master_key}"\n')
    config.chmod(0o600)
    return home


def run_json(cli: Invoke, home: Path, *args: str, input: str | None = None) -> Any:
    """Run a command with ``--json``: it must succeed and print exactly one JSON document."""
    result = cli(home, *args, "--json", input=input)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


class Watcher:
    """``agenticmail watch`` in a subprocess; its stdout and stderr lines arrive in queues."""

    def __init__(self, home: Path, *args: str, columns: int | None = 200) -> None:
        command = [sys.executable, "-m", "agenticmail", "--home", str(home), "watch", *args]
        env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
        if columns is not None:
            env["COLUMNS"] = str(columns)
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        self.stdout: queue.Queue[str] = queue.Queue()
        self.stderr: queue.Queue[str] = queue.Queue()
        self.stderr_seen: list[str] = []
        for pipe, lines in ((self.process.stdout, self.stdout), (self.process.stderr, self.stderr)):
            threading.Thread(target=self._pump, args=(pipe, lines), daemon=True).start()

    @staticmethod
    def _pump(pipe: IO[str] | None, lines: queue.Queue[str]) -> None:
        assert pipe is not None
        for line in pipe:
            lines.put(line.rstrip("\n"))

    def line(self, timeout: float = 30.0) -> str:
        """The next stdout line (an event, with ``--json``)."""
        try:
            return self.stdout.get(timeout=timeout)
        except queue.Empty:
            seen = self.stderr_seen
            raise AssertionError(f"watch printed nothing in {timeout}s: {seen}") from None

    def event(self, timeout: float = 30.0) -> dict[str, Any]:
        event: dict[str, Any] = json.loads(self.line(timeout))
        return event

    def note(self, containing: str, timeout: float = 30.0) -> str:
        """Wait for a stderr line (a status note) that contains ``containing``."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.stderr.get(timeout=max(deadline - time.monotonic(), 0))
            except queue.Empty:
                raise AssertionError(
                    f"no {containing!r} note in {timeout}s: {self.stderr_seen}"
                ) from None
            self.stderr_seen.append(line)
            if containing in line:
                return line

    def wait(self, timeout: float = 30.0) -> int:
        return self.process.wait(timeout)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
