"""/v1/mail: send, list, read, attachments, search, flags, move, delete, folders, batch."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from ...client import models as answers
from ...errors import InvalidRequest
from ...models import Attachment, SearchQuery
from ...security import fence as fencing
from ...services import attachments, compose, inbox, mailbox, outbox
from ...services import search as search_service
from ...services.auth import Principal, resolve_agent
from ...services.context import ServiceContext
from ...services.reading import agent_view
from .. import download, errors
from ..auth import Caller, Ctx
from ..schemas import (
    BatchBody,
    FlagsBody,
    FolderBody,
    ForwardBody,
    MoveBody,
    Offset,
    ReplyBody,
    SendBody,
    sources,
)
from ..send_lane import accept_send, is_small

router = APIRouter(prefix="/v1/mail", tags=["mail"],
                   responses=errors.documented(403, 404, 409, 429, 502, 503))

AgentQ = Annotated[str | None, Query(description="agent name (master key only)")]
FolderQ = Annotated[str, Query(max_length=200)]
FenceQ = Annotated[bool, Query(description="wrap what an outsider wrote in an untrusted-content "
                                           "fence with a per-response random marker")]


def fenced(view: dict[str, Any], fence: bool) -> dict[str, Any]:
    """``{"message", "security"}`` with the message fenced (``?fence=1``)."""
    if not fence:
        return view
    marker = fencing.new_marker()
    message = fencing.fence_message(view["message"], marker)
    message["fence"]["verdict"] = fencing.verdict_summary(view.get("security"))
    return {**view, "message": message}


@router.post("/send", status_code=202)
async def send(request: Request, body: SendBody, ctx: Ctx, caller: Caller,
               idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None
               ) -> dict[str, Any]:
    """Accept a message: 202 once it is durable (queued, scheduled, or held for the owner)."""
    files: tuple[Attachment, ...] = ()
    if body.attachments:  # a URL is fetched from the network: not inside the send lane
        files = await run_in_threadpool(_attachments, ctx, caller, body)

    def accept() -> dict[str, Any]:
        agent = resolve_agent(ctx, caller, body.agent)
        return compose.send(ctx, agent, body.to_mail(files), template=body.template,
                            variables=body.variables, signature=body.signature,
                            idempotency_key=idempotency_key or body.idempotency_key,
                            send_at=body.send_at).to_dict()

    return await accept_send(request, ctx, accept, small=is_small(
        request, attachments=len(body.attachments), template=body.template))


def _attachments(ctx: ServiceContext, caller: Principal, body: SendBody
                 ) -> tuple[Attachment, ...]:
    resolve_agent(ctx, caller, body.agent)  # a caller who may not send gets nothing fetched
    return attachments.resolve(ctx, sources(body.attachments), owner=caller.is_master)


@router.get("/outbox")
def list_outbox(ctx: Ctx, caller: Caller, agent: AgentQ = None, status: str | None = None,
                limit: int = 50, offset: Offset = 0) -> dict[str, Any]:
    who = resolve_agent(ctx, caller, agent) if (agent or caller.agent) else None
    rows = outbox.list_outbox(ctx, who, status, min(max(limit, 1), 1000), offset)
    return {"outbox": [r.to_dict() for r in rows]}


@router.get("/outbox/{outbox_id}")
def show_outbox(outbox_id: str, ctx: Ctx, caller: Caller) -> dict[str, Any]:
    return {"outbox": outbox.get_outbox(ctx, outbox_id, caller.agent).to_dict()}


@router.get("/scheduled")
def list_scheduled(ctx: Ctx, caller: Caller, agent: AgentQ = None, limit: int = 50,
                   offset: Offset = 0) -> dict[str, Any]:
    """Sends waiting for their ``send_at``, soonest first."""
    who = resolve_agent(ctx, caller, agent) if (agent or caller.agent) else None
    rows = outbox.list_scheduled(ctx, who, min(max(limit, 1), 1000), offset)
    return {"scheduled": [r.to_dict() for r in rows]}


@router.post("/outbox/{outbox_id}/cancel")
def cancel_outbox(outbox_id: str, ctx: Ctx, caller: Caller) -> dict[str, Any]:
    """Cancel a send that has not left (a scheduled one): it never will. One already sent
    (or being sent) is a 409 ``already_sent``."""
    return {"outbox": outbox.cancel(ctx, outbox_id, caller.agent).to_dict()}


@router.get("/messages")
def list_messages(ctx: Ctx, caller: Caller, agent: AgentQ = None, folder: FolderQ = "INBOX",
                  limit: int = mailbox.DEFAULT_LIMIT, offset: int = 0) -> dict[str, Any]:
    who = resolve_agent(ctx, caller, agent)
    return mailbox.list_messages(ctx, who, folder, limit, offset).to_dict()


@router.get("/messages/{uid}")
def read_message(uid: int, ctx: Ctx, caller: Caller, agent: AgentQ = None,
                 folder: FolderQ = "INBOX", fence: FenceQ = False) -> dict[str, Any]:
    who = resolve_agent(ctx, caller, agent)
    return fenced(agent_view(ctx, who, uid, folder), fence)


@router.post("/messages/{uid}/reply", status_code=202)
def reply(uid: int, body: ReplyBody, ctx: Ctx, caller: Caller,
          idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None
          ) -> dict[str, Any]:
    """Reply (or reply-all) to a message: threading headers, ``Re:`` once, the original quoted
    below; accepted like a send (queued, or held for the owner)."""
    who = resolve_agent(ctx, caller, body.agent)
    files = attachments.resolve(ctx, sources(body.attachments), owner=caller.is_master)
    return compose.reply(ctx, who, uid, body.folder, text=body.text, html=body.html,
                         reply_all=body.reply_all, attachments=files,
                         idempotency_key=idempotency_key or body.idempotency_key,
                         signature=body.signature).to_dict()


@router.post("/messages/{uid}/forward", status_code=202)
def forward(uid: int, body: ForwardBody, ctx: Ctx, caller: Caller,
            idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None
            ) -> dict[str, Any]:
    """Forward a message inline (its attachments kept) or as a message/rfc822 attachment."""
    who = resolve_agent(ctx, caller, body.agent)
    files = attachments.resolve(ctx, sources(body.attachments), owner=caller.is_master)
    return compose.forward(ctx, who, uid, body.folder, to=body.to, cc=body.cc, text=body.text,
                           html=body.html, as_attachment=body.as_attachment,
                           attachments=files, signature=body.signature,
                           idempotency_key=idempotency_key or body.idempotency_key).to_dict()


@router.get("/messages/{uid}/attachments/{index}")
def download_attachment(uid: int, index: int, ctx: Ctx, caller: Caller, agent: AgentQ = None,
                        folder: FolderQ = "INBOX") -> Response:
    who = resolve_agent(ctx, caller, agent)
    att = mailbox.get_attachment(ctx, who, uid, index, folder)
    return Response(att.content, media_type=download.media_type(att.content_type),
                    headers={"Content-Disposition": download.content_disposition(att.filename),
                             "X-Content-Type-Options": "nosniff"})


def _date(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise InvalidRequest(f"{name} must be a date like 2026-01-31") from None


SearchQ = Annotated[str | None, Query(max_length=1000, description=(
    "search every folder: words, \"phrases\", prefix*, -excluded, from: to: subject: "
    "folder: has:attachment is:unread tag: before: after: (see the Search docs)"))]
ModeQ = Annotated[str, Query(description="fulltext, semantic or hybrid (with q)")]
OrderQ = Annotated[str | None, Query(description="rank or newest (default: rank when the "
                                                 "query has words)")]


@router.get("/search")
def search(ctx: Ctx, caller: Caller, agent: AgentQ = None, folder: FolderQ = "INBOX",
           from_: Annotated[str | None, Query(alias="from")] = None, to: str | None = None,
           subject: str | None = None, body: str | None = None, since: str | None = None,
           before: str | None = None, seen: bool | None = None, limit: int = 100,
           q: SearchQ = None, mode: ModeQ = "fulltext", order: OrderQ = None,
           offset: Offset = 0) -> dict[str, Any]:
    """With ``q``: the search index of every folder, ranked, with snippets and pages. Without
    it: the old IMAP search of one folder by the field parameters."""
    who = resolve_agent(ctx, caller, agent)
    if q is not None or mode != "fulltext":
        return search_service.search(ctx, who, q or "", mode=mode, order=order,
                                     limit=min(max(limit, 1), search_service.MAX_LIMIT),
                                     offset=offset).to_dict()
    query = SearchQuery(from_=from_, to=to, subject=subject, body=body,
                        since=_date(since, "since"), before=_date(before, "before"), seen=seen)
    uids, summaries = mailbox.search(ctx, who, query, folder, limit)
    return {"folder": folder, "uids": uids, "messages": [m.to_dict() for m in summaries]}


@router.post("/messages/{uid}/move")
def move(uid: int, body: MoveBody, ctx: Ctx, caller: Caller) -> dict[str, Any]:
    who = resolve_agent(ctx, caller, body.agent)
    mailbox.move(ctx, who, body.folder, [uid], body.to)
    return {"uid": uid, "folder": body.folder, "moved_to": body.to}


@router.post("/messages/{uid}/not-spam")
def not_spam(uid: int, ctx: Ctx, caller: Caller, agent: AgentQ = None,
             folder: FolderQ = "Spam") -> dict[str, Any]:
    """Move a message the filter put in Spam back to INBOX; it is not filtered again."""
    who = resolve_agent(ctx, caller, agent)
    mailbox.not_spam(ctx, who, uid, folder)
    return {"uid": uid, "folder": folder, "moved_to": "INBOX"}


@router.get("/spam-log", response_model=answers.SpamLog)
def spam_log(ctx: Ctx, caller: Caller, agent: AgentQ = None, limit: int = 100
             ) -> dict[str, Any]:
    """Why messages were moved to Spam (an agent sees its own entries)."""
    who = resolve_agent(ctx, caller, agent) if (agent or caller.agent) else None
    return {"spam": inbox.spam_log(ctx, who, min(max(limit, 1), 1000))}


@router.post("/messages/{uid}/flags")
def set_flags(uid: int, body: FlagsBody, ctx: Ctx, caller: Caller) -> dict[str, Any]:
    who = resolve_agent(ctx, caller, body.agent)
    add, remove = body.changes()
    flags = mailbox.set_flags(ctx, who, body.folder, [uid], add, remove)
    return {"uid": uid, "folder": body.folder, "flags": list(flags.get(uid, ()))}


@router.delete("/messages/{uid}")
def delete(uid: int, ctx: Ctx, caller: Caller, agent: AgentQ = None,
           folder: FolderQ = "INBOX") -> dict[str, Any]:
    who = resolve_agent(ctx, caller, agent)
    mailbox.delete(ctx, who, folder, [uid])
    return {"uid": uid, "folder": folder, "deleted": True}


@router.post("/batch", response_model=answers.BatchResult)
def batch(body: BatchBody, ctx: Ctx, caller: Caller) -> dict[str, Any]:
    who = resolve_agent(ctx, caller, body.agent)
    return mailbox.batch(ctx, who, body.action, body.folder, body.uids, body.to)


@router.get("/folders")
def list_folders(ctx: Ctx, caller: Caller, agent: AgentQ = None) -> dict[str, Any]:
    return {"folders": mailbox.list_folders(ctx, resolve_agent(ctx, caller, agent))}


@router.post("/folders", status_code=201)
def create_folder(body: FolderBody, ctx: Ctx, caller: Caller) -> dict[str, Any]:
    mailbox.create_folder(ctx, resolve_agent(ctx, caller, body.agent), body.name)
    return {"created": body.name}
