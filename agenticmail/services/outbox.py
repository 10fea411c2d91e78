"""Accepting mail from an agent: validate, route, guard, and make it durable before answering.

Every accepted send becomes an outbox row (or, when the outbound guard blocks it, a held item
awaiting the owner) inside one transaction, before the API answers 202. The sender worker
delivers rows; nothing here talks SMTP.
"""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.headerregistry import Address
from email.utils import formatdate, getaddresses, make_msgid
from typing import Any

from ..errors import (
    Conflict,
    InvalidRequest,
    NotFound,
    PayloadTooLarge,
    RateLimited,
)
from ..mail import bounds
from ..mail.addresses import domain_of, validate_address
from ..mail.mime import build_message, get_attachment, parse_message, thread_key
from ..models import Agent, OutgoingMail
from ..security.outbound import OwnerProfile, scan_message
from ..store import agents as agent_store
from ..store import messages as index
from ..store import outbox as store
from ..store import pending as pending_store
from . import audit, contacts, domain_outbound, identity, origin, suppressions
from .approvals import hold
from .context import ServiceContext, transaction
from .queue import Accepted, Routed, new_id
from .send_limits import Limit

IDEMPOTENCY_WINDOW = 24 * 3600
MAX_RECIPIENTS = 100


def route_recipients(ctx: ServiceContext, recipients: list[str]) -> Routed:
    """Validate every recipient (to, cc AND bcc) and split local agents from external ones."""
    if not recipients:
        raise InvalidRequest("no recipients: give at least one 'to', 'cc' or 'bcc' address")
    if len(recipients) > MAX_RECIPIENTS:
        raise InvalidRequest(f"at most {MAX_RECIPIENTS} recipients per message")
    local: list[str] = []
    external: list[str] = []
    domain = domain_outbound.active(ctx)
    for raw in recipients:
        address = validate_address(raw)
        own = domain_outbound.agent_at_domain(ctx, domain, address) if domain else None
        if own is not None:  # agent@ the owner's domain: delivered here, never out and back
            address, bucket = own.address, local
        elif domain_of(address).lower() == ctx.settings.domain.lower():
            address = address.lower()
            if agent_store.find_agent_by_address(ctx.db, address) is None:
                raise InvalidRequest(f"no agent has the address {address}",
                                     code="unknown_recipient")
            bucket = local
        else:
            bucket = external
        if address not in bucket:
            bucket.append(address)
    if external and not domain_outbound.has_way_out(ctx):
        hint = (f"agents can mail each other at @{ctx.settings.domain}; configure an outbound "
                "route (agenticmail route set …) for external mail")
        if domain:
            hint = ("domain mode's smarthost path sends through the SMTP route: set one "
                    "(agenticmail route set …) or switch (agenticmail domain outbound direct)")
        raise InvalidRequest(
            f"cannot deliver to {external[0]}: no route to internet mail is configured",
            code="no_route", hint=hint)
    return Routed(local, external)


def accept_recipient(ctx: ServiceContext, agent: Agent, address: str) -> None:
    """One recipient of an SMTP submission (RCPT TO): routable, and not suppressed."""
    routed = route_recipients(ctx, [address])
    suppressions.refuse_suppressed(ctx, agent, routed.local + routed.external)


def _bulk_headers(ctx: ServiceContext, agent: Agent, mail: OutgoingMail, routed: Routed
                  ) -> bytes:
    """The one-click unsubscribe header lines of bulk mail, made for its one recipient
    (b"" for other mail)."""
    if not mail.bulk:
        return b""
    everyone = routed.local + routed.external
    if len(everyone) != 1 or mail.cc or mail.bcc:
        raise InvalidRequest("bulk mail goes to exactly one 'to' recipient per message (its "
                             "unsubscribe link is made for that recipient)",
                             code="bulk_needs_one_recipient")
    return suppressions.bulk_header_lines(ctx, agent, everyone[0])


def _check_rate(ctx: ServiceContext, agent: Agent) -> None:
    s = ctx.settings
    ctx.send_limits.check(ctx.db, agent.id, agent.name, (
        Limit(60, s.rate_per_minute, "minute"), Limit(3600, s.rate_per_hour, "hour"),
        Limit(86400, s.rate_per_day, "day")))


def _thread_of(ctx: ServiceContext, mail: OutgoingMail, message_id: str) -> str:
    related = [m for m in (mail.in_reply_to, *mail.references) if m]
    return index.thread_of(ctx.db, related) or thread_key(message_id, mail.in_reply_to,
                                                           mail.references)


def _check_reply_budget(ctx: ServiceContext, agent: Agent, mail: OutgoingMail,
                        thread: str) -> None:
    if not (mail.in_reply_to or mail.references):
        return
    sent = store.count_thread(ctx.db, agent.id, thread, time.time() - 86400)
    if sent >= ctx.settings.thread_reply_budget:
        raise RateLimited(
            f"agent {agent.name} already sent {sent} messages in this thread today; "
            "this looks like a mail loop", retry_after=3600,
            hint="a per-thread reply budget stops agents answering each other forever")


