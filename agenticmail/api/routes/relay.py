"""/v1/relay: the relay gateway (the owner's own Gmail/Outlook/any account); owner only."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from ...client import models as answers
from ...services import relay_gateway as relay
from .. import errors
from ..auth import Ctx, Owner

router = APIRouter(prefix="/v1/relay", tags=["relay"],
                   responses=errors.documented(403, 404, 502, 503))


class RelayOAuthBody(BaseModel):
    """The OAuth2 grant the owner's sign-in produced (``relay setup --oauth`` runs it)."""

    client_id: str = Field(min_length=1, max_length=512)
    refresh_token: str = Field(min_length=1, max_length=8192)
    client_secret: str | None = Field(default=None, max_length=512)
    authority: str | None = Field(default=None, max_length=2048)
    auth_url: str | None = Field(default=None, max_length=2048)
    token_url: str | None = Field(default=None, max_length=2048)


class RelayBody(BaseModel):
    provider: str = Field(pattern="^(gmail|outlook|other)$")
    address: str = Field(min_length=3, max_length=254)
    password: str = Field(default="", max_length=1024)  # an app password, unless ``oauth``
    username: str | None = Field(default=None, max_length=254)
    smtp_host: str | None = Field(default=None, max_length=255)
    smtp_port: int | None = Field(default=None, ge=1, le=65535)
    smtp_tls: str | None = None
    imap_host: str | None = Field(default=None, max_length=255)
    imap_port: int | None = Field(default=None, ge=1, le=65535)
    imap_tls: bool = True
    ca_file: str | None = Field(default=None, max_length=4096)
    default_agent: str | None = Field(default=None, max_length=200)
    default_scope: str = Field(default="tagged", pattern="^(tagged|all)$")
    authserv_ids: list[str] | None = Field(default=None, max_length=20)
    oauth: RelayOAuthBody | None = None


@router.get("", response_model=answers.RelayAnswer, response_model_exclude_unset=True)
def relay_status(ctx: Ctx, _: Owner) -> dict[str, Any]:
    return {"relay": relay.status(ctx)}


@router.get("/presets", response_model=answers.RelayPresets)
def relay_presets(ctx: Ctx, _: Owner) -> dict[str, Any]:
    return {"presets": relay.presets()}


@router.put("", response_model=answers.RelaySavedAnswer)
def relay_setup(body: RelayBody, ctx: Ctx, _: Owner) -> dict[str, Any]:
    data = body.model_dump()
    if data["authserv_ids"] is not None:
        data["authserv_ids"] = tuple(data["authserv_ids"])
    if data["oauth"] is not None:
        data["oauth"] = relay.OAuthInput(**data["oauth"])
    saved = relay.setup(ctx, relay.RelayInput(**data))  # both logins are tested first
    return {"relay": saved}


@router.delete("", response_model=answers.RelaySavedAnswer)
def relay_disable(ctx: Ctx, _: Owner) -> dict[str, Any]:
    relay.disable(ctx)
    return {"relay": None}
