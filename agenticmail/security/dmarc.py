"""DMARC (RFC 7489): the published policy, identifier alignment, the result and the
disposition the From domain asks for.

:func:`evaluate` takes what was verified (the domains of the DKIM signatures that passed, the
SPF result and the domain SPF checked) and a TXT ``resolver``: it finds the policy record
(the From domain's, else its organisational domain's, whose ``sp=`` then applies, §6.6.3),
checks alignment in relaxed or strict mode (``adkim=``/``aspf=``), and applies ``pct=``
deterministically per message (a hash of its Message-ID, so the same message always gets the
same disposition). A resolver that raises :class:`DnsUnavailable` makes the result
``temperror``; a record that cannot be read is no policy (``none``), as §6.6.3 says.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from agenticmail.errors import DnsUnavailable
from agenticmail.security.patterns import registrable_domain

__all__ = ["DmarcPolicy", "DmarcResult", "evaluate", "parse_record"]

MAX_RECORD = 2048
_DISPOSITIONS = ("none", "quarantine", "reject")


@dataclass(frozen=True)
class DmarcPolicy:
    """A parsed ``v=DMARC1`` record (only the tags that decide a verdict)."""

    p: str = "none"
    sp: str | None = None
    pct: int = 100
    adkim: str = "r"
    aspf: str = "r"


@dataclass(frozen=True)
class DmarcResult:
    """``result``: pass/fail/none/temperror/permerror; ``disposition``: what the domain
    owner asks a receiver to do with this message (``none`` unless it failed)."""

    result: str
    disposition: str = "none"
    policy_domain: str = ""


def parse_record(record: bytes | str | None) -> DmarcPolicy | None:
    """The policy of a DMARC TXT record, or None when it is not one (§6.3, §6.6.3)."""
    if record is None:
        return None
    text = record.decode("ascii", "replace") if isinstance(record, bytes) else record
    tags: dict[str, str] = {}
    for part in text[:MAX_RECORD].split(";"):
        key, sep, value = part.partition("=")
        if sep:
            tags.setdefault(key.strip().lower(), value.strip())
    if tags.get("v", "").upper() != "DMARC1" or not text.strip().lower().startswith("v"):
        return None
    p = tags.get("p", "").lower()
    if p not in _DISPOSITIONS:
        if "rua" not in tags:
            return None
        p = "none"  # §6.6.3: an invalid p= with a rua= is treated as p=none
    sp = tags.get("sp", "").lower()
    try:
        pct = min(100, max(0, int(tags.get("pct", "100"))))
    except ValueError:
        pct = 100
    return DmarcPolicy(
        p=p,
        sp=sp if sp in _DISPOSITIONS else None,
        pct=pct,
        adkim="s" if tags.get("adkim", "r").lower() == "s" else "r",
        aspf="s" if tags.get("aspf", "r").lower() == "s" else "r",
    )


def _aligned(domain: str, from_domain: str, mode: str) -> bool:
    domain, from_domain = domain.lower().rstrip("."), from_domain.lower().rstrip(".")
    if mode == "s":
        return domain == from_domain
    return registrable_domain(domain) == registrable_domain(from_domain)


def _sampled(pct: int, message_id: str) -> bool:
    if pct >= 100:
        return True
    digest = hashlib.sha256(message_id.encode("utf-8", "replace")).digest()
    return int.from_bytes(digest[:2], "big") % 100 < pct


def evaluate(
    from_domain: str,
    resolver: Callable[[str], bytes | str | None],
    *,
    dkim_domains: list[str],
    spf_result: str = "none",
    spf_domain: str = "",
    message_id: str = "",
) -> DmarcResult:
    """The DMARC verdict for mail whose RFC5322.From domain is ``from_domain``."""
    from_domain = from_domain.lower().rstrip(".")
    if not from_domain:
        return DmarcResult("none")
    org = registrable_domain(from_domain)
    try:
        policy = parse_record(resolver("_dmarc." + from_domain))
        policy_domain, inherited = from_domain, False
        if policy is None and org and org != from_domain:
            policy = parse_record(resolver("_dmarc." + org))
            policy_domain, inherited = org, True
    except DnsUnavailable:
        return DmarcResult("temperror")
    if policy is None:
        return DmarcResult("none")
    dkim_ok = any(_aligned(d, from_domain, policy.adkim) for d in dkim_domains)
    spf_ok = spf_result == "pass" and bool(spf_domain) and _aligned(
        spf_domain, from_domain, policy.aspf)
    if dkim_ok or spf_ok:
        return DmarcResult("pass", "none", policy_domain)
    asked = policy.sp if inherited and policy.sp else policy.p
    if asked != "none" and not _sampled(policy.pct, message_id):
        # §6.6.4: outside the sample, one step gentler (reject -> quarantine -> none)
        asked = "quarantine" if asked == "reject" else "none"
    return DmarcResult("fail", asked, policy_domain)
