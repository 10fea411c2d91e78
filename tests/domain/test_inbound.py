"""Domain mode's inbound endpoint on a real daemon: signed deliveries posted the way the Email
Worker posts them reach the right agent's mailbox (``message.new``), on the relay's inbound
path; what Cloudflare's ARC set records is believed only from a verified chain sealed by a
trusted sealer. (The Worker itself, in workerd, and forged, stale and replayed posts:
``test_worker_workerd.py``.)"""

from __future__ import annotations

import socket
import time
import uuid
from typing import Any

from agenticmail.security.webhook_signing import signed_headers
from agenticmail.services import domain_config
from agenticmail.services.domain_config import INBOUND_LAST_KEY, INBOUND_PATH
from agenticmail.services.domain_inbound import MAX_BODY_BYTES
from agenticmail_testing.daemon import unique
from agenticmail_testing.dns_server import DkimKey
from agenticmail_testing.sse import EventStream
from tests.domain.inbound_helpers import (
    CLOUDFLARE_SEALER,
    DOMAIN,
    OTHER_SEALER,
    RUA,
    InboundDaemon,
    arc_sealed,
    message,
)


def inbox(inbound_daemon: InboundDaemon, key: str) -> list[dict[str, Any]]:
    with inbound_daemon.handle.client(key) as api:
        r = api.get("/v1/mail/messages", params={"limit": 100})
    assert r.status_code == 200, r.text
    found: list[dict[str, Any]] = r.json()["messages"]
    return found


def last_inbound(inbound_daemon: InboundDaemon) -> dict[str, Any] | None:
    assert inbound_daemon.handle.daemon is not None
    return domain_config.read_state(inbound_daemon.handle.daemon.ctx, INBOUND_LAST_KEY)


def test_signed_mail_reaches_the_agent_by_address_and_by_tag(
        inbound_daemon: InboundDaemon) -> None:
    created = inbound_daemon.handle.create_agent(unique("bot"))
    name, key = created["agent"]["name"], created["api_key"]
    with EventStream(inbound_daemon.handle.api_url, key) as events:
        plain, plain_id = message("plain", f"{name}@{DOMAIN}")
        r = inbound_daemon.post(plain, f"{name}@{DOMAIN}")
        assert r.status_code == 200, r.text
        assert r.json() | {"arc": None} == {"status": "delivered", "agent": name,
                                            "message_id": plain_id.lower(), "route": "address",
                                            "arc": None}
        tagged, tagged_id = message("tagged", f"{name}+news@{DOMAIN}")
        r = inbound_daemon.post(tagged, f"{name.upper()}+news@{DOMAIN}")
        assert r.status_code == 200 and r.json()["route"] == "tag", r.text
        for mid in (plain_id, tagged_id):
            event = events.next("message.new", where=lambda e, m=mid:
                                e["data"]["message"]["message_id"] == m)
            assert event["data"]["message"]["security"]["internal"] is False  # scored
        delivered = events.next("domain.delivered",
                                where=lambda e: e["data"]["message_id"] == tagged_id.lower())
        assert delivered["data"]["route"] == "tag"
    assert {m["subject"] for m in inbox(inbound_daemon, key)} == {"plain", "tagged"}
    last = last_inbound(inbound_daemon) or {}
    assert set(last) == {"at", "message_id", "agent", "outcome"}
    assert (last["message_id"], last["agent"], last["outcome"]) == (
        tagged_id.lower(), name, "delivered")


def test_the_same_message_posted_twice_is_delivered_once(inbound_daemon: InboundDaemon) -> None:
    created = inbound_daemon.handle.create_agent(unique("dup"))
    name, key = created["agent"]["name"], created["api_key"]
    raw, mid = message("once", f"{name}@{DOMAIN}")
    with EventStream(inbound_daemon.handle.api_url, key) as events:
        first = inbound_daemon.post(raw, f"{name}@{DOMAIN}")
        again = inbound_daemon.post(raw, f"{name}@{DOMAIN}")  # a Worker retry: a new webhook-id
        assert (first.status_code, first.json()["status"]) == (200, "delivered"), first.text
        assert (again.status_code, again.json()["status"]) == (200, "duplicate"), again.text
        events.next("message.new", where=lambda e: e["data"]["message"]["message_id"] == mid)
    assert [m["subject"] for m in inbox(inbound_daemon, key)] == ["once"]
    assert (last_inbound(inbound_daemon) or {})["outcome"] == "duplicate"


