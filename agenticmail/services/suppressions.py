"""Each agent's suppression list, and the unsubscribe links that feed it.

An address lands on an agent's list from a hard bounce or a complaint
(:mod:`.bounces`), an unsubscribe (the one-click POST of RFC 8058 or the ``mailto:`` in the
``List-Unsubscribe`` header of the agent's bulk mail), or by hand (owner or agent, API and
CLI). A send naming a suppressed address — to, cc or bcc, by the API or SMTP submission — is
refused before anything is queued (:func:`refuse_suppressed`: ``403 recipient_suppressed``).

Unsubscribe tokens cannot be forged: ``<agent id>.<address>`` (base64url) with an HMAC under
a key derived from the daemon's secret key, compared in constant time. A token names the
agent and the one recipient it was made for, so it unsubscribes that recipient from that
agent only, whoever presents it.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any
from urllib.parse import quote

from ..errors import InvalidRequest, NotFound, PermissionDenied
from ..event_types import SUPPRESSION_ADDED
from ..mail.addresses import plus_address, validate_address
from ..models import Agent
from ..security.keys import same_secret
from ..store import agents as agent_store
from ..store import suppressions as store
from .context import ServiceContext, Tx, transaction
from .domain_outbound import outbound_address
from .routes import route_address

__all__ = ["ONE_CLICK", "UNSUBSCRIBE_PREFIX", "add", "add_in", "bulk_header_lines",
           "check_token", "honour_token", "list_suppressions", "refuse_suppressed", "remove",
           "token_in_subject", "unsubscribe_token"]

UNSUBSCRIBE_PREFIX = "/v1/unsubscribe/"
ONE_CLICK = "List-Unsubscribe=One-Click"
_PURPOSE = "unsubscribe-v1"
_MAC_CHARS = 32  # 128 bits of the HMAC-SHA256 (hex)
_TOKEN_RE = re.compile(r"\bunsubscribe[ :]+([A-Za-z0-9_-]{4,600}\.[0-9a-f]{32})\b",
                       re.IGNORECASE)
MANUAL = "manual"


def list_suppressions(ctx: ServiceContext, agent: Agent, limit: int = 1000,
                      offset: int = 0) -> list[dict[str, Any]]:
    return [s.to_dict() for s in store.list_for(ctx.db, agent.id, limit, offset)]


def add_in(tx: Tx, agent: Agent, address: str, reason: str, detail: str | None = None,
           source: str | None = None) -> bool:
    """Within ``tx``: put ``address`` on ``agent``'s list (announced as
    ``suppression.added``); False when it already was."""
    if not store.add(tx.conn, agent.id, address, reason, detail, source):
        return False
    tx.emit(SUPPRESSION_ADDED, agent.name, {"agent": agent.name, "address": address.lower(),
                                            "reason": reason, "detail": detail},
            agent_id=agent.id)
    return True


def add(ctx: ServiceContext, agent: Agent, address: str, reason: str = MANUAL,
        detail: str | None = None) -> dict[str, Any]:
    """Suppress ``address`` for ``agent`` by hand (or by another reason); idempotent."""
    if reason not in store.REASONS:
        raise InvalidRequest(f"reason must be one of {', '.join(store.REASONS)}",
                             code="invalid_reason")
    normalised = validate_address(address).lower()
    if detail is not None and len(detail) > 500:
        raise InvalidRequest("detail is at most 500 characters")
    with transaction(ctx) as tx:
        added = add_in(tx, agent, normalised, reason, detail)
    entry = store.matching(ctx.db, agent.id, [normalised])[0]
    return {**entry.to_dict(), "agent": agent.name, "added": added}


def remove(ctx: ServiceContext, agent: Agent, address: str) -> dict[str, Any]:
    normalised = validate_address(address).lower()
    with transaction(ctx) as tx:
        if not store.remove(tx.conn, agent.id, normalised):
            raise NotFound(f"{normalised} is not on the suppression list of {agent.name}",
                           code="not_suppressed")
    return {"agent": agent.name, "address": normalised, "removed": True}


def refuse_suppressed(ctx: ServiceContext, agent: Agent, recipients: list[str]) -> None:
    """Raise ``403 recipient_suppressed`` naming the first suppressed recipient and why."""
    found = store.matching(ctx.db, agent.id, recipients)
    if not found:
        return
    first = found[0]
    more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
    why = f"{first.reason}: {first.detail}" if first.detail else first.reason
    raise PermissionDenied(
        f"{first.address} is on the suppression list of {agent.name} ({why}){more}; "
        "nothing was sent", code="recipient_suppressed",
        hint=f"remove it with `agenticmail suppressions remove {first.address} "
             f"--agent {agent.name}` if it should get mail again")


# -- unsubscribe links ---------------------------------------------------------------------------

def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _mac(ctx: ServiceContext, body: str) -> str:
    return ctx.secrets.mac(_PURPOSE, body)[:_MAC_CHARS]


def unsubscribe_token(ctx: ServiceContext, agent: Agent, address: str) -> str:
    """The token that unsubscribes ``address`` from ``agent``'s mail (unforgeable)."""
    body = _b64(f"{agent.id}:{address.lower()}")
    return f"{body}.{_mac(ctx, body)}"


