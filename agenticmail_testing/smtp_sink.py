"""SMTP servers that record what they accept, with trustme certificates: :class:`SmtpSink`
(implicit TLS and AUTH: the stand-in for a provider's SMTP relay) and :class:`MxSink` (a
mail exchanger: port 25's manners, STARTTLS offered, no AUTH). Replies can be scripted per
message."""

from __future__ import annotations

import asyncio
import base64
import email
import ssl
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any, Self

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from agenticmail_testing.ports import free_port


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    tls: bool = False  # the session was in TLS (implicit, or after STARTTLS)

    @property
    def message(self) -> Message:
        return email.message_from_bytes(self.data)

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])


@dataclass
class _Handler:
    username: str
    password: str
    received: list[Received] = field(default_factory=list)
    # called with the parsed message; returns an SMTP reply (e.g. "451 4.3.0 later") or None
    script: Callable[[Message], str | None] | None = None
    cond: threading.Condition = field(default_factory=threading.Condition)
    # seconds to wait before answering the final dot, for the next ``slow_replies`` messages
    # (kept, like a server that has the message but answers late)
    reply_delay: float = 0.0
    slow_replies: int = 0
    # XOAUTH2: (username, bearer token) -> accepted? None: the mechanism always fails
    bearer: Callable[[str, str], bool] | None = None
    xoauth2_logins: list[tuple[str, bool]] = field(default_factory=list)
    # the step where sessions stall until released: "rcpt" (before DATA: nothing of the
    # message sent yet) or "dot" (the whole message received and kept, the 250 not sent)
    hold_at: str | None = None
    holding: threading.Event = field(default_factory=threading.Event)  # a session stalls
    released: threading.Event = field(default_factory=threading.Event)

    async def _hold(self, step: str) -> None:
        if self.hold_at == step and not self.released.is_set():
            self.holding.set()
            await asyncio.get_running_loop().run_in_executor(None, self.released.wait, 120)

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:  # aiosmtpd API
        await self._hold("rcpt")
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def auth_XOAUTH2(self, server: SMTP, args: list[str]) -> AuthResult:  # aiosmtpd API
        """SASL XOAUTH2 (Google's and Microsoft's): ``user=U^Aauth=Bearer T^A^A``."""
        if len(args) > 1:
            response: bytes | None = base64.b64decode(args[1])
        else:
            answer = await server.challenge_auth("", encode_to_b64=False)
            response = answer if isinstance(answer, bytes) else None
        fields = dict(part.split("=", 1) for part in (response or b"").decode(
            errors="replace").split("\x01") if "=" in part)
        user, auth = fields.get("user", ""), fields.get("auth", "")
        ok = (self.bearer is not None and auth.startswith("Bearer ")
              and self.bearer(user, auth.removeprefix("Bearer ")))
        self.xoauth2_logins.append((user, ok))
        return AuthResult(success=ok, handled=False, auth_data=user)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        data = envelope.original_content or b""
        assert isinstance(data, bytes)
        if self.script is not None:
            reply = self.script(email.message_from_bytes(data))
            if reply is not None:
                return reply
        with self.cond:
            self.received.append(Received(str(envelope.mail_from), list(envelope.rcpt_tos),
                                          data, tls=session.ssl is not None))
            self.cond.notify_all()
            slow, self.slow_replies = self.slow_replies > 0, max(0, self.slow_replies - 1)
        if slow:
            await asyncio.sleep(self.reply_delay)
        await self._hold("dot")
        return "250 2.0.0 OK queued"


