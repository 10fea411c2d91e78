"""What a receiving provider recorded about the SMTP connection, read only from the headers it
added itself: the client IP, the HELO name and the envelope sender (MAIL FROM), for SPF.

A provider prepends its trace headers (RFC 5321 §4.4 ``Received``, RFC 7208 §9.1
``Received-SPF``, ``Return-Path``) above the message it received, and its
``Authentication-Results`` (RFC 8601) with them. Everything below that header was written
before the provider saw the message, by the sender or its hops, and is never read here: a
forged ``Received: from x ([192.0.2.1]) by mx.google.com`` in the sender's headers names no
connection. :func:`provider_connection` therefore reads the headers from ``start`` (the first
header the provider wrote) down to the topmost ``Authentication-Results``, and only when that
one carries one of the provider's own authserv-ids (the boundary the relay already enforces:
a header with the provider's id below the topmost one was removed as forged). Pure.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from email.message import Message

from agenticmail.security.mime_view import InboundMessage, to_message

__all__ = ["Connection", "provider_connection", "received_client"]

MAX_HEADERS = 200
MAX_VALUE = 4096
_FROM_BY = re.compile(r"^\s*from\s+(?P<from>.*?)\s+by\s+(?P<by>[^\s;()]+)", re.I | re.S)
_BRACKETED = re.compile(r"\[(?:IPv6:)?([0-9A-Fa-f:.]+)\]")
_PAREN_IP = re.compile(r"\(\s*([0-9A-Fa-f:.]+)\s*\)")
_EXIM_HELO = re.compile(r"\bhelo=([^\s)]+)", re.I)
_KEY_VALUE = re.compile(r"""([A-Za-z][A-Za-z0-9_-]*)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s;]*)""")
_COMMENT = re.compile(r"\([^()]*\)")


@dataclass(frozen=True)
class Connection:
    """The SMTP connection a provider received a message on: ``mail_from`` is ``""`` for the
    null reverse-path ``<>``; ``helo`` is ``""`` when not recorded."""

    ip: str
    mail_from: str
    helo: str = ""
    source: str = ""  # the header it was read from: received-spf or received


def _ip(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return None


def _flat(value: object) -> str:
    return " ".join(str(value)[:MAX_VALUE].split())


def received_client(value: str, trusted_hosts: frozenset[str]) -> tuple[str, str] | None:
    """(client IP, HELO name) of a ``Received`` header written by one of ``trusted_hosts``
    (its ``by`` host is one of them or a subdomain of one), else None. Reads the forms the
    common MTAs write: ``from HELO (rdns [IP])`` (Postfix, Gmail), ``from rdns ([IP]
    helo=HELO)`` (Exim), ``from HELO (IP)`` (Microsoft), ``[IPv6:...]`` literals."""
    m = _FROM_BY.match(_flat(value))
    if not m:
        return None
    by = m.group("by").lower().rstrip(".")
    if not any(by == host or by.endswith("." + host) for host in trusted_hosts):
        return None
    clause = m.group("from")
    ip = next((a for a in (_ip(g) for g in _BRACKETED.findall(clause)) if a), None) or next(
        (a for a in (_ip(g) for g in _PAREN_IP.findall(clause)) if a), None)
    if ip is None:
        return None
    exim = _EXIM_HELO.search(clause)
    helo = exim.group(1) if exim else clause.split()[0] if clause.split() else ""
    if helo.startswith(("[", "(")):
        helo = ""
    return ip, helo.strip("[]").rstrip(".")


def _received_spf(value: str) -> dict[str, str]:
    text = _flat(value)
    for _ in range(3):  # nested comments, bounded
        text = _COMMENT.sub(" ", text)
    return {k.lower(): v.strip('"') for k, v in _KEY_VALUE.findall(text)}


def _return_path(value: str) -> str | None:
    text = _flat(value).strip()
    m = re.match(r"^<([^<>]*)>", text)
    if m:
        return m.group(1).strip()
    return text if "@" in text and " " not in text else None


def _authserv(value: str) -> str:
    return _flat(value).split(";", 1)[0].strip().lower()


def provider_connection(msg: bytes | Message | InboundMessage, *,
                        provider_ids: frozenset[str], start: int = 0) -> Connection | None:
    """The connection recorded by the provider whose authserv-ids are ``provider_ids``, from
    the headers between index ``start`` (the first the provider wrote; the ones above it were
    added after the provider, e.g. by the agent's own mail host) and the topmost
    ``Authentication-Results``, which must be the provider's. None when that boundary is not
    there or the provider recorded no client IP. Never raises.

    The IP and HELO come from the provider's ``Received-SPF`` (``client-ip=``, ``helo=``,
    ``envelope-from=``), else from the topmost ``Received`` its own host wrote; the envelope
    sender from ``Received-SPF``, else the topmost ``Return-Path``, else the provider's
    ``smtp.mailfrom``."""
    ids = frozenset(i.strip().lower().rstrip(".") for i in provider_ids if i.strip())
    if not ids:
        return None
    try:
        items = [(str(k).strip().lower(), str(v))
                 for k, v in to_message(msg).raw_items()][:MAX_HEADERS]
    except Exception:
        return None
    region: list[tuple[str, str]] = []
    boundary: str | None = None
    for name, value in items[max(start, 0):]:
        if name == "authentication-results":
            boundary = value
            break
        region.append((name, value))
    if boundary is None or _authserv(boundary) not in ids:
        return None
    ip = helo = mail_from = None
    source = ""
    for name, value in region:
        if name == "received-spf" and ip is None:
            fields = _received_spf(value)
            ip = _ip(fields.get("client-ip", ""))
            if ip is not None:
                helo = fields.get("helo") or None
                mail_from = fields.get("envelope-from")
                source = "received-spf"
    for name, value in region:
        if name == "received" and (ip is None or not helo):
            found = received_client(value, ids)
            if found is None:
                continue
            if ip is None:
                ip, helo = found
                source = "received"
                break
            if found[0] == ip:  # Gmail's Received-SPF names no HELO; its Received does
                helo = found[1]
                break
    if ip is None:
        return None
    if mail_from is None:
        mail_from = next((p for n, v in region if n == "return-path"
                          for p in [_return_path(v)] if p is not None), None)
    if mail_from is None:
        m = re.search(r"smtp\.mailfrom\s*=\s*\"?([^\s;\"]+)", _flat(boundary))
        mail_from = m.group(1) if m else None
    if mail_from is None:
        return None  # who the sender claimed to be is unknown: not the null sender
    if mail_from and "@" not in mail_from:
        mail_from = f"postmaster@{mail_from}"  # a domain alone (RFC 7208 §4.3)
    return Connection(ip, mail_from, helo or "", source)
