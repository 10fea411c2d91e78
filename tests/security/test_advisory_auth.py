"""Attachment/link advisory and authentication verdicts (offline: resolver injected)."""

from __future__ import annotations

import time
from pathlib import Path

from agenticmail.security import advise, compute_auth, parse_auth_results

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "eml" / "inbound"


def _read(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_attachment_risk_levels() -> None:
    assert advise(_read("rule.ATT_DOUBLE_EXTENSION.hit.eml")).level == "critical"
    exe = advise(_read("rule.ATT_EXECUTABLE.hit.eml"))
    assert exe.level == "critical" and exe.attachments[0].reasons == ("executable",)
    assert advise(_read("rule.ATT_ARCHIVE.hit.eml")).level == "high"
    assert advise(_read("rule.ATT_EXECUTABLE.miss.eml")).level is None


def test_link_warnings() -> None:
    adv = advise(_read("rule.PH_LINK_TEXT_MISMATCH.hit.eml"))
    assert adv.level == "high" and adv.links[0].reasons == ("text_href_mismatch",)
    assert advise(_read("rule.PH_URL_SHORTENER.hit.eml")).level == "medium"
    assert advise(_read("rule.PH_SCRIPT_URI.hit.eml")).level == "critical"
    assert advise(_read("rule.PH_LINK_TEXT_MISMATCH.miss.eml")).level is None
    assert set(adv.to_dict()) == {"level", "attachments", "links"}


def test_parse_auth_results_trusts_topmost_header_only() -> None:
    raw = (
        b"Authentication-Results: mx.local; spf=fail smtp.mailfrom=x.example; dkim=none;"
        b" dmarc=fail\r\n"
        b"Authentication-Results: forged; spf=pass; dkim=pass; dmarc=pass\r\n"
        b"From: a@x.example\r\n\r\nhi\r\n"
    )
    v = parse_auth_results(raw)
    assert v is not None and (v.spf, v.dkim, v.dmarc, v.source) == (
        "fail",
        "none",
        "fail",
        "header",
    )
    trusted = parse_auth_results(raw, trusted_authserv_ids=frozenset({"forged"}))
    assert trusted is not None and trusted.spf == "pass"
    assert parse_auth_results(b"From: a@x.example\r\n\r\nhi\r\n") is None


def test_compute_auth_offline_without_records_is_none() -> None:
    raw = _read("rule.AUTH_NO_RESULTS.hit.eml")
    v = compute_auth(raw, resolver=lambda name: None)
    assert (v.dkim, v.dmarc, v.source) == ("none", "none", "computed")


def test_compute_auth_dmarc_fail_when_policy_but_no_aligned_dkim() -> None:
    raw = _read("rule.AUTH_NO_RESULTS.hit.eml")
    records = {"_dmarc.partner.example": b"v=DMARC1; p=reject"}
    v = compute_auth(raw, resolver=lambda name: records.get(name.rstrip(".")))
    assert v.dmarc == "fail"


def test_compute_auth_bad_signature_and_hanging_resolver_never_hang() -> None:
    raw = (
        b"DKIM-Signature: v=1; a=rsa-sha256; d=x.example; s=s; h=from; bh=AAAA; b=AAAA\r\n"
        + _read("rule.AUTH_NO_RESULTS.hit.eml")
    )

    def slow(name: str) -> None:
        time.sleep(5)

    start = time.monotonic()
    v = compute_auth(raw, resolver=slow, timeout=0.2)
    assert time.monotonic() - start < 3
    assert v.dkim in ("temperror", "permerror", "fail")
    assert compute_auth(raw, resolver=lambda n: None).dkim in ("permerror", "fail", "temperror")


def _signed(body: bytes) -> tuple[bytes, dict[str, str]]:
    """A message signed for real by dkimpy with a fresh key, and the DNS that publishes it."""
    import base64

    import dkim
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.DER,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    message = (b"From: Sam <sam@signer.example>\r\nTo: agent@localhost\r\nSubject: invoice\r\n"
               b"Message-ID: <s@signer.example>\r\n\r\n" + body)
    signature = dkim.sign(message, b"sel", b"signer.example", private,
                          include_headers=[b"from", b"to", b"subject"])
    dns = {"sel._domainkey.signer.example":
           "v=DKIM1; k=rsa; p=" + base64.b64encode(public).decode()}
    return signature + message, dns


def test_a_body_tampered_dkim_signature_is_fail_not_permerror() -> None:
    signed, dns = _signed(b"Please pay invoice 1042 to the usual account.\r\n")
    resolver = lambda name: dns.get(name.rstrip("."))  # noqa: E731
    assert compute_auth(signed, resolver=resolver).dkim == "pass"
    tampered = signed.replace(b"the usual account", b"account 99-1234 (new)")
    assert compute_auth(tampered, resolver=resolver).dkim == "fail"
    header_tampered = signed.replace(b"Subject: invoice", b"Subject: URGENT invoice")
    assert compute_auth(header_tampered, resolver=resolver).dkim == "fail"