def test_an_unknown_recipient_is_refused_unless_a_catch_all_agent_takes_it(
        inbound_daemon: InboundDaemon) -> None:
    created = inbound_daemon.handle.create_agent(unique("all"))
    name, key = created["agent"]["name"], created["api_key"]
    raw, mid = message("to nobody", f"nobody@{DOMAIN}")
    r = inbound_daemon.post(raw, f"nobody@{DOMAIN}")
    assert r.status_code == 404, r.text
    assert r.json()["error"]["code"] == "unknown_recipient"
    assert r.json()["error"]["message"] == f"nobody@{DOMAIN}: no such mailbox"
    assert (last_inbound(inbound_daemon) or {})["outcome"] == "unknown_recipient"
    other = inbound_daemon.post(raw, "someone@elsewhere.example")  # not our domain at all
    assert other.json()["error"]["code"] == "unknown_recipient", other.text
    inbound_daemon.save(catch_all_agent=name)
    try:
        with EventStream(inbound_daemon.handle.api_url, key) as events:
            r = inbound_daemon.post(raw, f"nobody@{DOMAIN}")
            assert (r.status_code, r.json()["route"]) == (200, "catch_all"), r.text
            events.next("message.new",
                        where=lambda e: e["data"]["message"]["message_id"] == mid)
    finally:
        inbound_daemon.save()


def test_dmarc_reports_never_reach_an_agent(inbound_daemon: InboundDaemon) -> None:
    created = inbound_daemon.handle.create_agent(unique("rua"))
    name, key = created["agent"]["name"], created["api_key"]
    inbound_daemon.save(catch_all_agent=name)  # even a catch-all agent does not get them
    try:
        raw, _ = message("Report domain: agents.example", RUA,
                         from_="noreply-dmarc-support@google.com")
        r = inbound_daemon.post(raw, RUA)
    finally:
        inbound_daemon.save()
    assert r.status_code == 200, r.text
    assert r.json() | {"message_id": None} == {"status": "dmarc_report", "message_id": None,
                                               "reports": 0}  # it carried none
    assert inbox(inbound_daemon, key) == []
    assert (last_inbound(inbound_daemon) or {})["outcome"] == "dmarc_report"


def test_cloudflares_arc_results_are_believed_only_from_a_verified_trusted_seal(
        inbound_daemon: InboundDaemon, arc_keys: dict[str, DkimKey]) -> None:
    created = inbound_daemon.handle.create_agent(unique("arc"))
    name, key = created["agent"]["name"], created["api_key"]
    to = f"{name}@{DOMAIN}"
    # Cloudflare's MX recorded a pass for a message that carries no DKIM signature at all:
    # believed, that header is what the agent's scorer sees; computed, DKIM is "none"
    says_pass = "dkim=pass header.d=sender.example; dmarc=pass header.from=sender.example"
    trusted, trusted_id = message("trusted seal", to)
    untrusted, untrusted_id = message("other sealer", to)
    broken, broken_id = message("broken seal", to)
    forged, forged_id = message("no seal", to)
    cases = {
        trusted_id: (arc_sealed(trusted, arc_keys[CLOUDFLARE_SEALER], says_pass),
                     "pass", ("pass", "pass", "header")),
        untrusted_id: (arc_sealed(untrusted, arc_keys[OTHER_SEALER], says_pass),
                       "untrusted", ("none", "none", "computed")),
        broken_id: (arc_sealed(broken, arc_keys[CLOUDFLARE_SEALER], says_pass)
                    .replace(b"hello there", b"pay this now"), "fail",
                    ("none", "none", "computed")),
        forged_id: (b"Authentication-Results: mx.cloudflare.net; " + says_pass.encode()
                    + b"\r\n" + forged, "none", ("none", "none", "computed")),
    }
    with EventStream(inbound_daemon.handle.api_url, key) as events:
        for mid, (raw, arc, _) in cases.items():
            r = inbound_daemon.post(raw, to)
            assert (r.status_code, r.json()["arc"]) == (200, arc), (mid, r.text)
        for mid, (_, _, expected) in cases.items():
            event = events.next("message.new",
                                where=lambda e, m=mid: e["data"]["message"]["message_id"] == m)
            auth = event["data"]["message"]["security"]["auth"]
            assert (auth["dkim"], auth["dmarc"], auth["source"]) == expected, mid


