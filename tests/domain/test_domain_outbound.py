"""Domain mode, outbound (issue 14): a real daemon with ``gateway_mode = domain`` and a saved
DomainConfig (a DKIM key generated here, its public half published in a DNS server on loopback
that the daemon's ``dns_nameservers`` points at).

* direct: the recipient domain's MX found through that DNS server, pointing at a local MX
  (aiosmtpd, STARTTLS with a trustme certificate); a 4xx answer retried then delivered; a
  null MX refused for good; several domains, one transaction each, a retry sending only to
  the one that deferred;
* smarthost: the SMTP route (an implicit-TLS sink with AUTH);
* every message received is From ``agent@domain`` (envelope too) and carries a DKIM signature
  that dkimpy verifies against the published key; mail to ``agent@domain`` stays local; the
  guard still holds what it must; the path is switched with ``agenticmail domain outbound``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from email.message import Message
from email.utils import getaddresses
from typing import Any

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from typer.testing import Result

from agenticmail.errors import PermanentDeliveryError, TransientDeliveryError
from agenticmail.mail import smtp
from agenticmail.mail.mx import Exchanger, MxResolver
from agenticmail.services import domain_config
from agenticmail.services.domain_config import DomainConfig, OutboundPath
from agenticmail_testing.daemon import DaemonHandle, unique, wait_until
from agenticmail_testing.dns_server import DkimKey, DnsServer
from agenticmail_testing.smtp_sink import MxSink, Received, SmtpSink
from tests.domain.cli_runs import cli

DOMAIN = "agents.example"
FAST = {"smtp_timeout_seconds": 5, "send_retry_seconds": 600, "send_backoff_max_seconds": 1}
AWS = "deploy creds: AKIAZ7Q3XK2M4N6P8R1T / wJalrXUtnFEMI/K7MDENG/bPxRfiCYzQ8v3r9TjH"


@pytest.fixture(scope="module")
def key() -> DkimKey:
    return DkimKey.generate(DOMAIN, "agenticmail")


@pytest.fixture(scope="module")
def mx() -> Iterator[MxSink]:
    server = MxSink("mx.dest.example").start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def dns_server(key: DkimKey) -> Iterator[DnsServer]:
    server = DnsServer().start()
    server.publish(key)
    server.add("dest.example", "MX", "10 mx.dest.example.")
    server.add("mx.dest.example", "A", "127.0.0.1")
    server.add("implicit.example", "A", "127.0.0.1")  # no MX: the domain itself
    server.add("nullmx.example", "MX", "0 .")  # RFC 7505
    yield server
    server.close()


@pytest.fixture(scope="module")
def handle(dns_server: DnsServer, mx: MxSink, key: DkimKey) -> Iterator[DaemonHandle]:
    daemon = DaemonHandle(gateway_mode="domain", dns_nameservers=dns_server.nameservers,
                          domain_direct_port=mx.port, **FAST).start()
    assert daemon.daemon is not None
    ctx = daemon.daemon.ctx
    pkcs8 = serialization.load_pem_private_key(key.private_pem, password=None).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())  # the form domain setup stores
    domain_config.save(ctx, DomainConfig(
        domain=DOMAIN, outbound=OutboundPath.DIRECT, dkim_selector=key.selector,
        dkim_private_key_enc=domain_config.encrypt(ctx, pkcs8.decode())))
    yield daemon
    daemon.close()


@pytest.fixture(autouse=True)
def _direct(handle: DaemonHandle, mx: MxSink) -> Iterator[None]:
    """Each test starts on the direct path with a well-behaved MX."""
    yield
    mx.set_script(None)
    with handle.client() as owner:
        assert owner.put("/v1/domain/outbound", json={"path": "direct"}).status_code == 200


def _agent(handle: DaemonHandle) -> tuple[str, str]:
    created = handle.create_agent(unique("ag"))
    return created["agent"]["name"], created["api_key"]


def _send(handle: DaemonHandle, key: str, to: list[str], **body: Any) -> dict[str, Any]:
    with handle.client(key) as api:
        r = api.post("/v1/mail/send", json={"to": to, "subject": unique("s"), "text": "hello",
                                            **body})
    assert r.status_code == 202, r.text
    data: dict[str, Any] = r.json()
    return data


def _settled(handle: DaemonHandle, outbox_id: str, status: str) -> dict[str, Any]:
    row: dict[str, Any] = wait_until(
        lambda: (r := handle.outbox_row(outbox_id))["status"] == status and r,
        timeout=30, interval=0.1, what=f"outbox {outbox_id} {status}")
    return row


def _verified(received: Received, dns_server: DnsServer) -> bool:
    """dkimpy's verdict on the message, its key read from the test DNS server."""
    def dnsfunc(name: bytes, timeout: float = 5) -> bytes | None:
        text = dns_server.records.get(name.decode().rstrip(".").lower())
        return None if text is None else text.encode()

    return bool(dkim.verify(received.data, dnsfunc=dnsfunc))


