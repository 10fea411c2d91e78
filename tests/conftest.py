"""Shared fixtures: a real daemon on a private Dovecot (session-wide), fresh agents, and the
session's check that no log line holds a secret (agenticmail_testing/log_audit.py)."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agenticmail.log import file_handler
from agenticmail_testing import log_audit
from agenticmail_testing.daemon import DaemonHandle, unique
from agenticmail_testing.smtp_sink import SmtpSink


@pytest.fixture(scope="session", autouse=True)
def no_secret_in_any_log() -> Iterator[None]:
    """Every record of this process (the in-process daemons) goes through the production
    formatter into one file; at the end it and every test daemon's logs (audited as each
    home is removed) must hold none of the keys and passwords the harness was given."""
    with tempfile.TemporaryDirectory(prefix="agenticmail-test-logs-") as tmp:
        path = Path(tmp) / "session.log"
        handler = file_handler(path, max_bytes=0)
        handler.setLevel(logging.INFO)
        root, chatty = logging.getLogger(), logging.getLogger("httpx")  # as the daemon sets it
        levels = root.level, chatty.level
        root.addHandler(handler)
        if root.getEffectiveLevel() > logging.INFO:
            root.setLevel(logging.INFO)
        chatty.setLevel(logging.WARNING)
        try:
            yield
        finally:
            root.removeHandler(handler)
            root.setLevel(levels[0])
            chatty.setLevel(levels[1])
            handler.close()
            log_audit.audit_file(path)
    assert not log_audit.leaks, "secrets in log lines:\n" + "\n".join(log_audit.leaks[:20])


@pytest.fixture(scope="session")
def daemon() -> Iterator[DaemonHandle]:
    handle = DaemonHandle().start()
    yield handle
    handle.close()


@pytest.fixture(scope="module")
def sink() -> Iterator[SmtpSink]:
    """A TLS SMTP sink standing in for the internet (one per test module; a module that
    needs a fresh one per test overrides it)."""
    server = SmtpSink().start()
    yield server
    server.stop()


@pytest.fixture
def agent_pair(daemon: DaemonHandle) -> tuple[dict[str, Any], dict[str, Any]]:
    """Two fresh agents (the create responses: agent, api_key, mail credentials)."""
    return daemon.create_agent(unique("a")), daemon.create_agent(unique("b"))
