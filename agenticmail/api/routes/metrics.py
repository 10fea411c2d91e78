"""``GET /metrics``: the daemon's metrics in the Prometheus text format.

The master key reads them (an agent key: 403; no key: 401), or, when the owner sets
``metrics_access = "loopback"``, any caller on a loopback address without a key (the
admission lets it through; see ``api.app``). Scrapes are not written to the audit log: a
scraper every 15 s would fill the append-only log with reads.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, Request, Response

from ...services.auth import require_master
from ...services.metrics import Metrics
from ..admission import scope_principal
from ..auth import bearer

PATH = "/metrics"

router = APIRouter(tags=["health"])


@router.get(PATH, response_class=Response, dependencies=[Depends(bearer)], responses={
    200: {"content": {"text/plain": {}}, "description": "Prometheus text exposition"}})
async def metrics(request: Request) -> Response:
    """Messages by agent, the outbox, watchers, filter verdicts, API latency, the mail host,
    the daemon's components (and webhook deliveries when installed)."""
    principal = scope_principal(request.scope)
    if principal is not None:  # None: admitted without a key from loopback (as configured)
        require_master(principal, "GET /metrics")
    found: Metrics = request.app.state.metrics
    body = await asyncio.to_thread(found.render)
    return Response(body, media_type=found.content_type)
