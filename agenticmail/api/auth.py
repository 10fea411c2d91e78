"""Bearer-key authentication as FastAPI dependencies."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ..services.audit import record_key_use
from ..services.auth import Principal, authenticate, require_master
from ..services.context import ServiceContext
from .admission import scope_principal
from .audit_trail import MUTATIONS, note_principal

bearer = HTTPBearer(auto_error=False, description="master key (mk_…) or agent key (ak_…)")


def _ctx(request: Request) -> ServiceContext:
    ctx: ServiceContext = request.app.state.ctx
    return ctx


# The two dependencies every route has are coroutines: FastAPI runs a plain function in its
# thread pool, a hop that costs more than what they do (a lookup in the scope).

async def get_ctx(request: Request) -> ServiceContext:
    return _ctx(request)


async def get_principal(
    request: Request,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    admitted = scope_principal(request.scope)  # authenticated before the body was read
    principal = admitted if admitted is not None else await asyncio.to_thread(
        authenticate, _ctx(request), creds.credentials if creds else None)
    note_principal(request, principal)
    return principal


def get_master(request: Request,
               principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
    require_master(principal, "this (owner only)")
    if request.method not in MUTATIONS:  # a change is audited with its outcome (audit_trail)
        record_key_use(_ctx(request), request.method, request.url.path)
    return principal


Ctx = Annotated[ServiceContext, Depends(get_ctx)]
Caller = Annotated[Principal, Depends(get_principal)]
Owner = Annotated[Principal, Depends(get_master)]
