"""/v1/mail/export and /v1/mail/import: an agent's mail out (paged) and in (one message per
request, through the inbound pipeline). The CLI turns these into mbox/Maildir files."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from ...services import transfer
from ...services.auth import resolve_agent
from .. import errors
from ..auth import Caller, Ctx
from ..schemas import SQL_INT_MAX, ImportBody
from .mail import AgentQ, FolderQ

router = APIRouter(prefix="/v1/mail", tags=["mail"],
                   responses=errors.documented(403, 404, 502, 503))


@router.get("/export")
def export(ctx: Ctx, caller: Caller, agent: AgentQ = None, folder: FolderQ = "INBOX",
           after_uid: Annotated[int, Query(ge=0, le=SQL_INT_MAX)] = 0,
           limit: Annotated[int, Query(ge=1, le=transfer.MAX_PAGE)] = 50) -> dict[str, Any]:
    """The folder's next messages after ``after_uid``, oldest first: bytes (base64), flags
    and arrival date; continue with ``after_uid=next_after`` until ``done``."""
    who = resolve_agent(ctx, caller, agent)
    return transfer.export_page(ctx, who, folder, after_uid, limit)


@router.post("/import")
def import_message(body: ImportBody, ctx: Ctx, caller: Caller) -> dict[str, Any]:
    """Put one message into the INBOX as arriving mail (assessed, sanitised, Spam like any),
    unless the agent has its Message-ID already (``status: duplicate``)."""
    who = resolve_agent(ctx, caller, body.agent)
    return transfer.import_encoded(ctx, who, body.raw_base64, body.flags, body.date)
