"""Bounces, complaints and emailed unsubscribes in domain mode, end to end: a real daemon with
``gateway_mode = domain`` whose agents send From ``agent@domain`` through the smarthost path
(an SMTP sink), and whose reports come back the way the Email Worker posts them (signed, to
``POST /v1/inbound/cloudflare``), with or without an ARC set Cloudflare sealed.

A report is acted on from any copy the domain gateway delivered; what a copy's
Authentication-Results say is still believed only where the gateway vouched for them; a
report delivered another way (LMTP straight into the mailbox), or one an agent at the domain
sent out and that came back, changes nothing."""

from __future__ import annotations

import re
import smtplib
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

from agenticmail_testing.daemon import unique
from agenticmail_testing.dns_server import DkimKey
from agenticmail_testing.smtp_sink import SmtpSink
from agenticmail_testing.sse import EventStream
from tests.domain import inbound_helpers
from tests.domain.inbound_helpers import (
    AUTHSERV,
    CLOUDFLARE_SEALER,
    DOMAIN,
    InboundDaemon,
    arc_sealed,
    message,
)
from tests.relay.test_bounces_e2e import WAIT, arrival, bounce, outbox_row, sent, suppressed

NOBODY = "nobody@example.net"  # the failed recipient in postfix_hard.eml
SAYS_PASS = "dkim=pass header.d=sender.example; dmarc=pass header.from=sender.example"


@pytest.fixture(scope="module")
def daemon(arc_keys: dict[str, DkimKey], sink: SmtpSink) -> Iterator[InboundDaemon]:
    """Domain mode, inbound (the Worker's secret) and outbound (smarthost: the sink)."""
    running = inbound_helpers.running(arc_keys, gateway_mode="domain")
    inbound = next(running)
    try:
        with inbound.handle.client() as owner:
            assert owner.put("/v1/route", json=sink.route()).status_code == 200
            r = owner.put("/v1/domain/outbound", json={"path": "smarthost"})
            assert r.status_code == 200, r.text
        yield inbound
    finally:
        running.close()


def dsn(name: str, message_id: str, failed: str, *, from_: str | None = None) -> bytes:
    """A Postfix hard bounce for agent ``name``'s message ``message_id`` about ``failed``,
    as it comes back to ``name@domain`` (CRLF); written ``from_`` someone else if given."""
    raw = bounce("postfix_hard.eml", name, message_id, failed, NOBODY).replace(
        f"owner+{name}@example.com".encode(), f"{name}@{DOMAIN}".encode())
    if from_ is not None:
        raw = re.sub(rb"(?m)^From: .*$", f"From: {from_}".encode(), raw, count=1)
        raw = raw.replace(b"Return-Path: <>\n", b"")
    return raw.replace(b"\n", b"\r\n")


def own_id(raw: bytes) -> str:
    found = re.search(rb"(?mi)^Message-ID: (<[^>]+>)", raw)
    assert found is not None
    return found.group(1).decode()