class _Recording:
    """What both servers share: started and stopped, what they received, scripted replies."""

    handler: _Handler
    controller: Controller

    def start(self) -> Self:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.release()
        self.controller.stop()

    @property
    def received(self) -> list[Received]:
        with self.handler.cond:
            return list(self.handler.received)

    def set_script(self, script: Callable[[Message], str | None] | None) -> None:
        self.handler.script = script

    def hold(self, step: str) -> None:
        """Stall every session at ``step`` ("rcpt" or "dot", see ``_Handler.hold_at``) until
        :meth:`release`; :meth:`wait_held` waits until one stalls there."""
        self.handler.released.clear()
        self.handler.holding.clear()
        self.handler.hold_at = step

    def wait_held(self, timeout: float = 30) -> None:
        if not self.handler.holding.wait(timeout):
            raise TimeoutError(f"no session reached {self.handler.hold_at!r}")

    def release(self) -> None:
        """Let the stalled sessions go on, and stall no more."""
        self.handler.hold_at = None
        self.handler.released.set()

    def wait_for(self, predicate: Callable[[list[Received]], bool], timeout: float = 15
                 ) -> list[Received]:
        deadline = time.monotonic() + timeout
        with self.handler.cond:
            while not predicate(self.handler.received):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError("the sink did not receive what was expected")
                self.handler.cond.wait(remaining)
            return list(self.handler.received)

    def with_id(self, message_id: str) -> list[Received]:
        return [r for r in self.received if r.message_id == message_id]


class SmtpSink(_Recording):
    def __init__(self, username: str = "owner@example.com", password: str = "app-password"
                 ) -> None:
        self.ca = trustme.CA()
        cert = self.ca.issue_cert("127.0.0.1", "localhost")
        self.server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(self.server_context)
        self._dir = tempfile.mkdtemp(prefix="sink-")
        self.ca_file = str(Path(self._dir) / "ca.pem")
        self.ca.cert_pem.write_to_path(self.ca_file)
        self.handler = _Handler(username, password)
        self.port = free_port()
        self.username, self.password = username, password

        def authenticator(server: SMTP, session: Session, envelope: Envelope, mechanism: str,
                          auth_data: Any) -> AuthResult:
            ok = (isinstance(auth_data, LoginPassword)
                  and auth_data.login.decode() == username
                  and auth_data.password.decode() == password)
            return AuthResult(success=ok, handled=False)  # handled=True would send no 535

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.controller = Controller(
                self.handler, hostname="127.0.0.1", port=self.port,
                ssl_context=self.server_context, authenticator=authenticator,
                auth_required=True, auth_require_tls=False)

    def accept_bearer(self, check: Callable[[str, str], bool]) -> None:
        """Offer AUTH XOAUTH2, accepting the tokens ``check(username, token)`` approves."""
        self.handler.bearer = check

    def answer_late(self, seconds: float, messages: int = 1) -> None:
        """Keep the next ``messages`` and answer their final dot only after ``seconds``."""
        with self.handler.cond:
            self.handler.reply_delay, self.handler.slow_replies = seconds, messages

    def route(self) -> dict[str, Any]:
        """The body of PUT /v1/route pointing at this sink."""
        return {"host": "127.0.0.1", "port": self.port, "tls": "implicit",
                "address": self.username, "username": self.username,
                "password": self.password, "ca_file": self.ca_file}


class MxSink(_Recording):
    """A mail exchanger on loopback: plain SMTP with STARTTLS offered (a trustme certificate
    for ``hostname``; ``starttls=False``: none; ``broken_tls``: offered, but no handshake can
    succeed), no AUTH, recording what it accepts. Point an MX record
    (agenticmail_testing.dns_server) at ``hostname`` and its A at 127.0.0.1."""

    def __init__(self, hostname: str = "mx.example.test", starttls: bool = True,
                 broken_tls: bool = False) -> None:
        self.hostname = hostname
        self.ca = trustme.CA()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ca.issue_cert(hostname, "127.0.0.1").configure_cert(context)
        if broken_tls:  # trustme's key is ECDSA: an RSA-only TLS 1.2 suite shares nothing
            context.maximum_version = ssl.TLSVersion.TLSv1_2
            context.set_ciphers("ECDHE-RSA-AES128-GCM-SHA256")
        self.handler = _Handler("", "")
        self.port = free_port()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.controller = Controller(
                self.handler, hostname="127.0.0.1", port=self.port,
                tls_context=context if starttls else None, auth_require_tls=False)
