"""A real daemon as a subprocess (``agenticmail setup`` + ``agenticmail start``) under a
temporary home on free ports: for tests that must kill it (SIGKILL) and for benchmarks."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from agenticmail_testing import log_audit
from agenticmail_testing.ports import free_ports


class DaemonProcess:
    def __init__(self, home: Path | None = None, **settings: str) -> None:
        self.home = Path(tempfile.mkdtemp(prefix="agenticmail-proc-", dir=home))
        api, imap, lmtp, submission = free_ports(4)
        self.env = {
            **{f"AGENTICMAIL_{k.upper()}": str(v) for k, v in settings.items()},
            **os.environ, "AGENTICMAIL_HOME": str(self.home),
            "AGENTICMAIL_API_PORT": str(api), "AGENTICMAIL_IMAP_PORT": str(imap),
            "AGENTICMAIL_LMTP_PORT": str(lmtp),
            "AGENTICMAIL_SUBMISSION_PORT": str(submission), "AGENTICMAIL_LOG_LEVEL": "WARNING",
        }
        self.api_url = f"http://127.0.0.1:{self.env['AGENTICMAIL_API_PORT']}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.master_key = ""

    def cli(self, *args: str) -> Any:
        out = subprocess.run([sys.executable, "-m", "agenticmail", *args, "--json"],
                             env=self.env, capture_output=True, check=True)
        log_audit.cli_output(out.stdout.decode())
        return json.loads(out.stdout)

    def start(self) -> DaemonProcess:
        if not self.master_key:
            self.master_key = self.cli("setup", "--yes", "--no-start", "--mail-host", "local")[
                "master_key"]
        self.proc = subprocess.Popen([sys.executable, "-m", "agenticmail", "start"],
                                     env=self.env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.api_url}/v1/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("daemon did not start")

    def client(self, key: str | None = None) -> httpx.Client:
        return httpx.Client(base_url=self.api_url, timeout=60,
                            headers={"Authorization": f"Bearer {key or self.master_key}"},
                            event_hooks={"response": [log_audit.remember_response]})

    def rss_kib(self) -> int:
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def kill(self) -> None:
        """SIGKILL the daemon alone (its Dovecot runs on, as after a real crash)."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)
        self.proc = None

    def stop(self) -> None:
        """Stop the daemon (SIGTERM), keeping its home."""
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc = None

    def close(self) -> None:
        self.stop()
        from agenticmail.config import load_settings
        from agenticmail_testing.daemon import purge_mail_store

        log_audit.audit_home(self.home)
        purge_mail_store(load_settings(self.home, env=self.env))  # also a Dovecot left by kill()
        shutil.rmtree(self.home, ignore_errors=True)
