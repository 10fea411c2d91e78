"""/v1/signatures: an agent's signatures (one default, appended to what it sends)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ...services import signatures
from ...services.auth import resolve_agent
from .. import errors
from ..auth import Caller, Ctx
from ..schemas import SignatureBody, SignaturePatch
from .mail import AgentQ

router = APIRouter(prefix="/v1/signatures", tags=["signatures"],
                   responses=errors.documented(403, 404, 409))


@router.post("", status_code=201)
def create_signature(body: SignatureBody, ctx: Ctx, caller: Caller) -> dict[str, Any]:
    """A new signature (text and/or HTML); the first one, or ``default: true``, is the
    default that send, reply and forward append (unless they say ``signature: false``)."""
    who = resolve_agent(ctx, caller, body.agent)
    return {"signature": signatures.create(ctx, who, body.name, text=body.text,
                                           html=body.html, default=body.default).to_dict()}


@router.get("")
def list_signatures(ctx: Ctx, caller: Caller, agent: AgentQ = None) -> dict[str, Any]:
    who = resolve_agent(ctx, caller, agent)
    return {"signatures": [s.to_dict() for s in signatures.list_signatures(ctx, who)]}


@router.get("/{name}")
def get_signature(name: str, ctx: Ctx, caller: Caller, agent: AgentQ = None
                  ) -> dict[str, Any]:
    return {"signature": signatures.get(ctx, resolve_agent(ctx, caller, agent), name).to_dict()}


@router.patch("/{name}")
def update_signature(name: str, body: SignaturePatch, ctx: Ctx, caller: Caller
                     ) -> dict[str, Any]:
    who = resolve_agent(ctx, caller, body.agent)
    return {"signature": signatures.update(ctx, who, name, text=body.text, html=body.html,
                                           default=body.default).to_dict()}


@router.delete("/{name}")
def delete_signature(name: str, ctx: Ctx, caller: Caller, agent: AgentQ = None
                     ) -> dict[str, Any]:
    signatures.delete(ctx, resolve_agent(ctx, caller, agent), name)
    return {"name": name, "deleted": True}
