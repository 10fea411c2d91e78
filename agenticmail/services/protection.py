"""Inbound protection for what agents read: authentication verdicts, spam/threat score,
security advisory and sanitised bodies, as one ``security`` block.

Mail between the host's own agents is internal and not scored (it is still sanitised);
everything else is. Internal means proven: the daemon's origin stamp verifies
(:mod:`.origin`); a local From domain proves nothing. Authentication-Results headers count
only from a configured trusted authserv-id (the mail host in front of us), the relay
provider's own on a copy the relay sealed, or the ARC results domain mode verified on a copy
it sealed; otherwise the verdicts are computed here. Where the connecting IP is known (a relay
copy whose provider recorded it in its own headers), they are computed here whatever the
headers say: SPF for that IP, the envelope sender and HELO, then DKIM and DMARC, whose SPF
alignment uses that SPF result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..security import advise, compute_auth, parse_auth_results, sanitize, score
from ..security.authresults import AuthVerdicts, dnspython_records, dnspython_resolver
from ..security.mime_view import InboundMessage, read
from ..security.spf_check import SpfVerdict, spf_verdict
from ..security.trace_headers import Connection
from ..security.verdict import SecurityVerdict
from . import domain_inbound, origin
from . import relay_gateway as relay
from .context import ServiceContext

DNS_TIMEOUT = 2.0


@dataclass(frozen=True)
class Assessment:
    security: SecurityVerdict
    spam: bool
    text: str
    html: str | None


def _trusted_ids(ctx: ServiceContext, message: InboundMessage) -> set[str]:
    """Configured authserv-ids (the mail host in front of us), plus the relay provider's
    own (e.g. mx.google.com) for a copy the relay delivered, proven by its seal: on mail
    that arrived any other way, a header with the provider's id was not written by it."""
    trusted = {s.strip().lower() for s in (ctx.settings.trusted_authserv_ids or "").split(",")
               if s.strip()}
    account = relay.get_account(ctx)
    if account is not None and account.authserv_ids:
        provider = {i.lower() for i in account.authserv_ids}
        trusted -= provider  # even when also configured above: only on a sealed relay copy
        if relay.sealed_by_relay(ctx, message):
            trusted |= provider
    vouched = domain_inbound.vouched_authserv_id(ctx, message)
    if vouched is not None:  # the ARC results domain mode verified and sealed
        trusted.add(vouched)
    return trusted


def spf_for(ctx: ServiceContext, connection: Connection) -> SpfVerdict:
    """SPF for a connection whose client IP is known (relay: what the provider recorded;
    domain mode: what the inbound edge saw), DNS through ``dns_nameservers``; bounded, never
    raises (a failed lookup is ``temperror``)."""
    return spf_verdict(connection.ip, connection.mail_from, connection.helo,
                       lookup=dnspython_records(DNS_TIMEOUT, ctx.settings.dns_nameservers or ""),
                       timeout=DNS_TIMEOUT)


def computed_auth(ctx: ServiceContext, message: InboundMessage,
                  connection: Connection | None = None) -> AuthVerdicts:
    """The verdicts computed here: DKIM and DMARC, and SPF when ``connection`` is known
    (feeding DMARC's SPF alignment); ``none`` SPF otherwise."""
    resolver = dnspython_resolver(DNS_TIMEOUT, ctx.settings.dns_nameservers or "")
    if connection is None:
        return compute_auth(message, timeout=DNS_TIMEOUT, resolver=resolver)
    found = spf_for(ctx, connection)
    return compute_auth(message, timeout=DNS_TIMEOUT, resolver=resolver, spf=found.result,
                        spf_domain=found.domain)


def _auth(ctx: ServiceContext, message: InboundMessage) -> Any:
    connection = relay.provider_connection(ctx, message)
    if connection is not None:
        return computed_auth(ctx, message, connection)
    trusted = _trusted_ids(ctx, message)
    if trusted:
        headers = message.message.get_all("Authentication-Results") or []
        if headers and str(headers[0]).split(";", 1)[0].strip().lower() in trusted:
            found = parse_auth_results(message)
            if found is not None:
                return found
    return computed_auth(ctx, message)


def assess(ctx: ServiceContext, raw: bytes | InboundMessage,
           stored: SecurityVerdict | None = None,
           known_domains: frozenset[str] | None = None) -> Assessment:
    """Sanitise ``raw`` and give its security block: ``stored`` (the verdict given at
    delivery) when there is one, else a fresh one (authentication computed for external
    mail only). The message is parsed once (or not at all when given parsed) and that
    parse is shared by every step. ``known_domains``: the receiving agent's correspondents
    (:func:`.contacts.known_domains`), for the first-contact and look-alike rules."""
    message = read(raw)
    assert message.raw is not None
    cleaned = sanitize(message)
    text = cleaned.text.replace("\r\n", "\n")  # as the parser gives it: plain newlines
    if stored is not None:
        return Assessment(stored, stored.spam, text, cleaned.html)
    local = frozenset({ctx.settings.domain.lower()})
    found = origin.verify(ctx, message.raw)  # a MAC over the bytes as received
    internal = found is origin.Origin.VERIFIED
    verdict = score(message, local_domains=local,
                    auth=None if internal else _auth(ctx, message), origin=found,
                    known_domains=known_domains)
    block = SecurityVerdict(verdict, None if verdict.internal else advise(message),
                            cleaned.changed, cleaned.detections)
    return Assessment(block, bool(verdict.spam) and not verdict.internal, text, cleaned.html)
