"""Sending through an SMTP server (a relay account or smarthost) with aiosmtplib.

Failures are classified at this edge: 4xx replies and network trouble are transient
(retry later), 5xx replies are permanent (the server's reason is kept).
"""

from __future__ import annotations

import functools
import ssl
from dataclasses import dataclass

import aiosmtplib

from ..errors import PermanentDeliveryError, TransientDeliveryError

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

    def __repr__(self) -> str:
        return (f"SmtpRoute({self.host}:{self.port}, tls={self.tls}, user={self.username!r}, "
                f"address={self.address!r})")

    def ssl_context(self) -> ssl.SSLContext:
        return _ssl_context(self.ca_file)


@functools.lru_cache(maxsize=8)
def _ssl_context(ca_file: str | None) -> ssl.SSLContext:
    # Building a context loads the system CA bundle (~80 ms): do it once per CA file.
    context = ssl.create_default_context()
    if ca_file:
        context.load_verify_locations(ca_file)
    return context


def _reason(code: int, message: str) -> str:
    return f"{code} {' '.join(message.split())}"


async def send(route: SmtpRoute, sender: str, recipients: list[str], raw: bytes,
               timeout: float = 60) -> None:
    """Deliver ``raw`` to every recipient or raise; partial refusal is a failure of that kind."""
    try:
        client = aiosmtplib.SMTP(
            hostname=route.host, port=route.port, timeout=timeout,
            use_tls=route.tls == "implicit", start_tls=route.tls == "starttls",
            tls_context=route.ssl_context() if route.tls != "none" else None,
        )
        async with client:
            if route.username:
                await client.login(route.username, route.password or "")
            refused, _ = await client.sendmail(sender, recipients, raw)
    except aiosmtplib.SMTPAuthenticationError as exc:
        raise PermanentDeliveryError(
            f"the SMTP server {route.host} refused the login for {route.username}: "
            f"{_reason(exc.code, exc.message)}",
            hint="check the account's (app) password") from exc
    except aiosmtplib.SMTPRecipientsRefused as exc:
        codes = [r.code for r in exc.recipients]
        reasons = "; ".join(f"{r.recipient}: {_reason(r.code, r.message)}" for r in exc.recipients)
        if all(c >= 500 for c in codes):
            raise PermanentDeliveryError(f"recipients refused: {reasons}") from exc
        raise TransientDeliveryError(f"recipients deferred: {reasons}") from exc
    except aiosmtplib.SMTPResponseException as exc:
        reason = f"{route.host} answered {_reason(exc.code, exc.message)}"
        if 400 <= exc.code < 500:
            raise TransientDeliveryError(reason) from exc
        raise PermanentDeliveryError(reason) from exc
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        raise TransientDeliveryError(f"cannot reach {route.host}:{route.port}: {exc}") from exc
    if refused:
        reasons = "; ".join(f"{r}: {_reason(c, m)}" for r, (c, m) in refused.items())
        if all(c >= 500 for c, _ in refused.values()):
            raise PermanentDeliveryError(f"recipients refused: {reasons}")
        raise TransientDeliveryError(f"recipients deferred: {reasons}")
