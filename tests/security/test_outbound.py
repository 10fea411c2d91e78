"""Outbound guard (DLP): a hit and a near-miss per rule, evasion, attachments, masking, speed.

Secrets are assembled at run time (``"gh" + "p_" + ...``) so this file holds no literal token
that a repository secret scanner would flag.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import time
import zipfile
from datetime import date
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from agenticmail.cli.scan import scan_command
from agenticmail.models import Attachment, OutgoingMail
from agenticmail.security.outbound import (
    Finding,
    OwnerProfile,
    ScanResult,
    html_text,
    scan_message,
    scan_outgoing,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "eml" / "outbound"
R20 = "a8Fq3ZkL0pW7xR2mN5vB"  # a random-looking run to build tokens from


def mail(
    text: str = "",
    *,
    subject: str = "Hello",
    html: str | None = None,
    attachments: tuple[Attachment, ...] = (),
) -> OutgoingMail:
    return OutgoingMail(
        to=("someone@example.org",),
        subject=subject,
        text=text or None,
        html=html,
        attachments=attachments,
    )


def scan(text: str, **kw: object) -> ScanResult:
    return scan_outgoing(mail(text), **kw)  # type: ignore[arg-type]


def rules(result: ScanResult) -> set[str]:
    return {f.rule_id for f in result.findings}


def jwt() -> str:
    def part(d: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()

    return (
        part({"alg": "HS256", "typ": "JWT"})
        + "."
        + part({"sub": "1234567890", "name": "Jo"})
        + ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
    )


def pem(kind: str = "rsa") -> str:
    key = (
        rsa.generate_private_key(public_exponent=65537, key_size=1024)
        if kind == "rsa"
        else ec.generate_private_key(ec.SECP256R1())
    )
    fmt = (
        serialization.PrivateFormat.TraditionalOpenSSL
        if kind == "rsa"
        else serialization.PrivateFormat.PKCS8
    )
    return key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption()).decode()


# (rule id, text containing a real-looking item, expected severity, the secret part)
HITS: list[tuple[str, str, str, str]] = [
    # credentials
    ("aws_access_key", "key AKIAIOSFODNN7EXAMPLE for the bucket", "high", "AKIAIOSFODNN7EXAMPLE"),
    ("aws_access_key", "id ASIA" + "Y34FZKBOKMUTVV7A", "high", "ASIAY34FZKBOKMUTVV7A"),
    (
        "aws_secret_key",
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + "EXAMPLEKEY",
        "high",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    ),
    (
        "github_token",
        "token " + "gh" + "p_" + R20 + "Xy12Ab34Cd56Ef78",
        "high",
        "gh" + "p_" + R20 + "Xy12Ab34Cd56Ef78",
    ),
    (
        "github_token",
        "gh" + "s_" + R20 + "Xy12Ab34Cd56Ef78",
        "high",
        "gh" + "s_" + R20 + "Xy12Ab34Cd56Ef78",
    ),
    ("github_token", "github" + "_pat_11ABCDEFG0" + R20 + "_" + R20 + R20, "high", R20 + R20),
    ("openai_key", "OPENAI: sk-" + "proj-" + R20 + R20 + "T3Blb", "high", R20 + R20),
    ("stripe_key", "sk" + "_live_" + R20 + "4eC39H", "high", R20 + "4eC39H"),
    ("stripe_key", "pk" + "_test_" + R20 + "TYooMQ", "high", R20 + "TYooMQ"),
    ("generic_api_key", "use api_key_" + R20 + "99Zz", "high", R20 + "99Zz"),
    ("slack_token", "xo" + "xb-263748291045-4829104857362-" + R20 + "AbCd", "high", R20 + "AbCd"),
    ("jwt", "Cookie: " + jwt(), "high", jwt()),
    ("bearer_token", "Authorization: Bearer " + R20 + "Qz9.x-_7", "high", R20 + "Qz9.x-_7"),
    ("password", "password: hunter2go", "high", "hunter2go"),
    ("password", "Your p@ssw0rd = S3cure!Pass", "high", "S3cure!Pass"),
    ("password", "the wifi passphrase is Bl4ckC@t99", "high", "Bl4ckC@t99"),
    ("password", "pw: x7Rt!9qa", "high", "x7Rt!9qa"),
    ("password", "PASSWORD=@6ZBPXz3In%(F", "high", "@6ZBPXz3In%(F"),
    ("password", "my pass is Summer2023!", "high", "Summer2023!"),
    (
        "openai_key",
        "OPENAI_API_KEY=sk-" + "abcdefghijklmnopqrstuvwxyz1234567890ABCD",
        "high",
        "ABCD",
    ),
    (
        "slack_token",
        "xo" + "xb-1234567890-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
        "high",
        "QrStUvWx",
    ),
    ("credential_pair", "username: alice.w\npassword: Gr33nTea!", "high", "Gr33nTea!"),
    (
        "db_connection_string",
        "DSN mongodb+srv://app:Rk29xLq7Vb@cluster0.ab1cd.mongodb.net/prod",
        "high",
        "Rk29xLq7Vb",
    ),
    ("db_connection_string", "redis://:Zq8vLr2Xw9Pt@10.0.0.5:6379/0", "high", "Zq8vLr2Xw9Pt"),
    (
        "webhook_url",
        "post to https://hooks.slack.com/services/T00000000/B00000000/" + R20 + "Abcd",
        "high",
        R20 + "Abcd",
    ),
    (
        "webhook_url",
        "https://discord.com/api/webhooks/123456789012345678/" + R20 + R20,
        "high",
        R20 + R20,
    ),
    (
        "webhook_url",
        "https://webhook.site/9f1c2a6e-3b4d-4c5e-8f90-1a2b3c4d5e6f",
        "high",
        "9f1c2a6e-3b4d-4c5e-8f90-1a2b3c4d5e6f",
    ),
    ("env_block", "\nAPP_NAME=shop\nNODE_ENV=production\nLOG_LEVEL=info\n", "high", "production"),
    ("oauth_token", "refresh_token=" + R20 + "Zx81", "high", R20 + "Zx81"),
    ("oauth_token", "ya29." + R20 + R20, "high", R20 + R20),
    (
        "vpn_credentials",
        "[Interface]\nPrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=\n",
        "high",
        "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=",
    ),
    ("vpn_credentials", "IPsec pre-shared key: Kj7#mQ2!vX", "high", "Kj7#mQ2!vX"),
    ("agenticmail_key", "master key mk_" + "0123456789abcdef" * 3, "high", "0123456789abcdef" * 3),
    (
        "agenticmail_key",
        "ak_" + "9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f0e9d8c7b6a",
        "high",
        "9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f0e9d8c7b6a",
    ),
    (
        "seed_phrase",
        "legal winner thank year wave sausage worth useful legal winner thank yellow",
        "high",
        "sausage worth useful",
    ),
    (
        "backup_codes",
        "My GitHub recovery codes:\n4f2a1-9c8d7\n0b3e6-1a2f5\n7d9c4-2e8b1\n",
        "high",
        "0b3e6-1a2f5",
    ),
    ("generic_secret", "client token: " + R20 + "Pq", "high", R20 + "Pq"),
    ("env_assignment", "MAILGUN_AUTH_TOKEN=Wq8zLk2Mn4", "high", "Wq8zLk2Mn4"),
    # PII
    ("ssn", "my SSN is 536-22-8451", "high", "536-22-8451"),
    ("ssn", "SSN: 536228451", "high", "536228451"),
    ("ssn", "number 536.22.8451 on file", "high", "536.22.8451"),
    ("ssn", "social security number 536 22 8451", "high", "536 22 8451"),
    ("credit_card", "card 4111 1111 1111 1111 exp 04/27", "high", "4111 1111 1111 1111"),
    ("credit_card", "Amex 3782 822463 10005", "high", "3782 822463 10005"),
    ("credit_card", "charge 5500-0000-0000-0004 please", "high", "5500-0000-0000-0004"),
    ("credit_card", "visa 4012888888881881", "high", "4012888888881881"),
    ("bank_account", "Routing number: 021000021\nAccount number: 483920177", "high", "483920177"),
    ("bank_routing", "ABA routing number 021000021", "medium", "021000021"),
    ("drivers_license", "Driver's license: D1234567", "high", "D1234567"),
    ("drivers_license", "DL# 123-456-789", "high", "123-456-789"),
    ("dob", "Date of birth: 04/12/1986", "medium", "04/12/1986"),
    ("dob", "DOB March 12, 1986", "medium", "12, 1986"),
    ("passport", "Passport number: X12345678", "high", "X12345678"),
    ("tax_id", "EIN: 12-3456789", "high", "12-3456789"),
    ("itin", "ITIN 912-78-1234", "high", "912-78-1234"),
    ("health_insurance_id", "Medicare ID: 1EG4TE5MK73", "high", "1EG4TE5MK73"),
    ("health_insurance_id", "Blue Cross member ID: XYZ123456789", "high", "XYZ123456789"),
    ("a_number", "A-Number: A123456789", "high", "A123456789"),
    ("pin", "the card PIN: 4821", "high", "4821"),
    ("security_answer", "Mother's maiden name: Kowalski", "high", "Kowalski"),
    ("security_answer", "my first pet's name was Biscuit", "high", "Biscuit"),
    # financial
    ("iban", "IBAN: DE89 3704 0044 0532 0130 00", "high", "DE89 3704 0044 0532 0130 00"),
    ("iban", "pay GB82WEST12345698765432 today", "high", "GB82WEST12345698765432"),
    ("swift_bic", "SWIFT: DEUTDEFF500", "medium", "DEUTDEFF500"),
    (
        "crypto_wallet",
        "BTC 1BoatSLRHtKNngkdXEeobR76b53LETtpyT",
        "high",
        "1BoatSLRHtKNngkdXEeobR76b53LETtpyT",
    ),
    (
        "crypto_wallet",
        "wallet bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
        "high",
        "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
    ),
    (
        "crypto_wallet",
        "send USDT to 0x52908400098527886E0F7030069857D2E4169EE7",
        "high",
        "0x52908400098527886E0F7030069857D2E4169EE7",
    ),
    (
        "wire_instructions",
        "Please wire the funds: routing 021000021, account number 483920177",
        "high",
        "483920177",
    ),
    ("wire_instructions", "Wire $5,000 to account 48392017 at Chase today", "high", "48392017"),
    # system internals
    ("private_ip", "ssh to 192.168.10.44 tonight", "medium", "192.168.10.44"),
    (
        "file_path",
        "it is in /home/jane/projects/tax-2023.pdf",
        "medium",
        "/home/jane/projects/tax-2023.pdf",
    ),
    (
        "env_assignment",
        "API_URL=https://internal.acme.io/v1",
        "medium",
        "https://internal.acme.io/v1",
    ),
    # owner privacy (phrase form; profile matching has its own tests)
    ("owner_disclosure", "My owner's home address is on file", "high", ""),
]

# (rule id that must NOT fire, look-alike text): each a near-miss of a rule above
MISSES: list[tuple[str, str]] = [
    ("aws_access_key", "placeholder AKIAXXXXXXXXXXXXXXXX here"),
    ("aws_access_key", "AKIAIOSFODNN7EXAMPL is one short"),
    ("aws_secret_key", "aws_secret_access_key = <your secret key here>"),
    ("github_token", "gh" + "p_<your-token>"),
    ("github_token", "gh" + "p_" + "x" * 36),
    ("openai_key", "set sk-proj-... in your env"),
    ("stripe_key", "sk" + "_live_" + "x" * 24),
    ("generic_api_key", "call get_api_key_from_environment_variable() first"),
    ("slack_token", "xo" + "xb-your-token-here"),
    ("jwt", "eyJhbGciOiJub25lIn0 alone is not a token"),
    ("jwt", "eyJub3RKU09OaGVhZGVy.eyJzdWIiOiIxMjM0NTY3ODkwIn0.abcdefgh"),
    ("bearer_token", "send it with a Bearer <token> header"),
    ("password", "password: ********"),
    ("password", "password: %(password)s and pwd = <PASSWORD>"),
    ("password", "Your password is incorrect, please reset it"),
    ("password", "the password was changed yesterday"),
    ("password", "Boarding pass: Gate 12"),
    ("password", "The cost of the one day pass is $400."),
    ("password", "Password:\nThanks for asking"),
    ("password", "Password: provided separately by phone"),
    ("password", "Reset password: https://accounts.acme.io/reset"),
    ("credential_pair", "username: bob (password sent separately)"),
    ("db_connection_string", "use the mongodb:// scheme"),
    ("webhook_url", "see https://api.slack.com/messaging/webhooks for docs"),
    ("env_block", "APP_NAME=shop\nand then we talked about NODE_ENV=production"),
    ("oauth_token", "access_token=${ACCESS_TOKEN}"),
    ("vpn_credentials", "the VPN is down again, ask IT for the password"),
    ("agenticmail_key", "mk_" + "0123456789abcdef" * 2 + " is too short"),
    (
        "seed_phrase",
        "abandon the plan, ability matters: able people talk about above all absent friends",
    ),
    ("backup_codes", "Save your backup codes somewhere safe."),
    ("generic_secret", "the secret is out: everyone knows"),
    ("generic_secret", "secret: abcdefgh12345678901 (a typed filler, no provider prefix)"),
    ("ssn", "call 555-123-4567 today"),
    ("ssn", "invalid 000-12-3456 and 666-12-3456 and 123-00-4567"),
    ("ssn", "part number 1536-22-84510"),
    ("credit_card", "card 4111 1111 1111 1112 (bad checksum)"),
    ("credit_card", "order 1234567890123456 shipped"),
    ("credit_card", "tracking https://track.example/?id=4111111111111111"),
    ("bank_account", "my account #42 on the forum"),
    ("bank_routing", "routing number 123456789"),
    ("drivers_license", "Driver's license: pending renewal"),
    ("dob", "the project was born in 2019"),
    ("passport", "passport: expired"),
    ("tax_id", "EIN: 00-0000000"),
    ("itin", "ITIN 912-45-1234"),
    ("health_insurance_id", "member ID: 12345678 for the gym"),
    ("a_number", "A-Number: pending"),
    ("pin", "pin the tweet at 1200"),
    ("security_answer", "we need your mother's maiden name is required for verification"),
    ("iban", "IBAN DE89 3704 0044 0532 0130 01"),
    ("iban", "code GB00WEST12345698765432"),
    ("swift_bic", "SWIFT: HELLO"),
    ("crypto_wallet", "1BoatSLRHtKNngkdXEeobR76b53LETtpyX"),
    ("crypto_wallet", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdx"),
    ("wire_instructions", "I will wire the money tomorrow"),
    ("wire_instructions", "the beneficiary of the policy is her son"),
    ("drivers_license", "Flight DL 1234 AMS departs at 9"),
    ("private_ip", "version 10.2.3.4.5 and 192.168.300.1"),
    ("file_path", "see https://example.com/home/jane/index.html"),
    ("env_assignment", "the value of DATABASE_URL is secret"),
    ("owner_disclosure", "my owner is busy today"),
]


@pytest.mark.parametrize(
    ("rule_id", "text", "severity", "secret"), HITS, ids=[f"{h[0]}-{i}" for i, h in enumerate(HITS)]
)
def test_rule_hits(rule_id: str, text: str, severity: str, secret: str) -> None:
    result = scan(f"Hi,\n\nSome context first. {text}\n\nThanks,\nSam")
    found = [f for f in result.findings if f.rule_id == rule_id]
    assert found, (rule_id, result.findings)
    assert found[0].severity == severity
    assert found[0].category in {
        "pii",
        "credential",
        "financial",
        "system_internal",
        "owner_privacy",
    }
    assert result.blocked is any(f.severity == "high" for f in result.findings)
    assert found[0].where == "text"
    if len(secret) >= 6:  # the masked preview never carries the whole secret
        assert all(secret not in f.preview for f in result.findings)


@pytest.mark.parametrize(
    ("rule_id", "text"), MISSES, ids=[f"{m[0]}-{i}" for i, m in enumerate(MISSES)]
)
def test_rule_near_misses(rule_id: str, text: str) -> None:
    result = scan(f"Hi,\n\n{text}\n\nThanks,\nSam")
    assert rule_id not in rules(result), result.findings


def test_every_text_rule_has_a_hit_and_a_miss() -> None:
    from agenticmail.security.dlp_rules import RULES

    ids = {r.id for r in RULES} | {"env_block", "seed_phrase", "backup_codes", "wire_instructions"}
    assert ids <= {h[0] for h in HITS} | {"private_key", "cloud_token"}
    assert ids - {"private_key", "cloud_token"} <= {m[0] for m in MISSES}


@pytest.mark.parametrize("kind", ["rsa", "ec"])
def test_private_key_block(kind: str) -> None:
    key = pem(kind)
    result = scan(f"here you go:\n{key}")
    assert result.blocked and "private_key" in rules(result)
    body = key.splitlines()[1]
    assert all(body not in f.preview for f in result.findings)


def test_private_key_near_misses() -> None:
    for text in (
        "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY---",
        "-----BEGIN RSA PRIVATE KEY-----\n...redacted...\n-----END RSA PRIVATE KEY-----",
        "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUJ\n-----END CERTIFICATE-----",
    ):
        assert "private_key" not in rules(scan(text))


def test_connection_string_without_real_password_is_medium() -> None:
    for text in ("mongodb://localhost:27017/test", "postgres://user:password@localhost/db"):
        result = scan(text)
        assert not result.blocked and [f.severity for f in result.findings] == ["medium"]


def test_cloud_tokens() -> None:
    for token in (
        "AI" + "za" + "SyD" + R20 + "k3Jw9QpLm2Xz",
        "gl" + "pat-" + R20 + "xy",
        "np" + "m_" + R20 + "Qw7Er9Ty2Ui4Op6L",
    ):
        assert "cloud_token" in rules(scan(f"token {token}")), token
    assert "cloud_token" not in rules(scan("AIza is how the key starts"))


# --- HTML and other evasion ----------------------------------------------------------------
@pytest.mark.parametrize(
    "html",
    [
        "<p>AKI<b>A</b>IOSFODNN7EXAMPLE</p>",
        "<p>&#65;&#75;&#73;&#65;IOSFODNN7EXAMPLE</p>",
        "<p>&#x41;KIA<span style='color:red'>IOSFODNN7</span>EXAMPLE</p>",
        "<p>AKIA&amp;#73;OSFODNN7EXAMPLE</p>".replace("&amp;#73;", "&#73;"),
        "<div><!-- AKIAIOSFODNN7EXAMPLE --></div>",
        "<a href='https://x.example/?k=AKIAIOSFODNN7EXAMPLE'>link</a>",
        "<p>AKIA\u200bIOSFODNN7\u00adEXAMPLE</p>",
        "<p>ＡＫＩＡIOSFODNN7EXAMPLE</p>",
    ],
)
def test_html_obfuscation_is_seen_through(html: str) -> None:
    result = scan_outgoing(mail(html=html))
    assert result.blocked
    assert [f.where for f in result.findings if f.rule_id == "aws_access_key"] == ["html"]


def test_html_entities_hide_an_ssn() -> None:
    html = "<p>SSN &#53;&#51;&#54;<span></span>-22-8451</p>"
    assert "ssn" in rules(scan_outgoing(mail(html=html)))


def test_lookalike_letters_and_base64_are_seen_through() -> None:
    cyrillic = "\u0410KI\u0410IOSFODNN7EX\u0410MPLE"  # Cyrillic A in place of Latin A
    assert "aws_access_key" in rules(scan(f"key {cyrillic}"))
    encoded = base64.b64encode(b"my password: Tr0ub4dor&3 ok").decode()
    result = scan(f"decode this: {encoded}")
    assert result.blocked and "password" in rules(result)
    assert not scan("signature: " + base64.b64encode(bytes(range(200))).decode()).findings


def test_block_tags_do_not_glue_words() -> None:
    text = html_text("<p>password:</p><p>Thanks</p><div>abc</div>")
    assert "Thanks" in text and "password:Thanks" not in text


def test_subject_is_scanned() -> None:
    result = scan_outgoing(mail("nothing here", subject="SSN 536-22-8451"))
    assert [f.where for f in result.findings] == ["subject"]


def test_custom_headers_are_scanned() -> None:
    m = OutgoingMail(
        to=("a@example.org",),
        subject="hi",
        text="hi",
        headers=(("X-Note", "AKIAIOSFODNN7EXAMPLE"),),
    )
    assert scan_outgoing(m).findings[0].where == "header:X-Note"


# --- attachments ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name",
    [
        "server.pem",
        "tls.key",
        "cert.p12",
        "cert.pfx",
        ".env",
        "prod.env",
        ".env.local",
        "aws.credentials",
        "release.keystore",
        "app.jks",
        "AuthKey_X1.p8",
        "id_rsa",
    ],
)
def test_high_risk_attachment_names(name: str) -> None:
    result = scan_outgoing(
        mail(
            "see attached", attachments=(Attachment(name, "application/octet-stream", b"\x00\x01"),)
        )
    )
    assert result.blocked
    assert any(
        f.rule_id == "sensitive_file" and f.where == f"attachment:{name}" for f in result.findings
    )


@pytest.mark.parametrize(
    "name",
    [
        "dump.db",
        "app.sqlite",
        "schema.sql",
        "people.csv",
        "data.json",
        "ci.yml",
        "deploy.yaml",
        "nginx.conf",
        "app.config",
        "settings.ini",
    ],
)
def test_medium_risk_attachment_names(name: str) -> None:
    result = scan_outgoing(
        mail(
            "see attached", attachments=(Attachment(name, "application/octet-stream", b"\x00\x01"),)
        )
    )
    assert not result.blocked
    assert [f.severity for f in result.findings if f.rule_id == "data_file"] == ["medium"]


@pytest.mark.parametrize(
    "name", ["photo.jpg", "report.pdf", "notes.txt", "key_points.docx", "environment.md"]
)
def test_ordinary_attachment_names(name: str) -> None:
    result = scan_outgoing(
        mail(
            "see attached", attachments=(Attachment(name, "application/octet-stream", b"\x00\x01"),)
        )
    )
    assert result.findings == ()


@pytest.mark.parametrize(
    ("name", "ctype"),
    [
        ("notes.txt", "text/plain"),
        ("data.json", "application/json"),
        ("run.sh", "application/x-sh"),
        ("config.yaml", "application/octet-stream"),
        ("page.html", "text/html"),
        ("NOTES", "application/octet-stream"),
    ],
)
def test_text_attachment_content_is_scanned(name: str, ctype: str) -> None:
    body = (
        b"<p>AKI<b>A</b>IOSFODNN7EXAMPLE</p>"
        if name.endswith("html")
        else b"aws key: AKIAIOSFODNN7EXAMPLE\n"
    )
    result = scan_outgoing(mail("see attached", attachments=(Attachment(name, ctype, body),)))
    assert result.blocked
    assert any(
        f.rule_id == "aws_access_key" and f.where == f"attachment:{name}" for f in result.findings
    )


def test_binary_attachment_content_is_not_read_as_text() -> None:
    data = b"\x89PNG\r\n\x1a\n\x00\x00" + b"AKIAIOSFODNN7EXAMPLE" + bytes(range(256))
    result = scan_outgoing(mail("photo", attachments=(Attachment("photo.png", "image/png", data),)))
    assert not result.blocked


def test_zip_and_docx_members_are_scanned() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("word/document.xml", "<w:t>SSN 536-22</w:t><w:t>-8451</w:t>")
        zf.writestr("keys/id_rsa", "not really")
    result = scan_outgoing(
        mail(
            "doc",
            attachments=(Attachment("letter.docx", "application/octet-stream", buf.getvalue()),),
        )
    )
    assert {"ssn", "sensitive_file"} <= rules(result)


# --- masking -------------------------------------------------------------------------------
def test_preview_masks_the_documented_example() -> None:
    assert scan("AKIAIOSFODNN7EXAMPLE").findings[0].preview == "AKIA****MPLE"


def test_short_secrets_are_fully_masked() -> None:
    finding = scan("PIN: 4821").findings[0]
    assert "4821" not in finding.preview and "482" not in finding.preview


def test_to_dict_round_trips_as_json() -> None:
    result = scan("SSN: 536-22-8451")
    data = json.loads(json.dumps(result.to_dict()))
    assert data["blocked"] is True and data["findings"][0]["rule_id"] == "ssn"
    assert set(data["findings"][0]) >= {"rule_id", "category", "severity", "where", "preview"}
    assert "536-22-8451" not in json.dumps(data)
    assert Finding("r", "pii", "high", "text", "x").to_dict()["where"] == "text"


# --- verdict and summary -------------------------------------------------------------------
def test_medium_only_is_reported_but_not_blocked() -> None:
    result = scan("the NAS is at 192.168.1.20")
    assert not result.blocked and result.medium and not result.high
    assert "WARNING" in result.summary


def test_clean_mail() -> None:
    text = (
        "Hi Sam, order #4839201774 shipped on 2024-03-07; call (415) 555-0134. Ticket "
        "550e8400-e29b-41d4-a716-446655440000, sha1 3f786850e387550fdab836ed7e6dc881de23001b, "
        "md5 " + hashlib.md5(b"x").hexdigest() + ", total $1,249.99, version 3.11.4."
    )
    result = scan(text)
    assert result.findings == () and not result.blocked
    assert result.summary == "no sensitive content found"


def test_blocked_summary_names_the_findings() -> None:
    result = scan("SSN 536-22-8451 and key AKIAIOSFODNN7EXAMPLE")
    assert result.blocked and result.summary.startswith("BLOCKED")
    assert "AWS access key" in result.summary and "536-22-8451" not in result.summary


# --- owner privacy -------------------------------------------------------------------------
OWNER = OwnerProfile(
    name="Jane Q. Doe",
    email="jane.doe@example.com",
    phone="+1 (415) 555-0134 x12",
    address="12 Elm Street, Springfield, IL 62704",
    birthday=date(1984, 3, 7),
    private_terms=("Project Bluebird",),
)


@pytest.mark.parametrize(
    ("text", "rule_id", "severity"),
    [
        ("call her on 415.555.0134", "owner_phone", "high"),
        ("she lives at 12 elm  street", "owner_address", "high"),
        ("her birthday is March 7, 1984", "owner_birthday", "high"),
        ("born 03/07/1984", "owner_birthday", "high"),
        ("write to Jane.Doe@example.com", "owner_email", "medium"),
        ("I work for Jane Q. Doe", "owner_name", "medium"),
        ("about project bluebird", "owner_private_detail", "high"),
    ],
)
def test_owner_profile_hits(text: str, rule_id: str, severity: str) -> None:
    found = [f for f in scan(text, owner=OWNER).findings if f.rule_id == rule_id]
    assert found and found[0].severity == severity and found[0].category == "owner_privacy"


@pytest.mark.parametrize(
    "text",
    [
        "call 415-555-0199",
        "12 Elm Streetcar museum",
        "March 7, 1985",
        "xjane.doe@example.community",
        "Jane Doerr",
    ],
)
def test_owner_profile_near_misses(text: str) -> None:
    assert not [f for f in scan(text, owner=OWNER).findings if f.category == "owner_privacy"]


def test_without_owner_no_profile_matching() -> None:
    assert not scan("call her on 415.555.0134").findings


# --- .eml fixtures and the CLI -------------------------------------------------------------
@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.eml")), ids=lambda p: p.name)
def test_eml_fixtures(path: Path) -> None:
    result = scan_message(path.read_bytes())
    expected = path.name.split(".", 1)[0]
    assert result.blocked is (expected == "block"), result.findings
    if expected == "warn":
        assert result.findings
    if expected == "clean":
        assert result.findings == ()


def test_scan_message_accepts_parsed_messages() -> None:
    import email
    from email import policy

    raw = (FIXTURES / "block.aws_key_obfuscated_html.eml").read_bytes()
    assert scan_message(email.message_from_bytes(raw, policy=policy.default)).blocked
    assert not scan_message(b"\xff\xfe garbage without headers").blocked


def test_scan_message_decodes_transfer_encodings() -> None:
    raw = (
        b"From: a@agents.example\r\nTo: b@example.org\r\n"
        b"Subject: =?utf-8?b?U1NOIDUzNi0yMi04NDUx?=\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        b"key AKIAIOSF=\r\nODNN7EXAMPLE=20ok\r\n"
    )
    result = scan_message(raw)
    assert {(f.rule_id, f.where) for f in result.findings} == {
        ("ssn", "subject"),
        ("aws_access_key", "text"),
    }


def test_scan_command_streams_json_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    for src in FIXTURES.glob("*.eml"):
        (nested / src.name).write_bytes(src.read_bytes())
    (tmp_path / "ignored.txt").write_text("AKIAIOSFODNN7EXAMPLE")
    code = scan_command([tmp_path, FIXTURES / "clean.ordinary_prose.eml"])
    out = capsys.readouterr()
    lines = [json.loads(line) for line in out.out.splitlines()]
    assert code == 3 and out.err == ""  # some fixtures would be blocked
    assert len(lines) == len(list(FIXTURES.glob("*.eml"))) + 1
    assert all(set(line) == {"path", "blocked", "findings"} for line in lines)
    by_name = {Path(line["path"]).name: line for line in lines}
    assert by_name["block.seed_phrase.eml"]["blocked"] is True
    assert by_name["clean.lookalikes.eml"] == {
        **by_name["clean.lookalikes.eml"],
        "blocked": False,
        "findings": [],
    }


def test_scan_command_reports_unreadable_paths(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "ok.eml"
    good.write_bytes((FIXTURES / "clean.ordinary_prose.eml").read_bytes())
    code = scan_command([tmp_path / "missing.eml", good])
    out = capsys.readouterr()
    assert code == 1
    assert (
        out.err.strip().startswith("error:")
        and "missing.eml" in out.err
        and len(out.err.strip().splitlines()) == 1
    )
    assert json.loads(out.out)["path"] == str(good)


# --- adversarial input ---------------------------------------------------------------------
ADVERSARIAL = {
    "digits": "4111 " * 200_000,
    "password labels": "password: " * 100_000,
    "letters": "a" * 1_000_000,
    "bip39 words": "abandon ability " * 62_500,
    "html tags": "<b>" * 300_000,
    "env lines": "A=1\n" * 250_000,
    "base64": "QUtJQ" * 200_000,
    "dashes": "-----BEGIN " * 90_000,
    "real hits": "SSN 536-22-8451 card 4111 1111 1111 1111 AKIAIOSFODNN7EXAMPLE pw: x7Rt!9qa\n"
    * 13_000,
}


@pytest.mark.parametrize("name", list(ADVERSARIAL))
def test_one_megabyte_adversarial_input_finishes(name: str) -> None:
    payload = ADVERSARIAL[name]
    start = time.monotonic()
    scan_outgoing(
        mail(
            payload,
            html=payload,
            attachments=(Attachment("x.txt", "text/plain", payload.encode()),),
        )
    )
    assert (
        time.monotonic() - start < 60
    )  # generous: linear-time matching takes well under a few seconds
