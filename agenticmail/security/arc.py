"""ARC (RFC 8617): whether a message's Authenticated Received Chain verifies, who sealed it
last, and the authentication results that sealer recorded.

Domain mode's mail arrives through Cloudflare Email Routing, which checked SPF, DKIM and
DMARC at its MX and recorded the results in an ARC set it sealed (``d=email.cloudflare.net``).
Those results are worth believing only when the chain verifies (dkimpy's ``arc_verify``,
cv=pass) AND the last sealer is one the owner trusts; the caller decides the latter from
:attr:`ArcVerdict.sealer`. DNS goes through the injected ``resolver``, bounded by a deadline;
nothing here raises.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .authresults import Resolver, dkim_dnsfunc, within

_INSTANCE = re.compile(r"^\s*i\s*=\s*\d+\s*;\s*", re.IGNORECASE)


@dataclass(frozen=True)
class ArcVerdict:
    """``cv``: ``pass``, ``fail`` or ``none`` (not ARC-sealed); ``sealer``: the ``d=`` of the
    highest ARC-Seal; ``results``: that instance's ARC-Authentication-Results as an
    ``Authentication-Results`` value (``authserv-id; method=result ...``)."""

    cv: str
    sealer: str | None = None
    results: str | None = None
    reason: str = ""


NONE = ArcVerdict("none", reason="not ARC-sealed")


def _text(value: object) -> str:
    raw = value if isinstance(value, bytes) else str(value).encode()
    return " ".join(raw.decode("utf-8", "replace").split())


def _verify(raw: bytes, resolver: Resolver, timeout: float) -> ArcVerdict:
    import dkim

    cv, results, reason = dkim.arc_verify(raw, dnsfunc=dkim_dnsfunc(resolver),
                                          timeout=int(max(1, timeout)))
    if cv == dkim.CV_None:
        return NONE
    newest = results[0] if results else {}
    sealer = _text(newest["as-domain"]).lower() if "as-domain" in newest else None
    found = _INSTANCE.sub("", _text(newest["aar-value"])) if "aar-value" in newest else None
    word = "pass" if cv == dkim.CV_Pass else "fail"
    return ArcVerdict(word, sealer, found or None, _text(reason))


def verify_arc(raw: bytes, resolver: Resolver, timeout: float = 2.0) -> ArcVerdict:
    """The ARC verdict on ``raw`` (the bytes as received), within about ``2 * timeout``."""
    if b"arc-seal" not in raw[:256 * 1024].lower():
        return NONE
    return within(timeout * 2, lambda: _verify(bytes(raw), resolver, timeout),
                  late=ArcVerdict("fail", reason="DNS did not answer in time"),
                  failed=ArcVerdict("fail", reason="the ARC headers could not be read"))
