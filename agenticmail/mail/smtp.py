"""Sending through an SMTP server (a relay account or smarthost) with aiosmtplib, or straight
to a recipient domain's mail exchangers (:func:`send_direct`, domain mode's direct path).

Failures are classified at this edge: 4xx replies and network trouble are transient
(retry later), 5xx replies are permanent (the server's reason is kept). The transaction is
driven step by step so that a timeout or a cut connection *after the final dot* is told apart:
the server has the whole message and may have accepted it (RFC 5321 §6.1), so that is
:class:`DeliveryInDoubt`, not "cannot reach".
"""

from __future__ import annotations

import asyncio
import base64
import functools
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import aiosmtplib
from aiosmtplib.protocol import PERIOD_REGEX, normalize_message_line_endings

from ..errors import (
    DeliveryError,
    DeliveryInDoubt,
    MailHostError,
    MailHostUnavailable,
    PermanentDeliveryError,
    TransientDeliveryError,
)

if TYPE_CHECKING:  # mx imports dnspython: only the sender of direct mail needs it
    from .mx import Exchanger

TLS_MODES = ("implicit", "starttls", "none")


@dataclass(frozen=True)
class SmtpRoute:
    host: str
    port: int
    tls: str  # "implicit" | "starttls" | "none"
    username: str | None
    password: str | None
    address: str  # the account's address; agents send as its sub-addresses
    ca_file: str | None = None  # extra CA to trust (self-hosted relays, tests)
    oauth: bool = False  # ``password`` is an OAuth2 access token: AUTH XOAUTH2

    def __repr__(self) -> str:
        return (f"SmtpRoute({self.host}:{self.port}, tls={self.tls}, user={self.username!r}, "
                f"address={self.address!r})")

    def ssl_context(self) -> ssl.SSLContext:
        return _ssl_context(self.ca_file)


@dataclass
class Attempt:
    """How far one :func:`send` got, for a caller that cancels it (a daemon stopping):
    ``body_sent`` once the message and its final dot were written, from then on the server may
    accept it whatever happens to the connection (RFC 5321 §6.1)."""

    body_sent: bool = False


@functools.lru_cache(maxsize=8)
def _ssl_context(ca_file: str | None) -> ssl.SSLContext:
    # Building a context loads the system CA bundle (~80 ms): do it once per CA file.
    context = ssl.create_default_context()
    if ca_file:
        context.load_verify_locations(ca_file)
    return context


def xoauth2(username: str, token: str) -> str:
    """The SASL XOAUTH2 initial response (before base64), as Google and Microsoft define it."""
    return f"user={username}\x01auth=Bearer {token}\x01\x01"


async def _login(client: aiosmtplib.SMTP, route: SmtpRoute) -> None:
    """AUTH with the route's credentials: XOAUTH2 with a bearer token, else the password."""
    assert route.username
    if not route.oauth:
        await client.login(route.username, route.password or "")
        return
    if client.is_ehlo_or_helo_needed:
        await client.ehlo()
    response = base64.b64encode(xoauth2(route.username, route.password or "").encode())
    reply = await client.execute_command(b"AUTH", b"XOAUTH2", response)
    if reply.code == 334:  # the server's error details (base64 JSON); the client answers empty
        reply = await client.execute_command(b"")
    if reply.code != 235:
        raise aiosmtplib.SMTPAuthenticationError(reply.code, reply.message)


def _reason(code: int, message: str) -> str:
    return f"{code} {' '.join(message.split())}"


def _dot_terminated(raw: bytes) -> bytes:
    """The DATA payload: the message with CRLF line ends and leading dots doubled, then the
    final dot (as aiosmtplib's own ``data()`` sends it)."""
    data = PERIOD_REGEX.sub(b"..", normalize_message_line_endings(raw))
    return (data if data.endswith(b"\r\n") else data + b"\r\n") + b".\r\n"


