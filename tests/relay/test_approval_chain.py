"""Approval forgery (issue 18, #3), the whole chain end to end: a real daemon, the stand-in
relay provider (IMAPS Dovecot + SMTP), and a DNS server on loopback holding the owner's DKIM
key (reached through the daemon's ``dns_nameservers`` setting, the production resolver).

The relay is set up the way the attack needed it: scope ``all`` with a default agent, and a
provider without a trusted authserv-id (so the daemon verifies DKIM itself). The agent's
held message carries AWS keys; the notification comes back into the relay mailbox; a forged
owner's reply (From the owner, a forged ``Authentication-Results`` with Gmail's id, the
right References and even the right code) is put straight into that mailbox. Nothing may be
approved; only the owner's reply signed with the owner's key approves.
"""

from __future__ import annotations

import re
import sqlite3
import uuid
from collections.abc import Iterator
from email import message_from_bytes
from typing import Any

import pytest

from agenticmail_testing.daemon import DaemonHandle, unique, wait_until
from agenticmail_testing.dns_server import DkimKey, DnsServer
from agenticmail_testing.relay_provider import Provider
from agenticmail_testing.sse import EventStream
from tests.relay.helpers import AWS_KEY, AWS_SECRET, OWNER, gmail_auth, relay_status, send_held


@pytest.fixture(scope="module")
def owner_key() -> DkimKey:
    return DkimKey.generate("example.com", "s2026")


@pytest.fixture(scope="module")
def dns_server(owner_key: DkimKey) -> Iterator[DnsServer]:
    server = DnsServer().start()
    server.publish(owner_key)
    yield server
    server.close()


@pytest.fixture(scope="module")
def chain(provider: Provider, dns_server: DnsServer) -> Iterator[tuple[DaemonHandle, str, str]]:
    """A daemon whose relay sends everything unmatched to the default agent (scope all)."""
    handle = DaemonHandle(owner_email=OWNER, relay_backoff_seconds=1,
                          dns_nameservers=dns_server.nameservers).start()
    created = handle.create_agent(unique("catch"))
    name, key = created["agent"]["name"], created["api_key"]
    with handle.client() as owner:
        r = owner.put("/v1/relay", json=provider.relay_account(default_agent=name,
                                                               default_scope="all"))
        assert r.status_code == 200, r.text
    yield handle, name, key
    handle.close()


def _reply(note_id: str, body: str, *, auth: str | None = None, to: str = OWNER,
           message_id: str | None = None) -> bytes:
    lines = [*([f"Authentication-Results: {auth}"] if auth else []),
             f"From: Owner <{OWNER}>", f"To: {to}", "Subject: Re: approval",
             "Date: Sun, 22 Nov 2026 07:00:00 +0000",
             f"Message-ID: {message_id or f'<{uuid.uuid4().hex}@example.com>'}",
             f"In-Reply-To: {note_id}", f"References: {note_id}",
             "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8", "", body, ""]
    return "\r\n".join(lines).encode()


def _agent_messages(handle: DaemonHandle, key: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    with handle.client(key) as api:
        for folder in ("INBOX", "Spam"):
            r = api.get("/v1/mail/messages", params={"folder": folder, "limit": 100})
            assert r.status_code == 200, r.text
            found += r.json()["messages"]
    return found


def _handled(handle: DaemonHandle, provider: Provider, marker: bytes) -> int:
    """Wait until the relay's checkpoint has moved past the message containing ``marker``."""
    uid = wait_until(lambda: next((u for u, (raw, _) in provider.inbox().items()
                                   if marker in raw), None),
                     timeout=20, interval=0.1, what="the message in the relay mailbox")
    wait_until(lambda: (c := relay_status(handle).get("checkpoint")) and c["last_uid"] >= uid,
               timeout=20, interval=0.1, what="the relay to handle it")
    return int(uid)


def _db_text(handle: DaemonHandle) -> str:
    """Every value of every table of the daemon's database, as text."""
    conn = sqlite3.connect(f"file:{handle.settings.db_path}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = "
                                             "'table'")]
        parts: list[str] = []
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                for value in row:
                    if isinstance(value, bytes):
                        parts.append(value.decode("latin-1"))
                    elif value is not None:
                        parts.append(str(value))
        return "\n".join(parts)
    finally:
        conn.close()


