"""Bearer-key authentication as FastAPI dependencies."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ..services.audit import record_key_use
from ..services.auth import Principal, authenticate, require_master
from ..services.context import ServiceContext
from .audit_trail import MUTATIONS, note_principal

_bearer = HTTPBearer(auto_error=False, description="master key (mk_…) or agent key (ak_…)")


def get_ctx(request: Request) -> ServiceContext:
    ctx: ServiceContext = request.app.state.ctx
    return ctx


def get_principal(
    request: Request,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    principal = authenticate(get_ctx(request), creds.credentials if creds else None)
    note_principal(request, principal)
    return principal


def get_master(request: Request,
               principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    require_master(principal, "this (owner only)")
    if request.method not in MUTATIONS:  # a change is audited with its outcome (audit_trail)
        record_key_use(get_ctx(request), request.method, request.url.path)
    return principal


Ctx = Annotated[ServiceContext, Depends(get_ctx)]
Caller = Annotated[Principal, Depends(get_principal)]
Owner = Annotated[Principal, Depends(get_master)]
