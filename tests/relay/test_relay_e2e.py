"""The relay gateway end to end: a real daemon, a stand-in provider reached over IMAPS
(trustme certificate) and SMTP with AUTH and TLS. No sleeps: events or deadline polls.

The provider outage lasts ``RELAY_OUTAGE_SECONDS`` (default 4; the issue's minute with
``RELAY_OUTAGE_SECONDS=60``); the daemon's backoff starts at 1 s instead of 30 s
(``relay_backoff_seconds``) so two rounds fit, the schedule itself is tested in
``test_relay_units.py``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
import uuid
from email import message_from_bytes
from typing import Any

import pytest
from imapclient import IMAPClient

from agenticmail.services import protection
from agenticmail_testing.daemon import DaemonHandle, unique, wait_until
from agenticmail_testing.relay_provider import Provider
from agenticmail_testing.sse import EventStream
from tests.relay.helpers import (
    OWNER,
    gmail_auth,
    mail,
    new_for,
    relay_status,
    send_held,
)

OUTAGE_SECONDS = float(os.environ.get("RELAY_OUTAGE_SECONDS", "4"))


def agent_inbox(handle: DaemonHandle, key: str) -> list[dict[str, Any]]:
    with handle.client(key) as api:
        r = api.get("/v1/mail/messages", params={"limit": 100})
    assert r.status_code == 200, r.text
    messages: list[dict[str, Any]] = r.json()["messages"]
    return messages


def agent_raw(handle: DaemonHandle, created: dict[str, Any]) -> list[bytes]:
    creds = created["mail"]
    client = IMAPClient("127.0.0.1", port=creds["imap_port"], ssl=False, timeout=10)
    try:
        client.login(creds["username"], creds["password"])
        client.select_folder("INBOX", readonly=True)
        uids = client.search(["ALL"])
        data = client.fetch(uids, ["BODY.PEEK[]"]) if uids else {}
        return [bytes(v[b"BODY[]"]) for _, v in sorted(data.items())]
    finally:
        client.logout()


def test_reply_reaches_the_agent_by_in_reply_to_and_owner_mail_is_left_alone(
        relay_daemon: DaemonHandle, provider: Provider) -> None:
    created = relay_daemon.create_agent(unique("rep"))
    name, key = created["agent"]["name"], created["api_key"]
    before = relay_status(relay_daemon)
    assert before["mode"] == "idle" and before["connected"], before
    with EventStream(relay_daemon.api_url, key) as events:
        with relay_daemon.client(key) as api:
            r = api.post("/v1/mail/send", json={"to": ["friend@example.org"],
                                                "subject": "question", "text": "how are you?"})
        assert r.status_code == 202, r.text
        sent_id = r.json()["message_id"]
        events.next("message.sent", where=lambda e: e["data"]["message_id"] == sent_id)
        out = provider.sink.with_id(sent_id)
        assert len(out) == 1 and f"owner+{name}@example.com" in str(out[0].message["From"])
        assert out[0].rcpt_tos == ["friend@example.org"]

        dinner, dinner_id = mail("dinner tonight?", from_="Mom <mom@example.org>")
        provider.deliver(dinner)
        reply, reply_id = mail("Re: question", in_reply_to=sent_id,
                               auth=gmail_auth("example.org"), body="fine, thanks")
        provider.deliver(reply)  # no +tag anywhere: In-Reply-To alone routes it
        event = events.next("message.new", timeout=5, where=new_for(reply_id))
    assert event["data"]["folder"] == "INBOX"
    assert event["data"]["message"]["from"].endswith("friend@example.org>") or \
        "friend@example.org" in event["data"]["message"]["from"]
    assert event["data"]["message"]["security"]["internal"] is False  # scored as external

    assert [m["subject"] for m in agent_inbox(relay_daemon, key)] == ["Re: question"]
    (raw,) = agent_raw(relay_daemon, created)
    delivered = message_from_bytes(raw)
    assert delivered["From"] == "Friend <friend@example.org>"
    assert delivered["X-Original-From"] == "Friend <friend@example.org>"
    assert "route=in-reply-to" in delivered["X-Agenticmail-Relay"]
    assert any(str(v).startswith("mx.google.com;")
               for v in delivered.get_all("Authentication-Results") or [])
    with relay_daemon.client(key) as api:
        sent_folder = api.get("/v1/mail/messages", params={"folder": "Sent"}).json()["messages"]
    assert [m["subject"] for m in sent_folder] == ["question"]

    inbox = provider.inbox()  # the owner's mail: still unread, still only in the owner's INBOX
    assert all(b"\\Seen" not in flags for _, flags in inbox.values())
    assert any(dinner_id.encode() in raw for raw, _ in inbox.values())
    after = relay_status(relay_daemon)
    assert after["skipped"] >= before["skipped"] + 1
    assert after["delivered"] == before["delivered"] + 1
    assert after["sent"] >= before["sent"] + 1


def test_provider_outage_backs_off_resumes_and_delivers_exactly_once(
        relay_daemon: DaemonHandle, provider: Provider, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="agenticmail.daemon.relay_worker")
    created = relay_daemon.create_agent(unique("out"))
    name, key = created["agent"]["name"], created["api_key"]
    before = relay_status(relay_daemon)
    with EventStream(relay_daemon.api_url, key) as events:
        provider.stop_imap()
        down_at = time.monotonic()
        ids = []
        for i in range(3):
            raw, mid = mail(f"while down {i}", to=f"owner+{name}@example.com")
            provider.deliver_offline(raw)
            ids.append(mid)
        wait_until(lambda: relay_status(relay_daemon)["failures"] >= 2
                   and time.monotonic() - down_at >= OUTAGE_SECONDS,
                   timeout=OUTAGE_SECONDS + 60, interval=0.2, what="two failed retries")
        during = relay_status(relay_daemon)
        assert during["mode"] == "retrying" and not during["connected"]
        assert "refused the connection" in during["last_error"], during
        provider.start_imap()
        got = {events.next("message.new", timeout=60,
                           where=lambda e: e["data"]["message"]["message_id"] in ids
                           )["data"]["message"]["message_id"] for _ in ids}
        assert got == set(ids)
        marker, marker_id = mail("after the outage", to=f"owner+{name}@example.com")
        provider.deliver(marker)
        events.next("message.new", timeout=10, where=new_for(marker_id))
    subjects = sorted(m["subject"] for m in agent_inbox(relay_daemon, key))
    assert subjects == ["after the outage", "while down 0", "while down 1", "while down 2"]
    after = relay_status(relay_daemon)
    assert after["failures"] == 0 and after["connected"] and after["mode"] == "idle"
    assert after["delivered"] == before["delivered"] + 4
    causes = [r.getMessage() for r in caplog.records if r.name == "agenticmail.daemon.relay_worker"]
    retries = [c for c in causes if "; retry " in c]
    assert len(retries) >= 2, causes  # backed off at least twice, each time saying why
    assert any("refused the connection: the server is down" in c for c in retries), causes


def test_failed_delivery_into_the_agent_mailbox_is_retried_not_lost_not_duplicated(
        relay_daemon: DaemonHandle, provider: Provider) -> None:
    created = relay_daemon.create_agent(unique("dl"))
    name, key = created["agent"]["name"], created["api_key"]
    daemon = relay_daemon.daemon
    assert daemon is not None and daemon.loop is not None
    loop = daemon.loop
    before = relay_status(relay_daemon)
    with EventStream(relay_daemon.api_url, key) as events:
        # the agents' mail host goes down and stays down (halted by its supervisor)
        asyncio.run_coroutine_threadsafe(daemon.supervisor.halt("mail-host"), loop).result(10)
        try:
            raw, mid = mail("while the mail host is down", to=f"owner+{name}@example.com")
            provider.deliver(raw)
            failed = wait_until(
                lambda: (s := relay_status(relay_daemon))["failures"] >= 1
                and "agent's mailbox" in (s["last_error"] or "") and s,
                timeout=30, interval=0.1, what="the failed delivery")
            assert failed["delivered"] == before["delivered"]
        finally:
            asyncio.run_coroutine_threadsafe(daemon.supervisor.resume("mail-host"),
                                             loop).result(30)
        events.next("message.new", timeout=60, where=new_for(mid))
        marker, marker_id = mail("marker", to=f"owner+{name}@example.com")
        provider.deliver(marker)
        events.next("message.new", timeout=30, where=new_for(marker_id))
    assert sorted(m["subject"] for m in agent_inbox(relay_daemon, key)) == [
        "marker", "while the mail host is down"]
    assert relay_status(relay_daemon)["delivered"] == before["delivered"] + 2


def test_only_the_providers_own_auth_results_reach_the_agent_and_the_scorer(
        relay_daemon: DaemonHandle, provider: Provider) -> None:
    created = relay_daemon.create_agent(unique("ar"))
    name, key = created["agent"]["name"], created["api_key"]
    stamped = gmail_auth("bank.example", dkim="fail", dmarc="fail")  # the provider's verdict
    written = gmail_auth("bank.example")  # the sender's own claim, with the provider's id
    raw, mid = mail("your statement", from_="Bank <alerts@bank.example>",
                    to=f"owner+{name}@example.com", auth=stamped)
    raw = raw.replace(b"From:", f"Authentication-Results: {written}\r\nFrom:".encode(), 1)
    with EventStream(relay_daemon.api_url, key) as events:
        provider.deliver(raw)
        event = events.next("message.new", timeout=10, where=new_for(mid))
    auth = event["data"]["message"]["security"]["auth"]
    assert (auth["dkim"], auth["dmarc"], auth["source"]) == ("fail", "fail", "header")
    (copy,) = agent_raw(relay_daemon, created)
    values = message_from_bytes(copy).get_all("Authentication-Results") or []
    assert len(values) == 1 and "dkim=fail" in values[0], values

    # the provider's id on mail that did not come through the relay is not believed
    daemon = relay_daemon.daemon
    assert daemon is not None
    assert protection.assess(daemon.ctx, copy).security.score.auth.source == "header"
    direct = copy.replace(b"dkim=fail", b"dkim=pass").replace(b"dmarc=fail", b"dmarc=pass")
    assert protection.assess(daemon.ctx, direct).security.score.auth.source == "computed"


def _notification(provider: Provider, subject: str) -> tuple[str, str]:
    def find() -> tuple[str, str] | None:
        for raw, _ in provider.inbox().values():
            message = message_from_bytes(raw)
            if "approval needed" in str(message["Subject"]) and subject in str(
                    message["Subject"]):
                code = re.search(r"APPROVE (\S+) or REJECT", raw.decode())
                assert code is not None
                return str(message["Message-ID"]), code.group(1)
        return None

    found: tuple[str, str] = wait_until(find, timeout=20, interval=0.1,
                                        what="the notification in the relay inbox")
    return found


def test_approval_loop_by_email_reply_and_forged_replies_change_nothing(
        relay_daemon: DaemonHandle, provider: Provider) -> None:
    created = relay_daemon.create_agent(unique("ap"))
    key = created["api_key"]
    pending_id, mid = send_held(relay_daemon, key)
    note_id, code = _notification(provider, "deploy keys")

    def pending_status() -> str:
        with relay_daemon.client() as owner:
            return str(owner.get(f"/v1/pending/{pending_id}").json()["pending"]["status"])

    before = relay_status(relay_daemon)
    forged = [
        mail("Re: approval", from_="Mallory <mallory@example.org>", in_reply_to=note_id,
             auth=gmail_auth("example.org"), body=f"APPROVE {code}"),  # wrong sender
        mail("Re: approval", from_=OWNER, in_reply_to=note_id, auth=gmail_auth("example.com"),
             body="APPROVE"),  # no code
        mail("Re: approval", from_=OWNER, in_reply_to=note_id,
             auth=gmail_auth("example.com", dkim="fail", dmarc="fail"),
             body=f"APPROVE {code}"),  # fails DKIM/DMARC
    ]
    for raw, _ in forged:
        provider.deliver(raw)
    wait_until(lambda: relay_status(relay_daemon)["approvals"] >= before["approvals"] + 3,
               timeout=20, interval=0.1, what="the forged replies to be read")
    assert pending_status() == "pending"
    assert provider.sink.with_id(mid) == []

    with EventStream(relay_daemon.api_url, key) as events:
        genuine, _ = mail("Re: approval", from_=f"Owner <{OWNER}>", in_reply_to=note_id,
                          auth=gmail_auth("example.com"),
                          body=f"APPROVE {code}\r\n\r\nOn Sunday agenticmail wrote:\r\n> held")
        provider.deliver(genuine)
        events.next("message.sent", timeout=30, where=lambda e: e["data"]["message_id"] == mid)
    out = provider.sink.with_id(mid)
    assert len(out) == 1 and out[0].rcpt_tos == ["partner@example.org"]
    assert pending_status() == "approved"

    def confirmation() -> bool:
        return any("Approved" in str(message_from_bytes(raw)["Subject"])
                   and "deploy keys" in str(message_from_bytes(raw)["Subject"])
                   for raw, _ in provider.inbox().values())

    wait_until(confirmation, timeout=20, interval=0.1, what="the confirmation")
    assert agent_inbox(relay_daemon, key) == []  # no reply ever reached an agent
    assert all(b"\\Seen" not in flags for _, flags in provider.inbox().values())
    assert len(provider.sink.with_id(mid)) == 1


def test_revoked_app_password_is_reported_in_plain_words_and_recovers(
        relay_daemon: DaemonHandle, provider: Provider) -> None:
    created = relay_daemon.create_agent(unique("rv"))
    name, key = created["agent"]["name"], created["api_key"]
    provider.host.change_password(OWNER, "revoked-" + uuid.uuid4().hex)
    try:
        provider.host._doveadm("kick", OWNER)  # the provider ends the session
        failed = wait_until(lambda: (s := relay_status(relay_daemon))["failures"] >= 1
                            and "refused the login" in (s["last_error"] or "") and s,
                            timeout=30, interval=0.1, what="the login failure")
        assert "revoked" in failed["last_error"] and provider.password not in str(failed)
    finally:
        provider.host.change_password(OWNER, provider.password)
    with EventStream(relay_daemon.api_url, key) as events:
        raw, mid = mail("after the new password", to=f"owner+{name}@example.com")
        provider.deliver(raw)
        events.next("message.new", timeout=60, where=new_for(mid))


def test_setup_tests_both_logins_before_saving(relay_daemon: DaemonHandle,
                                               provider: Provider) -> None:
    with relay_daemon.client() as owner:
        bad = owner.put("/v1/relay", json={**provider.relay_account(), "password": "wrong"})
        assert bad.status_code == 502, bad.text
        assert "refused the login" in bad.json()["error"]["message"]
        closed = owner.put("/v1/relay", json={**provider.relay_account(), "imap_port": 1})
        assert closed.status_code == 503, closed.text
        status = owner.get("/v1/relay").json()["relay"]
    assert status["configured"] and status["account"]["address"] == OWNER
    assert "password" not in str(status).lower().replace("app password", "")
    with relay_daemon.client(relay_daemon.create_agent(unique("x"))["api_key"]) as agent:
        assert agent.get("/v1/relay").status_code == 403
        assert agent.put("/v1/relay", json=provider.relay_account()).status_code == 403
