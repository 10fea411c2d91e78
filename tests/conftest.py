"""Shared fixtures: a real daemon on a private Dovecot (session-wide), and fresh agents."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from agenticmail_testing.daemon import DaemonHandle, unique


@pytest.fixture(scope="session")
def daemon() -> Iterator[DaemonHandle]:
    handle = DaemonHandle().start()
    yield handle
    handle.close()


@pytest.fixture
def agent_pair(daemon: DaemonHandle) -> tuple[dict[str, Any], dict[str, Any]]:
    """Two fresh agents (the create responses: agent, api_key, mail credentials)."""
    return daemon.create_agent(unique("a")), daemon.create_agent(unique("b"))
