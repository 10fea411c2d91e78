"""/v1/health: liveness for anyone; the daemon's parts only for a valid key.

Without a key the answer is up/degraded and the version, nothing about agents or mail. Any
component of the daemon that is not running (see ``daemon.supervisor``) makes it degraded, and
so does a database that cannot be written (the last write failed, or the disk is nearly full).
The master key sees everything (mail host checks, agent count, every component's state,
restarts and last error, every watcher, pid, and the figures ``/metrics`` exposes: messages by
agent, the outbox queue, filter verdicts, API requests by route); an agent key sees the mail
host's state and its own watcher.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.security import HTTPAuthorizationCredentials

from ... import __version__
from ...client import models as answers
from ...services import agents, metrics
from ...services import health as state
from ...services.auth import authenticate
from ..auth import Ctx, bearer

router = APIRouter(prefix="/v1", tags=["health"])


@router.get("/health", response_model=answers.Health, response_model_exclude_unset=True)
async def health(
    request: Request, ctx: Ctx,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> dict[str, Any]:
    """``{status, version}``; with a key also the mail host and watchers (an invalid key: 401)."""
    principal = (await asyncio.to_thread(authenticate, ctx, creds.credentials)
                 if creds else None)
    host = await asyncio.to_thread(state.mail_host, ctx)
    runtime = getattr(request.app.state, "runtime_status", None)
    extra: dict[str, Any] = runtime() if runtime else {}
    components = extra.get("components") or {}
    running = all(c.get("state") == "running" for c in components.values())
    storage = await asyncio.to_thread(state.storage, ctx)
    report: dict[str, Any] = {
        "status": "ok" if host["ok"] and running and storage["ok"] else "degraded",
        "version": __version__}
    if principal is None:
        return report
    if principal.agent is not None:
        watchers = extra.get("watchers") or {}
        own = principal.agent.name
        return {**report, "mail_host": {"kind": host["kind"], "ok": host["ok"]},
                "storage": {"ok": storage["ok"]},
                "watchers": {own: watchers[own]} if own in watchers else {}}
    return {
        **report,
        "mail_host": host,
        "storage": storage,
        "agents": await asyncio.to_thread(agents.count_agents, ctx),
        **extra,
        "figures": await asyncio.to_thread(metrics.summary, ctx,
                                           getattr(request.app.state, "metrics", None)),
    }
