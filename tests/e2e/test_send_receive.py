"""Agents mail each other over the API and over SMTP submission; events arrive live."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from typing import Any

import aiosmtplib
import pytest

from agenticmail_testing.daemon import DaemonHandle, wait_until
from agenticmail_testing.sse import EventStream


def _new_for(stream: EventStream, *subjects: str, timeout: float = 10) -> list[dict[str, Any]]:
    """The ``message.new`` events for ``subjects``, in that order whatever order they came in
    (the sender delivers concurrently); no event for one of them is passed over."""
    found: dict[str, dict[str, Any]] = {}
    while len(found) < len(subjects):
        event = stream.next("message.new", timeout, where=lambda e: e["data"]["message"][
            "subject"] in subjects and e["data"]["message"]["subject"] not in found)
        found[event["data"]["message"]["subject"]] = event
    return [found[s] for s in subjects]


async def test_api_and_smtp_sends_reach_bob_live(daemon: DaemonHandle,
                                                 agent_pair: tuple[dict, dict]) -> None:
    alice, bob = agent_pair
    a_name, b_addr = alice["agent"]["name"], bob["agent"]["address"]
    with EventStream(daemon.api_url, bob["api_key"]) as stream:
        with daemon.client(alice["api_key"]) as api:
            r = api.post("/v1/mail/send", json={
                "to": [b_addr], "subject": "hello over the API", "text": "body one",
                "html": "<p>body <b>one</b></p>",
            })
            assert r.status_code == 202, r.text
            api_mid = r.json()["message_id"]
            assert r.json()["status"] == "queued" and r.json()["id"].startswith("ob_")

        msg = EmailMessage()
        msg["From"], msg["To"] = alice["agent"]["address"], b_addr
        msg["Subject"] = "hello over SMTP"
        msg.set_content("body two")
        creds = alice["mail"]
        await aiosmtplib.send(msg, hostname=creds["smtp_host"], port=creds["smtp_port"],
                              username=creds["username"], password=creds["password"],
                              start_tls=False, use_tls=False)

        first, second = _new_for(stream, "hello over the API", "hello over SMTP")
    assert first["agent"] == bob["agent"]["name"]
    assert first["data"]["message"]["text"].strip() == "body one"
    assert first["data"]["message"]["message_id"] == api_mid
    assert second["data"]["message"]["text"].strip() == "body two"
    assert second["data"]["message"]["from"].endswith(alice["agent"]["address"]) or \
        alice["agent"]["address"] in second["data"]["message"]["from"]

    with daemon.client(bob["api_key"]) as api:
        listing = api.get("/v1/mail/messages").json()
        assert {m["subject"] for m in listing["messages"]} >= {"hello over the API",
                                                                "hello over SMTP"}
        assert listing["total"] == 2
        uid = next(m["uid"] for m in listing["messages"] if m["subject"] == "hello over the API")
        read = api.get(f"/v1/mail/messages/{uid}").json()["message"]
        assert read["text"].strip() == "body one" and "<b>one</b>" in read["html"]

    with daemon.client() as owner:
        sent = owner.get("/v1/mail/messages", params={"agent": a_name, "folder": "Sent"}).json()
    assert {m["subject"] for m in sent["messages"]} == {"hello over the API", "hello over SMTP"}


def test_smtp_submission_accepts_api_key_and_refuses_spoofing(
        daemon: DaemonHandle, agent_pair: tuple[dict, dict]) -> None:
    alice, bob = agent_pair
    creds = alice["mail"]
    with smtplib.SMTP(creds["smtp_host"], creds["smtp_port"], timeout=10) as smtp:
        smtp.login(creds["username"], alice["api_key"])
        with pytest.raises(smtplib.SMTPSenderRefused):
            smtp.sendmail(bob["agent"]["address"], [bob["agent"]["address"]],
                          b"Subject: spoof\r\n\r\nx\r\n")
    with smtplib.SMTP(creds["smtp_host"], creds["smtp_port"], timeout=10) as smtp, \
            pytest.raises(smtplib.SMTPAuthenticationError):
        smtp.login(creds["username"], "wrong-password")
    with smtplib.SMTP(creds["smtp_host"], creds["smtp_port"], timeout=10) as smtp, \
            pytest.raises(smtplib.SMTPSenderRefused):
        smtp.sendmail(alice["agent"]["address"], [bob["agent"]["address"]], b"Subject: x\r\n\r\nx")



@pytest.mark.parametrize("whose", ["other agent's key", "master key", "other agent's password"])
def test_smtp_login_takes_only_the_agents_own_secrets(
        daemon: DaemonHandle, agent_pair: tuple[dict, dict], whose: str) -> None:
    """SMTP AUTH goes through services.auth.login_agent, like the API's key check: a key or
    password that is valid, but not this agent's, does not log in as it."""
    alice, bob = agent_pair
    secret = {"other agent's key": bob["api_key"], "master key": daemon.master_key,
              "other agent's password": bob["mail"]["password"]}[whose]
    creds = alice["mail"]
    with smtplib.SMTP(creds["smtp_host"], creds["smtp_port"], timeout=10) as smtp, \
            pytest.raises(smtplib.SMTPAuthenticationError):
        smtp.login(creds["username"], secret)

