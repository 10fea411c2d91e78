"""Authentication-Results with the domains that alignment needs (RFC 8601, RFC 7489).

:class:`~agenticmail.security.authresults.AuthVerdicts` keeps only the result words; deciding
whether a reply really comes from the owner also needs the DKIM ``header.d`` / DMARC
``header.from`` domains and the organisational domain of each. Pure; the Public Suffix List
is the one ``publicsuffix2`` bundles (read once, never fetched).
"""

from __future__ import annotations

import contextlib
import functools
import re
from dataclasses import dataclass
from email.message import Message

from agenticmail.security.mime_view import InboundMessage, to_message
from agenticmail.security.patterns import registrable_domain

MAX_AR_HEADERS = 50
MAX_AR_CHARS = 8192




@functools.lru_cache(maxsize=1024)
def organizational_domain(domain: str) -> str | None:
    """The organisational domain (public suffix + one label), ``None`` when there is none.

    ``mail.example.co.uk`` -> ``example.co.uk``; ``owner.test`` -> ``owner.test`` (unknown
    TLDs fall under the default ``*`` rule); ``co.uk`` -> ``None`` (a public suffix itself).
    """
    d = domain.strip().strip(".").lower()
    if not d or ".." in d or any(ch.isspace() for ch in d):
        return None
    with contextlib.suppress(UnicodeError):
        d = d.encode("idna").decode("ascii")
    labels = d.split(".")
    try:
        from publicsuffix2 import get_tld

        suffix = get_tld(d, strict=True)
    except ImportError:
        org = registrable_domain(d)
        return org if "." in org else None
    except Exception:
        suffix = None
    if not suffix:
        suffix = labels[-1]  # RFC 7489 §3.2: the default rule "*"
    n = str(suffix).count(".") + 1
    if len(labels) <= n:
        return None
    return ".".join(labels[-(n + 1) :])


def aligned(domain: str | None, owner_org: str | None) -> bool:
    return bool(domain and owner_org and organizational_domain(domain) == owner_org)


# --------------------------------------------------------------------------- A-R details


@dataclass(frozen=True)
class AuthResult:
    """One ``method=result`` of an ``Authentication-Results`` header with its properties
    (``("header.d", "example.com")``, ``("header.from", "example.com")`` ...)."""

    authserv_id: str
    method: str
    result: str
    properties: tuple[tuple[str, str], ...] = ()
    position: int = 0  # index of the header among the message's A-R headers, 0 = topmost

    def prop(self, name: str) -> str | None:
        for key, value in self.properties:
            if key == name:
                return value
        return None

    @property
    def domain(self) -> str | None:
        """The domain the result is about: DKIM ``header.d`` (else ``header.i``'s domain),
        DMARC ``header.from``; lower-case, ``None`` when unnamed."""
        if self.method == "dkim":
            value = self.prop("header.d") or self.prop("header.i")
        elif self.method == "dmarc":
            value = self.prop("header.from")
        else:
            value = self.prop("smtp.mailfrom") or self.prop("header.from")
        if not value:
            return None
        value = value.rpartition("@")[2].strip().strip(".").lower()
        return value or None


_RESINFO = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9_.-]*)\s*=\s*([A-Za-z]+)")
_PROP = re.compile(
    r"""([A-Za-z][A-Za-z0-9_-]*)\.([A-Za-z][A-Za-z0-9_.-]*)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s;"]*)"""
)


def _segments(value: str) -> list[str]:
    """Split on ``;`` outside quoted strings, dropping (nested) comments; linear time."""
    out: list[str] = []
    buf: list[str] = []
    depth = 0
    quoted = False
    escaped = False
    for ch in value:
        if escaped:
            if depth == 0:
                buf.append(ch)
            escaped = False
        elif ch == "\\":
            escaped = True
            if depth == 0:
                buf.append(ch)
        elif quoted:
            buf.append(ch)
            if ch == '"':
                quoted = False
        elif ch == "(":
            depth += 1
        elif ch == ")" and depth:
            depth -= 1
            if depth == 0:
                buf.append(" ")
        elif depth:
            continue
        elif ch == '"':
            quoted = True
            buf.append(ch)
        elif ch == ";":
            out.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
    out.append("".join(buf))
    return out


def _parse_ar(value: str, position: int) -> tuple[str, list[AuthResult]]:
    flat = value.replace("\r", " ").replace("\n", " ")[:MAX_AR_CHARS]
    segments = _segments(flat)
    head = segments[0].strip()
    results: list[AuthResult] = []
    if _RESINFO.match(head) and "=" in head.split()[0]:
        serv = ""  # no authserv-id (Microsoft style): the first segment is a result
    else:
        serv = head.split()[0].lower() if head.split() else ""
        segments = segments[1:]
    for seg in segments:
        m = _RESINFO.match(seg)
        if not m:
            continue
        props = tuple(
            (f"{p.group(1).lower()}.{p.group(2).lower()}", p.group(3).strip('"'))
            for p in _PROP.finditer(seg, m.end())
        )
        results.append(AuthResult(serv, m.group(1).lower(), m.group(2).lower(), props, position))
    return serv, results


def auth_result_details(
    msg: bytes | Message | InboundMessage, *,
    trusted_authserv_ids: frozenset[str] | None = None
) -> tuple[AuthResult, ...] | None:
    """Every result of the ``Authentication-Results`` headers the caller trusts.

    Same header choice as :func:`parse_auth_results`: the topmost header when
    ``trusted_authserv_ids`` is ``None``, otherwise every header whose authserv-id is in it
    (:attr:`AuthResult.position` tells them apart). ``None`` when no header qualifies.
    Never raises.
    """
    try:
        message = to_message(msg)
        values = [
            str(v) for k, v in message.raw_items() if str(k).lower() == "authentication-results"
        ][:MAX_AR_HEADERS]
    except Exception:
        return None
    trusted = None if trusted_authserv_ids is None else {s.lower() for s in trusted_authserv_ids}
    chosen: list[AuthResult] = []
    found = False
    for position, value in enumerate(values):
        try:
            serv, results = _parse_ar(value, position)
        except Exception:
            continue
        if trusted is None:
            return tuple(results)  # topmost only
        if serv in trusted:
            found = True
            chosen.extend(results)
    return tuple(chosen) if found else None


