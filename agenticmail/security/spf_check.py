"""SPF (RFC 7208) evaluated here, for a connection whose client IP is known.

:func:`spf_verdict` checks the MAIL FROM identity (``postmaster@<HELO>`` for a null sender,
§2.4) and the HELO identity (§2.3) with ``pyspf``, which enforces the processing limits of
§4.6.4 (10 DNS-querying mechanisms, 2 void lookups: more is ``permerror``). Every DNS question
goes through the injected ``lookup`` (:func:`.authresults.dnspython_records`: bounded by a
timeout, cached, honouring ``dns_nameservers``); the whole check is bounded by ``timeout``. A
lookup that fails is ``temperror``: the function never raises and never hangs.

The connecting IP comes from the caller: for relay mail, what the provider recorded in the
headers it added itself (:mod:`.trace_headers`); in domain mode, what the inbound edge saw.

pyspf asks DNS through its module-level ``spf.DNSLookup`` (the hook its own drivers replace);
it is replaced once, here, by a function that sends each question to the ``lookup`` of the
check running in the current thread (a context variable), so concurrent checks with
different resolvers never see each other's.
"""

from __future__ import annotations

import contextvars
import ipaddress
import re
import time
from dataclasses import dataclass
from typing import Any

import spf

from agenticmail.errors import DnsUnavailable
from agenticmail.security.authresults import RecordLookup

__all__ = ["SpfVerdict", "spf_verdict"]

RESULTS = ("pass", "fail", "softfail", "neutral", "none", "temperror", "permerror")
MAX_IDENTITY = 320  # RFC 5321 path length; longer is not an address
_HOSTNAME = re.compile(r"^(?=.{1,253}$)(?:[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?\.)+"
                       r"[A-Za-z0-9-]{2,63}\.?$")


@dataclass(frozen=True)
class SpfVerdict:
    """``result``: the SPF result of the identity DMARC uses (MAIL FROM, or HELO for a null
    sender); ``domain``: that identity's domain (``smtp.mailfrom``/``smtp.helo``);
    ``identity``: ``mailfrom`` or ``helo``; ``helo``: the HELO identity's own result."""

    result: str = "none"
    domain: str = ""
    identity: str = "mailfrom"
    helo: str = "none"
    reason: str = ""


_CURRENT: contextvars.ContextVar[tuple[RecordLookup, float] | None] = contextvars.ContextVar(
    "agenticmail_spf_lookup", default=None)
_LIBRARY_LOOKUP = spf.DNSLookup


def _dispatch(name: str, qtype: str, strict: Any = True, timeout: float = 20) -> list[Any]:
    """pyspf's DNS hook: the current check's lookup, answers in pyspf's shape."""
    current = _CURRENT.get()
    if current is None:  # a pyspf user outside spf_verdict: the library's own resolver
        return list(_LIBRARY_LOOKUP(name, qtype, strict, timeout))
    lookup, deadline = current
    if time.monotonic() >= deadline:
        raise spf.TempError("DNS: the check ran out of time")
    try:
        answers = lookup(name, qtype)
    except DnsUnavailable as error:
        raise spf.TempError(f"DNS {error}") from None
    return [((name, qtype), value) for value in answers]


spf.DNSLookup = _dispatch


def _valid_helo(helo: str) -> bool:
    return bool(_HOSTNAME.match(helo)) and not helo.replace(".", "").isdigit()


def _check(ip: str, sender: str, helo: str, timeout: float) -> tuple[str, str]:
    try:
        query = spf.query(i=ip, s=sender, h=helo, timeout=timeout, querytime=timeout)
        result, _code, explanation = query.check()
    except (spf.TempError, DnsUnavailable) as error:
        return "temperror", str(error)
    except spf.PermError as error:
        return "permerror", str(error)
    except Exception as error:  # a pyspf failure is not a statement about the domain
        return "temperror", f"{type(error).__name__}: {error}"
    result = str(result).lower()
    return (result if result in RESULTS else "permerror"), str(explanation)


def spf_verdict(ip: str, mail_from: str, helo: str = "", *, lookup: RecordLookup,
                timeout: float = 2.0) -> SpfVerdict:
    """The SPF verdict for mail from ``ip`` with envelope sender ``mail_from`` (``""`` for the
    null reverse-path ``<>``) after ``HELO helo``. Bounded by about ``timeout`` (each
    identity); never raises. An IP that is not an address, or a null sender without a usable
    HELO, gives ``none`` (nothing to evaluate)."""
    try:
        address = ipaddress.ip_address(ip.strip().strip("[]").removeprefix("IPv6:"))
    except ValueError:
        return SpfVerdict(reason="no client IP address")
    client = str(address.ipv4_mapped or address) if isinstance(
        address, ipaddress.IPv6Address) else str(address)
    sender = mail_from.strip().strip("<>").strip()
    helo = helo.strip().rstrip(".")
    if len(sender) > MAX_IDENTITY or (sender and "@" not in sender):
        sender = ""  # not a path: read as the null sender (RFC 7208 §2.4 then uses HELO)
    usable_helo = helo if _valid_helo(helo) else ""
    token = _CURRENT.set((lookup, time.monotonic() + 2 * max(timeout, 0.1) + 0.5))
    try:
        helo_result = ("none", "no HELO name")
        if usable_helo:
            helo_result = _check(client, "", usable_helo, timeout)
        if sender:
            result, reason = _check(client, sender, usable_helo, timeout)
            return SpfVerdict(result, sender.rpartition("@")[2].lower(), "mailfrom",
                              helo_result[0], reason)
        if usable_helo:  # the null sender: MAIL FROM is postmaster@HELO (RFC 7208 §2.4)
            return SpfVerdict(helo_result[0], usable_helo.lower(), "helo", helo_result[0],
                              helo_result[1])
        return SpfVerdict(reason="null sender and no usable HELO name")
    finally:
        _CURRENT.reset(token)