async def _transaction(client: aiosmtplib.SMTP, sender: str, recipients: list[str],
                       raw: bytes, where: str, attempt: Attempt | None = None
                       ) -> dict[str, tuple[int, str]]:
    """MAIL, RCPT each, DATA; the recipients refused (all refused: raises)."""
    await client.mail(sender)
    refused: dict[str, tuple[int, str]] = {}
    for rcpt in recipients:
        try:
            await client.rcpt(rcpt)
        except aiosmtplib.SMTPRecipientRefused as exc:
            refused[rcpt] = (exc.code, exc.message)
    if len(refused) == len(recipients):
        raise aiosmtplib.SMTPRecipientsRefused(
            [aiosmtplib.SMTPRecipientRefused(c, m, r) for r, (c, m) in refused.items()])
    start = await client.execute_command(b"DATA")
    if start.code != 354:
        raise aiosmtplib.SMTPDataError(start.code, start.message)
    protocol = client.protocol
    if protocol is None:
        raise aiosmtplib.SMTPServerDisconnected("Connection lost")
    # aiosmtplib's data() cannot say whether a timeout came before or after the final dot,
    # so the body goes out here: written, then one reply read (the protocol's own calls)
    if attempt is not None:
        attempt.body_sent = True
    protocol.write(_dot_terminated(raw))
    try:
        reply = await protocol.read_response(timeout=client.timeout)
    except (aiosmtplib.SMTPTimeoutError, aiosmtplib.SMTPServerDisconnected, OSError) as exc:
        client.close()
        raise DeliveryInDoubt(
            f"{where} received the whole message but its answer did not come back ({exc}); "
            f"it may have accepted it") from exc
    if reply.code != 250:
        raise aiosmtplib.SMTPDataError(reply.code, reply.message)
    return refused


async def send(route: SmtpRoute, sender: str, recipients: list[str], raw: bytes,
               timeout: float = 60, attempt: Attempt | None = None) -> None:
    """Deliver ``raw`` to every recipient or raise; partial refusal is a failure of that kind.

    :class:`DeliveryInDoubt` (a :class:`TransientDeliveryError`): the message was sent in
    full but the server's answer did not come within ``timeout``. ``attempt`` records how far
    it got (see :class:`Attempt`)."""
    where = f"{route.host}:{route.port}"
    try:
        client = aiosmtplib.SMTP(
            hostname=route.host, port=route.port, timeout=timeout,
            use_tls=route.tls == "implicit", start_tls=route.tls == "starttls",
            tls_context=route.ssl_context() if route.tls != "none" else None,
        )
        async with client:
            try:
                if route.username:
                    await _login(client, route)
                refused = await _transaction(client, sender, recipients, raw, where, attempt)
            except asyncio.CancelledError:  # no QUIT: a server that hangs would not answer it
                client.close()
                raise
    except DeliveryInDoubt:
        raise
    except aiosmtplib.SMTPAuthenticationError as exc:
        raise PermanentDeliveryError(
            f"the SMTP server {route.host} refused the login for {route.username}: "
            f"{_reason(exc.code, exc.message)}",
            hint="check the account's (app) password") from exc
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        raise _delivery_error(exc, route.host, where) from exc
    _raise_refused(refused)


