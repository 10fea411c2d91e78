"""Held mail: the owner's review, by API (master key) or by replying to the notification.

A message the outbound guard blocks is stored with everything needed to send it exactly as
held. The owner gets an email listing the findings (masked) and the message's envelope, never
its sensitive text (``agenticmail pending show`` shows the whole message), with a one-time
code; approving queues the held bytes unchanged, rejecting discards them. Either way the owner
gets a confirmation.

Nothing here lets an agent pass as the owner: the code is kept only as an HMAC under the
daemon's key, the notification is queued encrypted with that key, and the Message-ID of every
mail to the owner is recorded (``owner_mail``) so the relay recognises these mails and every
reply to them by proof it holds and never routes them to an agent. A reply approves only with
the provider's proof that the owner sent it (:func:`handle_owner_reply`).
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterable
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import formatdate, getaddresses, make_msgid
from typing import Any

from ..errors import Conflict, NotFound
from ..events import MESSAGE_APPROVED, MESSAGE_HELD, MESSAGE_REJECTED
from ..mail.mime import normalize_message_id, parse_message_ids
from ..models import Agent, OutgoingMail
from ..security.approval import (
    CodeCheck,
    Notification,
    ReplyDecision,
    decide,
    format_code_instructions,
    normalize_code,
)
from ..security.authresults import dnspython_resolver, verify_dkim
from ..security.keys import same_secret
from ..security.outbound import ScanResult
from ..store import outbox as outbox_store
from ..store import pending as store
from . import audit
from .context import ServiceContext, transaction
from .queue import Accepted, Routed, enqueue_raw, mail_summary, new_id
from .routes import get_route

_CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U


def new_code() -> str:
    """The one-time code printed in an owner notification (and required in a reply):
    8 Crockford base32 characters (40 bits), shown as ``XXXX-XXXX``."""
    chars = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))
    return f"{chars[:4]}-{chars[4:]}"


SYSTEM = "_system"
CODE_PURPOSE = "approval-code"
CODE_CHARS = len(normalize_code(new_code()))
DNS_TIMEOUT = 5.0


def _code_hash(ctx: ServiceContext, code: str) -> str:
    return ctx.secrets.mac(CODE_PURPOSE, normalize_code(code))


def hold(ctx: ServiceContext, agent: Agent, mail: OutgoingMail, *, raw: bytes, message_id: str,
         routed: Routed, thread: str, scan: ScanResult, idempotency_key: str | None
         ) -> Accepted:
    pending_id = store_id = new_id("pm")
    findings = [f.to_dict() for f in scan.findings]
    request = {"mail": mail_summary(mail), "raw_b64": base64.b64encode(raw).decode(),
               "local": routed.local, "external": routed.external, "bcc": list(mail.bcc),
               "thread_id": thread, "envelope_from": agent.address}
    code = new_code()
    with transaction(ctx) as tx:
        store.insert_pending(tx.conn, id=store_id, agent=agent.name, agent_id=agent.id,
                             request=request,
                             message_id=message_id, subject=mail.subject, findings=findings,
                             summary=scan.summary, idempotency_key=idempotency_key,
                             code_hash=_code_hash(ctx, code))
        tx.after_commit(ctx.send_limits.recorder(agent.id))
        tx.emit(MESSAGE_HELD, agent.name, {"pending_id": pending_id, "agent": agent.name,
                                           "message_id": message_id, "subject": mail.subject,
                                           "summary": scan.summary, "findings": findings},
                agent_id=agent.id)
        audit.record(tx, f"agent:{agent.name}", audit.HOLD, pending_id,
                     {"message_id": message_id, "summary": scan.summary})
        _notify_owner(ctx, tx, pending_id, agent.name,
                      _held_body(pending_id, agent, mail, scan, code),
                      f"[agenticmail] {agent.name} wants to send "
                      f"\"{_shown_subject(mail.subject, findings)}\" - approval needed")
    return Accepted(pending_id, "held", message_id, pending_id=pending_id,
                    findings=tuple(findings))


def _shown_subject(subject: str, findings: Iterable[dict[str, Any]]) -> str:
    """The subject as a notification may show it: withheld when a finding is in it."""
    if any(str(f.get("where", "")).lower() in ("subject", "header:subject") for f in findings):
        return "(withheld: the subject itself has a finding)"
    return subject


def _bare(addresses: Iterable[str]) -> str:
    """Addresses without display names (a display name is the agent's text, unscanned here)."""
    flat = [a.replace("\r", " ").replace("\n", " ") for a in addresses]
    return ", ".join(a for _, a in getaddresses(flat) if a) or "(none)"


def _held_body(pending_id: str, agent: Agent, mail: OutgoingMail, scan: ScanResult,
               code: str) -> str:
    """The owner's notification: masked findings and the message's envelope and size, never
    its text, headers or attachment names (any of which may carry the secret itself)."""
    findings = [f.to_dict() for f in scan.findings]
    size = sum(len(a.content) for a in mail.attachments)
    lines = [
        f"agenticmail held an outgoing message from agent {agent.name} <{agent.address}>",
        "for your review: the outbound guard found what looks like sensitive data.", "",
        format_code_instructions(code), "",
        "Findings (masked):",
        *(f"  - [{f.severity}] {f.category}: {f.rule_id} in {f.where}: {f.preview}"
          for f in scan.findings),
        "", "The held message (its content is not repeated in this email; read it in full",
        f"with: agenticmail pending show {pending_id}):", "",
        f"  To: {_bare(mail.to)}",
        *([f"  Cc: {_bare(mail.cc)}"] if mail.cc else []),
        *([f"  Bcc: {_bare(mail.bcc)}"] if mail.bcc else []),
        f"  Subject: {_shown_subject(mail.subject, findings)}",
        f"  Text: {len(mail.text or '')} characters"
        + (f", HTML: {len(mail.html)} characters" if mail.html else ""),
        f"  Extra headers: {len(mail.headers)}",
        f"  Attachments: {len(mail.attachments)} ({size} bytes)",
    ]
    return "\n".join(lines) + "\n"


def _notify_owner(ctx: ServiceContext, tx: Any, pending_id: str | None, agent_name: str,
                  body: str, subject: str) -> str | None:
    """Queue a plain notification to the owner through the outbound route (never scanned:
    it exists to tell the owner what was held). The queued bytes are encrypted with the
    daemon's key (they hold the one-time code) and the Message-ID is recorded as the
    owner's mail. Returns the Message-ID, or None."""
    owner, route = ctx.settings.owner_email, get_route(ctx)
    if not owner or route is None:
        return None
    message = EmailMessage()
    message["From"] = f"agenticmail <{route.address}>"
    message["To"] = owner
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message_id = make_msgid(domain=ctx.settings.domain)
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"
    message["X-Agenticmail-Agent"] = agent_name
    message.set_content(body)
    enqueue_raw(ctx, tx.conn, agent=SYSTEM, agent_id=None, envelope_from=route.address,
                routed=Routed([], [owner]), bcc=[],
                raw=ctx.secrets.encrypt_bytes(message.as_bytes()),
                message_id=message_id, thread=None, subject=subject, filed=True, sealed=True)
    store.remember_owner_mail(tx.conn, message_id, pending_id)
    if pending_id is not None:
        store.set_notification(tx.conn, pending_id, message_id)
    ctx.wake_sender()
    return message_id


def list_pending(ctx: ServiceContext, agent: Agent | None, status: str | None = None
                 ) -> list[store.PendingRow]:
    return store.list_pending(ctx.db, agent.id if agent else None, status)


def get_pending(ctx: ServiceContext, pending_id: str, agent: Agent | None) -> store.PendingRow:
    """A held message of ``agent`` (any for the owner: ``agent=None``); another agent's is as
    unknown as one that does not exist."""
    row = store.get_pending(ctx.db, pending_id)
    if agent is not None and row.agent_id != agent.id:
        raise NotFound(f"no held message {pending_id!r}")
    return row


def approve(ctx: ServiceContext, pending_id: str, by: str = "owner") -> store.PendingRow:
    row = store.get_pending(ctx.db, pending_id)
    req = row.request
    with transaction(ctx) as tx:
        outbox_id = enqueue_raw(
            ctx, tx.conn, agent=row.agent, agent_id=row.agent_id,
            envelope_from=req["envelope_from"],
            routed=Routed(req["local"], req["external"]), bcc=req["bcc"],
            raw=base64.b64decode(req["raw_b64"]), message_id=row.message_id,
            thread=req.get("thread_id"), subject=row.subject, pending_id=row.id)
        if not store.resolve_pending(tx.conn, pending_id, "approved", by, outbox_id):
            raise Conflict(f"held message {pending_id} was already {row.status}")
        tx.emit(MESSAGE_APPROVED, row.agent, {"pending_id": pending_id, "outbox_id": outbox_id,
                                              "message_id": row.message_id, "by": by},
                agent_id=row.agent_id)
        audit.record(tx, by, audit.APPROVE, pending_id, {"outbox_id": outbox_id})
        subject = _shown_subject(row.subject, row.findings)
        _notify_owner(ctx, tx, None, row.agent,
                      f"Approved by {by}: the held message \"{subject}\" from {row.agent} "
                      "is on its way.\n", f"[agenticmail] Approved: \"{subject}\"")
    ctx.wake_sender()
    return store.get_pending(ctx.db, pending_id)


def reject(ctx: ServiceContext, pending_id: str, by: str = "owner") -> store.PendingRow:
    row = store.get_pending(ctx.db, pending_id)
    with transaction(ctx) as tx:
        if not store.resolve_pending(tx.conn, pending_id, "rejected", by, None):
            raise Conflict(f"held message {pending_id} was already {row.status}")
        tx.emit(MESSAGE_REJECTED, row.agent, {"pending_id": pending_id,
                                              "message_id": row.message_id, "by": by},
                agent_id=row.agent_id)
        audit.record(tx, by, audit.REJECT, pending_id, {})
        subject = _shown_subject(row.subject, row.findings)
        _notify_owner(ctx, tx, None, row.agent,
                      f"Rejected by {by}: the held message \"{subject}\" from {row.agent} "
                      "will not be sent.\n", f"[agenticmail] Rejected: \"{subject}\"")
    return store.get_pending(ctx.db, pending_id)


def sealed_raw(ctx: ServiceContext, row: outbox_store.OutboxRow) -> bytes:
    """The bytes to send for an outbox row (a notification is stored encrypted)."""
    return ctx.secrets.decrypt_bytes(row.raw) if row.sealed else row.raw


def _ids(raw: bytes) -> tuple[str | None, list[str]]:
    """(the message's own Message-ID, the ids it replies to: In-Reply-To then References)."""
    head = message_from_bytes(raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
                              + b"\r\n\r\n", policy=policy.compat32)
    own = normalize_message_id(str(head.get("Message-ID") or ""))
    refs = [*parse_message_ids(str(head.get("In-Reply-To") or "")),
            *parse_message_ids(str(head.get("References") or ""))]
    return own, refs


def is_owner_mail(ctx: ServiceContext, raw: bytes) -> bool:
    """Whether ``raw`` is one of the daemon's mails to the owner (a notification or a
    confirmation, come back into the relay mailbox) or a reply to one: known by the
    Message-IDs the daemon generated and recorded, not by any header a sender could copy.
    Such mail belongs to the owner and never reaches an agent."""
    own, refs = _ids(raw)
    return store.is_owner_mail(ctx.db, ([own] if own else []) + refs)


def handle_owner_reply(ctx: ServiceContext, raw: bytes,
                       trusted_authserv_ids: frozenset[str] | None = None
                       ) -> ReplyDecision | None:
    """Decide one message fetched from the relay account's mailbox (never mail that
    arrived any other way). Returns the decision when the message is a reply to a pending
    notification (whatever the outcome), None when it is not one.

    The proof that the owner sent it: with ``trusted_authserv_ids`` (the relay provider's
    own, e.g. ``mx.google.com``), the provider's topmost ``Authentication-Results`` header;
    without, a DKIM signature aligned with the owner's domain that the daemon verifies
    itself against DNS (``dns_nameservers``), every ``Authentication-Results`` ignored."""
    own, refs = _ids(raw)
    row = store.pending_by_notification(ctx.db, refs)
    if row is None or row.notification_message_id is None or not ctx.settings.owner_email:
        return None
    if own is not None and outbox_store.queued_by_us(ctx.db, own):
        return ReplyDecision(None, f"{own} is mail this daemon sent, not the owner's reply")
    if not row.code_hash:
        return ReplyDecision(None, "this held message has no one-time code on record: "
                                   "approve or reject it with agenticmail pending")
    code_hash = row.code_hash
    check = CodeCheck(CODE_CHARS, lambda candidate: same_secret(
        ctx.secrets.mac(CODE_PURPOSE, candidate), code_hash))
    note = Notification(row.notification_message_id, check, ctx.settings.owner_email)
    if trusted_authserv_ids:
        decision = decide(raw, note, trusted_authserv_ids=trusted_authserv_ids)
    else:
        resolver = dnspython_resolver(DNS_TIMEOUT, ctx.settings.dns_nameservers or "")
        _, domains = verify_dkim(raw, resolver, DNS_TIMEOUT)
        decision = decide(raw, note, dkim_domains=domains)
    if row.status == "pending" and decision.action == "approve":
        approve(ctx, row.id, by="owner (email reply)")
    elif row.status == "pending" and decision.action == "reject":
        reject(ctx, row.id, by="owner (email reply)")
    return decision
