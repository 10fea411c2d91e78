"""Stopping the daemon while a webhook receiver takes a POST and never answers (issue 16: a
stop is prompt and loses nothing).

The dispatcher waits a few seconds for the POSTs in flight, not their whole timeout (60 s
here), then cuts them off. Webhooks are at least once: the message cut off stays pending, no
failed attempt counts against the endpoint, and the next start sends it again with the same
webhook-id (receivers dedupe by it).
"""

from __future__ import annotations

import json
from typing import Any

from agenticmail.hosts import build_host
from agenticmail_testing.daemon import DaemonHandle, wait_until
from agenticmail_testing.webhook_receiver import Receiver
from tests.e2e.test_lifecycle import _assert_cleaned_up
from tests.webhooks.test_webhooks_e2e import register, send_tests

STOPPED_WITHIN = 15.0  # seconds: well under the 61 s a stop used to wait here


def _deliveries(handle: DaemonHandle, endpoint: str) -> list[dict[str, Any]]:
    with handle.client() as api:
        rows: list[dict[str, Any]] = api.get(
            f"/v1/webhooks/{endpoint}/deliveries").json()["deliveries"]
    return rows


def test_a_stop_cuts_off_a_stalled_post_and_the_restart_sends_it_once_more() -> None:
    handle = DaemonHandle(webhook_timeout_seconds=60.0)
    config = build_host(handle.settings).config_path  # type: ignore[attr-defined]
    with Receiver() as receiver:
        try:
            handle.start()
            endpoint = register(handle, receiver.url)["webhook"]["id"]
            receiver.hold()
            [event] = send_tests(handle, endpoint, 1)
            receiver.wait_held()
            [held] = [r for r in receiver.bodies() if json.loads(r.body)["id"] == event]
            handle.stop(timeout=STOPPED_WITHIN)  # raises "daemon did not stop" when it waits
            _assert_cleaned_up(handle, config)
            receiver.release()

            handle.start()
            wait_until(lambda: any(d["outcome"] == "success"
                                   for d in _deliveries(handle, endpoint)), 30,
                       interval=0.2, what="the webhook delivered after the restart")
            again = [r for r in receiver.bodies() if r.webhook_id == held.webhook_id]
            assert len(again) == 2  # the POST cut off, then exactly once more
            assert json.loads(again[1].body) == json.loads(held.body)
            # the cut-off POST is no failed attempt: one attempt, a success, endpoint healthy
            assert [d["outcome"] for d in _deliveries(handle, endpoint)] == ["success"]
            with handle.client() as api:
                webhook = api.get(f"/v1/webhooks/{endpoint}").json()["webhook"]
            assert webhook["enabled"] is True and webhook["failing_since"] is None
        finally:
            receiver.release()
            handle.close()