def _from(message: Message) -> str:
    return getaddresses([str(message["From"])])[0][1]


def _outbound(handle: DaemonHandle) -> dict[str, Any]:
    with handle.client() as owner:
        r = owner.get("/v1/domain/outbound")
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


def test_direct_to_the_mx_signed_from_agent_at_domain(handle: DaemonHandle, mx: MxSink,
                                                      dns_server: DnsServer) -> None:
    name, key = _agent(handle)
    sent = _send(handle, key, ["someone@dest.example"], reply_to=f"{name}@{DOMAIN}")
    got = mx.wait_for(lambda rs: any(r.message_id == sent["message_id"] for r in rs))
    [received] = [r for r in got if r.message_id == sent["message_id"]]
    assert received.mail_from == f"{name}@{DOMAIN}"
    assert _from(received.message) == f"{name}@{DOMAIN}"
    assert str(received.message["Reply-To"]) == f"{name}@{DOMAIN}"  # one of its own now
    assert received.rcpt_tos == ["someone@dest.example"]
    assert received.tls  # STARTTLS offered: taken
    assert received.message["DKIM-Signature"] is not None
    assert _verified(received, dns_server)
    assert "X-Agenticmail-Origin" not in received.data.decode(errors="replace")
    row = _settled(handle, sent["id"], "sent")
    assert row["attempts"] == 1
    last = _outbound(handle)["last"]
    assert last["ok"] and last["path"] == "direct" and last["outbox_id"] == sent["id"]


def test_implicit_mx_is_the_domain_itself(handle: DaemonHandle, mx: MxSink,
                                          dns_server: DnsServer) -> None:
    _, key = _agent(handle)
    sent = _send(handle, key, ["x@implicit.example"])
    mx.wait_for(lambda rs: any(r.message_id == sent["message_id"] for r in rs))
    _settled(handle, sent["id"], "sent")


def test_a_4xx_is_retried_then_delivered(handle: DaemonHandle, mx: MxSink,
                                         dns_server: DnsServer) -> None:
    _, key = _agent(handle)
    subject = unique("later")
    answers: list[str] = []

    def greylist(message: Message) -> str | None:
        if str(message["Subject"]) != subject:
            return None
        answers.append("451" if not answers else "250")
        return "451 4.7.1 greylisted, try again later" if len(answers) == 1 else None

    mx.set_script(greylist)
    sent = _send(handle, key, ["grey@dest.example"], subject=subject)
    got = mx.wait_for(lambda rs: any(r.message_id == sent["message_id"] for r in rs), 30)
    assert len([r for r in got if r.message_id == sent["message_id"]]) == 1
    assert answers == ["451", "250"]
    row = _settled(handle, sent["id"], "sent")
    assert row["attempts"] == 2


def test_a_null_mx_fails_for_good(handle: DaemonHandle, mx: MxSink) -> None:
    _, key = _agent(handle)
    sent = _send(handle, key, ["nobody@nullmx.example"])
    row = _settled(handle, sent["id"], "failed")
    assert "null MX" in row["last_error"]
    assert row["attempts"] == 1
    last = _outbound(handle)["last"]
    assert not last["ok"] and "null MX" in last["error"] and last["outbox_id"] == sent["id"]
    assert not [r for r in mx.received if r.message_id == sent["message_id"]]


