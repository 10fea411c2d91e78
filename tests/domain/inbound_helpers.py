"""Domain mode's inbound side under test: a real daemon with a saved DomainConfig (the
Worker's signing secret in it, encrypted), a local DNS server holding the ARC sealers' keys
(Cloudflare's ``email.cloudflare.net`` and an untrusted one), and helpers that post signed
deliveries the way the Email Worker does (the fixtures are in conftest.py)."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import dkim
import httpx
import pytest

from agenticmail.security.webhook_signing import new_secret, signed_headers
from agenticmail.services import domain_config
from agenticmail.services.domain_config import INBOUND_PATH, DomainConfig
from agenticmail_testing import log_audit
from agenticmail_testing.daemon import DaemonHandle
from agenticmail_testing.dns_server import DkimKey, DnsServer
from agenticmail_testing.dovecot import dovecot_available

DOMAIN = "agents.example"
RUA = f"dmarc-reports@{DOMAIN}"
CLOUDFLARE_SEALER = "email.cloudflare.net"  # what Email Routing seals with (the default)
OTHER_SEALER = "forwarder.example"  # a valid chain, but nobody the owner trusts
AUTHSERV = "mx.cloudflare.net"


@dataclass
class InboundDaemon:
    handle: DaemonHandle
    secret: str = ""
    config: DomainConfig | None = None

    def save(self, **changes: Any) -> None:
        """Save the DomainConfig with ``changes`` (restore with ``save()``)."""
        assert self.handle.daemon is not None and self.config is not None
        domain_config.save(self.handle.daemon.ctx, replace(self.config, **changes))

    def post(self, raw: bytes, to: str, *, sender: str = "someone@sender.example",
             webhook_id: str | None = None, timestamp: float | None = None,
             headers: dict[str, str] | None = None) -> httpx.Response:
        """POST ``raw`` as the Worker does: signed (unless ``headers`` replaces the
        signature headers), or returns what was sent for a replay via :meth:`send`."""
        body = envelope(raw, to, sender)
        signed = signed_headers(self.secret, webhook_id or f"msg_{uuid.uuid4()}",
                                time.time() if timestamp is None else timestamp, body)
        return self.send(body, signed if headers is None else headers)

    def send(self, body: bytes | Iterator[bytes], headers: dict[str, str]) -> httpx.Response:
        return httpx.post(self.handle.api_url + INBOUND_PATH, content=body,
                          headers={"content-type": "application/json", **headers}, timeout=30)


def envelope(raw: bytes, to: str, sender: str = "someone@sender.example") -> bytes:
    return json.dumps({"from": sender, "to": to,
                       "raw": base64.b64encode(raw).decode()}).encode()


def message(subject: str, to: str, *, from_: str = "Friend <friend@sender.example>",
            body: str = "hello there") -> tuple[bytes, str]:
    mid = f"<{uuid.uuid4().hex}@sender.example>"
    raw = (f"From: {from_}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: {mid}\r\n"
           f"Date: Sat, 05 Dec 2026 12:00:00 +0000\r\nMIME-Version: 1.0\r\n"
           f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n").encode()
    return raw, mid


def arc_sealed(raw: bytes, key: DkimKey, results: str) -> bytes:
    """``raw`` as Email Routing hands it on: its Authentication-Results, then an ARC set
    sealed by ``key``'s domain recording them."""
    stamped = f"Authentication-Results: {AUTHSERV}; {results}\r\n".encode() + raw
    arc_set = dkim.arc_sign(stamped, key.selector.encode(), key.domain.encode(),
                            key.private_pem, AUTHSERV.encode())
    return b"".join(arc_set) + stamped


def new_arc_keys() -> dict[str, DkimKey]:
    return {CLOUDFLARE_SEALER: DkimKey.generate(CLOUDFLARE_SEALER, "2023"),
            OTHER_SEALER: DkimKey.generate(OTHER_SEALER, "arc")}


def running(arc_keys: dict[str, DkimKey], **settings: Any) -> Iterator[InboundDaemon]:
    """A daemon (with ``settings``) with domain mode's inbound side configured, until the
    generator is closed."""
    if not dovecot_available():
        pytest.skip("needs Dovecot")
    dns = DnsServer().start()
    for key in arc_keys.values():
        dns.publish(key)
    handle = DaemonHandle(dns_nameservers=dns.nameservers, **settings).start()
    assert handle.daemon is not None
    ctx = handle.daemon.ctx
    secret = new_secret()
    log_audit.remember(secret)  # never in a log line
    config = DomainConfig(domain=DOMAIN, hostname=f"mail.{DOMAIN}", rua_address=RUA,
                          inbound_secret_enc=domain_config.encrypt(ctx, secret))
    domain_config.save(ctx, config)
    try:
        yield InboundDaemon(handle, secret, config)
    finally:
        handle.close()
        dns.close()