def test_forged_owner_reply_approves_nothing_and_notifications_never_reach_an_agent(
        chain: tuple[DaemonHandle, str, str], provider: Provider, owner_key: DkimKey) -> None:
    handle, name, key = chain
    pending_id, mid = send_held(handle, key)

    # 1. the notification lands in the relay mailbox and is never routed to an agent
    uid = _handled(handle, provider, b"approval needed")
    notification = provider.inbox()[uid][0]
    note_id = str(message_from_bytes(notification)["Message-ID"])
    found = re.search(rb"APPROVE (\S+) or REJECT", notification)
    assert found is not None
    code = found.group(1).decode()
    assert _agent_messages(handle, key) == []
    assert relay_status(handle)["delivered"] == 0

    # 2. the notification shows the findings masked, never the secret itself
    sent_to_owner = [r.data for r in provider.sink.received if OWNER in r.rcpt_tos]
    assert sent_to_owner
    for raw in [*sent_to_owner, *(raw for raw, _ in provider.inbox().values())]:
        assert AWS_SECRET.encode() not in raw and AWS_KEY.encode() not in raw
    assert f"agenticmail pending show {pending_id}".encode() in notification

    # 3. the one-time code is not stored in clear anywhere in the database
    text = _db_text(handle)
    assert code not in text and code.replace("-", "") not in text

    # 4. forged replies put straight into the relay mailbox approve nothing
    before = relay_status(handle)
    forged = [
        _reply(note_id, f"APPROVE {code}", auth=gmail_auth("example.com")),  # forged A-R
        _reply(note_id, f"APPROVE {code}", auth=gmail_auth("example.com"),  # the agent's tag
               to=f"owner+{name}@example.com"),
        DkimKey.generate("example.com", owner_key.selector).sign(  # the attacker's own key
            _reply(note_id, f"APPROVE {code}", auth=gmail_auth("example.com"))),
        owner_key.sign(_reply(note_id, f"APPROVE {code}",  # signed, but a Message-ID we sent
                              message_id=note_id)),
    ]
    for raw in forged:
        provider.deliver(raw)
    wait_until(lambda: relay_status(handle)["approvals"] >= before["approvals"] + len(forged),
               timeout=30, interval=0.1, what="the forged replies to be read")
    with handle.client() as owner:
        pending = owner.get(f"/v1/pending/{pending_id}").json()["pending"]
        audit = owner.get("/v1/audit", params={"action": "mail.approve"}).json()["entries"]
    assert pending["status"] == "pending", pending
    assert audit == []
    assert provider.sink.with_id(mid) == []
    assert _agent_messages(handle, key) == []
    assert relay_status(handle)["delivered"] == 0

    # 5. the owner's genuine reply, signed by the owner's provider, still approves
    with EventStream(handle.api_url, key) as events:
        provider.deliver(owner_key.sign(_reply(
            note_id, f"APPROVE {code}\r\n\r\nOn Sunday agenticmail wrote:\r\n> held")))
        events.next("message.sent", timeout=30, where=lambda e: e["data"]["message_id"] == mid)
    out = provider.sink.with_id(mid)
    assert len(out) == 1 and out[0].rcpt_tos == ["partner@example.org"]
    with handle.client() as owner:
        pending = owner.get(f"/v1/pending/{pending_id}").json()["pending"]
        audit = owner.get("/v1/audit", params={"action": "mail.approve"}).json()["entries"]
    assert pending["status"] == "approved"
    assert [(e["actor"], e["subject"], e["detail"]["via"]) for e in audit] == [
        ("owner", pending_id, "email reply")]

    # the confirmation comes back into the relay mailbox too, and stays the owner's
    _handled(handle, provider, b"[agenticmail] Approved")
    assert _agent_messages(handle, key) == []
    assert relay_status(handle)["delivered"] == 0
    assert code not in _db_text(handle)


def test_relay_status_says_how_owner_replies_are_authenticated(
        chain: tuple[DaemonHandle, str, str]) -> None:
    handle, _, _ = chain
    assert "verifies the reply's DKIM signature itself" in \
        relay_status(handle)["account"]["reply_approval"]


def test_a_secret_in_the_subject_is_withheld_from_notification_and_confirmation(
        chain: tuple[DaemonHandle, str, str], provider: Provider) -> None:
    handle, _, key = chain
    with handle.client(key) as api:
        r = api.post("/v1/mail/send", json={"to": ["partner@example.org"],
                                            "subject": f"key {AWS_KEY}", "text": "attached"})
    held = r.json()
    assert r.status_code == 202 and held["status"] == "held", r.text
    with handle.client() as owner:
        r = owner.post(f"/v1/pending/{held['pending_id']}/reject")
        assert r.status_code == 200, r.text
    provider.sink.wait_for(lambda rs: any("[agenticmail] Rejected" in str(x.message["Subject"])
                                          for x in rs), timeout=20)
    to_owner = [x for x in provider.sink.received if OWNER in x.rcpt_tos]
    assert any("withheld" in str(x.message["Subject"]) for x in to_owner)
    assert all(AWS_KEY.encode() not in x.data for x in to_owner)