def test_a_5xx_fails_at_once(handle: DaemonHandle, mx: MxSink) -> None:
    _, key = _agent(handle)
    subject = unique("refused")
    mx.set_script(lambda m: "554 5.7.1 not welcome here" if m["Subject"] == subject else None)
    sent = _send(handle, key, ["someone@dest.example"], subject=subject)
    row = _settled(handle, sent["id"], "failed")
    assert "554" in row["last_error"] and row["attempts"] == 1


def test_one_transaction_per_domain_and_a_retry_only_where_it_deferred(
        handle: DaemonHandle, mx: MxSink) -> None:
    _, key = _agent(handle)
    subject = unique("two")
    calls: list[int] = []

    def second_defers_once(message: Message) -> str | None:
        if str(message["Subject"]) != subject:
            return None
        calls.append(len(calls) + 1)
        return "421 4.3.2 busy, come back later" if len(calls) == 2 else None

    mx.set_script(second_defers_once)
    sent = _send(handle, key, ["a@dest.example", "b@implicit.example"], subject=subject)
    _settled(handle, sent["id"], "sent")
    got = [r for r in mx.received if r.message_id == sent["message_id"]]
    assert sorted(r.rcpt_tos[0] for r in got) == ["a@dest.example", "b@implicit.example"]
    assert calls == [1, 2, 3]  # dest once, implicit deferred once then accepted


def test_mail_to_an_agent_at_the_domain_stays_local(handle: DaemonHandle, mx: MxSink) -> None:
    _, key = _agent(handle)
    other, other_key = _agent(handle)
    sent = _send(handle, key, [f"{other}@{DOMAIN}"], cc=[f"{other}+notes@{DOMAIN}"])
    row = _settled(handle, sent["id"], "sent")
    assert row["recipients"] == [f"{other}@{handle.settings.domain}"]  # its local address

    def arrived() -> bool:
        with handle.client(other_key) as api:
            listed = api.get("/v1/mail/messages", params={"limit": 50}).json()["messages"]
        return any(m.get("message_id") == sent["message_id"] for m in listed)

    wait_until(arrived, timeout=20, interval=0.1, what="the local delivery")
    assert not [r for r in mx.received if r.message_id == sent["message_id"]]


def test_unknown_local_part_at_the_domain_leaves_like_any_address(handle: DaemonHandle,
                                                                  dns_server: DnsServer) -> None:
    """Only known agents are local: another name at the domain is the domain's to route."""
    dns_server.add(DOMAIN, "MX", "10 mx.dest.example.")
    try:
        _, key = _agent(handle)
        sent = _send(handle, key, [f"stranger@{DOMAIN}"])
        _settled(handle, sent["id"], "sent")
    finally:
        dns_server.remove(DOMAIN, "MX")


def test_the_guard_still_holds_domain_mail(handle: DaemonHandle, mx: MxSink) -> None:
    _, key = _agent(handle)
    with handle.client(key) as api:
        r = api.post("/v1/mail/send", json={"to": ["someone@dest.example"], "subject": "keys",
                                            "text": AWS})
    assert r.status_code == 202, r.text
    held = r.json()
    assert held["status"] == "held"
    assert not [m for m in mx.received if m.message_id == held["message_id"]]


def test_smarthost_through_the_route_signed(handle: DaemonHandle, sink: SmtpSink,
                                            dns_server: DnsServer) -> None:
    with handle.client() as owner:
        r = owner.delete("/v1/route")
        r = owner.put("/v1/domain/outbound", json={"path": "smarthost"})
        assert r.status_code == 400 and r.json()["error"]["code"] == "no_route", r.text
        assert owner.put("/v1/route", json=sink.route()).status_code == 200
        r = owner.put("/v1/domain/outbound", json={"path": "smarthost"})
        assert r.status_code == 200 and r.json()["path"] == "smarthost", r.text
    try:
        name, key = _agent(handle)
        sent = _send(handle, key, ["friend@far.example"])
        got = sink.wait_for(lambda rs: any(r.message_id == sent["message_id"] for r in rs))
        [received] = [r for r in got if r.message_id == sent["message_id"]]
        assert received.mail_from == f"{name}@{DOMAIN}"
        assert _from(received.message) == f"{name}@{DOMAIN}"
        assert _verified(received, dns_server)
        _settled(handle, sent["id"], "sent")
        assert _outbound(handle)["last"]["path"] == "smarthost"
    finally:
        with handle.client() as owner:
            owner.put("/v1/domain/outbound", json={"path": "direct"})
            owner.delete("/v1/route")