def _read_token(ctx: ServiceContext, token: str) -> tuple[int, str]:
    body, dot, mac = token.partition(".")
    bad = InvalidRequest("this unsubscribe link is not valid", code="invalid_unsubscribe_token")
    if not dot or len(token) > 700 or not same_secret(mac, _mac(ctx, body)):
        raise bad
    try:
        text = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise bad from None
    agent_id, _, address = text.partition(":")
    if not agent_id.isdigit() or "@" not in address:
        raise bad
    return int(agent_id), address


def check_token(ctx: ServiceContext, token: str) -> None:
    """Raise ``400 invalid_unsubscribe_token`` unless ``token`` is one this daemon made."""
    _read_token(ctx, token)


def honour_token(ctx: ServiceContext, token: str, via: str, tx: Tx | None = None
                 ) -> dict[str, Any]:
    """Unsubscribe the recipient ``token`` was made for from its agent's mail (``via``:
    ``one-click`` or ``email``), within ``tx`` when given."""
    agent_id, address = _read_token(ctx, token)
    agent = agent_store.find_agent_by_id(ctx.db, agent_id)
    if agent is None:
        raise NotFound("the sender of this mail no longer exists", code="unknown_sender")
    if tx is not None:
        add_in(tx, agent, address, "unsubscribe", via)
    else:
        with transaction(ctx) as own:
            add_in(own, agent, address, "unsubscribe", via)
    return {"unsubscribed": True}


def token_in_subject(subject: str) -> str | None:
    """The token of an ``unsubscribe <token>`` mail (the ``mailto:`` of our header)."""
    match = _TOKEN_RE.search(subject or "")
    return match.group(1) if match else None


def bulk_header_lines(ctx: ServiceContext, agent: Agent, recipient: str) -> bytes:
    """``List-Unsubscribe`` (a URL on this daemon and a ``mailto:`` that comes back to the
    agent) and ``List-Unsubscribe-Post`` (RFC 8058) for one recipient, as header lines
    (CRLF): the URL is one token longer than a folded line, and must stay one token."""
    token = unsubscribe_token(ctx, agent, recipient)
    base = (ctx.settings.public_url or ctx.settings.api_url).rstrip("/")
    route = route_address(ctx)
    reply_to = (outbound_address(ctx, agent)
                or (plus_address(route, agent.name) if route else agent.address))
    mailto = f"mailto:{reply_to}?subject={quote(f'unsubscribe {token}')}"
    return (f"List-Unsubscribe: <{base}{UNSUBSCRIBE_PREFIX}{token}>,\r\n <{mailto}>\r\n"
            f"List-Unsubscribe-Post: {ONE_CLICK}\r\n").encode()
