"""SPF computed here (RFC 7208) for a known client IP, over real DNS (a loopback server through
the production resolver): ip4/ip6/a/mx mechanisms, include:, redirect=, the 10-lookup limit,
the null sender's HELO identity, a dead DNS server as ``temperror`` within the timeout, and
the provider's trace headers that name the connection (never the sender's)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from agenticmail.security.authresults import compute_auth, dnspython_records
from agenticmail.security.spf_check import spf_verdict
from agenticmail.security.trace_headers import Connection, provider_connection
from agenticmail_testing.dns_server import DnsServer
from agenticmail_testing.ports import free_port


@pytest.fixture(scope="module")
def dns() -> Iterator[DnsServer]:
    server = DnsServer().start()
    server.add("pass.spf.test", "TXT", '"v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all"')
    server.add("soft.spf.test", "TXT", '"v=spf1 ip4:198.51.100.7 ~all"')
    server.add("neutral.spf.test", "TXT", '"v=spf1 ?all"')
    server.add("bad.spf.test", "TXT", '"v=spf1 ip4:192.0.2.300 -all"')
    server.add("outsourced.spf.test", "TXT", '"v=spf1 include:esp.spf.test -all"')
    server.add("esp.spf.test", "TXT", '"v=spf1 ip4:203.0.113.0/24 -all"')
    server.add("redirected.spf.test", "TXT", '"v=spf1 redirect=esp.spf.test"')
    server.add("hosts.spf.test", "TXT", '"v=spf1 a mx -all"')
    server.add("hosts.spf.test", "A", "192.0.2.40")
    server.add("hosts.spf.test", "MX", "10 mx.hosts.spf.test.")
    server.add("mx.hosts.spf.test", "A", "198.51.100.25")
    server.add("helo.spf.test", "TXT", '"v=spf1 ip4:192.0.2.77 -all"')
    # eleven includes, each of which needs a lookup: one more than RFC 7208 §4.6.4 allows
    server.add("many.spf.test", "TXT",
               '"v=spf1 ' + " ".join(f"include:n{i}.spf.test" for i in range(11)) + ' -all"')
    for i in range(11):
        server.add(f"n{i}.spf.test", "TXT", '"v=spf1 ip4:10.9.9.9 ?all"')
    server.add("loop.spf.test", "TXT", '"v=spf1 include:loop2.spf.test -all"')
    server.add("loop2.spf.test", "TXT", '"v=spf1 include:loop.spf.test -all"')
    yield server
    server.close()


def _check(dns: DnsServer, ip: str, mail_from: str, helo: str = "") -> str:
    return spf_verdict(ip, mail_from, helo, lookup=dnspython_records(2.0, dns.nameservers),
                       timeout=2.0).result


@pytest.mark.parametrize(
    ("ip", "mail_from", "result"),
    [
        ("192.0.2.10", "bounce@pass.spf.test", "pass"),
        ("2001:db8::5", "bounce@pass.spf.test", "pass"),
        ("198.18.0.1", "bounce@pass.spf.test", "fail"),
        ("198.18.0.1", "bounce@soft.spf.test", "softfail"),
        ("198.18.0.1", "bounce@neutral.spf.test", "neutral"),
        ("198.18.0.1", "bounce@nospf.spf.test", "none"),
        ("192.0.2.10", "bounce@bad.spf.test", "permerror"),
        ("203.0.113.9", "bounce@outsourced.spf.test", "pass"),  # include:
        ("192.0.2.10", "bounce@outsourced.spf.test", "fail"),
        ("203.0.113.9", "bounce@redirected.spf.test", "pass"),  # redirect=
        ("198.18.0.1", "bounce@redirected.spf.test", "fail"),
        ("192.0.2.40", "bounce@hosts.spf.test", "pass"),  # a
        ("198.51.100.25", "bounce@hosts.spf.test", "pass"),  # mx
        ("198.18.0.1", "bounce@hosts.spf.test", "fail"),
    ],
)
def test_mechanisms_give_rfc_7208_results(dns: DnsServer, ip: str, mail_from: str,
                                          result: str) -> None:
    assert _check(dns, ip, mail_from) == result


def test_more_than_ten_lookups_or_a_loop_is_permerror(dns: DnsServer) -> None:
    assert _check(dns, "198.18.0.1", "x@many.spf.test") == "permerror"
    assert _check(dns, "198.18.0.1", "x@loop.spf.test") == "permerror"


def test_the_verdict_names_the_identity_dmarc_aligns(dns: DnsServer) -> None:
    found = spf_verdict("192.0.2.10", "Bounce@Pass.spf.test", "mail.other.test",
                        lookup=dnspython_records(2.0, dns.nameservers))
    assert (found.result, found.domain, found.identity) == ("pass", "pass.spf.test", "mailfrom")
    # the null sender: the HELO identity (postmaster@HELO, RFC 7208 §2.4)
    null = spf_verdict("192.0.2.77", "<>", "helo.spf.test",
                       lookup=dnspython_records(2.0, dns.nameservers))
    assert (null.result, null.domain, null.identity) == ("pass", "helo.spf.test", "helo")
    helo_fails = spf_verdict("198.18.0.1", "", "helo.spf.test",
                             lookup=dnspython_records(2.0, dns.nameservers))
    assert (helo_fails.result, helo_fails.helo) == ("fail", "fail")
    # no address, or nothing to check: none, never an exception
    for ip, sender, helo in [("not-an-ip", "x@pass.spf.test", ""), ("192.0.2.1", "", ""),
                             ("192.0.2.1", "", "[192.0.2.1]")]:
        assert spf_verdict(ip, sender, helo,
                           lookup=dnspython_records(2.0, dns.nameservers)).result == "none"


def test_a_dead_dns_server_is_temperror_quickly() -> None:
    dead = f"127.0.0.1:{free_port()}"  # nothing answers there
    started = time.monotonic()
    found = spf_verdict("192.0.2.10", "bounce@pass.spf.test", "mail.pass.spf.test",
                        lookup=dnspython_records(0.5, dead), timeout=0.5)
    assert (found.result, found.helo) == ("temperror", "temperror")
    assert time.monotonic() - started < 10  # bounded by the timeout, not DNS's own retries


def test_computed_spf_decides_dmarc_alignment(dns: DnsServer) -> None:
    # an unsigned message From the domain whose SPF is checked: DMARC rests on SPF alone
    dns.add("_dmarc.pass.spf.test", "TXT", '"v=DMARC1; p=reject"')
    raw = (b"From: Shop <news@pass.spf.test>\r\nTo: a@example.com\r\nSubject: hi\r\n"
           b"Message-ID: <1@pass.spf.test>\r\n\r\nhello\r\n")
    resolver_records = dnspython_records(2.0, dns.nameservers)

    def txt(name: str) -> bytes | None:
        return next((b"".join(s) for s in resolver_records(name, "TXT")), None)

    good = spf_verdict("192.0.2.10", "bounce@pass.spf.test", "", lookup=resolver_records)
    auth = compute_auth(raw, resolver=txt, spf=good.result, spf_domain=good.domain)
    assert (auth.spf, auth.spf_domain, auth.dmarc) == ("pass", "pass.spf.test", "pass")
    forged = spf_verdict("198.18.0.1", "bounce@pass.spf.test", "", lookup=resolver_records)
    auth = compute_auth(raw, resolver=txt, spf=forged.result, spf_domain=forged.domain)
    assert (auth.spf, auth.dmarc, auth.dmarc_policy) == ("fail", "fail", "reject")
    assert auth.to_dict()["spf_domain"] == "pass.spf.test"
    assert "spf_domain" not in compute_auth(raw, resolver=txt).to_dict()  # SPF not known


PROVIDER = frozenset({"mx.google.com"})


def _head(*lines: str) -> bytes:
    return ("\r\n".join([*lines, "From: a@shop.example", "Subject: s", "", "body", ""])).encode()


def test_the_connection_comes_from_the_providers_own_headers_only() -> None:
    received = ("Received: from mail.shop.example (mail.shop.example [192.0.2.10])\r\n"
                "        by mx.google.com with ESMTPS id x1; Mon, 1 Dec 2026 10:00:00 +0000")
    stamped = "Authentication-Results: mx.google.com; spf=pass smtp.mailfrom=b@shop.example"
    forged = "Received: from evil (evil [203.0.113.66]) by mx.google.com; Mon, 1 Dec 2026"
    raw = _head("Return-Path: <b@shop.example>", received, stamped, forged)
    assert provider_connection(raw, provider_ids=PROVIDER) == Connection(
        "192.0.2.10", "b@shop.example", "mail.shop.example", "received")
    # the provider's Received-SPF names it exactly
    spf_header = ("Received-SPF: pass (google.com: domain of b@shop.example designates "
                  "192.0.2.11 as permitted sender) client-ip=192.0.2.11; "
                  "envelope-from=\"b@shop.example\"; helo=out.shop.example;")
    assert provider_connection(_head(spf_header, received, stamped), provider_ids=PROVIDER) == \
        Connection("192.0.2.11", "b@shop.example", "out.shop.example", "received-spf")
    # Gmail's Received-SPF names no HELO: its own Received for that IP does
    gmail_spf = ("Received-SPF: pass (google.com: domain of b@shop.example designates "
                 "192.0.2.10 as permitted sender) client-ip=192.0.2.10;")
    assert provider_connection(_head("Return-Path: <b@shop.example>", received, gmail_spf,
                                     stamped), provider_ids=PROVIDER) == Connection(
        "192.0.2.10", "b@shop.example", "mail.shop.example", "received-spf")
    # below the provider's Authentication-Results: the sender wrote it; never read
    assert provider_connection(_head(stamped, forged, "Return-Path: <x@evil.example>"),
                               provider_ids=PROVIDER) is None
    # no boundary (no A-R, or the topmost is not the provider's): nothing is trusted
    assert provider_connection(_head("Return-Path: <b@shop.example>", received),
                               provider_ids=PROVIDER) is None
    other = "Authentication-Results: evil.example; spf=pass"
    assert provider_connection(_head("Return-Path: <b@shop.example>", received, other, stamped),
                               provider_ids=PROVIDER) is None
    # a Received the provider's host did not write names no connection
    relay_hop = "Received: from x ([192.0.2.99]) by relay.other.example; Mon, 1 Dec 2026"
    assert provider_connection(_head("Return-Path: <b@shop.example>", relay_hop, stamped),
                               provider_ids=PROVIDER) is None
    # headers above ``start`` (added after the provider, e.g. our own mail host) are skipped
    ours = "Return-Path: <someone@else.example>"
    assert provider_connection(_head(ours, "X-Seal: 1", received, stamped),
                               provider_ids=PROVIDER, start=2) == Connection(
        "192.0.2.10", "b@shop.example", "mail.shop.example", "received")


@pytest.mark.parametrize(
    ("received", "ip", "helo"),
    [
        ("from mail.a.example (mail.a.example. [192.0.2.1]) by mx.google.com with ESMTPS id q",
         "192.0.2.1", "mail.a.example"),
        ("from host.a.example ([192.0.2.2] helo=smtp.a.example) by mx.google.com with esmtp",
         "192.0.2.2", "smtp.a.example"),
        ("from smtp.a.example (192.0.2.3) by mx.google.com (10.1.1.1) with Microsoft SMTP",
         "192.0.2.3", "smtp.a.example"),
        ("from v6.a.example (v6.a.example [IPv6:2001:db8::7]) by in.mx.google.com with ESMTP",
         "2001:db8::7", "v6.a.example"),
    ],
)
def test_received_forms_of_the_common_mtas(received: str, ip: str, helo: str) -> None:
    raw = _head(f"Received: {received}; Mon, 1 Dec 2026 10:00:00 +0000",
                "Authentication-Results: mx.google.com; spf=pass smtp.mailfrom=shop.example")
    found = provider_connection(raw, provider_ids=PROVIDER)
    assert found == Connection(ip, "postmaster@shop.example", helo, "received")
