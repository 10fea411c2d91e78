"""/v1/health: liveness and a summary of the daemon's parts (no authentication)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request

from ... import __version__
from ...store import agents as agent_store
from ..auth import Ctx

router = APIRouter(prefix="/v1", tags=["health"])


@router.get("/health")
async def health(request: Request, ctx: Ctx) -> dict[str, Any]:
    host = await asyncio.to_thread(ctx.host.health)
    runtime = getattr(request.app.state, "runtime_status", None)
    extra: dict[str, Any] = runtime() if runtime else {}
    return {
        "status": "ok" if host.ok else "degraded",
        "version": __version__,
        "mail_host": {"kind": ctx.host.kind, "ok": host.ok, "detail": host.detail,
                      "checks": host.checks},
        "agents": await asyncio.to_thread(agent_store.count_agents, ctx.db),
        **extra,
    }
