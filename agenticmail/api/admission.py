"""What a request must pass before its body is read: a valid key, then a bounded body.

A pure ASGI middleware (no BaseHTTPMiddleware: nothing is buffered):

* every path but the public ones (health, the OpenAPI document, the docs) needs a valid key
  *before* the application reads a byte of the body; a request without one is answered 401
  at once and its connection closed, so an unauthenticated upload is never read (a
  ``loopback_paths`` path is public to a caller on a loopback address: ``/metrics`` when
  ``metrics_access = "loopback"``);
* the body is counted as ``receive()`` delivers it, chunked or not: a declared
  ``Content-Length`` over the limit is refused before reading, and a body that grows past it
  is answered 413 the moment it does, after which the application sees a disconnect.

The principal found here is left in the scope for :func:`agenticmail.api.auth.get_principal`,
so a request is authenticated once, on the event loop: a SHA-256 and one indexed read (the
key and its agent) on a pooled read-only connection (WAL readers do not wait for the writer)
cost less than handing the work to a thread and back.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection

from fastapi.security.utils import get_authorization_scheme_param
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import AgenticMailError, PayloadTooLarge
from ..services.auth import Principal, authenticate
from ..services.context import ServiceContext
from . import errors

PRINCIPAL_SCOPE_KEY = "agenticmail.principal"
# An early answer closes the connection: the server must not go on reading (draining) a body
# nobody will look at.
_CLOSE = {"Connection": "close"}


def bearer_key(headers: Headers) -> str | None:
    """The key from ``Authorization: Bearer <key>`` (None when absent or another scheme)."""
    scheme, key = get_authorization_scheme_param(headers.get("authorization"))
    return key if scheme.lower() == "bearer" and key else None


def scope_principal(scope: Scope) -> Principal | None:
    """The principal :class:`Admission` authenticated for this request, if any."""
    principal = scope.get(PRINCIPAL_SCOPE_KEY)
    return principal if isinstance(principal, Principal) else None


class Admission:
    """The middleware: authenticate (unless public), then pass on a size-bounded body."""

    def __init__(self, app: ASGIApp, ctx: ServiceContext, max_body: int,
                 public_paths: Collection[str], public_prefixes: Collection[str] = (),
                 loopback_paths: Collection[str] = ()) -> None:
        self.app = app
        self.ctx = ctx
        self.max_body = max_body
        self.public_paths = frozenset(public_paths)
        self.public_prefixes = tuple(public_prefixes)  # static assets (the docs page's)
        self.loopback_paths = frozenset(loopback_paths)

    def is_public(self, path: str, scope: Scope | None = None) -> bool:
        if path in self.loopback_paths and scope is not None and _from_loopback(scope):
            return True
        return path in self.public_paths or (
            path.startswith(self.public_prefixes) and "/.." not in path)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if not self.is_public(scope["path"], scope):
            try:
                scope[PRINCIPAL_SCOPE_KEY] = authenticate(self.ctx, bearer_key(headers))
            except AgenticMailError as exc:
                await errors.response_for(exc, _CLOSE)(scope, receive, send)
                return
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body:
            await self.too_large()(scope, receive, send)
            return
        bounded = _BoundedBody(self, scope, receive, send)
        await self.app(scope, bounded.receive, bounded.send)

    def too_large(self) -> JSONResponse:
        """413 in the standard error shape, closing the connection."""
        return errors.response_for(
            PayloadTooLarge(f"request body over {self.max_body} bytes"), _CLOSE)


def _from_loopback(scope: Scope) -> bool:
    """Whether the caller's address (the socket's peer) is a loopback address."""
    client = scope.get("client")
    try:
        return client is not None and ipaddress.ip_address(client[0]).is_loopback
    except ValueError:  # a test client's made-up host, a unix socket
        return False


class _BoundedBody:
    """One request's body counted as it arrives; refused with 413 once over the limit."""

    def __init__(self, admission: Admission, scope: Scope, receive: Receive, send: Send
                 ) -> None:
        self.admission = admission
        self.scope = scope
        self._receive = receive
        self._send = send
        self.received = 0
        self.started = False
        self.refused = False

    async def receive(self) -> Message:
        if self.refused:
            return {"type": "http.disconnect"}
        message = await self._receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.admission.max_body:
                self.refused = True
                if not self.started:
                    self.started = True
                    await self.admission.too_large()(self.scope, self._receive, self._send)
                return {"type": "http.disconnect"}
        return message

    async def send(self, message: Message) -> None:
        if self.refused:  # the 413 went out; whatever the application answers is dropped
            return
        if message["type"] == "http.response.start":
            self.started = True
        await self._send(message)
