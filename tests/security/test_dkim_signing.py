"""The domain-mode DKIM signer (security/dkim_signing): a signature dkimpy verifies, with the
key in either PEM form, the usual headers signed, a second From refused by the signature."""

from __future__ import annotations

import dkim
import pytest
from cryptography.hazmat.primitives import serialization

from agenticmail.errors import ConfigError
from agenticmail.security.dkim_signing import sign
from agenticmail_testing.dns_server import DkimKey

MESSAGE = (b"From: Bot <bot@agents.example>\r\nTo: someone@dest.example\r\n"
           b"Subject: hello\r\nDate: Sat, 05 Dec 2026 13:00:00 +0000\r\n"
           b"Message-ID: <1@agents.example>\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: text/plain; charset=utf-8\r\n\r\nhello  there\r\n")


@pytest.fixture(scope="module")
def key() -> DkimKey:
    return DkimKey.generate("agents.example", "agenticmail")


def _verify(raw: bytes, key: DkimKey) -> bool:
    return bool(dkim.verify(raw, dnsfunc=lambda name, timeout=5: key.record.encode()))


def _pkcs8(key: DkimKey) -> str:
    loaded = serialization.load_pem_private_key(key.private_pem, password=None)
    return loaded.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()


@pytest.mark.parametrize("form", ["pkcs1", "pkcs8"])
def test_signed_message_verifies(key: DkimKey, form: str) -> None:
    pem = key.private_pem.decode() if form == "pkcs1" else _pkcs8(key)
    signed = sign(MESSAGE, domain="agents.example", selector="agenticmail", private_key_pem=pem)
    assert signed.endswith(MESSAGE)
    header = signed[:signed.index(b"From:")].decode()
    assert "d=agents.example" in header and "s=agenticmail" in header
    assert "c=relaxed/relaxed" in header
    assert _verify(signed, key)
    # relaxed: whitespace folded on the way still verifies; a changed Subject does not
    assert _verify(signed.replace(b"Subject: hello", b"Subject:  hello"), key)
    assert not _verify(signed.replace(b"Subject: hello", b"Subject: HELLO"), key)
    # From is signed twice: one added later breaks the signature
    assert not _verify(signed.replace(b"\r\n\r\n", b"\r\nFrom: evil@x.example\r\n\r\n", 1), key)


def test_a_key_that_cannot_sign_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        sign(MESSAGE, domain="agents.example", selector="s", private_key_pem="not a key")
