"""Issue 15, SPF computed for relay mail end to end: the stand-in provider takes mail in as
Gmail's MX does (its own ``Received`` naming the client IP, its ``Authentication-Results``),
the daemon fetches it over IMAPS, and SPF is evaluated for the IP the provider recorded, the
envelope sender and HELO, against real DNS (a loopback server through ``dns_nameservers``).

The computed SPF reaches the agent's ``security`` block, decides DMARC's SPF alignment (an
unsigned message passes DMARC only if its own SPF passes) and the per-sender policy's
``require = ["spf"]``. The sender's own ``Received``/``Received-SPF`` headers, below the
provider's ``Authentication-Results``, claim the authorised IP and are ignored; the provider's
header saying ``spf=pass`` does not decide either.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from agenticmail_testing.daemon import DaemonHandle, unique
from agenticmail_testing.dns_server import DnsServer
from agenticmail_testing.relay_provider import Provider
from agenticmail_testing.sse import EventStream
from tests.relay.helpers import OWNER, gmail_auth

SENDER = "news@sender.test"
BOUNCE = "bounce@sender.test"
AUTHORISED_IP = "192.0.2.10"  # what sender.test's SPF record allows
OTHER_IP = "198.18.0.9"
POLICY = """
default = "deliver"

[[sender]]
match = "sender.test"
require = ["spf"]
action = "deliver"
"""


@pytest.fixture(scope="module")
def dns_server() -> Iterator[DnsServer]:
    server = DnsServer().start()
    server.add("sender.test", "TXT", f'"v=spf1 ip4:{AUTHORISED_IP} -all"')
    server.add("_dmarc.sender.test", "TXT", '"v=DMARC1; p=reject"')
    yield server
    server.close()


@pytest.fixture(scope="module")
def spf_daemon(provider: Provider, dns_server: DnsServer) -> Iterator[DaemonHandle]:
    handle = DaemonHandle(owner_email=OWNER, relay_backoff_seconds=1,
                          dns_nameservers=dns_server.nameservers).start()
    with handle.client() as owner:
        r = owner.put("/v1/relay", json=provider.relay_account(authserv_ids=["mx.google.com"]))
        assert r.status_code == 200, r.text
    yield handle
    handle.close()


def _arrived(mid: str) -> Any:
    """message.new (INBOX) or message.spam (quarantined) for Message-ID ``mid``."""
    return lambda e: e["type"] in ("message.new", "message.spam") and \
        e["data"]["message"]["message_id"] == mid


def _message(to: str, subject: str, *, forged_trace: bool) -> tuple[bytes, str]:
    """An unsigned message From sender.test; with ``forged_trace``, the sender's own trace
    headers claiming the authorised IP (as if they were the provider's)."""
    mid = f"<{uuid.uuid4().hex}@sender.test>"
    lines = []
    if forged_trace:
        lines += [f"Received: from mail.sender.test (mail.sender.test [{AUTHORISED_IP}])",
                  "        by mx.google.com with ESMTPS id forged1; Sat, 5 Dec 2026 09:00:00 GMT",
                  f"Received-SPF: pass client-ip={AUTHORISED_IP}; envelope-from={BOUNCE}; "
                  "helo=mail.sender.test;"]
    lines += [f"From: Sender News <{SENDER}>", f"To: {to}", f"Subject: {subject}",
              "Date: Sat, 05 Dec 2026 09:00:00 +0000", f"Message-ID: {mid}",
              "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8", "",
              "Your order 1042 has shipped.", ""]
    return "\r\n".join(lines).encode(), mid


def test_spf_for_the_ip_the_provider_recorded_decides_dmarc_and_the_policy(
        spf_daemon: DaemonHandle, provider: Provider) -> None:
    created = spf_daemon.create_agent(unique("spf"))
    name, key = created["agent"]["name"], created["api_key"]
    with spf_daemon.client() as owner:
        r = owner.put(f"/v1/policies/{name}", json={"policy": POLICY})
        assert r.status_code == 200 and r.json()["error"] is None, r.text
    to = f"owner+{name}@example.com"
    genuine, genuine_id = _message(to, "shipped", forged_trace=False)
    spoofed, spoofed_id = _message(to, "shipped (spoofed)", forged_trace=True)
    with EventStream(spf_daemon.api_url, key) as events:
        provider.receive(genuine, client_ip=AUTHORISED_IP, helo="mail.sender.test",
                         mail_from=BOUNCE, auth=gmail_auth("sender.test", dkim="none"))
        good = events.next(timeout=30, where=_arrived(genuine_id))
        # the provider's header says spf=pass, dmarc=pass; the IP it recorded says otherwise
        provider.receive(spoofed, client_ip=OTHER_IP, helo="spoofer.example",
                         mail_from=BOUNCE, auth=gmail_auth("sender.test", dkim="none"))
        bad = events.next(timeout=30, where=_arrived(spoofed_id))

    security: dict[str, Any] = good["data"]["message"]["security"]
    assert security["auth"] == {"spf": "pass", "dkim": "none", "dmarc": "pass",
                                "source": "computed", "spf_domain": "sender.test"}, security
    assert good["type"] == "message.new" and good["data"]["folder"] == "INBOX"
    assert security["policy"]["action"] == "deliver", security["policy"]

    security = bad["data"]["message"]["security"]
    assert security["auth"] == {"spf": "fail", "dkim": "none", "dmarc": "fail",
                                "source": "computed", "dmarc_policy": "reject",
                                "spf_domain": "sender.test"}, security
    assert bad["type"] == "message.spam" and bad["data"]["folder"] == "Spam", bad
    assert security["policy"]["action"] == "quarantine", security["policy"]
    assert security["policy"]["failed"] == ["spf"], security["policy"]
    assert any(rule["id"] == "AUTH_SPF_FAIL" for rule in security["rules"]), security["rules"]
