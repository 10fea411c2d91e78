"""Proof of origin for mail between agents: the daemon's delivery stamp, made and checked.

When the daemon delivers a message an agent submitted (authenticated) to local mailboxes, it
prepends one ``X-AgenticMail-Origin`` header carrying an HMAC, under a key only the daemon
holds, over the envelope sender, the Message-ID and a digest of the message: its body and the
header fields a reader or the filters look at (:data:`SIGNED_FIELDS` and every ``Content-*``).
Inbound mail is internal only when its stamp verifies; a claim of a local From proves nothing.
A replayed stamp on altered content, a second stamp, or a malformed one is *invalid*, and an
invalid stamp is itself evidence against the message (rule ``HDR_FORGED_ORIGIN``).

Headers a mail host adds on delivery (``Return-Path``, ``Delivered-To``, ``Received``) are not
signed; line endings are canonicalised (stores keep LF, IMAP serves CRLF).

Pure functions: the key is passed in (deriving and holding it is the services' job).
Also here: :func:`header_fields`, the bounded header-block reader the submission rules use.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from enum import StrEnum

from ..errors import InvalidRequest

STAMP_HEADER = "X-AgenticMail-Origin"
STAMP_VERSION = "1"
SIGNED_FIELDS = frozenset({
    "from", "sender", "reply-to", "to", "cc", "subject", "date", "message-id", "in-reply-to",
    "references", "mime-version", "auto-submitted", "list-unsubscribe", "x-original-from",
    "authentication-results",
})
MAX_HEADER_BYTES = 256 * 1024
MAX_HEADER_FIELDS = 1000

_FIELD_NAME_RE = re.compile(rb"^[!-9;-~]+$")  # RFC 5322 ftext
_STAMP_NAME = STAMP_HEADER.lower().encode()
_CONTEXT = b"agenticmail-origin-v1"


class Origin(StrEnum):
    VERIFIED = "verified"  # stamped by this daemon, content unchanged
    ABSENT = "absent"  # no stamp: external mail (or a local process's)
    INVALID = "invalid"  # a stamp that does not verify: forged, replayed or altered


def _split(raw: bytes, max_bytes: int) -> tuple[bytes, bytes, bytes]:
    """``(header block, separator, body)``; InvalidRequest when the block is over the bound."""
    for sep in (b"\r\n\r\n", b"\n\n"):
        at = raw.find(sep, 0, max_bytes + len(sep))
        if at >= 0:
            return raw[:at], sep, raw[at + len(sep):]
    if len(raw) > max_bytes:
        raise InvalidRequest(f"the header block is larger than {max_bytes} bytes",
                             code="header_too_large")
    return raw, b"", b""


def _field_lines(head: bytes, max_fields: int) -> list[tuple[bytes, list[bytes]]]:
    """Each field as ``(name, [its physical lines])``, bounded; InvalidRequest when malformed."""
    fields: list[tuple[bytes, list[bytes]]] = []
    for line in head.replace(b"\r\n", b"\n").split(b"\n"):
        if line[:1] in (b" ", b"\t"):
            if not fields:
                raise InvalidRequest("the message starts with a continuation line",
                                     code="malformed_header")
            fields[-1][1].append(line)
            continue
        name, colon, _ = line.partition(b":")
        if not colon or not _FIELD_NAME_RE.match(name):
            raise InvalidRequest(f"malformed header line {line[:40]!r}", code="malformed_header")
        if len(fields) >= max_fields:
            raise InvalidRequest(f"more than {max_fields} header fields",
                                 code="header_too_large")
        fields.append((name, [line]))
    return fields


def header_fields(raw: bytes, *, max_bytes: int = MAX_HEADER_BYTES,
                  max_fields: int = MAX_HEADER_FIELDS) -> list[tuple[str, str]]:
    """The message's header fields in order as ``(name, unfolded value)``, read within bounds.

    Raises InvalidRequest (``header_too_large`` / ``malformed_header``) rather than guess.
    """
    head, _, _ = _split(raw, max_bytes)
    out: list[tuple[str, str]] = []
    for name, lines in _field_lines(head, max_fields):
        value = b"".join(lines).partition(b":")[2]
        out.append((name.decode("ascii"), value.decode("utf-8", "replace").strip()))
    return out


def _digest(fields: list[tuple[str, str]], body: bytes) -> bytes:
    h = hashlib.sha256()
    for name, value in fields:
        lname = name.lower()
        if lname in SIGNED_FIELDS or lname.startswith("content-"):
            h.update(f"{lname}:{' '.join(value.split())}\n".encode())
    h.update(b"\n")
    h.update(body.replace(b"\r\n", b"\n").rstrip(b"\n"))
    return h.digest()


def _mac(key: bytes, envelope_from: str, fields: list[tuple[str, str]], body: bytes) -> str:
    message_id = " ".join(v for n, v in fields if n.lower() == "message-id")
    data = b"\0".join((_CONTEXT, envelope_from.lower().encode(), message_id.encode(),
                       _digest(fields, body)))
    return base64.urlsafe_b64encode(hmac.new(key, data, hashlib.sha256).digest()).decode()


def strip_stamps(raw: bytes) -> bytes:
    """``raw`` without any stamp header (for mail from outside and mail leaving the host).
    Returned unchanged when it has none (or no readable header block)."""
    try:
        head, sep, body = _split(raw, MAX_HEADER_BYTES)
        fields = _field_lines(head, MAX_HEADER_FIELDS)
    except InvalidRequest:
        return raw
    if not any(name.lower() == _STAMP_NAME for name, _ in fields):
        return raw
    eol = b"\r\n" if b"\r\n" in head else b"\n"
    kept = [line for name, lines in fields if name.lower() != _STAMP_NAME for line in lines]
    return eol.join(kept) + sep + body


def stamp(key: bytes, raw: bytes, envelope_from: str) -> bytes:
    """``raw`` with any stamp removed and this daemon's stamp prepended."""
    clean = strip_stamps(raw)
    head, _, body = _split(clean, MAX_HEADER_BYTES)
    fields = header_fields(clean)
    mac = _mac(key, envelope_from, fields, body)
    eol = b"\r\n" if b"\r\n" in head or not head else b"\n"
    line = f"{STAMP_HEADER}: v={STAMP_VERSION}; e={envelope_from.lower()}; s={mac}"
    return line.encode() + eol + clean


