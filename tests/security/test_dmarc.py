"""DMARC per RFC 7489: the published policy (p=, sp=, pct=), relaxed and strict alignment of
DKIM and SPF, the organisational-domain fallback, and DNS trouble as ``temperror``; computed
end to end from a message dkimpy really signed."""

from __future__ import annotations

import pytest

from agenticmail.errors import DnsUnavailable
from agenticmail.security import compute_auth
from agenticmail.security.dmarc import DmarcPolicy, evaluate, parse_record
from tests.security.test_advisory_auth import _signed


def _dns(records: dict[str, str]):  # type: ignore[no-untyped-def]
    return lambda name: records.get(name.rstrip("."))


@pytest.mark.parametrize(
    ("record", "policy"),
    [
        ("v=DMARC1; p=reject", DmarcPolicy("reject")),
        ("v=DMARC1;p=quarantine;sp=none;pct=25;adkim=s;aspf=s",
         DmarcPolicy("quarantine", "none", 25, "s", "s")),
        ("v=DMARC1; p=bogus; rua=mailto:d@x.example", DmarcPolicy("none")),  # §6.6.3
        ("v=DMARC1; p=reject; pct=250", DmarcPolicy("reject", pct=100)),
        ("v=DMARC1; p=reject; pct=abc", DmarcPolicy("reject")),
    ],
)
def test_records_are_read_as_rfc_7489_says(record: str, policy: DmarcPolicy) -> None:
    assert parse_record(record) == policy


@pytest.mark.parametrize("record", ["v=spf1 -all", "p=reject; v=DMARC1", "v=DMARC1; p=bogus",
                                    "", "v=DMARC2; p=reject"])
def test_what_is_not_a_dmarc_record_is_no_policy(record: str) -> None:
    assert parse_record(record) is None


def test_relaxed_and_strict_dkim_alignment() -> None:
    relaxed = _dns({"_dmarc.shop.example": "v=DMARC1; p=reject"})
    strict = _dns({"_dmarc.shop.example": "v=DMARC1; p=reject; adkim=s"})
    assert evaluate("shop.example", relaxed, dkim_domains=["mail.shop.example"]).result == "pass"
    assert evaluate("shop.example", strict, dkim_domains=["mail.shop.example"]).result == "fail"
    assert evaluate("shop.example", strict, dkim_domains=["shop.example"]).result == "pass"
    failed = evaluate("shop.example", relaxed, dkim_domains=["other.example"])
    assert (failed.result, failed.disposition) == ("fail", "reject")


def test_spf_counts_only_when_its_domain_aligns() -> None:
    dns = _dns({"_dmarc.shop.example": "v=DMARC1; p=quarantine; aspf=r"})
    assert evaluate("shop.example", dns, dkim_domains=[], spf_result="pass",
                    spf_domain="bounces.shop.example").result == "pass"
    # an SPF pass for somebody else's envelope domain proves nothing about the From domain
    assert evaluate("shop.example", dns, dkim_domains=[], spf_result="pass",
                    spf_domain="mailer.example").result == "fail"
    assert evaluate("shop.example", dns, dkim_domains=[], spf_result="fail",
                    spf_domain="shop.example").result == "fail"
    strict = _dns({"_dmarc.shop.example": "v=DMARC1; p=quarantine; aspf=s"})
    assert evaluate("shop.example", strict, dkim_domains=[], spf_result="pass",
                    spf_domain="bounces.shop.example").result == "fail"


def test_a_subdomain_falls_back_to_the_organisation_and_its_sp() -> None:
    dns = _dns({"_dmarc.shop.example": "v=DMARC1; p=reject; sp=quarantine"})
    result = evaluate("news.shop.example", dns, dkim_domains=[])
    assert (result.result, result.disposition, result.policy_domain) == (
        "fail", "quarantine", "shop.example")
    own = _dns({"_dmarc.news.shop.example": "v=DMARC1; p=none",
                "_dmarc.shop.example": "v=DMARC1; p=reject"})
    assert evaluate("news.shop.example", own, dkim_domains=[]).disposition == "none"


def test_pct_samples_the_same_message_the_same_way() -> None:
    dns = _dns({"_dmarc.shop.example": "v=DMARC1; p=reject; pct=50"})
    seen = {evaluate("shop.example", dns, dkim_domains=[], message_id=f"<{i}@x>").disposition
            for i in range(200)}
    assert seen == {"reject", "quarantine"}  # outside the sample: one step gentler (§6.6.4)
    once = evaluate("shop.example", dns, dkim_domains=[], message_id="<7@x>").disposition
    assert all(evaluate("shop.example", dns, dkim_domains=[], message_id="<7@x>").disposition
               == once for _ in range(5))


def test_no_record_is_none_and_dns_trouble_is_temperror() -> None:
    assert evaluate("shop.example", _dns({}), dkim_domains=[]).result == "none"

    def broken(name: str) -> None:
        raise DnsUnavailable("SERVFAIL")

    assert evaluate("shop.example", broken, dkim_domains=[]).result == "temperror"
    assert evaluate("", broken, dkim_domains=[]).result == "none"


def test_computed_end_to_end_from_a_signed_message() -> None:
    signed, dns = _signed(b"Your order has shipped.\r\n")
    dns["_dmarc.signer.example"] = "v=DMARC1; p=reject"
    verdict = compute_auth(signed, resolver=_dns(dns))
    assert (verdict.dkim, verdict.dmarc, verdict.dmarc_policy) == ("pass", "pass", "none")
    forged = signed.replace(b"From: Sam <sam@signer.example>", b"From: Sam <sam@signer.example>"
                            b"\r\nX-Note: relayed")  # unsigned header: still passes
    assert compute_auth(forged, resolver=_dns(dns)).dmarc == "pass"
    spoofed = signed.replace(b"sam@signer.example", b"ceo@signer.example")  # From is signed
    verdict = compute_auth(spoofed, resolver=_dns(dns))
    assert (verdict.dkim, verdict.dmarc, verdict.dmarc_policy) == ("fail", "fail", "reject")
    assert compute_auth(spoofed, resolver=_dns(dns), spf="pass",
                        spf_domain="bounce@elsewhere.example").dmarc == "fail"
    assert compute_auth(spoofed, resolver=_dns(dns), spf="pass",
                        spf_domain="bounce@signer.example").dmarc == "pass"
