"""Key and password material: generation, hashing, constant-time checks, encryption at rest.

Pure functions (the encryption key is passed in; loading it from disk is the store's job).
API keys are 192-bit random tokens, so a single SHA-256 is an adequate at-rest hash; lookups
go by hash and the final comparison is constant-time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ..errors import ConfigError
from ..log import register_secret

MASTER_PREFIX = "mk_"
AGENT_PREFIX = "ak_"
_KEY_HEX_LEN = 48


def _issued(secret: str) -> str:
    register_secret(secret)  # never in a log line of this process (see agenticmail.log)
    return secret


def generate_master_key() -> str:
    return _issued(MASTER_PREFIX + secrets.token_hex(_KEY_HEX_LEN // 2))


def generate_api_key() -> str:
    return _issued(AGENT_PREFIX + secrets.token_hex(_KEY_HEX_LEN // 2))


def generate_password() -> str:
    """A random mail password (URL-safe: no ':' or whitespace that passwd files dislike)."""
    return _issued(secrets.token_urlsafe(24))


def generate_webhook_secret() -> str:
    """A Standard Webhooks signing secret: ``whsec_`` and 32 random bytes in base64."""
    return _issued("whsec_" + base64.b64encode(secrets.token_bytes(32)).decode())


def generate_dkim_key(bits: int = 2048) -> tuple[str, str]:
    """A new RSA key for DKIM: (the private key as PKCS#8 PEM, the public key as the DNS
    record's ``p=`` value: base64 of its DER SubjectPublicKeyInfo)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.DER,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return _issued(private), base64.b64encode(public).decode()


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def key_prefix(key: str) -> str:
    """The part of a key safe to display (``ak_1a2b3c4d``)."""
    return key[: len(AGENT_PREFIX) + 8]


def looks_like_key(key: str) -> bool:
    body = key[3:]
    return (
        key[:3] in (MASTER_PREFIX, AGENT_PREFIX)
        and len(body) == _KEY_HEX_LEN
        and all(c in "0123456789abcdef" for c in body)
    )


def same_secret(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def new_encryption_key() -> bytes:
    return Fernet.generate_key()


class SecretBox:
    """Symmetric encryption for secrets the daemon must read back (mail passwords)."""

    def __init__(self, key: bytes) -> None:
        try:
            self._fernet = Fernet(key)
            self._key = bytes(key)
        except ValueError as exc:
            raise ConfigError("the secret key file is corrupt") from exc

    def derive(self, purpose: str) -> bytes:
        """A 256-bit key for one ``purpose`` (MACs, stamps), derived from the secret key."""
        return hmac.new(self._key, f"agenticmail:{purpose}".encode(), "sha256").digest()

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def encrypt_bytes(self, plaintext: bytes) -> bytes:
        return self._fernet.encrypt(plaintext)

    def decrypt_bytes(self, token: bytes) -> bytes:
        try:
            return self._fernet.decrypt(token)
        except InvalidToken as exc:
            raise ConfigError(
                "cannot decrypt stored data: secret.key does not match this database"
            ) from exc

    def mac(self, purpose: str, text: str) -> str:
        """HMAC-SHA256 of ``text`` under a key derived from this box's key for ``purpose``
        (hex): for values that need only be compared, never read back (one-time codes).
        Compare with :func:`same_secret`."""
        return hmac.new(self.derive(purpose), text.encode(), "sha256").hexdigest()

    def decrypt(self, token: str) -> str:
        try:
            return _issued(self._fernet.decrypt(token.encode()).decode())
        except InvalidToken as exc:
            raise ConfigError(
                "cannot decrypt a stored secret: secret.key does not match this database"
            ) from exc

    def __repr__(self) -> str:
        return "SecretBox(***)"
