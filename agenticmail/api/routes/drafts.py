"""/v1/mail/drafts: create, update, list, get, send, delete (stored in the IMAP Drafts folder)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Header

from ...models import OutgoingMail
from ...services import attachments, drafts
from ...services.auth import resolve_agent
from .. import errors
from ..auth import Caller, Ctx
from ..schemas import DraftBody, DraftSendBody, Offset, sources
from .mail import AgentQ

router = APIRouter(prefix="/v1/mail/drafts", tags=["drafts"],
                   responses=errors.documented(403, 404, 409, 429, 502, 503))


@router.post("", status_code=201)
def create_draft(body: DraftBody, ctx: Ctx, caller: Caller) -> dict[str, Any]:
    who = resolve_agent(ctx, caller, body.agent)
    files = attachments.resolve(ctx, sources(body.attachments or []), owner=caller.is_master)
    changes = body.changes()
    mail = OutgoingMail(
        to=tuple(changes.get("to", ())), cc=tuple(changes.get("cc", ())),
        bcc=tuple(changes.get("bcc", ())), subject=changes.get("subject", ""),
        text=changes.get("text"), html=changes.get("html"), reply_to=changes.get("reply_to"),
        in_reply_to=changes.get("in_reply_to"),
        references=tuple(changes.get("references", ())), attachments=files)
    return {"draft": drafts.create(ctx, who, mail).to_dict()}


@router.get("")
def list_drafts(ctx: Ctx, caller: Caller, agent: AgentQ = None, limit: int = 50,
                offset: Offset = 0) -> dict[str, Any]:
    who = resolve_agent(ctx, caller, agent)
    return {"drafts": [d.to_dict() for d in drafts.list_drafts(ctx, who, limit, offset)]}


@router.get("/{draft_id}")
def get_draft(draft_id: str, ctx: Ctx, caller: Caller, agent: AgentQ = None) -> dict[str, Any]:
    return {"draft": drafts.get(ctx, resolve_agent(ctx, caller, agent), draft_id).to_dict()}


@router.patch("/{draft_id}")
def update_draft(draft_id: str, body: DraftBody, ctx: Ctx, caller: Caller) -> dict[str, Any]:
    who = resolve_agent(ctx, caller, body.agent)
    files = (None if body.attachments is None else
             attachments.resolve(ctx, sources(body.attachments), owner=caller.is_master))
    return {"draft": drafts.update(ctx, who, draft_id, body.changes(), files).to_dict()}


@router.post("/{draft_id}/send", status_code=202)
def send_draft(draft_id: str, body: DraftSendBody, ctx: Ctx, caller: Caller,
               idempotency_key: str | None = Header(default=None, alias="Idempotency-Key")
               ) -> dict[str, Any]:
    who = resolve_agent(ctx, caller, body.agent)
    return drafts.send(ctx, who, draft_id, signature=body.signature,
                       idempotency_key=idempotency_key or body.idempotency_key).to_dict()


@router.delete("/{draft_id}")
def delete_draft(draft_id: str, ctx: Ctx, caller: Caller, agent: AgentQ = None
                 ) -> dict[str, Any]:
    drafts.delete(ctx, resolve_agent(ctx, caller, agent), draft_id)
    return {"id": draft_id, "deleted": True}
