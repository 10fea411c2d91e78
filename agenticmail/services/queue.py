"""The outbox queue's vocabulary, shared by accepting a send and approving a held one: the
answer to a send (:class:`Accepted`), recipients split by route (:class:`Routed`), ids, and
queuing bytes that are already built (:func:`enqueue_raw`), and a mail's options as stored for
review (:func:`mail_summary`: held mail, drafts)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from ..models import OutgoingMail
from ..store import outbox as store
from .context import ServiceContext


@dataclass(frozen=True)
class Accepted:
    id: str
    status: str  # queued | held | sending | sent | failed
    message_id: str
    pending_id: str | None = None
    findings: tuple[dict[str, Any], ...] = ()
    send_at: str | None = None
    duplicate: bool = False

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "status": self.status,
                                "message_id": self.message_id}
        if self.pending_id:
            data["pending_id"] = self.pending_id
            data["findings"] = list(self.findings)
            data["hint"] = ("the owner must approve this message before it leaves; "
                            "ask them to approve it")
        if self.send_at:
            data["send_at"] = self.send_at
        if self.duplicate:
            data["duplicate"] = True
        return data


@dataclass(frozen=True)
class Routed:
    local: list[str]
    external: list[str]


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:20]}"


def enqueue_raw(ctx: ServiceContext, tx_conn: Any, *, agent: str, agent_id: int | None,
                envelope_from: str, routed: Routed, bcc: list[str], raw: bytes,
                message_id: str, thread: str | None, subject: str,
                pending_id: str | None = None, filed: bool = False, sealed: bool = False) -> str:
    """Queue an already-built message (approved holds, owner notifications: ``agent_id``
    None, the system's own; ``sealed``: ``raw`` is encrypted with the daemon's key)."""
    outbox_id = new_id("ob")
    store.insert_outbox(
        tx_conn, id=outbox_id, agent=agent, agent_id=agent_id, message_id=message_id,
        envelope_from=envelope_from, local_rcpts=routed.local, external_rcpts=routed.external,
        bcc=bcc, raw=raw, thread_id=thread, subject=subject, idempotency_key=None,
        pending_id=pending_id, sealed=sealed)
    if filed:
        store.mark_progress(tx_conn, outbox_id, filed=True)
    return outbox_id


def mail_summary(mail: OutgoingMail) -> dict[str, Any]:
    """The held mail's options for review (attachment contents kept apart)."""
    return {
        "to": list(mail.to), "cc": list(mail.cc), "bcc": list(mail.bcc),
        "subject": mail.subject, "text": mail.text, "html": mail.html,
        "reply_to": mail.reply_to, "from_name": mail.from_name,
        "headers": [list(h) for h in mail.headers],
        "in_reply_to": mail.in_reply_to, "references": list(mail.references),
        "attachments": [{"filename": a.filename, "content_type": a.content_type,
                         "size": len(a.content)} for a in mail.attachments],
    }