def _params(value: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for part in value.split(";"):
        key, eq, val = part.strip().partition("=")
        if not eq or key in params:
            return {}
        params[key] = val
    return params


def verify(key: bytes, raw: bytes) -> Origin:
    """Whether ``raw`` carries a valid stamp of the daemon holding ``key``."""
    try:
        _, _, body = _split(raw, MAX_HEADER_BYTES)
        fields = header_fields(raw)
    except InvalidRequest:
        return Origin.INVALID if _STAMP_NAME in raw[:MAX_HEADER_BYTES].lower() else Origin.ABSENT
    stamps = [v for n, v in fields if n.lower() == STAMP_HEADER.lower()]
    if not stamps:
        return Origin.ABSENT
    params = _params(stamps[0]) if len(stamps) == 1 else {}
    if params.get("v") != STAMP_VERSION or "e" not in params or "s" not in params:
        return Origin.INVALID
    unstamped = [(n, v) for n, v in fields if n.lower() != STAMP_HEADER.lower()]
    expected = _mac(key, params["e"], unstamped, body)
    return Origin.VERIFIED if hmac.compare_digest(expected, params["s"]) else Origin.INVALID


def has_stamp_header(raw: bytes) -> bool:
    """Whether the header block names a stamp at all (verified or not)."""
    if _STAMP_NAME not in raw[:MAX_HEADER_BYTES].lower():  # the header block is inside
        return False
    try:
        return any(n.lower() == STAMP_HEADER.lower() for n, _ in header_fields(raw))
    except InvalidRequest:
        return _STAMP_NAME in raw[:MAX_HEADER_BYTES].lower()