def test_threading_headers_flags_move_delete(daemon: DaemonHandle,
                                             agent_pair: tuple[dict, dict]) -> None:
    alice, bob = agent_pair
    with EventStream(daemon.api_url, bob["api_key"]) as stream, \
            daemon.client(alice["api_key"]) as a_api, daemon.client(bob["api_key"]) as b_api:
        first = a_api.post("/v1/mail/send", json={
            "to": bob["agent"]["address"], "subject": "thread start", "text": "1"}).json()
        a_api.post("/v1/mail/send", json={
            "to": bob["agent"]["address"], "subject": "Re: thread start", "text": "2",
            "in_reply_to": first["message_id"], "references": [first["message_id"]]})
        e1, e2 = _new_for(stream, "thread start", "Re: thread start")
        assert e2["data"]["message"]["in_reply_to"] == first["message_id"]
        assert e1["data"]["thread_id"] == e2["data"]["thread_id"]

        uid = e1["data"]["uid"]
        r = b_api.post(f"/v1/mail/messages/{uid}/flags", json={"add": ["seen", "$agent-done"]})
        assert r.status_code == 200 and "\\Seen" in r.json()["flags"]
        flags_event = stream.next("message.flags", where=lambda e: e["data"]["uid"] == uid)
        assert "$agent-done" in flags_event["data"]["flags"]

        r = b_api.post(f"/v1/mail/messages/{uid}/move", json={"to": "Archive"})
        assert r.status_code == 200
        stream.next("message.expunged", where=lambda e: e["data"]["uid"] == uid)
        archived = b_api.get("/v1/mail/messages", params={"folder": "Archive"}).json()
        assert [m["subject"] for m in archived["messages"]] == ["thread start"]

        uid2 = e2["data"]["uid"]
        assert b_api.delete(f"/v1/mail/messages/{uid2}").status_code == 200
        stream.next("message.expunged", where=lambda e: e["data"]["uid"] == uid2)
        assert b_api.get(f"/v1/mail/messages/{uid2}").json()["error"]["code"] == "not_found"

        found = b_api.get("/v1/mail/search", params={"folder": "Archive",
                                                     "subject": "thread"}).json()
        assert len(found["uids"]) == 1
        folders = {f["name"] for f in b_api.get("/v1/mail/folders").json()["folders"]}
        assert {"INBOX", "Sent", "Spam", "Archive", "Drafts", "Trash"} <= folders


def test_a_local_delivery_wakes_the_recipients_watcher(daemon: DaemonHandle,
                                                      agent_pair: tuple[dict, dict]) -> None:
    """The daemon itself delivered this message, so it tells bob's watcher at once instead of
    leaving it to Dovecot's IDLE notification (held back 500 ms by Dovecot): the watcher's
    IDLE wait ends on that wake, and it counts it."""
    alice, bob = agent_pair
    bob_name = bob["agent"]["name"]

    def wakes() -> int:
        with daemon.client() as owner:
            return int(owner.get("/v1/health").json()["watchers"][bob_name]["wakes"])

    before = wakes()
    with EventStream(daemon.api_url, bob["api_key"]) as stream:
        with daemon.client(alice["api_key"]) as api:
            r = api.post("/v1/mail/send", json={"to": [bob["agent"]["address"]],
                                                "subject": "wake up", "text": "now"})
            assert r.status_code == 202, r.text
        stream.next("message.new", 10,
                    where=lambda e: e["data"]["message"]["subject"] == "wake up")
    wait_until(lambda: wakes() > before, what="bob's watcher to count the wake")
