"""SMTP submission on loopback (aiosmtpd): any SMTP client can send as an agent.

AUTH PLAIN/LOGIN with the agent's address (or name) and its mail password or API key. The
envelope sender must be the authenticated agent, and so must the header ``From`` (and
``Sender``): :mod:`agenticmail.services.identity` decides, refusals are ``550 5.7.1``.
Recipients are routed like API sends.

Failed logins are throttled: each failed AUTH on a connection is answered later than the one
before (and failures from the same source slow its next attempts too); after
:data:`MAX_AUTH_FAILURES` on one connection the next AUTH gets ``421 4.7.0`` and the
connection is closed.
"""

from __future__ import annotations

import asyncio
import logging
import time
import warnings
from collections import deque
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from ..errors import (
    AgenticMailError,
    AuthenticationFailed,
    InvalidRequest,
    PermissionDenied,
    RateLimited,
    TransientDeliveryError,
)
from ..models import Agent
from ..services import auth, outbox
from ..services.context import ServiceContext
from .component import Scope

log = logging.getLogger(__name__)

MAX_AUTH_FAILURES = 5  # per connection; the next AUTH is answered 421 and the line is closed
AUTH_DELAY = 0.25  # seconds before answering after the first failure; doubles per failure
MAX_AUTH_DELAY = 4.0
SOURCE_WINDOW = 600.0  # failures from one source are remembered this long
SOURCE_FREE = 10  # failures from one source within the window before its AUTHs slow down
_SOURCE_MEMORY = 1000  # failures remembered per source (bounded)


class LoginThrottle:
    """Failed-login bookkeeping: per connection (a count) and per source (recent failures)."""

    def __init__(self) -> None:
        self._sources: dict[str, deque[float]] = {}

    def _recent(self, source: str, now: float) -> deque[float]:
        seen = self._sources.setdefault(source, deque(maxlen=_SOURCE_MEMORY))
        while seen and seen[0] < now - SOURCE_WINDOW:
            seen.popleft()
        if not seen:
            del self._sources[source]
            return deque()
        return seen

    def failed(self, source: str) -> None:
        self._sources.setdefault(source, deque(maxlen=_SOURCE_MEMORY)).append(time.monotonic())

    def delay(self, source: str, connection_failures: int) -> float:
        """Seconds to wait before answering the next AUTH."""
        by_source = len(self._recent(source, time.monotonic())) - SOURCE_FREE
        worst = max(connection_failures, by_source)
        return 0.0 if worst <= 0 else min(MAX_AUTH_DELAY, AUTH_DELAY * 2 ** (worst - 1))


class _SubmissionSMTP(SMTP):
    """aiosmtpd's SMTP with failed-login throttling around AUTH."""

    def __init__(self, *args: Any, throttle: LoginThrottle, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._throttle = throttle
        self._auth_failures = 0

    def _source(self) -> str:
        peer = self.session.peer if self.session is not None else None
        return str(peer[0]) if isinstance(peer, tuple) and peer else str(peer)

    async def smtp_AUTH(self, arg: str) -> None:
        if self._auth_failures >= MAX_AUTH_FAILURES:
            await self.push("421 4.7.0 Too many failed logins; closing the connection")
            if self._handler_coroutine is not None:
                self._handler_coroutine.cancel()
            if self.transport is not None:
                self.transport.close()
            return
        delay = self._throttle.delay(self._source(), self._auth_failures)
        if delay:
            await asyncio.sleep(delay)
        await super().smtp_AUTH(arg)
        if self.session is not None and not self.session.authenticated and arg.strip():
            self._auth_failures += 1
            self._throttle.failed(self._source())
            log.info("failed SMTP login from %s (%d on this connection)", self._source(),
                     self._auth_failures)


class _Authenticator:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def __call__(self, server: SMTP, session: Session, envelope: Envelope, mechanism: str,
                 auth_data: Any) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        agent = self.check(auth_data.login.decode(errors="replace"),
                           auth_data.password.decode(errors="replace"))
        if agent is None:
            return AuthResult(success=False, handled=False)
        return AuthResult(success=True, auth_data=agent)

    def check(self, login: str, password: str) -> Agent | None:
        try:
            return auth.login_agent(self.ctx, login, password)
        except AuthenticationFailed:
            return None


class _Handler:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def handle_MAIL(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, mail_options: list[str]) -> str:
        agent = session.auth_data
        if not isinstance(agent, Agent):
            return "530 5.7.0 Authentication required"
        if address.lower() != agent.address:
            return f"553 5.7.1 Sender must be {agent.address} for this login"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        agent = session.auth_data
        if not isinstance(agent, Agent):
            return "530 5.7.0 Authentication required"
        try:
            await asyncio.to_thread(outbox.accept_recipient, self.ctx, agent, address)
        except PermissionDenied as exc:  # recipient_suppressed
            return f"550 5.7.1 {exc.message}"
        except InvalidRequest as exc:
            return f"550 5.1.1 {exc.message}"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        agent = session.auth_data
        if not isinstance(agent, Agent):
            return "530 5.7.0 Authentication required"
        raw = envelope.original_content or b""
        if not isinstance(raw, bytes):
            raw = str(raw).encode()
        try:
            result = await asyncio.to_thread(
                outbox.submit_raw, self.ctx, agent, list(envelope.rcpt_tos), raw)
        except (TransientDeliveryError, RateLimited) as exc:
            return f"451 4.3.0 {exc.message}"
        except PermissionDenied as exc:
            return f"550 5.7.1 {exc.message}"
        except InvalidRequest as exc:
            status = {"header_too_large": "552 5.3.4", "malformed_header": "550 5.6.0"}
            return f"{status.get(exc.code, '554 5.0.0')} {exc.message}"
        except AgenticMailError as exc:
            return f"554 5.0.0 {exc.message}"
        return f"250 OK {result.status} {result.id} {result.message_id}"


class SubmissionServer:
    """A supervised component: the listening socket, closed when it stops."""

    name = "submission"

    def __init__(self, ctx: ServiceContext, host: str = "127.0.0.1", port: int = 3587) -> None:
        self.ctx, self.host, self.port = ctx, host, port

    async def start(self, stack: Scope) -> None:
        loop = asyncio.get_running_loop()
        handler, auth = _Handler(self.ctx), _Authenticator(self.ctx)
        throttle = LoginThrottle()

        def factory() -> SMTP:
            # AUTH without TLS is deliberate: the listener is bound to loopback only.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                return _smtp(handler, auth)

        def _smtp(handler: _Handler, auth: _Authenticator) -> SMTP:
            return _SubmissionSMTP(
                handler, hostname=self.ctx.settings.domain, authenticator=auth,
                auth_required=True, auth_require_tls=False,
                data_size_limit=self.ctx.settings.max_message_bytes,
                enable_SMTPUTF8=True, decode_data=False, throttle=throttle)

        try:
            server = await loop.create_server(factory, self.host, self.port)
        except OSError as exc:
            raise AgenticMailError(
                f"cannot listen for SMTP submission on {self.host}:{self.port}: {exc.strerror}",
                code="port_in_use", hint="change submission_port in config.toml") from exc
        stack.push_async_callback(self._close, server)
        log.info("SMTP submission listening on %s:%d", self.host, self.port)

    @staticmethod
    async def _close(server: asyncio.base_events.Server) -> None:
        server.close()
        await server.wait_closed()
