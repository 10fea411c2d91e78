"""The FastAPI application: routes, the error mapping, admission (key first, bounded body)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from .. import __version__
from ..config import MetricsAccess
from ..services.context import ServiceContext
from ..services.metrics import Metrics
from . import audit_trail, docs, errors
from .admission import Admission
from .request_metrics import RequestMetrics
from .routes import (
    agents,
    arrivals,
    audit,
    contacts,
    domain,
    domain_outbound,
    domain_reports,
    drafts,
    events,
    health,
    inbound,
    mail,
    metrics,
    pending,
    policies,
    relay,
    route,
    rules,
    signatures,
    suppressions,
    tags,
    tasks,
    templates,
    threads,
    transfer,
    webhooks,
)

# JSON carries attachments base64-encoded: allow for the 4/3 growth plus the envelope.
_BODY_OVERHEAD = 1.4


def create_app(ctx: ServiceContext,
               runtime_status: Callable[[], dict[str, Any]] | None = None) -> FastAPI:
    app = FastAPI(
        title="agenticmail", version=__version__,
        description="Email for AI agents: each agent a real mailbox, a local daemon around them.",
        openapi_url="/v1/openapi.json", docs_url=None, redoc_url=None,  # docs: served offline
    )
    app.state.ctx = ctx
    app.state.runtime_status = runtime_status
    app.state.metrics = Metrics(ctx, runtime_status)
    errors.install(app)
    audit_trail.install(app)
    limit = int(ctx.settings.max_message_bytes * _BODY_OVERHEAD)

    # the push path checks the mail host's own secret (routes/arrivals.py), not an API key
    public = {"/v1/health", app.openapi_url, docs.DOCS_URL, docs.OAUTH2_REDIRECT_URL,
              arrivals.PUSH_PATH, inbound.INBOUND_PATH}  # the Worker's signature, not a key
    loopback = {metrics.PATH} if ctx.settings.metrics_access == MetricsAccess.LOOPBACK else set()
    app.add_middleware(Admission, ctx=ctx, max_body=limit,
                       public_paths={p for p in public if p},
                       public_prefixes=(f"{docs.ASSETS_URL}/",
                                        suppressions.suppressions.UNSUBSCRIBE_PREFIX),
                       loopback_paths=loopback)
    # outermost: requests the admission refuses are timed too
    app.add_middleware(RequestMetrics, metrics=app.state.metrics, routes=app.router.routes)
    app.include_router(arrivals.router)
    app.include_router(inbound.router)
    app.include_router(metrics.router, responses=errors.documented(*errors.COMMON, 403))
    for module in (health, agents, mail, threads, drafts, pending, route, relay, audit, events,
                   tags, rules, contacts, policies, signatures, templates, tasks, transfer,
                   webhooks, suppressions, domain):
        app.include_router(module.router, responses=errors.documented(*errors.COMMON))
    app.include_router(domain_reports.router, responses=errors.documented(*errors.COMMON))
    app.include_router(domain_outbound.router, responses=errors.documented(*errors.COMMON))
    # one-click unsubscribes carry their own proof (an HMAC token), not a key
    app.include_router(suppressions.unsubscribe_router, responses=errors.documented(400, 413))
    docs.install(app)
    return app
