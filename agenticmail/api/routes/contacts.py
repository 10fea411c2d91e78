"""/v1/contacts: an agent's address book (filled from its mail) and its block/allow list."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from ...services import contacts
from ...services.auth import resolve_agent
from .. import errors
from ..auth import Caller, Ctx
from ..schemas import ContactBody, ContactPatch, Offset
from .mail import AgentQ

router = APIRouter(prefix="/v1/contacts", tags=["contacts"],
                   responses=errors.documented(403, 404, 502, 503))


@router.get("")
def list_contacts(ctx: Ctx, caller: Caller, agent: AgentQ = None,
                  status: Annotated[str | None, Query(description="block or allow")] = None,
                  q: Annotated[str | None, Query(max_length=200,
                                                 description="part of address or name")] = None,
                  limit: Annotated[int, Query(ge=1, le=contacts.MAX_LIMIT)] = 100,
                  offset: Offset = 0) -> dict[str, Any]:
    """Contacts, most recently seen first."""
    who = resolve_agent(ctx, caller, agent)
    return contacts.list_contacts(ctx, who, status=status, query=q, limit=limit,
                                  offset=offset)


@router.post("")
def save_contact(body: ContactBody, ctx: Ctx, caller: Caller) -> dict[str, Any]:
    """Create a contact or change the fields given (``status``: block, allow or null)."""
    who = resolve_agent(ctx, caller, body.agent)
    return {"contact": contacts.save(ctx, who, body.address, body.changes()).to_dict()}


@router.get("/{address}")
def get_contact(address: str, ctx: Ctx, caller: Caller, agent: AgentQ = None
                ) -> dict[str, Any]:
    return {"contact": contacts.get(ctx, resolve_agent(ctx, caller, agent), address).to_dict()}


@router.patch("/{address}")
def update_contact(address: str, body: ContactPatch, ctx: Ctx, caller: Caller
                   ) -> dict[str, Any]:
    who = resolve_agent(ctx, caller, body.agent)
    return {"contact": contacts.update(ctx, who, address, body.changes()).to_dict()}


@router.delete("/{address}")
def delete_contact(address: str, ctx: Ctx, caller: Caller, agent: AgentQ = None
                   ) -> dict[str, Any]:
    return contacts.delete(ctx, resolve_agent(ctx, caller, agent), address)
