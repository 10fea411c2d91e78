"""The API's audit trail: every change made with the master key, with its outcome.

A request that changes state (POST, PUT, PATCH, DELETE) made with the master key is recorded
once its answer is known, as ``action`` (``agent.create``, ``route.set``…; ``api.<route>`` for
a route without a name here), ``subject`` (its target: the agent, message or item it acts on)
and ``detail`` ``{"request": "POST /v1/agents", "status": 201, "outcome": "ok"}`` — a failed
one records its error code as the outcome (``conflict``, ``invalid_request``…), so a failed
create no longer looks like a successful one. Reads of owner-only routes keep the plain
``key.master`` record (see ``auth.get_master``). Agent keys' changes are audited by the
services that make them (``mail.send`` …).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from starlette.concurrency import run_in_threadpool
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..services import audit
from ..services.auth import Principal

log = logging.getLogger(__name__)

MUTATIONS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# request.state attributes (one dict per request scope, shared by the handlers and this module)
PRINCIPAL = "audit_principal"
ERROR_CODE = "audit_error_code"
TARGET = "audit_target"

# route (endpoint function) name -> audit action
ACTIONS = {
    "create_agent": "agent.create",
    "delete_agent": "agent.delete",
    "rotate_key": "agent.rotate_key",
    "rotate_password": "agent.rotate_password",
    "update_metadata": "agent.metadata",
    "set_route": "route.set",
    "clear_route": "route.clear",
    "set_outbound": "domain.outbound",
    "relay_setup": "relay.setup",
    "relay_disable": "relay.disable",
    "domain_setup_run": "domain.setup",
    "domain_teardown": "domain.teardown",
    "approve": "pending.approve",
    "reject": "pending.reject",
    "send": "mail.submit",
    "move": "mail.move",
    "not_spam": "mail.not_spam",
    "set_flags": "mail.flags",
    "delete": "mail.delete",
    "batch": "mail.batch",
    "create_folder": "mail.create_folder",
    "create_webhook": "webhook.create",
    "update_webhook": "webhook.update",
    "delete_webhook": "webhook.delete",
    "rotate_webhook_secret": "webhook.rotate_secret",
    "test_webhook": "webhook.test",
    "replay_webhook": "webhook.replay",
    "add_suppression": "suppression.add",
    "remove_suppression": "suppression.remove",
}
# path or query parameters that name the target, most specific first
TARGET_PARAMS = ("webhook_id", "pending_id", "uid", "address", "name", "agent")


def note_principal(request: Request, principal: Principal) -> None:
    setattr(request.state, PRINCIPAL, principal)


def note_error(request: Request, code: str) -> None:
    """Called by the error mapping: the outcome of this request is ``code``."""
    setattr(request.state, ERROR_CODE, code)


def note_target(request: Request, target: str) -> None:
    """A route whose target is not in its path (e.g. the name of an agent being created)."""
    setattr(request.state, TARGET, target)


def _state(request: Request, key: str) -> Any:
    return getattr(request.state, key, None)


def _target(request: Request) -> str | None:
    explicit = _state(request, TARGET)
    if explicit is not None:
        return str(explicit)
    params = {**request.query_params, **request.path_params}
    return next((str(params[k]) for k in TARGET_PARAMS if params.get(k) not in (None, "")),
                None)


def _entry(request: Request, status: int) -> tuple[str, str | None, str, dict[str, Any]]:
    route = request.scope.get("route")
    name = route.name if isinstance(route, Route) else "unknown"
    action = ACTIONS.get(name, f"api.{name}")
    path = route.path if isinstance(route, Route) else request.url.path
    detail: dict[str, Any] = {"request": f"{request.method} {path}", "status": status}
    agent = request.query_params.get("agent")
    if agent and request.path_params:
        detail["agent"] = agent
    code = _state(request, ERROR_CODE)
    outcome = str(code) if code else (audit.OK if status < 400 else "error")
    return action, _target(request), outcome, detail


class AuditTrail:
    """A pure ASGI middleware (no BaseHTTPMiddleware: its extra task and streams per request
    cost every request, e.g. each accepted send): a master-key change is recorded once its
    status is known, before the last of its answer is sent, so a client that has the answer
    finds it in the audit log."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in MUTATIONS:
            await self.app(scope, receive, send)
            return
        status = 500

        async def audited(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                await self._record(Request(scope), status)
            await send(message)

        await self.app(scope, receive, audited)

    @staticmethod
    async def _record(request: Request, status: int) -> None:
        principal = _state(request, PRINCIPAL)
        if not (isinstance(principal, Principal) and principal.is_master):
            return
        action, subject, outcome, detail = _entry(request, status)
        try:
            await run_in_threadpool(audit.record_outcome, request.app.state.ctx,
                                    audit.OWNER, action, subject, outcome, detail)
        except Exception:  # the answer stands; the failure to audit it is logged
            log.exception("could not audit %s %s", request.method, request.url.path)


def install(app: FastAPI) -> None:
    app.add_middleware(AuditTrail)
