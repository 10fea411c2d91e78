"""/v1/domain/outbound: how domain-mode mail leaves (owner only): shown, and switched between
cloudflare, smarthost and direct."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from ...client import models as answers
from ...services import domain_outbound
from .. import audit_trail, errors
from ..auth import Ctx, Owner

router = APIRouter(prefix="/v1/domain/outbound", tags=["domain"],
                   responses=errors.documented(403))


class OutboundPathBody(BaseModel):
    path: str = Field(min_length=1, max_length=20,
                      description="cloudflare | smarthost | direct")


@router.get("", response_model=answers.DomainOutbound)
def show_outbound(ctx: Ctx, _: Owner) -> dict[str, Any]:
    return domain_outbound.summary(ctx)


@router.put("", response_model=answers.DomainOutbound,
            responses=errors.documented(409))
def set_outbound(body: OutboundPathBody, request: Request, ctx: Ctx, _: Owner
                 ) -> dict[str, Any]:
    audit_trail.note_target(request, body.path)
    return domain_outbound.set_path(ctx, body.path)
