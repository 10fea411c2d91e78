"""/v1/agents: create, list, show, delete, rotate key or mail password, metadata."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from ...client import models as answers
from ...services import agents as svc
from ...services import keys
from ...services.auth import resolve_agent
from .. import errors
from ..audit_trail import note_target
from ..auth import Caller, Ctx, Owner
from ..schemas import AgentCreate, KeyCreate, MetadataPatch

router = APIRouter(prefix="/v1/agents", tags=["agents"],
                   responses=errors.documented(403, 404, 409, 502, 503))


@router.post("", status_code=201, response_model=answers.CreatedAgent)
def create_agent(body: AgentCreate, ctx: Ctx, _: Owner, request: Request) -> dict[str, Any]:
    note_target(request, body.name)
    created = svc.create_agent(ctx, body.name, role=body.role, display_name=body.display_name,
                               metadata=body.metadata)
    return {"agent": created.agent.to_dict(), "api_key": created.api_key,
            "mail": svc.mail_login(ctx, created.credentials)}


@router.get("")
def list_agents(ctx: Ctx, caller: Caller) -> dict[str, Any]:
    agents = [caller.agent] if caller.agent else svc.list_agents(ctx)
    return {"agents": [a.to_dict() for a in agents]}


@router.get("/{name}")
def show_agent(name: str, ctx: Ctx, caller: Caller) -> dict[str, Any]:
    return {"agent": resolve_agent(ctx, caller, name).to_dict()}


@router.patch("/{name}/metadata")
def update_metadata(name: str, body: MetadataPatch, ctx: Ctx, caller: Caller) -> dict[str, Any]:
    agent = resolve_agent(ctx, caller, name)
    return {"agent": svc.update_metadata(ctx, agent.name, body.metadata).to_dict()}


@router.delete("/{name}", response_model=answers.DeletedAgent)
def delete_agent(name: str, ctx: Ctx, _: Owner) -> dict[str, Any]:
    return svc.delete_agent(ctx, name)


@router.post("/{name}/rotate-key", response_model=answers.RotatedKey)
def rotate_key(name: str, ctx: Ctx, _: Owner) -> dict[str, Any]:
    agent, key = svc.rotate_key(ctx, name)
    return {"agent": agent.to_dict(), "api_key": key}


@router.post("/{name}/rotate-password", response_model=answers.RotatedPassword)
def rotate_password(name: str, ctx: Ctx, _: Owner) -> dict[str, Any]:
    """A new mail password for IMAP/SMTP logins (master key); shown once."""
    agent, creds = svc.rotate_password(ctx, name)
    return {"agent": agent.to_dict(),
            "mail": {"username": creds.username, "password": creds.password}}


@router.get("/{name}/keys")
def list_keys(name: str, ctx: Ctx, _: Owner) -> dict[str, Any]:
    """The agent's live keys by name (prefixes only; keys are stored as hashes)."""
    return {"keys": keys.list_keys(ctx, svc.get_agent(ctx, name))}


@router.post("/{name}/keys", status_code=201)
def create_key(name: str, body: KeyCreate, ctx: Ctx, _: Owner) -> dict[str, Any]:
    """A new named key for one tool; the key is shown only in this answer."""
    listing, key = keys.create_key(ctx, svc.get_agent(ctx, name), body.name)
    return {"key": listing, "api_key": key}


@router.delete("/{name}/keys/{key_name}")
def revoke_key(name: str, key_name: str, ctx: Ctx, _: Owner) -> dict[str, Any]:
    keys.revoke_key(ctx, svc.get_agent(ctx, name), key_name)
    return {"name": key_name, "revoked": True}
