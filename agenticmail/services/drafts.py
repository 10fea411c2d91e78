"""Drafts: kept in the agent's IMAP ``Drafts`` folder (a mail client sees them) with an index
row holding what to send; ``send`` goes through the outbox and the guard like any send."""

from __future__ import annotations

import base64
import contextlib
import dataclasses
from email import policy
from typing import Any

from ..errors import AgenticMailError, InvalidRequest
from ..mail.mime import build_message
from ..models import Agent, Attachment, OutgoingMail
from ..store import drafts as store
from . import outbox, queue, search, signatures
from .context import ServiceContext, transaction
from .mailbox import open_session


def _spec(mail: OutgoingMail) -> dict[str, Any]:
    data = queue.mail_summary(mail)
    data["attachments"] = [{"filename": a.filename, "content_type": a.content_type,
                            "size": len(a.content),
                            "content_base64": base64.b64encode(a.content).decode()}
                           for a in mail.attachments]
    return data


def _mail(spec: dict[str, Any]) -> OutgoingMail:
    return OutgoingMail(
        to=tuple(spec.get("to", ())), cc=tuple(spec.get("cc", ())),
        bcc=tuple(spec.get("bcc", ())), subject=spec.get("subject", ""),
        text=spec.get("text"), html=spec.get("html"), reply_to=spec.get("reply_to"),
        from_name=spec.get("from_name"),
        headers=tuple((str(k), str(v)) for k, v in spec.get("headers", [])),
        in_reply_to=spec.get("in_reply_to"), references=tuple(spec.get("references", ())),
        attachments=tuple(Attachment(a["filename"], a["content_type"],
                                     base64.b64decode(a["content_base64"]))
                          for a in spec.get("attachments", [])))


def _store_copy(ctx: ServiceContext, agent: Agent, mail: OutgoingMail,
                replace: tuple[str, int | None] | None = None) -> tuple[str, int | None, str]:
    """Append the draft to Drafts (removing the copy it replaces); (folder, uid, message-id)."""
    # a draft may have no recipient yet; MIME building needs one (a Bcc, removed again)
    message, message_id = build_message(
        mail if mail.recipients else dataclasses.replace(mail, bcc=(agent.address,)),
        from_addr=agent.address, from_name=mail.from_name or agent.display_name,
        domain=ctx.settings.domain)
    if not mail.recipients:
        del message["Bcc"]
    raw = message.as_bytes(policy=policy.SMTP)
    with open_session(ctx, agent) as session:
        folder = session.special_folder("\\Drafts")
        uid = session.append(folder, raw, flags=("\\Draft", "\\Seen"))
        if uid is not None:  # searchable like any message in the mailbox
            search.index_raw(ctx, agent, folder, session.uidvalidity(folder), uid, raw,
                             ("\\Draft", "\\Seen"))
        if replace is not None and replace[1] is not None:
            with contextlib.suppress(AgenticMailError):  # already gone (a mail client)
                session.delete(replace[0], [replace[1]])
            _unindex(ctx, agent, replace[0], replace[1])
    return folder, uid, message_id


def _unindex(ctx: ServiceContext, agent: Agent, folder: str, uid: int) -> None:
    with transaction(ctx) as tx:
        search.removed(tx.conn, agent, folder, [uid])


def create(ctx: ServiceContext, agent: Agent, mail: OutgoingMail) -> store.DraftRow:
    folder, uid, message_id = _store_copy(ctx, agent, mail)
    draft_id = queue.new_id("dr")
    with transaction(ctx) as tx:
        store.insert(tx.conn, id=draft_id, agent_id=agent.id, folder=folder, uid=uid,
                     message_id=message_id, spec=_spec(mail))
    return store.get(ctx.db, agent.id, draft_id)


def update(ctx: ServiceContext, agent: Agent, draft_id: str, changes: dict[str, Any],
           attachments: tuple[Attachment, ...] | None) -> store.DraftRow:
    """Change the fields given in ``changes`` (and the attachments when given)."""
    row = store.get(ctx.db, agent.id, draft_id)
    mail = _mail(row.spec)
    allowed = {f.name for f in dataclasses.fields(OutgoingMail)} - {"attachments", "headers"}
    unknown = set(changes) - allowed
    if unknown:
        raise InvalidRequest(f"cannot change {', '.join(sorted(unknown))} of a draft")
    values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v
                              for k, v in changes.items()}
    mail = dataclasses.replace(mail, **values)
    if attachments is not None:
        mail = dataclasses.replace(mail, attachments=attachments)
    _, uid, message_id = _store_copy(ctx, agent, mail, (row.folder, row.uid))
    with transaction(ctx) as tx:
        store.update(tx.conn, draft_id, uid=uid, message_id=message_id, spec=_spec(mail))
    return store.get(ctx.db, agent.id, draft_id)


def get(ctx: ServiceContext, agent: Agent, draft_id: str) -> store.DraftRow:
    return store.get(ctx.db, agent.id, draft_id)


def list_drafts(ctx: ServiceContext, agent: Agent, limit: int = 50, offset: int = 0
                ) -> list[store.DraftRow]:
    if not 1 <= limit <= 1000 or offset < 0:
        raise InvalidRequest("limit must be 1-1000 and offset not negative")
    return store.list_for(ctx.db, agent.id, limit, offset)


def delete(ctx: ServiceContext, agent: Agent, draft_id: str) -> None:
    row = store.get(ctx.db, agent.id, draft_id)
    _remove_copy(ctx, agent, row)
    with transaction(ctx) as tx:
        store.delete(tx.conn, draft_id)


def _remove_copy(ctx: ServiceContext, agent: Agent, row: store.DraftRow) -> None:
    if row.uid is None:
        return
    try:
        with open_session(ctx, agent) as session:
            session.delete(row.folder, [row.uid])
    except AgenticMailError:  # deleted in a mail client already
        pass
    _unindex(ctx, agent, row.folder, row.uid)


def send(ctx: ServiceContext, agent: Agent, draft_id: str, *,
         idempotency_key: str | None = None, signature: bool = True) -> queue.Accepted:
    """Send the draft through the outbox (and the guard), signed like any send unless
    ``signature`` is False; the draft is removed once queued or held."""
    row = store.get(ctx.db, agent.id, draft_id)
    mail = _mail(row.spec)
    text, html = signatures.sign(ctx, agent, mail.text, mail.html, enabled=signature)
    accepted = outbox.submit(ctx, agent, dataclasses.replace(mail, text=text, html=html),
                             idempotency_key=idempotency_key or f"draft:{draft_id}")
    _remove_copy(ctx, agent, row)
    with transaction(ctx) as tx:
        store.delete(tx.conn, draft_id)
    return accepted
