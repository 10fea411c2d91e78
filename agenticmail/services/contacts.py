"""An agent's address book: filled from its correspondence, editable, and its block/allow
list, which the inbound path honours (:func:`screen_sender`).

Every new INBOX message counts its sender (``received``) and every accepted send counts its
recipients (``sent``), with first and last seen. ``block``: the sender's mail goes to Spam
(quarantined and announced as ``message.spam``, never dropped, so a mistaken block loses
nothing), its verdict naming the block. ``allow``: the sender's mail is not moved to Spam on
its score, but only when the message proves its sender (internal, or DMARC pass): a forged
``From`` gets nothing from an allow entry. Allowing never changes sanitising, fencing or the
rest of the verdict. An entry may also be ``@domain`` (block or allow a whole domain).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from email.utils import parseaddr
from typing import TYPE_CHECKING, Any

from ..errors import InvalidRequest, NotFound
from ..mail.addresses import domain_of, validate_address
from ..models import Agent
from ..security.scoring import RuleHit
from ..security.verdict import SecurityVerdict
from ..store import contacts as store
from .context import ServiceContext, transaction
from .protection import Assessment
from .rule_spec import authenticated

if TYPE_CHECKING:
    import sqlite3

MAX_LIMIT = 1000
MAX_NOTES = 10_000
MAX_TAGS = 50
BLOCKED = "CONTACT_BLOCKED"
ALLOWED = "CONTACT_ALLOWED"
ALLOW_UNPROVEN = "CONTACT_ALLOW_UNPROVEN"


def normalize(address: str) -> str:
    """A contact's key: the lower-cased bare address, or ``@domain`` for a whole domain."""
    if isinstance(address, str) and address.strip().startswith("@"):
        domain = address.strip()[1:]
        return "@" + domain_of("x@" + domain)
    return validate_address(address).lower()


def sender_of(from_header: str) -> tuple[str, str | None]:
    """(lower-cased address, display name or None) of a From header ("" when none)."""
    name, address = parseaddr(from_header or "")
    return address.strip().lower(), (name.strip() or None)


def _check_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ("name", "notes"):
        if key in changes:
            value = changes[key]
            if value is not None and (not isinstance(value, str) or len(value) > MAX_NOTES):
                raise InvalidRequest(f"{key} is text of at most {MAX_NOTES} characters")
            out[key] = value or None
    if "tags" in changes:
        value = changes["tags"] or []
        if not isinstance(value, list) or len(value) > MAX_TAGS or not all(
                isinstance(t, str) and 0 < len(t.strip()) <= 64 for t in value):
            raise InvalidRequest(f"tags is a list of at most {MAX_TAGS} names (1-64 characters)")
        out["tags"] = sorted({t.strip() for t in value})
    if "status" in changes:
        status = changes["status"]
        if status not in (*store.STATUSES, None):
            raise InvalidRequest("status is 'block', 'allow' or null", code="invalid_status")
        out["status"] = status
    return out


def save(ctx: ServiceContext, agent: Agent, address: str, changes: Mapping[str, Any]
         ) -> store.ContactRow:
    """Create the contact or change the fields given (``name``, ``notes``, ``tags``,
    ``status``)."""
    key, fields = normalize(address), _check_changes(changes)
    with transaction(ctx) as tx:
        return store.upsert(tx.conn, agent.id, key, fields)


def get(ctx: ServiceContext, agent: Agent, address: str) -> store.ContactRow:
    key = normalize(address)
    found = store.find(ctx.db, agent.id, key)
    if found is None:
        raise NotFound(f"agent {agent.name} has no contact {key}", code="contact_not_found")
    return found


def update(ctx: ServiceContext, agent: Agent, address: str, changes: Mapping[str, Any]
           ) -> store.ContactRow:
    """Change an existing contact (404 ``contact_not_found`` when there is none)."""
    get(ctx, agent, address)
    return save(ctx, agent, address, changes)


def list_contacts(ctx: ServiceContext, agent: Agent, *, status: str | None = None,
                  query: str | None = None, limit: int = 100, offset: int = 0
                  ) -> dict[str, Any]:
    if status is not None and status not in store.STATUSES:
        raise InvalidRequest("status is 'block' or 'allow'", code="invalid_status")
    if not 1 <= limit <= MAX_LIMIT or offset < 0:
        raise InvalidRequest(f"limit is 1-{MAX_LIMIT} and offset not negative")
    total, rows = store.list_contacts(ctx.db, agent.id, status=status,
                                      query=(query or "")[:200] or None, limit=limit,
                                      offset=offset)
    return {"total": total, "limit": limit, "offset": offset,
            "contacts": [r.to_dict() for r in rows]}


def delete(ctx: ServiceContext, agent: Agent, address: str) -> dict[str, Any]:
    found = get(ctx, agent, address)
    with transaction(ctx) as tx:
        store.delete(tx.conn, agent.id, found.address)
    return {"address": found.address, "deleted": True}


def known_domains(ctx: ServiceContext, agent: Agent) -> frozenset[str]:
    """The domains the agent already corresponds with (received from, sent to or allowed;
    not blocked): what the phishing rules compare a sender against
    (``known_domains`` of :func:`agenticmail.security.score`)."""
    return store.domains(ctx.db, agent.id)


def saw_inbound(conn: sqlite3.Connection, agent: Agent, from_header: str) -> None:
    """Count a new message from ``from_header``'s sender (in the ingest transaction)."""
    address, name = sender_of(from_header)
    if "@" in address:
        store.seen(conn, agent.id, [address], inbound=True, name=name)


def saw_outbound(conn: sqlite3.Connection, agent: Agent, recipients: Sequence[str]) -> None:
    """Count a send to each recipient (in the transaction that accepts it)."""
    store.seen(conn, agent.id, sorted({r.lower() for r in recipients}), inbound=False)


def _with_rule(verdict: SecurityVerdict, hit: RuleHit, *, spam: bool | None = None,
               category: str | None = None) -> SecurityVerdict:
    score = verdict.score
    score = dataclasses.replace(score, rules=(*score.rules, hit),
                                spam=score.spam if spam is None else spam,
                                category=category or score.category)
    return dataclasses.replace(verdict, score=score)


def screen_sender(ctx: ServiceContext, agent: Agent, from_header: str,
                  assessment: Assessment) -> Assessment:
    """``assessment`` as the agent's block/allow list changes it (see the module text)."""
    address, _ = sender_of(from_header)
    if "@" not in address or assessment.security.too_complex is not None:
        return assessment
    entry = store.status_of(ctx.db, agent.id, address, domain_of(address, validate=False))
    if entry is None:
        return assessment
    verdict = assessment.security
    if entry.status == "block":
        hit = RuleHit(BLOCKED, "blocked", 0,
                      f"the sender {entry.address} is on this agent's block list")
        return dataclasses.replace(assessment, spam=True,
                                   security=_with_rule(verdict, hit, spam=True,
                                                       category="blocked"))
    if not authenticated(verdict):
        hit = RuleHit(ALLOW_UNPROVEN, "contact", 0,
                      f"{entry.address} is on the allow list, but this message does not prove "
                      "its sender (no DMARC pass): scored as usual")
        return dataclasses.replace(assessment, security=_with_rule(verdict, hit))
    hit = RuleHit(ALLOWED, "contact", 0,
                  f"{entry.address} is on the allow list and the message is authenticated: "
                  "not moved to Spam")
    return dataclasses.replace(assessment, spam=False,
                               security=_with_rule(verdict, hit, spam=False))
