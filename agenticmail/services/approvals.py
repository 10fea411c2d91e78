"""Held mail: the owner's review, by API (master key) or by replying to the notification.

A message the outbound guard blocks is stored with everything needed to send it exactly as
held. The owner gets an email listing the findings and the complete message, with a one-time
code; approving queues the held bytes unchanged, rejecting discards them. Either way the owner
gets a confirmation.
"""

from __future__ import annotations

import base64
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import TYPE_CHECKING, Any

from ..errors import Conflict, PermissionDenied
from ..events import MESSAGE_APPROVED, MESSAGE_HELD, MESSAGE_REJECTED
from ..mail.mime import parse_message_ids
from ..models import Agent, OutgoingMail
from ..security.approval import Notification, ReplyDecision, decide, format_code_instructions
from ..store import outbound as store
from . import audit
from .context import ServiceContext, transaction
from .outbox import Accepted, Routed, enqueue_raw, mail_summary, new_code, new_id
from .routes import get_route

if TYPE_CHECKING:
    from ..security.outbound import ScanResult

SYSTEM = "_system"


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
                             code_enc=ctx.secrets.encrypt(code))
        tx.emit(MESSAGE_HELD, agent.name, {"pending_id": pending_id, "agent": agent.name,
                                           "message_id": message_id, "subject": mail.subject,
                                           "summary": scan.summary, "findings": findings},
                agent_id=agent.id)
        audit.record(tx, f"agent:{agent.name}", audit.HOLD, pending_id,
                     {"message_id": message_id, "summary": scan.summary})
        _notify_owner(ctx, tx, pending_id, agent.name, _held_body(agent, mail, scan, code),
                      f"[agenticmail] {agent.name} wants to send \"{mail.subject}\" "
                      "- approval needed")
    return Accepted(pending_id, "held", message_id, pending_id=pending_id,
                    findings=tuple(findings))


def _held_body(agent: Agent, mail: OutgoingMail, scan: ScanResult, code: str) -> str:
    lines = [
        f"agenticmail held an outgoing message from agent {agent.name} <{agent.address}>",
        "for your review: the outbound guard found what looks like sensitive data.", "",
        format_code_instructions(code), "",
        "Findings:",
        *(f"  - [{f.severity}] {f.category}: {f.rule_id} in {f.where}: {f.preview}"
          for f in scan.findings),
        "", "The complete message:", "",
        f"  To: {', '.join(mail.to)}",
        *([f"  Cc: {', '.join(mail.cc)}"] if mail.cc else []),
        *([f"  Bcc: {', '.join(mail.bcc)}"] if mail.bcc else []),
        f"  Subject: {mail.subject}",
        *(f"  {k}: {v}" for k, v in mail.headers),
        *(f"  Attachment: {a.filename} ({a.content_type}, {len(a.content)} bytes)"
          for a in mail.attachments),
        "", *(mail.text or "(HTML only)").splitlines(),
    ]
    return "\n".join(lines) + "\n"


def _notify_owner(ctx: ServiceContext, tx: Any, pending_id: str | None, agent_name: str,
                  body: str, subject: str) -> str | None:
    """Queue a plain notification to the owner through the outbound route (never scanned:
    it exists to show the owner what was held). Returns its Message-ID, or None."""
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
                routed=Routed([], [owner]), bcc=[], raw=message.as_bytes(),
                message_id=message_id, thread=None, subject=subject, filed=True)
    if pending_id is not None:
        store.set_notification(tx.conn, pending_id, message_id)
    ctx.wake_sender()
    return message_id


def list_pending(ctx: ServiceContext, agent: Agent | None, status: str | None = None
                 ) -> list[store.PendingRow]:
    return store.list_pending(ctx.db, agent.id if agent else None, status)


def get_pending(ctx: ServiceContext, pending_id: str, agent: Agent | None) -> store.PendingRow:
    row = store.get_pending(ctx.db, pending_id)
    if agent is not None and row.agent_id != agent.id:
        raise PermissionDenied(f"held message {pending_id} belongs to another agent")
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
        _notify_owner(ctx, tx, None, row.agent,
                      f"Approved by {by}: the held message \"{row.subject}\" from {row.agent} "
                      "is on its way.\n", f"[agenticmail] Approved: \"{row.subject}\"")
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
        _notify_owner(ctx, tx, None, row.agent,
                      f"Rejected by {by}: the held message \"{row.subject}\" from {row.agent} "
                      "will not be sent.\n", f"[agenticmail] Rejected: \"{row.subject}\"")
    return store.get_pending(ctx.db, pending_id)


def handle_owner_reply(ctx: ServiceContext, raw: bytes,
                       trusted_authserv_ids: frozenset[str] | None = None
                       ) -> ReplyDecision | None:
    """Feed one inbound message from the gateway. Returns the decision when the message is a
    reply to a pending notification (whatever the outcome), None when it is unrelated."""
    from email import message_from_bytes

    head = message_from_bytes(raw)
    refs = [*parse_message_ids(head.get("In-Reply-To")),
            *parse_message_ids(head.get("References"))]
    row = store.pending_by_notification(ctx.db, refs)
    if row is None or row.notification_message_id is None or not ctx.settings.owner_email:
        return None
    code = ctx.secrets.decrypt(row.code_enc) if row.code_enc else ""
    decision = decide(raw, Notification(row.notification_message_id, code,
                                        ctx.settings.owner_email),
                      trusted_authserv_ids=trusted_authserv_ids)
    if row.status == "pending" and decision.action == "approve":
        approve(ctx, row.id, by="owner (email reply)")
    elif row.status == "pending" and decision.action == "reject":
        reject(ctx, row.id, by="owner (email reply)")
    return decision
