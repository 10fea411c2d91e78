"""Stopping the relay while the provider's IMAP server hangs (issue 16: a stop is prompt and
clean). The relay thread's IMAP call (ending IDLE, LOGOUT) ends only with its own 30 s
timeout: a stop leaves the thread behind after a few seconds, and no second relay loop starts
while it lives. The stand-in provider's Dovecot is stopped with SIGSTOP
(``Provider.imap_frozen``): connections stay open, nothing is answered."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from agenticmail.hosts import build_host
from agenticmail_testing.daemon import DaemonHandle, wait_until
from agenticmail_testing.relay_provider import Provider
from tests.e2e.test_lifecycle import _assert_cleaned_up
from tests.relay.helpers import OWNER

STOPPED_WITHIN = 10.0  # seconds: "promptly", with room for a loaded machine


def test_a_stop_does_not_wait_for_a_relay_provider_that_hangs(provider: Provider) -> None:
    handle = DaemonHandle(owner_email=OWNER)
    config = build_host(handle.settings).config_path  # type: ignore[attr-defined]
    try:
        handle.start()
        daemon = handle.daemon
        assert daemon is not None and daemon.loop is not None
        loop = daemon.loop

        def on_loop(coro: Any) -> Any:
            return asyncio.run_coroutine_threadsafe(coro, loop)

        with handle.client() as owner:
            r = owner.put("/v1/relay", json=provider.relay_account())
            assert r.status_code == 200, r.text
            wait_until(lambda: owner.get("/v1/relay").json()["relay"]["mode"] == "idle", 30,
                       what="the relay to idle on the provider's INBOX")
        with provider.imap_frozen():
            on_loop(daemon.supervisor.halt("relay")).result(STOPPED_WITHIN)
            # started again in this process: not while the first loop hangs
            with pytest.raises(RuntimeError, match="previous run is still busy"):
                on_loop(daemon.supervisor.resume("relay")).result(STOPPED_WITHIN)
            handle.stop(timeout=STOPPED_WITHIN)  # raises "daemon did not stop" if it waits
            _assert_cleaned_up(handle, config)
    finally:
        handle.close()