def test_switching_the_path_from_the_cli(handle: DaemonHandle) -> None:
    def run(*args: str) -> Result:
        return cli(handle.home, "domain", "outbound", *args, "--json")

    shown = run()
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["path"] == "direct"
    refused = run("cloudflare")  # no API token stored
    assert refused.exit_code != 0 and "Cloudflare" in refused.output
    bad = run("pigeon")
    assert bad.exit_code != 0
    with handle.client() as owner:
        r = owner.put("/v1/domain/outbound", json={"path": "pigeon"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_outbound_path"
    assert json.loads(run("direct").stdout)["path"] == "direct"
    with handle.client() as owner:
        entries = owner.get("/v1/audit", params={"action": "domain.outbound"}).json()["entries"]
    assert [(e["subject"], e["detail"]["outcome"]) for e in entries[:3]] == [
        ("direct", "ok"), ("pigeon", "invalid_outbound_path"),
        ("cloudflare", "cloudflare_not_configured")]


def test_required_tls_refuses_an_unverified_or_plain_mx() -> None:
    """``domain_direct_require_tls``: an MX whose certificate does not verify (trustme's CA is
    not the system's), whose handshake fails or that offers no STARTTLS is not used
    (transient: retried). Without it, TLS is taken where it works, else plain (as MTAs do)."""
    plain = MxSink("mx.plain.example", starttls=False).start()
    tls = MxSink("mx.tls.example").start()
    broken = MxSink("mx.broken.example", broken_tls=True).start()
    try:
        for server in (plain, tls, broken):
            exchangers = [Exchanger(server.hostname, 10, ("127.0.0.1",))]
            with pytest.raises(TransientDeliveryError):
                asyncio.run(smtp.send_direct(exchangers, server.port, "a@agents.example",
                                             ["b@x.example"], b"Subject: t\r\n\r\nx\r\n",
                                             timeout=5, require_tls=True))
            assert server.received == []
            asyncio.run(smtp.send_direct(exchangers, server.port, "a@agents.example",
                                         ["b@x.example"], b"Subject: t\r\n\r\nx\r\n",
                                         timeout=5))
            assert [r.tls for r in server.received] == [server is tls]
    finally:
        for server in (plain, tls, broken):
            server.stop()


def test_the_next_mx_is_tried_when_one_cannot_be_reached(mx: MxSink) -> None:
    before = len(mx.received)
    exchangers = [Exchanger("down.example", 10, ("127.0.0.2",)),  # nothing listens there
                  Exchanger(mx.hostname, 20, ("127.0.0.1",))]
    asyncio.run(smtp.send_direct(exchangers, mx.port, "a@agents.example", ["b@dest.example"],
                                 b"Subject: next\r\n\r\nx\r\n", timeout=5))
    assert [r.rcpt_tos for r in mx.received[before:]] == [["b@dest.example"]]


def test_mx_lookup_order_and_refusals(dns_server: DnsServer) -> None:
    dns_server.add("multi.example", "MX", "20 b.multi.example.", "10 a.multi.example.")
    dns_server.add("a.multi.example", "A", "127.0.0.2")
    dns_server.add("b.multi.example", "A", "127.0.0.3")
    resolver = MxResolver(dns_server.nameservers, timeout=5)
    found = asyncio.run(resolver.exchangers("multi.example"))
    assert [(e.host, e.addresses) for e in found] == [("a.multi.example", ("127.0.0.2",)),
                                                      ("b.multi.example", ("127.0.0.3",))]
    for domain in ("nullmx.example", "nowhere.example"):
        with pytest.raises(PermanentDeliveryError):
            asyncio.run(resolver.exchangers(domain))
