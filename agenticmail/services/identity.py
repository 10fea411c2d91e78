"""Who an agent's mail may claim to be from: the one rule every submission path applies.

An agent authenticated as X may send only with exactly one ``From`` (over SMTP, a message
without one gets X's own) naming one of X's own addresses (its local address and, with an
outbound route, its relay sub-address; in domain mode, ``agent@domain``), at most one
``Sender`` naming one of them, and a ``Reply-To`` naming only them unless the owner set
``allow_foreign_reply_to``. SMTP submission checks the header block it received; the API
builds ``From`` itself and refuses custom headers that would speak for someone
(:data:`RESERVED`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from email import policy
from email.utils import getaddresses

from ..errors import InvalidRequest, PermissionDenied
from ..mail.addresses import plus_address
from ..models import Agent, OutgoingMail
from ..security.origin import STAMP_HEADER, header_fields
from .context import ServiceContext
from .domain_outbound import outbound_address
from .routes import route_address

# Custom API headers that would say who wrote, sent or vouched for the message.
RESERVED = frozenset(h.lower() for h in (
    "From", "Sender", "Reply-To", "Return-Path", "Resent-From", "Resent-Sender",
    "Resent-Reply-To", "Authentication-Results", "ARC-Authentication-Results",
    "ARC-Seal", "ARC-Message-Signature", "DKIM-Signature", "X-Original-From",
    "Received", STAMP_HEADER,
))


def own_addresses(ctx: ServiceContext, agent: Agent) -> frozenset[str]:
    """The addresses ``agent`` may write as (lower-cased)."""
    mine = {agent.address.lower()}
    address = route_address(ctx)
    if address is not None:
        mine.add(plus_address(address, agent.name).lower())
    on_domain = outbound_address(ctx, agent)
    if on_domain is not None:  # domain mode: agent@domain
        mine.add(on_domain.lower())
    return frozenset(mine)


_ADDRESS_IN_NAME_RE = re.compile(r"[^\s<>\"'(),;:@]+@[^\s<>\"'(),;:@]+")


def _names_claim_others(value: str, mine: frozenset[str]) -> bool:
    """Whether the display name in ``value`` shows an address that is not ours
    (``"alice@localhost" <bob@localhost>`` reads as alice to people and models)."""
    try:
        names = [a.display_name for a in policy.default.header_factory("to", value).addresses]
    except Exception:  # unreadable: _addresses refuses it anyway
        return True
    return any(m.lower() not in mine for n in names for m in _ADDRESS_IN_NAME_RE.findall(n))


def _addresses(values: Sequence[str]) -> list[str]:
    """The addresses in ``values`` as two parsers read them; a disagreement (a header crafted
    to read one way here and another in a mail client) yields an empty address, never allowed."""
    found: list[str] = []
    for value in values:
        loose = [addr.lower() for _, addr in getaddresses([value])]
        try:
            strict = [a.addr_spec.lower()
                      for a in policy.default.header_factory("to", value).addresses]
        except Exception:  # the email package's parser: anything it cannot read is refused
            strict = []
        found.extend(loose if loose == strict else [""])
    return found


def reply_to_allowed(ctx: ServiceContext, agent: Agent, values: Sequence[str]) -> bool:
    """Whether a Reply-To of ``values`` may stand on ``agent``'s mail."""
    if ctx.settings.allow_foreign_reply_to or not values:
        return True
    found = _addresses(values)
    mine = own_addresses(ctx, agent)
    return bool(found) and all(a in mine for a in found)


def check_author(ctx: ServiceContext, agent: Agent, fields: Sequence[tuple[str, str]]) -> None:
    """Refuse (PermissionDenied) a header block that does not speak as ``agent`` alone."""
    mine = own_addresses(ctx, agent)
    values: dict[str, list[str]] = {"from": [], "sender": [], "reply-to": []}
    for name, value in fields:
        if name.lower() in values:
            values[name.lower()].append(value)
    froms = values["from"]
    if len(froms) != 1:
        raise PermissionDenied(
            f"the message must have exactly one From header, it has {len(froms)}",
            code="sender_not_allowed", hint=f"send with From: {agent.address}")
    found = _addresses(froms)
    if len(found) != 1 or found[0] not in mine:
        raise PermissionDenied(
            f"From must be {agent.address} (the authenticated agent), not {froms[0]!r}",
            code="sender_not_allowed", hint=f"send with From: {agent.address}")
    if _names_claim_others(froms[0], mine):
        raise PermissionDenied(
            f"the From display name may not show another address: {froms[0]!r}",
            code="sender_not_allowed", hint="use a name without an e-mail address in it")
    senders = values["sender"]
    if senders and (len(senders) > 1 or [a for a in _addresses(senders) if a not in mine]
                    or len(_addresses(senders)) != 1):
        raise PermissionDenied(
            f"Sender may only name {agent.address}, once; remove the Sender header",
            code="sender_not_allowed")
    if not reply_to_allowed(ctx, agent, values["reply-to"]):
        raise PermissionDenied(
            f"Reply-To may only name {agent.name}'s own addresses ({', '.join(sorted(mine))})",
            code="reply_to_not_allowed",
            hint="the owner may allow any Reply-To with allow_foreign_reply_to = true in "
                 "config.toml")


def check_submitted(ctx: ServiceContext, agent: Agent, raw: bytes) -> None:
    """The rule for a message submitted whole (SMTP): its header block, read within bounds.
    A message without ``From`` passes: the daemon writes the agent's own (see outbox)."""
    fields = header_fields(raw)
    if not any(name.lower() == "from" for name, _ in fields):
        fields.append(("From", agent.address))
    check_author(ctx, agent, fields)


def check_outgoing(ctx: ServiceContext, agent: Agent, mail: OutgoingMail) -> None:
    """The rule for an API send: no custom header may speak for anyone; Reply-To is checked."""
    for name, _ in mail.headers:
        if isinstance(name, str) and name.strip().lower() in RESERVED:
            raise InvalidRequest(
                f"header {name!r} cannot be set: the daemon writes who a message is from",
                code="header_not_allowed",
                hint="use reply_to / from_name for what may be changed")
    if not mail.from_name and not mail.reply_to:
        return  # From is the agent's own address, written by the daemon: nothing to check
    name = (mail.from_name or "").replace("\\", "\\\\").replace('"', '\\"')
    fields = [("From", f'"{name}" <{agent.address}>' if name else agent.address)]
    if mail.reply_to:
        fields.append(("Reply-To", mail.reply_to))
    check_author(ctx, agent, fields)
