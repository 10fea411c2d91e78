"""DKIM-signing one outgoing message (RFC 6376), with dkimpy: the domain-mode signature that
mail leaving by a smarthost or directly to an MX carries.

Pure: the message, the domain, the selector and the private key in, the message with its
``DKIM-Signature`` prepended out (dkimpy stamps ``t=`` from the clock). relaxed/relaxed
canonicalisation; the usual headers are signed (absent ones too, so none can be added later
without breaking the signature), ``From`` twice (a second ``From`` cannot be added either).
The key is a PEM RSA key, PKCS#1 (``BEGIN RSA PRIVATE KEY``, what dkimpy reads) or PKCS#8
(``BEGIN PRIVATE KEY``, converted here).
"""

from __future__ import annotations

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ..errors import ConfigError

SIGNED_HEADERS = (
    "from", "sender", "reply-to", "to", "cc", "subject", "date", "message-id", "in-reply-to",
    "references", "mime-version", "content-type", "content-transfer-encoding",
    "list-unsubscribe", "list-unsubscribe-post", "auto-submitted",
)


def _pkcs1(private_key_pem: str) -> bytes:
    """The key as PKCS#1 PEM (dkimpy's only form)."""
    pem = private_key_pem.strip().encode() + b"\n"
    if b"BEGIN RSA PRIVATE KEY" in pem:
        return pem
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"the DKIM private key is not a readable PEM key: {exc}") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigError("the DKIM private key is not an RSA key")
    return key.private_bytes(serialization.Encoding.PEM,
                             serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption())


def sign(raw: bytes, *, domain: str, selector: str, private_key_pem: str) -> bytes:
    """``raw`` with a ``DKIM-Signature`` (``d=domain``, ``s=selector``) prepended.
    :class:`ConfigError` when the key cannot sign."""
    include = [h.encode() for h in (*SIGNED_HEADERS, "from")]
    try:
        signature: bytes = dkim.sign(raw, selector.encode(), domain.encode(),
                                     _pkcs1(private_key_pem),
                                     canonicalize=(b"relaxed", b"relaxed"),
                                     include_headers=include)
    except dkim.DKIMException as exc:
        raise ConfigError(f"cannot DKIM-sign for {domain} (selector {selector}): {exc}"
                          ) from None
    return signature + raw