def _delivery_error(exc: Exception, host: str, where: str) -> DeliveryError:
    """What a failed transaction with ``host`` (at ``where``) means: 4xx and network trouble
    are transient, 5xx permanent."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        reasons = "; ".join(f"{r.recipient}: {_reason(r.code, r.message)}" for r in exc.recipients)
        if all(c >= 500 for c in codes):
            return PermanentDeliveryError(f"recipients refused: {reasons}")
        return TransientDeliveryError(f"recipients deferred: {reasons}")
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        reason = f"{host} answered {_reason(exc.code, exc.message)}"
        if 400 <= exc.code < 500:
            return TransientDeliveryError(reason)
        return PermanentDeliveryError(reason)
    return TransientDeliveryError(f"cannot reach {where}: {exc}")


def _raise_refused(refused: dict[str, tuple[int, str]]) -> None:
    """Some recipients refused (the others accepted): a failure of their kind."""
    if refused:
        reasons = "; ".join(f"{r}: {_reason(c, m)}" for r, (c, m) in refused.items())
        if all(c >= 500 for c, _ in refused.values()):
            raise PermanentDeliveryError(f"recipients refused: {reasons}")
        raise TransientDeliveryError(f"recipients deferred: {reasons}")


@functools.lru_cache(maxsize=2)
def _direct_context(verified: bool) -> ssl.SSLContext:
    """TLS towards an MX: verified against the system's CAs and the MX name, or (opportunistic,
    as MTAs do without DANE/MTA-STS) encrypted without checking the certificate."""
    context = ssl.create_default_context()
    if not verified:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class _NotThisHost(Exception):
    """This exchanger could not be used before the transaction began: try the next
    (``tls_failed``: its STARTTLS handshake failed; the same host may take mail in plain)."""

    def __init__(self, error: DeliveryError, tls_failed: bool = False) -> None:
        super().__init__(str(error))
        self.error, self.tls_failed = error, tls_failed


async def _open_direct(host: str, address: str, port: int, *, timeout: float,
                       require_tls: bool, helo: str | None, starttls: bool = True
                       ) -> aiosmtplib.SMTP:
    """A session with one MX address, greeted, in TLS when the host offers STARTTLS (always
    with ``require_tls``, the certificate verified for ``host``; never with ``starttls``
    False)."""
    where = f"{host} ({address}:{port})"
    client = aiosmtplib.SMTP(hostname=address, port=port, timeout=timeout, start_tls=False,
                             local_hostname=helo or None)
    in_tls = False
    try:
        await client.connect()
        await client.ehlo()
        if starttls and client.supports_extension("starttls"):
            in_tls = True
            await client.starttls(server_hostname=host,
                                  tls_context=_direct_context(require_tls))
        elif require_tls:
            raise TransientDeliveryError(f"{where} does not offer STARTTLS, and TLS is "
                                         "required (domain_direct_require_tls)")
    except TransientDeliveryError as exc:
        client.close()
        raise _NotThisHost(exc) from None
    except (aiosmtplib.SMTPException, OSError, TimeoutError, ssl.SSLError) as exc:
        client.close()
        error = _delivery_error(exc, host, where)
        if isinstance(error, PermanentDeliveryError):  # a host that refuses service (554):
            error = TransientDeliveryError(str(error))  # its domain may have other hosts
        raise _NotThisHost(error, tls_failed=in_tls) from None
    return client


async def send_direct(exchangers: Sequence[Exchanger], port: int, sender: str,
                      recipients: list[str], raw: bytes, *, timeout: float = 60,
                      require_tls: bool = False, helo: str | None = None,
                      attempt: Attempt | None = None) -> None:
    """Deliver ``raw`` to ``recipients`` (one domain's) at the first of its ``exchangers``
    that takes a session, as an MTA does: each MX address in turn until one greets; then
    one transaction, classified as :func:`send` does. Opportunistic STARTTLS (a host whose
    handshake fails is tried again in plain) unless ``require_tls`` (then only verified TLS
    will do). ``attempt`` as for :func:`send`."""
    tried: list[str] = []
    for exchanger in exchangers:
        for address in exchanger.addresses:
            client = None
            for starttls in (True, False) if not require_tls else (True,):
                try:
                    client = await _open_direct(exchanger.host, address, port,
                                                timeout=timeout, require_tls=require_tls,
                                                helo=helo, starttls=starttls)
                    break
                except _NotThisHost as skipped:
                    tried.append(str(skipped.error))
                    if not skipped.tls_failed:
                        break
            if client is None:
                continue
            where = f"{exchanger.host} ({address}:{port})"
            try:
                async with client:
                    try:
                        refused = await _transaction(client, sender, recipients, raw, where,
                                                     attempt)
                    except asyncio.CancelledError:  # no QUIT, as in send()
                        client.close()
                        raise
            except DeliveryInDoubt:
                raise
            except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                raise _delivery_error(exc, exchanger.host, where) from exc
            _raise_refused(refused)
            return
    raise TransientDeliveryError("no mail exchanger took a session: " + "; ".join(tried)
                                 if tried else "no mail exchanger to try")


async def check_login(route: SmtpRoute, timeout: float = 10) -> str:
    """Connect, greet (with TLS as the route says), log in when the route has a username, and
    quit without sending anything: what was checked, in words. :class:`MailHostError` when the
    server refuses the login, :class:`MailHostUnavailable` when it cannot be reached."""
    where = f"{route.host}:{route.port}"
    try:
        client = aiosmtplib.SMTP(
            hostname=route.host, port=route.port, timeout=timeout,
            use_tls=route.tls == "implicit", start_tls=route.tls == "starttls",
            tls_context=route.ssl_context() if route.tls != "none" else None,
        )
        async with client:
            if not route.username:
                return f"{where} answers EHLO"
            await _login(client, route)
            return f"logged in to {where} as {route.username}"
    except aiosmtplib.SMTPAuthenticationError as exc:
        raise MailHostError(f"the SMTP server {where} refused the login for {route.username}: "
                            f"{_reason(exc.code, exc.message)}",
                            hint="check the account's (app) password") from exc
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        raise MailHostUnavailable(f"cannot reach the SMTP server {where}: {exc}") from exc
