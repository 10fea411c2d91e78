"""The copy of an outside message a gateway delivers into an agent's mailbox.

Both gateways (the relay, fetching from the owner's own mailbox, and domain mode, receiving
from Cloudflare's Email Worker) hand the daemon a message written by someone outside. What
the agent's mailbox gets is :func:`outside_copy`: the message byte-identical (DKIM signatures
keep verifying) under our trace headers, without what only this daemon or a server it trusts
may write, with a From on one of our own domains replaced, and, where the gateway vouches for
an ``Authentication-Results`` header, a seal: a MAC under the daemon's key over what
:func:`seal_input` binds, in :data:`SEAL_HEADER`. The inbound scorer believes that header
only on a copy whose seal verifies; on anything else it verifies DKIM itself.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from email import message_from_bytes, policy
from email.message import Message
from email.utils import getaddresses

from .mime import normalize_message_id

SEAL_HEADER = "X-Agenticmail-Relay-Seal"  # the name the relay gave it first; both use it


def header_addresses(message: Message, names: Iterable[str]) -> list[str]:
    """The addresses in the named header fields (folded lines flattened)."""
    values: list[str] = []
    for name in names:
        values += [str(v) for v in message.get_all(name) or []]
    flat = [v.replace("\r", " ").replace("\n", " ") for v in values]
    return [a for _, a in getaddresses(flat) if "@" in a]


def message_key(raw: bytes) -> str:
    """The dedup key: the normalised Message-ID, else a digest of the message."""
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    message = message_from_bytes(head + b"\r\n\r\n", policy=policy.compat32)
    mid = normalize_message_id(str(message.get("Message-ID") or ""))
    if mid is not None:
        return mid.lower()
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def outside_copy(raw: bytes, trace: Sequence[str], *, local_domains: Iterable[str],
                 replacement_from: str, provider_ids: Iterable[str] = (),
                 foreign_ids: Iterable[str] = (), vouched_results: str | None = None,
                 seal: Callable[[str], str] | None = None) -> bytes:
    """The message as delivered to an agent: ``trace`` lines and ``X-Original-From`` (the
    original From) prepended, the rest byte-identical.

    ``Authentication-Results`` headers that claim a trusted server's id but that server did
    not write are removed (RFC 8601 §5, see :func:`strip_forged_auth_results`), and so is any
    :data:`SEAL_HEADER` the message brought. A From on one of ``local_domains`` cannot have
    come from outside legitimately: it becomes ``replacement_from``. ``vouched_results`` (an
    ``Authentication-Results`` value the gateway verified) becomes the topmost such header;
    ``seal`` (a MAC of :func:`seal_input`) marks the copy as the gateway's, binding it.
    """
    raw = strip_forged_auth_results(raw, provider_ids, foreign_ids,
                                    drop=(SEAL_HEADER.lower(),))
    message = message_from_bytes(raw, policy=policy.compat32)
    original = " ".join(str(message.get("From") or "").split())
    lines = [*trace, f"X-Original-From: {original or '(none)'}"]
    local = {d.lower() for d in local_domains}
    from_domains = {a.rpartition("@")[2].lower() for a in header_addresses(message, ("from",))}
    body = raw
    if from_domains & local:
        body = _replace_from(raw, replacement_from)
    if vouched_results is not None:
        body = f"Authentication-Results: {' '.join(vouched_results.split())}\r\n".encode(
            "ascii", "replace") + body
    if seal is not None:
        lines.insert(0, f"{SEAL_HEADER}: {seal(seal_input(body))}")
    return ("\r\n".join(lines) + "\r\n").encode("utf-8", "replace") + body


def seal_input(raw: bytes) -> str:
    """What a gateway's seal binds: the message's topmost ``Authentication-Results`` (the
    one the gateway vouches for, once :func:`strip_forged_auth_results` ran), its
    Message-ID, From and a digest of its body (line endings and trailing blanks normalised,
    as a mail store may change them). The caller MACs it under the daemon's key, with a
    purpose naming the gateway: the inbound scorer can then tell the header the gateway
    vouches for from one written by whoever delivered the message some other way."""
    sep = b"\r\n\r\n" if b"\r\n\r\n" in raw else b"\n\n"
    head, _, body = raw.partition(sep)
    message = message_from_bytes(head + b"\r\n\r\n", policy=policy.compat32)

    def first(name: str) -> str:
        return " ".join(str(message.get(name) or "").split())

    text = b"\n".join(line.rstrip() for line in body.replace(b"\r\n", b"\n").split(b"\n"))
    digest = hashlib.sha256(text.rstrip(b"\n")).hexdigest()
    return "\n".join([first("Authentication-Results"), first("Message-ID"), first("From"),
                      digest])


def _authserv(value: bytes) -> str:
    flat = value.replace(b"\r", b" ").replace(b"\n", b" ").decode("ascii", "replace")
    return flat.split(";", 1)[0].strip().lower()


def strip_forged_auth_results(raw: bytes, provider_ids: Iterable[str],
                              foreign_ids: Iterable[str] = (),
                              drop: Iterable[str] = ()) -> bytes:
    """``raw`` without the ``Authentication-Results`` headers that claim an id in
    ``provider_ids`` below the topmost header, nor any claiming an id in ``foreign_ids``,
    nor any header named in ``drop`` (lower case); everything else byte-identical."""
    provider = {i.strip().lower() for i in provider_ids if i.strip()}
    foreign = {i.strip().lower() for i in foreign_ids if i.strip()} - provider
    dropped = {d.encode() for d in drop}
    if not provider and not foreign and not any(d in raw.lower() for d in dropped):
        return raw
    sep = b"\r\n\r\n" if b"\r\n\r\n" in raw else b"\n\n"
    eol = sep[: len(sep) // 2]
    head, found, rest = raw.partition(sep)
    fields: list[list[bytes]] = []
    for line in head.split(eol):
        if fields and line[:1] in (b" ", b"\t"):
            fields[-1].append(line)
        else:
            fields.append([line])
    out: list[bytes] = []
    first = True
    for lines in fields:
        name, colon, value = b"\n".join(lines).partition(b":")
        if colon and name.strip().lower() in dropped:
            continue
        if colon and name.strip().lower() == b"authentication-results":
            serv = _authserv(value)
            forged = serv in foreign or (serv in provider and not first)
            first = False
            if forged:
                continue
        out.append(eol.join(lines))
    return eol.join(out) + found + rest


def _replace_from(raw: bytes, new_from: str) -> bytes:
    sep = b"\r\n\r\n" if b"\r\n\r\n" in raw else b"\n\n"
    eol = sep[: len(sep) // 2]
    head, _, rest = raw.partition(sep)
    out: list[bytes] = []
    skipping = False
    for line in head.split(eol):
        if skipping and line[:1] in (b" ", b"\t"):
            continue
        skipping = line.lower().startswith(b"from:")
        if not skipping:
            out.append(line + eol)
    out.append(f"From: {new_from}".encode() + eol)
    return b"".join(out) + eol + rest