def head_only(inbound_daemon: InboundDaemon, headers: dict[str, str], length: int) -> int:
    """The status the daemon answers to a request whose body never comes."""
    host, port = "127.0.0.1", inbound_daemon.handle.settings.api_port
    lines = [f"POST {INBOUND_PATH} HTTP/1.1", f"Host: {host}:{port}",
             "Content-Type: application/json", f"Content-Length: {length}",
             *(f"{k}: {v}" for k, v in headers.items()), "", ""]
    with socket.create_connection((host, port), timeout=10) as conn:
        conn.sendall("\r\n".join(lines).encode())
        return int(conn.recv(4096).split(b" ", 2)[1])


def test_an_oversized_delivery_is_refused_before_it_is_read_whole(
        inbound_daemon: InboundDaemon) -> None:
    fresh = {"webhook-id": "msg_big", "webhook-timestamp": str(int(time.time())),
             "webhook-signature": "v1,AAAA"}
    body = b"x" * (MAX_BODY_BYTES + 1)
    declared = inbound_daemon.send(body, fresh)
    chunked = inbound_daemon.send(iter([body[:1 << 20]] * (len(body) // (1 << 20) + 1)),
                                 fresh)  # no Content-Length: counted as it arrives
    for r in (declared, chunked):
        assert r.status_code == 413, r.text
        assert r.json()["error"]["code"] == "payload_too_large"
    assert head_only(inbound_daemon, fresh, MAX_BODY_BYTES + 1) == 413


def test_a_post_without_a_fresh_signature_is_refused_before_its_body_is_read(
        inbound_daemon: InboundDaemon) -> None:
    assert head_only(inbound_daemon, {}, 1_000_000) == 401
    stale = {"webhook-id": "msg_old", "webhook-timestamp": str(int(time.time()) - 3600),
             "webhook-signature": "v1,AAAA"}
    assert head_only(inbound_daemon, stale, 1_000_000) == 401


def test_without_domain_mode_the_endpoint_is_not_there(inbound_daemon: InboundDaemon) -> None:
    assert inbound_daemon.handle.daemon is not None
    domain_config.clear(inbound_daemon.handle.daemon.ctx)
    try:
        raw, _ = message("early", f"bot@{DOMAIN}")
        r = inbound_daemon.post(raw, f"bot@{DOMAIN}")
    finally:
        inbound_daemon.save()
    assert r.status_code == 404, r.text
    assert r.json()["error"]["code"] == "domain_not_configured"


def test_bad_bodies_are_client_errors(inbound_daemon: InboundDaemon) -> None:
    def signed(body: bytes) -> int:
        r = inbound_daemon.send(body, signed_headers(inbound_daemon.secret, f"msg_{uuid.uuid4()}",
                                                    time.time(), body))
        assert r.status_code < 500, r.text
        return r.status_code

    assert signed(b"not json") == 400
    assert signed(b'{"from": "a@b.example", "to": 3, "raw": ""}') == 400
    assert signed(b'{"from": "", "to": "bot@agents.example", "raw": "%%%"}') == 400
    assert signed(b'{"from": "", "to": "not an address", "raw": "aGk="}') == 400
