"""Domain mode, outbound path ``cloudflare`` (issue 14): a real daemon whose DomainConfig
points the production Cloudflare SDK at the fake v4 API (agenticmail_testing.cloudflare_api).

The message leaves through ``email_sending.send_raw`` From ``agent@domain`` (envelope too),
not signed by the daemon (Cloudflare signs what it sends); Cloudflare unreachable or
overloaded (5xx) is retried by the outbox; a refusal (4xx) fails the send with its reason.

And the parts together: after ``agenticmail domain setup`` against the fake (the gateway
switched at runtime, the DKIM key setup generated), direct mail is signed with setup's key
and verifies against the record setup published; then the path is switched to cloudflare.
"""

from __future__ import annotations

from collections.abc import Iterator
from email import message_from_string
from email.utils import getaddresses
from typing import Any

import dkim
import pytest

from agenticmail.services import domain_config
from agenticmail.services.domain_config import DomainConfig, OutboundPath
from agenticmail_testing import log_audit
from agenticmail_testing.cloudflare_api import FakeCloudflare
from agenticmail_testing.daemon import DaemonHandle, unique, wait_until
from agenticmail_testing.dns_server import DnsServer
from agenticmail_testing.smtp_sink import MxSink
from tests.domain.cli_runs import cli

DOMAIN = "agents.example"
SETUP_DOMAIN = "example.com"
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


# -- after a real `agenticmail domain setup`: the key setup made signs, setup's record verifies

@pytest.fixture(scope="module")
def set_up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DaemonHandle,
                                                                       FakeCloudflare,
                                                                       DnsServer, MxSink]]:
    """A daemon set up for SETUP_DOMAIN by the CLI against the fake API (gateway none before),
    with an MX on loopback for dest.example found through a DNS server on loopback."""
    with FakeCloudflare() as fake:
        fake.add_zone(SETUP_DOMAIN)
        dns_server = DnsServer().start()
        dns_server.add("dest.example", "MX", "10 mx.dest.example.")
        dns_server.add("mx.dest.example", "A", "127.0.0.1")
        mx = MxSink("mx.dest.example").start()
        daemon = DaemonHandle(dns_nameservers=dns_server.nameservers,
                              domain_direct_port=mx.port, **FAST).start()
        token = fake.add_token()
        log_audit.remember(token)
        path = tmp_path_factory.mktemp("cf") / "token"
        path.write_text(token)
        path.chmod(0o600)
        result = cli(daemon.home, "domain", "setup", "--domain", SETUP_DOMAIN, "--token-file",
                     str(path), "--api-base-url", fake.base_url, "--yes")
        assert result.exit_code == 0, result.output
        try:
            yield daemon, fake, dns_server, mx
        finally:
            cli(daemon.home, "domain", "teardown", "--yes")
            daemon.close()
            mx.stop()
            dns_server.close()


def test_after_domain_setup_direct_mail_verifies_against_the_published_key(
        set_up: tuple[DaemonHandle, FakeCloudflare, DnsServer, MxSink]) -> None:
    daemon, fake, _, mx = set_up
    switched = cli(daemon.home, "domain", "outbound", "direct", "--json")
    assert switched.exit_code == 0, switched.output
    created = daemon.create_agent(unique("set"))
    name = created["agent"]["name"]
    with daemon.client(created["api_key"]) as api:
        r = api.post("/v1/mail/send", json={"to": ["someone@dest.example"],
                                            "subject": unique("s"), "text": "hello"})
    assert r.status_code == 202, r.text
    sent = r.json()
    got = mx.wait_for(lambda rs: any(x.message_id == sent["message_id"] for x in rs))
    [received] = [x for x in got if x.message_id == sent["message_id"]]
    assert received.mail_from == f"{name}@{SETUP_DOMAIN}"
    zone = next(z for z, data in fake.state.zones.items() if data["name"] == SETUP_DOMAIN)
    published = {r["name"]: r["content"] for r in fake.records(zone) if r["type"] == "TXT"}

    def dnsfunc(qname: bytes, timeout: float = 5) -> bytes | None:
        text = published.get(qname.decode().rstrip("."))
        return None if text is None else text.encode()

    assert f"agenticmail._domainkey.{SETUP_DOMAIN}" in published
    assert dkim.verify(received.data, dnsfunc=dnsfunc)

    switched = cli(daemon.home, "domain", "outbound", "cloudflare", "--json")
    assert switched.exit_code == 0, switched.output
    with daemon.client(created["api_key"]) as api:
        r = api.post("/v1/mail/send", json={"to": ["friend@far.example"],
                                            "subject": unique("s"), "text": "hello"})
    assert r.status_code == 202, r.text
    _settled(daemon, r.json()["id"], "sent")
    assert [s["from"] for s in _sent(fake, r.json()["message_id"])] == [f"{name}@{SETUP_DOMAIN}"]
