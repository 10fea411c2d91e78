"""``agenticmail domain status`` / ``GET /v1/domain/status`` on a real daemon whose
``dns_nameservers`` is a local DNS server: each record domain mode needs, expected vs found
(MX as a set, TXT joined and whitespace-normalised; one right, one wrong, one missing), the
proxied tunnel record checked through Cloudflare, the live-state documents of the other
parts, and a lookup that fails said so."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from agenticmail.services import domain_config
from agenticmail.services.context import ServiceContext
from agenticmail.services.domain_config import DomainConfig, OutboundPath
from agenticmail.services.domain_records import expected_records
from agenticmail.services.domain_status import check_records
from agenticmail_testing.daemon import DaemonHandle
from agenticmail_testing.dns_server import DkimKey, DnsServer
from agenticmail_testing.ports import free_port

from .cli_runs import cli, cli_json

DOMAIN = "agents.test"
TUNNEL_STATES = {"idle", "starting", "connected", "disconnected", "restarting", "not_installed",
                 "failed", "stopped"}


@pytest.fixture(scope="module")
def dns() -> Iterator[DnsServer]:
    server = DnsServer().start()
    yield server
    server.close()


@pytest.fixture(scope="module")
def status_daemon(dns: DnsServer) -> Iterator[DaemonHandle]:
    handle = DaemonHandle(dns_nameservers=dns.nameservers).start()
    yield handle
    handle.close()


def _ctx(d: DaemonHandle) -> ServiceContext:
    assert d.daemon is not None
    return d.daemon.ctx


@pytest.fixture(scope="module")
def configured(status_daemon: DaemonHandle, dns: DnsServer) -> DomainConfig:
    key = DkimKey.generate(DOMAIN, "agenticmail")
    config = DomainConfig(domain=DOMAIN, zone_id="z1", hostname=f"inbound.{DOMAIN}",
                          tunnel_id="6ff42ae2-765d-4adf-8112-31c55c1551ef",
                          tunnel_name="agenticmail", rua_address=f"dmarc@{DOMAIN}",
                          dkim_public_key=key.record.split("p=", 1)[1],
                          outbound=OutboundPath.DIRECT, steps_done=("zone", "dns"))
    ctx = _ctx(status_daemon)
    domain_config.clear(ctx)
    with status_daemon.client() as http:
        missing = http.get("/v1/domain/status")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "not_configured")
    domain_config.save(ctx, config)
    # MX: Email Routing's three, in another order (a set); SPF: right, published as two
    # strings with other spacing, beside another TXT record; DKIM: another key; DMARC: none
    dns.add(DOMAIN, "MX", "24 route3.mx.cloudflare.net.", "13 route1.mx.cloudflare.net.",
            "86 Route2.MX.cloudflare.net.")
    dns.add(DOMAIN, "TXT", '"google-site-verification=abc123"',
            '"v=spf1  include:_spf.mx.cloudflare.net" " ~all"')
    other = DkimKey.generate(DOMAIN, "agenticmail")
    dns.add(f"agenticmail._domainkey.{DOMAIN}", "TXT",
            " ".join(f'"{other.record[i:i + 200]}"' for i in range(0, len(other.record), 200)))
    # as the tunnel runner records it (the daemon's own runner idles: no tunnel token here;
    # were it to record its own state, that is what status would show)
    domain_config.write_state(ctx, domain_config.TUNNEL_STATE_KEY,
                              {"state": "connected", "connections": 4, "restarts": 0})
    domain_config.write_state(ctx, domain_config.INBOUND_LAST_KEY,
                              {"at": "2026-12-05T10:00:00.000+00:00", "agent": "alice",
                               "from": "someone@example.org"})
    domain_config.write_state(ctx, domain_config.OUTBOUND_LAST_KEY,
                              {"at": "2026-12-05T10:01:00.000+00:00", "path": "direct",
                               "ok": True})
    return config


def _records(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["purpose"]: r for r in data["status"]["records"]}


def test_each_record_expected_vs_found(status_daemon: DaemonHandle,
                                       configured: DomainConfig) -> None:
    with status_daemon.client() as http:
        response = http.get("/v1/domain/status")
    assert response.status_code == 200, response.text
    records = _records(response.json())
    assert {p: r["state"] for p, r in records.items()} == {
        "mx": "ok", "spf": "ok", "dkim": "wrong", "dmarc": "missing", "tunnel": "cloudflare"}
    assert records["mx"]["found"] == ["13 route1.mx.cloudflare.net", "24 route3.mx.cloudflare.net",
                                      "86 route2.mx.cloudflare.net"]
    assert records["spf"]["found"] == ["v=spf1 include:_spf.mx.cloudflare.net ~all"]
    assert records["dkim"]["found"][0].startswith("v=DKIM1; k=rsa; p=")
    assert records["dkim"]["found"] != records["dkim"]["expected"]
    assert records["dmarc"]["expected"] == [f"v=DMARC1; p=quarantine; rua=mailto:dmarc@{DOMAIN}"]
    assert "checked through Cloudflare" in records["tunnel"]["detail"]
    status = response.json()["status"]
    assert status["records_ok"] is False
    assert status["tunnel"]["state"]["state"] in TUNNEL_STATES
    assert status["worker"]["inbound_url"] == f"https://inbound.{DOMAIN}/v1/inbound/cloudflare"
    assert status["inbound"]["last"]["agent"] == "alice"
    assert status["outbound"] == {"path": "direct", "last": {
        "at": "2026-12-05T10:01:00.000+00:00", "path": "direct", "ok": True}}


def test_mx_compared_as_a_set_and_two_spf_records(status_daemon: DaemonHandle,
                                                  configured: DomainConfig,
                                                  dns: DnsServer) -> None:
    dns.add(DOMAIN, "MX", "13 route1.mx.cloudflare.net.", "10 mx.elsewhere.example.")
    dns.add(DOMAIN, "TXT", '"v=spf1 include:_spf.mx.cloudflare.net ~all"', '"v=spf1 -all"')
    try:
        records = _records(cli_json(status_daemon.home, "domain", "status"))
    finally:
        dns.add(DOMAIN, "MX", "13 route1.mx.cloudflare.net.", "86 route2.mx.cloudflare.net.",
                "24 route3.mx.cloudflare.net.")
        dns.add(DOMAIN, "TXT", '"v=spf1 include:_spf.mx.cloudflare.net ~all"')
    assert records["mx"]["state"] == "wrong"
    assert records["mx"]["found"] == ["10 mx.elsewhere.example", "13 route1.mx.cloudflare.net"]
    assert records["spf"]["state"] == "wrong" and "permerror" in records["spf"]["detail"]


def test_cli_shows_the_records(status_daemon: DaemonHandle, configured: DomainConfig) -> None:
    shown = cli(status_daemon.home, "domain", "status")
    assert shown.exit_code == 0, shown.output
    text = " ".join(shown.stdout.split())
    for expected in ("Domain agents.test", "_dmarc.agents.test", "no v=DMARC1 TXT record",
                     "published, but different", "checked through Cloudflare",
                     "tunnel state", "agent: alice", "direct"):
        assert expected in text, text


def test_a_failed_lookup_says_so(configured: DomainConfig) -> None:
    started = time.monotonic()
    entries = check_records(expected_records(configured), f"127.0.0.1:{free_port()}")
    assert time.monotonic() - started < 30  # bounded: lookups run at once, each with a timeout
    assert {e["purpose"]: e["state"] for e in entries} == {
        "mx": "unknown", "spf": "unknown", "dkim": "unknown", "dmarc": "unknown",
        "tunnel": "cloudflare"}
    assert all("try again later" in e["detail"] for e in entries if e["state"] == "unknown")


@pytest.mark.parametrize(("dkim", "dmarc", "states"), [
    ('"k=rsa; p=KEY"', '"v=DMARC1;rua=mailto:dmarc@other.test;  p=quarantine;"', ("ok", "ok")),
    ('"v=DKIM1; k=rsa; " "p=KEY"', '"v=DMARC1; p=none; rua=mailto:dmarc@other.test"',
     ("ok", "wrong")),
    ('"v=DKIM1; k=rsa; p=OTHERKEY"', '"v=spf1 -all"', ("wrong", "wrong")),
], ids=["no-version-reordered", "split-and-p-none", "other-key"])
def test_dkim_and_dmarc_compared_tag_by_tag(dns: DnsServer, dkim: str, dmarc: str,
                                            states: tuple[str, str]) -> None:
    config = DomainConfig(domain="other.test", rua_address="dmarc@other.test",
                          dkim_public_key="KEY")
    dns.add("agenticmail._domainkey.other.test", "TXT", dkim)
    dns.add("_dmarc.other.test", "TXT", dmarc)
    entries = {e["purpose"]: e for e in check_records(expected_records(config),
                                                       dns.nameservers)}
    assert (entries["dkim"]["state"], entries["dmarc"]["state"]) == states
    assert entries["mx"]["state"] == "missing" and entries["spf"]["state"] == "missing"
