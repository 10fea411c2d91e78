"""SecretBox: bytes encryption (queued owner notifications) and purpose-bound MACs (codes)."""

from __future__ import annotations

import pytest

from agenticmail.errors import ConfigError
from agenticmail.security.keys import SecretBox, new_encryption_key, same_secret


def test_bytes_round_trip_and_a_foreign_key_cannot_read_them() -> None:
    box = SecretBox(new_encryption_key())
    sealed = box.encrypt_bytes(b"APPROVE K7QF-9M2X")
    assert b"K7QF" not in sealed and box.decrypt_bytes(sealed) == b"APPROVE K7QF-9M2X"
    with pytest.raises(ConfigError):
        SecretBox(new_encryption_key()).decrypt_bytes(sealed)


def test_mac_is_stable_per_key_and_purpose() -> None:
    key = new_encryption_key()
    one, again, other = SecretBox(key), SecretBox(key), SecretBox(new_encryption_key())
    mac = one.mac("approval-code", "K7QF9M2X")
    assert same_secret(mac, again.mac("approval-code", "K7QF9M2X"))
    assert mac != one.mac("relay-seal", "K7QF9M2X")
    assert mac != other.mac("approval-code", "K7QF9M2X")
    assert "K7QF9M2X" not in mac and len(mac) == 64
