"""The FastAPI application: routes, the error mapping, a request size limit."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request, Response

from .. import __version__
from ..services.context import ServiceContext
from . import audit_trail, docs, errors
from .routes import agents, audit, events, health, mail, pending, relay, route

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
    errors.install(app)
    audit_trail.install(app)
    limit = int(ctx.settings.max_message_bytes * _BODY_OVERHEAD)

    @app.middleware("http")
    async def _limit_body(request: Request,
                          call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            return errors.error_response(413, "payload_too_large",
                                         f"request body over {limit} bytes")
        return await call_next(request)

    for module in (health, agents, mail, pending, route, relay, audit, events):
        app.include_router(module.router)
    docs.install(app)
    return app
