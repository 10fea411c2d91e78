"""/v1/tags: an agent's tags (create, list, delete) and tagging messages (IMAP keywords)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ...services import tags
from ...services.auth import resolve_agent
from .. import errors
from ..auth import Caller, Ctx
from ..schemas import TagBody, TagMessagesBody
from .mail import AgentQ, FolderQ

router = APIRouter(prefix="/v1/tags", tags=["tags"],
                   responses=errors.documented(403, 404, 409, 502, 503))


@router.get("")
def list_tags(ctx: Ctx, caller: Caller, agent: AgentQ = None) -> dict[str, Any]:
    who = resolve_agent(ctx, caller, agent)
    return {"tags": [t.to_dict() for t in tags.list_tags(ctx, who)]}


@router.post("", status_code=201)
def create_tag(body: TagBody, ctx: Ctx, caller: Caller) -> dict[str, Any]:
    """A new tag; ``keyword`` is the IMAP keyword it is on messages (mail clients see it)."""
    who = resolve_agent(ctx, caller, body.agent)
    return {"tag": tags.create(ctx, who, body.name, body.color).to_dict()}


@router.delete("/{name}")
def delete_tag(name: str, ctx: Ctx, caller: Caller, agent: AgentQ = None) -> dict[str, Any]:
    """Delete a tag and take its keyword off every message carrying it."""
    return tags.delete(ctx, resolve_agent(ctx, caller, agent), name)


@router.get("/{name}/messages")
def tagged(name: str, ctx: Ctx, caller: Caller, agent: AgentQ = None,
           folder: FolderQ | None = None) -> dict[str, Any]:
    """The messages carrying the tag, in ``folder`` or every folder."""
    return tags.tagged(ctx, resolve_agent(ctx, caller, agent), name, folder)


@router.post("/{name}/messages")
def tag_messages(name: str, body: TagMessagesBody, ctx: Ctx, caller: Caller
                 ) -> dict[str, Any]:
    """Tag messages (``STORE +FLAGS``); a UID not in the folder: 404 ``message_not_found``."""
    who = resolve_agent(ctx, caller, body.agent)
    return tags.apply(ctx, who, name, body.uids, body.folder)


@router.delete("/{name}/messages/{uid}")
def untag_message(name: str, uid: int, ctx: Ctx, caller: Caller, agent: AgentQ = None,
                  folder: FolderQ = "INBOX") -> dict[str, Any]:
    return tags.apply(ctx, resolve_agent(ctx, caller, agent), name, [uid], folder, remove=True)
