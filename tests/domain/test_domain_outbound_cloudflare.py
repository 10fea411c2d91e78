"""Domain mode, outbound path ``cloudflare`` (issue 14): a real daemon whose DomainConfig
points the production Cloudflare SDK at the fake v4 API (agenticmail_testing.cloudflare_api).

The message leaves through ``email_sending.send_raw`` From ``agent@domain`` (envelope too),
not signed by the daemon (Cloudflare signs what it sends); Cloudflare unreachable or
overloaded (5xx) is retried by the outbox; a refusal (4xx) fails the send with its reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from email import message_from_string
from email.utils import getaddresses
from typing import Any

import pytest

from agenticmail.services import domain_config
from agenticmail.services.domain_config import DomainConfig, OutboundPath
from agenticmail_testing.cloudflare_api import FakeCloudflare
from agenticmail_testing.daemon import DaemonHandle, unique, wait_until

DOMAIN = "agents.example"
FAST = {"smtp_timeout_seconds": 5, "send_retry_seconds": 600, "send_backoff_max_seconds": 1}
SEND_RAW = r"/email/sending/send_raw$"


@pytest.fixture(scope="module")
def cloudflare() -> Iterator[FakeCloudflare]:
    with FakeCloudflare() as fake:
        yield fake


@pytest.fixture(scope="module")
def handle(cloudflare: FakeCloudflare) -> Iterator[DaemonHandle]:
    daemon = DaemonHandle(gateway_mode="domain", **FAST).start()
    assert daemon.daemon is not None
    ctx = daemon.daemon.ctx
    domain_config.save(ctx, DomainConfig(
        domain=DOMAIN, account_id=cloudflare.account_id, api_base_url=cloudflare.base_url,
        api_token_enc=domain_config.encrypt(ctx, cloudflare.add_token()),
        outbound=OutboundPath.CLOUDFLARE))
    yield daemon
    daemon.close()


def _send(handle: DaemonHandle) -> tuple[str, dict[str, Any]]:
    created = handle.create_agent(unique("cf"))
    with handle.client(created["api_key"]) as api:
        r = api.post("/v1/mail/send", json={"to": ["friend@far.example"],
                                            "subject": unique("s"), "text": "hello"})
    assert r.status_code == 202, r.text
    return created["agent"]["name"], r.json()


def _settled(handle: DaemonHandle, outbox_id: str, status: str) -> dict[str, Any]:
    def row() -> dict[str, Any]:
        with handle.client() as owner:
            data: dict[str, Any] = owner.get(f"/v1/mail/outbox/{outbox_id}").json()["outbox"]
        return data

    found: dict[str, Any] = wait_until(lambda: (r := row())["status"] == status and r,
                                       timeout=30, interval=0.1, what=f"{outbox_id} {status}")
    return found


def _sent(cloudflare: FakeCloudflare, message_id: str) -> list[dict[str, Any]]:
    return [s for s in cloudflare.sent
            if message_from_string(s["raw"])["Message-ID"] == message_id]


def _fail_next(cloudflare: FakeCloudflare, times: int, status: int, code: int,
               message: str) -> None:
    """Refuse the next ``times`` send_raw calls (a fault counts the calls after it)."""
    cloudflare.fail("POST", SEND_RAW, nth=1, times=times, status=status, code=code,
                    message=message)


def test_sent_through_cloudflare_from_agent_at_domain(handle: DaemonHandle,
                                                      cloudflare: FakeCloudflare) -> None:
    name, sent = _send(handle)
    _settled(handle, sent["id"], "sent")
    [call] = _sent(cloudflare, sent["message_id"])
    assert call["from"] == f"{name}@{DOMAIN}"
    assert call["recipients"] == ["friend@far.example"]
    message = message_from_string(call["raw"])
    assert getaddresses([str(message["From"])])[0][1] == f"{name}@{DOMAIN}"
    assert message["DKIM-Signature"] is None  # Cloudflare signs what it sends
    with handle.client() as owner:
        last = owner.get("/v1/domain/outbound").json()["last"]
    assert last["ok"] and last["path"] == "cloudflare" and last["outbox_id"] == sent["id"]


def test_cloudflare_unavailable_is_retried(handle: DaemonHandle,
                                           cloudflare: FakeCloudflare) -> None:
    # the SDK itself tries three times (max_retries=2): all three answered 503
    _fail_next(cloudflare, 3, 503, 10000, "temporarily unavailable")
    _, sent = _send(handle)
    row = _settled(handle, sent["id"], "sent")
    assert row["attempts"] == 2
    assert len(_sent(cloudflare, sent["message_id"])) == 1


def test_cloudflare_refusal_fails_the_send(handle: DaemonHandle,
                                           cloudflare: FakeCloudflare) -> None:
    _fail_next(cloudflare, 1, 400, 10001, "sender domain is not verified")
    _, sent = _send(handle)
    row = _settled(handle, sent["id"], "failed")
    assert "sender domain is not verified" in row["last_error"] and row["attempts"] == 1
    assert _sent(cloudflare, sent["message_id"]) == []
    with handle.client() as owner:
        last = owner.get("/v1/domain/outbound").json()["last"]
    assert not last["ok"] and "not verified" in last["error"]
