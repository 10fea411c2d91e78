"""A real agenticmail daemon (API, SMTP submission, private Dovecot, watchers) run in-process
on free loopback ports under a temporary home, for end-to-end tests."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from agenticmail.config import Settings, load_settings
from agenticmail.daemon.run import Daemon
from agenticmail.services.setup import run_setup
from agenticmail_testing import log_audit
from agenticmail_testing.frames import describe_threads
from agenticmail_testing.ports import free_ports


def wait_until(predicate: Any, timeout: float = 10.0, interval: float = 0.02,
               what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


class DaemonHandle:
    def __init__(self, home: Path | None = None, **overrides: Any) -> None:
        self.home = home or Path(tempfile.mkdtemp(prefix="agenticmail-test-"))
        self._own_home = home is None
        env = {"AGENTICMAIL_HOME": str(self.home)}
        api, imap, lmtp, submission = free_ports(4)
        base = load_settings(self.home, env=env, api_port=api, imap_port=imap,
                             lmtp_port=lmtp, submission_port=submission,
                             **{"max_attachment_bytes": 2_000_000, **overrides})
        result = run_setup(base, api_port=base.api_port)
        self.master_key: str = result.master_key or base.master_key or ""
        log_audit.remember(self.master_key)
        self.settings: Settings = load_settings(self.home, env=env)
        self.daemon: Daemon | None = None
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None

    @property
    def api_url(self) -> str:
        return self.settings.api_url

    def start(self, timeout: float = 20.0, **options: Any) -> DaemonHandle:
        """Run the daemon in a thread (``options``: keyword arguments of ``Daemon``)."""
        self.daemon = Daemon(self.settings, **options)
        self.error = None

        def run() -> None:
            try:
                assert self.daemon is not None
                self.daemon.run_in_loop()  # the loop the real daemon runs in
            except BaseException as exc:
                self.error = exc

        self._thread = threading.Thread(target=run, name="daemon", daemon=True)
        self._thread.start()

        def ready() -> bool:
            if self.error is not None:
                raise self.error
            try:
                return httpx.get(f"{self.api_url}/v1/health", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(ready, timeout, what="the daemon to answer /v1/health")
        return self

    def stop(self, timeout: float = 20.0) -> None:
        if self.daemon is not None and self._thread is not None:
            self.daemon.request_stop()
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise TimeoutError(f"daemon did not stop within {timeout:g}s; where it waits:\n"
                                   + describe_threads(self.daemon.loop))
        self.daemon, self._thread = None, None

    def close(self) -> None:
        self.stop()
        log_audit.audit_home(self.home)
        if self._own_home:
            purge_mail_store(self.settings)
            shutil.rmtree(self.home, ignore_errors=True)

    @property
    def lmtp_socket(self) -> str:
        """Where the mail host takes LMTP delivery (the daemon's own path into a mailbox)."""
        from agenticmail.hosts import build_host

        return build_host(self.settings).endpoints().delivery_host

    def client(self, key: str | None = "master", **kw: Any) -> httpx.Client:
        headers = {}
        if key == "master":
            key = self.master_key
        if key:
            headers["Authorization"] = f"Bearer {key}"
        hooks = {"response": [log_audit.remember_response]}  # secrets it must never log
        return httpx.Client(base_url=self.api_url, headers=headers, timeout=30,
                            event_hooks=hooks, **kw)

    def create_agent(self, name: str, **body: Any) -> dict[str, Any]:
        with self.client() as c:
            response = c.post("/v1/agents", json={"name": name, **body})
        assert response.status_code == 201, response.text
        data: dict[str, Any] = response.json()
        return data

    def outbox_row(self, outbox_id: str) -> dict[str, Any]:
        """One outbox entry as the owner sees it (``GET /v1/mail/outbox/{id}``)."""
        with self.client() as owner:
            data: dict[str, Any] = owner.get(f"/v1/mail/outbox/{outbox_id}").json()["outbox"]
        return data


def purge_mail_store(settings: Settings) -> None:
    """Remove the mail store too: as root it lives outside the home (/var/lib/agenticmail)."""
    from agenticmail.hosts import build_host

    host = build_host(settings)
    purge = getattr(host, "purge", None)
    if purge is not None:
        purge()


def unique(prefix: str) -> str:
    return f"{prefix}{os.getpid() % 1000}{time.monotonic_ns() % 10_000_000}"
