"""Passphrase encryption of a backup archive, chunk by chunk (no I/O: bytes in, bytes out).

The key is derived from the passphrase with scrypt (``cryptography``'s ``Scrypt``; the cost
parameters and a random salt are stored in the header). The archive is sealed with AES-256-GCM
in the STREAM construction (Hoang, Reyhanitabar, Rogaway, Vizár 2015; as in ``age`` and
Tink's streaming AEAD): fixed-size chunks, each with the nonce ``prefix ‖ counter ‖ last``, so
a chunk cannot be dropped, reordered, or the stream cut short without the next ``open`` failing.
The header is authenticated with every chunk, and carries a key check (a GCM tag over nothing)
so a wrong passphrase is told apart from a damaged archive.

    header = MAGIC (8) ‖ log2(n) (1) ‖ r (1) ‖ p (1) ‖ salt (16) ‖ nonce prefix (7) ‖ check (16)
    chunk  = AES-GCM(key, prefix ‖ counter (4, big-endian) ‖ last (1), plaintext, aad=header)
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from ..errors import InvalidRequest

MAGIC = b"AMBKENC1"
CHUNK = 1 << 20  # plaintext bytes per chunk
TAG = 16
SEALED_CHUNK = CHUNK + TAG
LOG2_N, R, P = 17, 8, 1  # scrypt cost (about 128 MiB and a fraction of a second)
_FIXED = struct.Struct(">8sBBB16s7s")
HEADER_SIZE = _FIXED.size + TAG
_CHECK_COUNTER = 0xFFFFFFFF  # the key check's nonce: never a chunk's (2**32 MiB is 4 PiB)
_MAX_LOG2_N = 22


WRONG_PASSPHRASE, DAMAGED = "wrong_passphrase", "damaged_archive"  # the errors' codes


def _nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    return prefix + struct.pack(">IB", counter, 1 if last else 0)


def _derive(passphrase: str, salt: bytes, log2_n: int, r: int, p: int) -> AESGCM:
    if not passphrase:
        raise InvalidRequest("the passphrase is empty")
    key = Scrypt(salt=salt, length=32, n=1 << log2_n, r=r, p=p).derive(passphrase.encode())
    return AESGCM(key)


@dataclass
class Sealer:
    """Seals a stream: :attr:`header` first, then :meth:`seal` for each chunk in order (every
    chunk ``CHUNK`` bytes but the last, which may be shorter or empty)."""

    header: bytes
    _aead: AESGCM
    _prefix: bytes
    _counter: int = 0
    _done: bool = False

    @classmethod
    def new(cls, passphrase: str, *, log2_n: int = LOG2_N) -> Sealer:
        salt, prefix = os.urandom(16), os.urandom(7)
        aead = _derive(passphrase, salt, log2_n, R, P)
        fixed = _FIXED.pack(MAGIC, log2_n, R, P, salt, prefix)
        check = aead.encrypt(_nonce(prefix, _CHECK_COUNTER, True), b"", fixed)
        return cls(fixed + check, aead, prefix)

    def seal(self, chunk: bytes, *, last: bool) -> bytes:
        if self._done:
            raise ValueError("the stream is already sealed")
        if len(chunk) > CHUNK or (not last and len(chunk) != CHUNK):
            raise ValueError("a chunk but the last must be exactly CHUNK bytes")
        sealed = self._aead.encrypt(_nonce(self._prefix, self._counter, last), chunk, self.header)
        self._counter += 1
        self._done = last
        return sealed


@dataclass
class Opener:
    """Opens a stream sealed by :class:`Sealer`: :meth:`open` each sealed chunk in order."""

    header: bytes
    _aead: AESGCM
    _prefix: bytes
    _counter: int = 0

    @classmethod
    def new(cls, header: bytes, passphrase: str) -> Opener:
        if len(header) != HEADER_SIZE or not header.startswith(MAGIC):
            raise InvalidRequest("this is not an encrypted agenticmail backup", code=DAMAGED)
        _, log2_n, r, p, salt, prefix = _FIXED.unpack(header[:_FIXED.size])
        if not (10 <= log2_n <= _MAX_LOG2_N and 1 <= r <= 32 and 1 <= p <= 16):
            raise InvalidRequest("the backup's encryption header is damaged", code=DAMAGED)
        aead = _derive(passphrase, salt, log2_n, r, p)
        try:
            aead.decrypt(_nonce(prefix, _CHECK_COUNTER, True), header[_FIXED.size:],
                         header[:_FIXED.size])
        except InvalidTag:
            raise InvalidRequest("wrong passphrase for this backup",
                                 code=WRONG_PASSPHRASE) from None
        return cls(header, aead, prefix)

    def open(self, sealed: bytes, *, last: bool) -> bytes:
        try:
            plain = self._aead.decrypt(_nonce(self._prefix, self._counter, last), sealed,
                                       self.header)
        except InvalidTag:
            raise InvalidRequest(
                "the backup is damaged or truncated (a part fails its integrity check)",
                code=DAMAGED) from None
        self._counter += 1
        return plain