@pytest.mark.parametrize("vouched", [False, True], ids=["no-arc", "cloudflare-arc"])
def test_a_bounce_through_the_gateway_suppresses_the_recipient(daemon: InboundDaemon,
                                                               arc_keys: dict[str, DkimKey],
                                                               vouched: bool) -> None:
    handle = daemon.handle
    created = handle.create_agent(unique("db"))
    name, key = created["agent"]["name"], created["api_key"]
    gone = f"gone-{uuid.uuid4().hex[:8]}@far.example"
    with EventStream(handle.api_url, key) as events:
        accepted = sent(handle, key, events, to=[gone], subject="figures")
        report = dsn(name, accepted["message_id"], gone)
        if vouched:  # Cloudflare's MX recorded its checks in an ARC set it sealed
            report = arc_sealed(report, arc_keys[CLOUDFLARE_SEALER], SAYS_PASS)
        else:  # an Authentication-Results the sender wrote: the copy is not vouched for
            report = (f"Authentication-Results: {AUTHSERV}; {SAYS_PASS}\r\n".encode()
                      + report)
        r = daemon.post(report, f"{name}@{DOMAIN}", sender="")
        assert r.status_code == 200 and r.json()["status"] == "delivered", r.text
        assert r.json()["arc"] == ("pass" if vouched else "none")
        event = events.next("message.bounced", timeout=WAIT)["data"]
        added = events.next("suppression.added", timeout=WAIT,
                            where=lambda e: e["data"]["address"] == gone)
        new = events.next(None, timeout=WAIT, where=arrival(own_id(report)))
    assert (event["id"], event["kind"], event["failed"], event["suppressed"]) == (
        accepted["id"], "hard", True, [gone])
    assert added["data"]["reason"] == "hard_bounce"
    assert outbox_row(handle, key, accepted["id"])["status"] == "bounced"
    assert suppressed(handle, key)[gone]["source"] == accepted["id"]
    # arriving through the gateway does not make a header the gateway did not vouch for true
    auth = new["data"]["message"]["security"]["auth"]
    assert (auth["dkim"], auth["source"]) == (("pass", "header") if vouched
                                              else ("none", "computed"))
    with handle.client(key) as api:
        r = api.post("/v1/mail/send", json={"to": [gone], "subject": "again", "text": "hi"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "recipient_suppressed"


def test_reports_not_from_outside_through_the_gateway_change_nothing(
        daemon: InboundDaemon) -> None:
    handle = daemon.handle
    alice = handle.create_agent(unique("victim"))
    mallory = handle.create_agent(unique("forger"))
    name, key = alice["agent"]["name"], alice["api_key"]
    target = f"partner-{uuid.uuid4().hex[:8]}@far.example"
    with EventStream(handle.api_url, key) as events:
        accepted = sent(handle, key, events, to=[target])

        # 1. a DSN written straight into alice's mailbox over LMTP: no gateway's seal
        local = dsn(name, accepted["message_id"], target)
        with smtplib.LMTP(handle.lmtp_socket, timeout=10) as lmtp:
            lmtp.sendmail("", [alice["agent"]["address"]], local)
        events.next(None, timeout=WAIT, where=arrival(own_id(local)))

        # 2. a DSN an agent at the domain sent out, back through the domain's MX and the
        # Worker: sealed by the gateway, but from one of the daemon's own addresses
        mallory_at_domain = f"{mallory['agent']['name']}@{DOMAIN}"
        looped = dsn(name, accepted["message_id"], target, from_=mallory_at_domain)
        r = daemon.post(looped, f"{name}@{DOMAIN}", sender=mallory_at_domain)
        assert r.status_code == 200 and r.json()["status"] == "delivered", r.text
        events.next(None, timeout=WAIT, where=arrival(own_id(looped)))
        # the bounce step runs in the transaction that announces each message: by now both
        # were decided
        assert not [e for e in events.drain() if e["type"] in ("message.bounced",
                                                               "suppression.added")]
    assert outbox_row(handle, key, accepted["id"])["bounce"] is None
    assert suppressed(handle, key) == {}


def test_an_emailed_unsubscribe_through_the_gateway_is_honoured(daemon: InboundDaemon,
                                                                sink: SmtpSink) -> None:
    handle = daemon.handle
    created = handle.create_agent(unique("news"))
    name, key = created["agent"]["name"], created["api_key"]
    reader = f"reader-{uuid.uuid4().hex[:8]}@far.example"
    with EventStream(handle.api_url, key) as events:
        accepted: dict[str, Any] = sent(handle, key, events, to=[reader], subject="news",
                                        bulk=True)
        [out] = sink.with_id(accepted["message_id"])
        _, mailto = re.findall(r"<([^>]+)>", str(out.message["List-Unsubscribe"]))
        target = urlsplit(mailto)
        assert target.path == f"{name}@{DOMAIN}"
        request, _ = message(unquote(target.query.removeprefix("subject=")), target.path,
                             from_=f"Reader <{reader}>")
        r = daemon.post(request, target.path, sender=reader)
        assert r.status_code == 200, r.text
        events.next("suppression.added", timeout=WAIT,
                    where=lambda e: e["data"]["address"] == reader)
    assert suppressed(handle, key)[reader]["reason"] == "unsubscribe"