def _with_loop_headers(mail: OutgoingMail) -> OutgoingMail:
    headers = tuple((k, v) for k, v in mail.headers if k.lower() != "auto-submitted")
    value = "auto-replied" if mail.in_reply_to else "auto-generated"
    return dataclasses.replace(mail, headers=(*headers, ("Auto-Submitted", value)))


def _check_size(ctx: ServiceContext, mail: OutgoingMail) -> None:
    for att in mail.attachments:
        if len(att.content) > ctx.settings.max_attachment_bytes:
            raise PayloadTooLarge(
                f"attachment {att.filename!r} is {len(att.content)} bytes; the limit is "
                f"{ctx.settings.max_attachment_bytes}")


def _parse_send_at(send_at: str | None) -> float | None:
    if not send_at:
        return None
    try:
        when = datetime.fromisoformat(send_at.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidRequest("send_at must be an ISO 8601 time, e.g. 2026-01-31T09:00:00Z"
                             ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def _existing(ctx: ServiceContext, agent: Agent, key: str) -> Accepted | None:
    since = time.time() - IDEMPOTENCY_WINDOW
    row = store.find_by_idempotency(ctx.db, agent.id, key, since)
    if row is not None:
        return Accepted(row.id, row.status, row.message_id, send_at=row.send_at, duplicate=True)
    held = pending_store.find_pending_by_idempotency(ctx.db, agent.id, key, since)
    if held is not None:
        return Accepted(held.outbox_id or held.id, "held" if held.status == "pending"
                        else held.status, held.message_id, pending_id=held.id,
                        findings=tuple(held.findings), duplicate=True)
    return None


def _owner_profile(ctx: ServiceContext) -> OwnerProfile | None:
    if not ctx.settings.owner_email:
        return None
    return OwnerProfile(email=ctx.settings.owner_email)


def submit(ctx: ServiceContext, agent: Agent, mail: OutgoingMail, *,
           idempotency_key: str | None = None, send_at: str | None = None) -> Accepted:
    """Accept a message from ``agent``: afterwards it is durable (queued or held)."""
    if idempotency_key is not None:
        if not 1 <= len(idempotency_key) <= 200:
            raise InvalidRequest("Idempotency-Key must be 1-200 characters")
        found = _existing(ctx, agent, idempotency_key)
        if found is not None:
            return found
    if not (mail.text or mail.html):
        raise InvalidRequest("the message has no body: give 'text' and/or 'html'")
    identity.check_outgoing(ctx, agent, mail)
    _check_size(ctx, mail)
    due = _parse_send_at(send_at)
    routed = route_recipients(ctx, list(mail.recipients))
    suppressions.refuse_suppressed(ctx, agent, routed.local + routed.external)
    _check_rate(ctx, agent)
    bulk = _bulk_headers(ctx, agent, mail, routed)
    if bulk:  # ours replace any the agent wrote
        mail = dataclasses.replace(mail, headers=tuple(
            (k, v) for k, v in mail.headers
            if k.lower() not in ("list-unsubscribe", "list-unsubscribe-post")))
    mail = _with_loop_headers(mail)
    message, message_id = build_message(
        mail, from_addr=agent.address, from_name=mail.from_name or agent.display_name,
        domain=ctx.settings.domain)
    # written as they are: the email package would fold the long URL into encoded words
    raw = bulk + message.as_bytes(policy=policy.SMTP)
    if len(raw) > ctx.settings.max_message_bytes:
        raise PayloadTooLarge(f"the message is {len(raw)} bytes; the limit is "
                              f"{ctx.settings.max_message_bytes}")
    return _accept(ctx, agent, mail, raw=raw, message_id=message_id, routed=routed,
                   idempotency_key=idempotency_key, due=due)


def _require_readable(raw: bytes) -> None:
    """What the parsers would not read whole (mail.bounds), the guard could not check."""
    exceeded = bounds.check(raw)
    if exceeded is not None:
        raise InvalidRequest(f"the message is too complex to check before sending: "
                             f"{exceeded.detail}")


def submit_raw(ctx: ServiceContext, agent: Agent, recipients: list[str], raw: bytes) -> Accepted:
    """A message the agent submitted over SMTP: same routing, guard and outbox as the API."""
    routed = route_recipients(ctx, recipients)
    suppressions.refuse_suppressed(ctx, agent, routed.local + routed.external)
    identity.check_submitted(ctx, agent, raw)
    _check_rate(ctx, agent)
    _require_readable(raw)
    message = message_from_bytes(origin.strip(raw), policy=policy.SMTP)
    if message.get("From") is None:  # identity allowed it: the agent's own, written here
        message["From"] = Address(agent.display_name or "", addr_spec=agent.address)
    # a submission server may add what the client left out (RFC 6409 §8.2, §8.3)
    if message.get("Date") is None:
        message["Date"] = formatdate(usegmt=True)
    if message.get("Message-ID") is None:
        message["Message-ID"] = make_msgid(domain=ctx.settings.domain)
    if message.get("Auto-Submitted") is None:
        message["Auto-Submitted"] = ("auto-replied" if message.get("In-Reply-To")
                                     else "auto-generated")
    del message["Bcc"]
    header_rcpts = {a.lower() for a in _header_addresses(message)}
    bcc = tuple(r for r in routed.local + routed.external if r.lower() not in header_rcpts)
    _require_readable(message.as_bytes())  # as parsed below, with the headers added above
    parsed = parse_message(message.as_bytes(), uid=0, folder="", flags=())
    mail = OutgoingMail(
        to=tuple(a for a in routed.local + routed.external if a not in bcc), bcc=bcc,
        subject=parsed.subject, text=parsed.text or None, html=parsed.html,
        in_reply_to=parsed.in_reply_to, references=parsed.references,
        attachments=tuple(get_attachment(message.as_bytes(), i.index)
                          for i in parsed.attachments))
    return _accept(ctx, agent, mail, raw=message.as_bytes(),
                   message_id=str(message["Message-ID"]), routed=routed,
                   idempotency_key=None, due=None)


def _header_addresses(message: Any) -> list[str]:
    values = [str(v) for name in ("To", "Cc") for v in message.get_all(name, [])]
    return [addr for _, addr in getaddresses(values) if addr]


def _accept(ctx: ServiceContext, agent: Agent, mail: OutgoingMail, *, raw: bytes,
            message_id: str, routed: Routed, idempotency_key: str | None,
            due: float | None) -> Accepted:
    thread = _thread_of(ctx, mail, message_id)
    _check_reply_budget(ctx, agent, mail, thread)
    if routed.external:
        scan = scan_message(raw, owner=_owner_profile(ctx))  # exactly what leaves
        if scan.blocked:
            return hold(ctx, agent, mail, raw=raw, message_id=message_id, routed=routed,
                        thread=thread, scan=scan, idempotency_key=idempotency_key)

    outbox_id = new_id("ob")
    try:
        with transaction(ctx) as tx:
            store.insert_outbox(
                tx.conn, id=outbox_id, agent=agent.name, agent_id=agent.id, message_id=message_id,
                envelope_from=agent.address, local_rcpts=routed.local,
                external_rcpts=routed.external, bcc=list(mail.bcc), raw=raw,
                thread_id=thread, subject=mail.subject, idempotency_key=idempotency_key,
                send_at=due)
            tx.after_commit(ctx.send_limits.recorder(agent.id))
            contacts.saw_outbound(tx.conn, agent, routed.local + routed.external)
            audit.record(tx, f"agent:{agent.name}", audit.SEND, message_id, {
                "outbox_id": outbox_id, "to": routed.local + routed.external,
                "subject": mail.subject})
    except Conflict:  # the same Idempotency-Key raced us: answer with the first result
        found = _existing(ctx, agent, idempotency_key) if idempotency_key else None
        if found is None:
            raise
        return found
    if due is None or due <= time.time():  # a scheduled send comes due without a wake-up
        ctx.wake_sender()
    return Accepted(outbox_id, "queued", message_id,
                    send_at=None if due is None else store.iso(due))


def get_outbox(ctx: ServiceContext, outbox_id: str, agent: Agent | None) -> store.OutboxRow:
    """An entry of ``agent``'s outbox (any for the owner: ``agent=None``); another agent's
    entry is as unknown as one that does not exist (the answer says nothing of who has it)."""
    row = store.get_outbox(ctx.db, outbox_id)
    if agent is not None and row.agent_id != agent.id:
        raise NotFound(f"no outbox entry {outbox_id!r}")
    return row


def list_outbox(ctx: ServiceContext, agent: Agent | None, status: str | None = None,
                limit: int = 50, offset: int = 0) -> list[store.OutboxRow]:
    return store.list_outbox(ctx.db, agent.id if agent else None, status, limit, offset)


def list_scheduled(ctx: ServiceContext, agent: Agent | None, limit: int = 50,
                   offset: int = 0) -> list[store.OutboxRow]:
    """Sends waiting for their ``send_at`` (the agent's, or everyone's for the owner)."""
    return store.list_scheduled(ctx.db, agent.id if agent else None, limit, offset)


def cancel(ctx: ServiceContext, outbox_id: str, agent: Agent | None) -> store.OutboxRow:
    """Cancel a send nothing of which has left (a scheduled one, typically): it never will.
    Cancelling it again answers the cancelled row; one that has left (or is leaving) is a
    409 ``already_sent``."""
    row = get_outbox(ctx, outbox_id, agent)
    with transaction(ctx) as tx:
        if not store.cancel(tx.conn, outbox_id):
            row = store.get_outbox(ctx.db, outbox_id)
            if row.cancelled:
                return row
            if row.status == "failed":
                raise Conflict(f"outbox entry {outbox_id} already failed: {row.last_error}",
                               code="already_failed")
            raise Conflict(f"outbox entry {outbox_id} has already been sent or is being "
                           f"sent ({row.status}); it cannot be cancelled",
                           code="already_sent")
        actor = f"agent:{agent.name}" if agent is not None else audit.OWNER
        audit.record(tx, actor, audit.CANCEL, row.message_id,
                     {"outbox_id": outbox_id, "send_at": row.send_at})
    return store.get_outbox(ctx.db, outbox_id)
