"""Issue 18 #7 and #8 end to end on the real daemon: a poison message (300,000 RFC 2047 words
in a 5 MB Subject) is quarantined as too_complex within seconds while the agent's other mail
keeps flowing, and reading it answers at once; an agent's submission the outbound guard
could not read whole is refused; a verdict stays with its message when another message reuses
the Message-ID."""

from __future__ import annotations

import smtplib
from typing import Any

import pytest

from agenticmail.mail import bounds
from agenticmail_testing.adversarial import many_parts, poison
from agenticmail_testing.daemon import DaemonHandle
from agenticmail_testing.sse import EventStream
from tests.e2e.test_inbound_protection import INJECTION_TEXT, _deliver, _external

WITHIN_SECONDS = 20  # the watcher used to spend 13 minutes on the poison message


def _deliver_raw(handle: DaemonHandle, rcpt: str, raw: bytes) -> None:
    """As ``_deliver``, for bytes the stdlib should not re-serialise (the 5 MB Subject)."""
    with smtplib.LMTP(handle.lmtp_socket) as lmtp:
        lmtp.sendmail("mallory@evil-exfil.example", [rcpt], raw)


def test_poison_message_is_quarantined_as_too_complex_and_mail_keeps_flowing(
        daemon: DaemonHandle, agent_pair: tuple[dict[str, Any], dict[str, Any]]) -> None:
    _, bob = agent_pair
    addr = bob["agent"]["address"]
    raw = poison()
    assert len(raw) > 5_000_000 and len(raw) < daemon.settings.max_message_bytes
    with EventStream(daemon.api_url, bob["api_key"]) as events:
        _deliver_raw(daemon, addr, raw)
        _deliver(daemon, addr, _external("after the poison", "Shall we meet at noon?",
                                         sender="Carol <carol@example.org>"))
        # every event in order, none skipped: the poison first, then the ordinary message
        quarantined = events.next(timeout=WITHIN_SECONDS)
        ordinary = events.next(timeout=WITHIN_SECONDS)
    assert quarantined["type"] == "message.spam" and quarantined["data"]["folder"] == "Spam"
    sec = quarantined["data"]["message"]["security"]
    assert sec["category"] == "too_complex" and sec["spam"] is True and sec["score"] >= 40
    assert sec["too_complex"]["limit"] == "header_bytes"
    assert [r["id"] for r in sec["rules"]] == ["TOO_COMPLEX"]
    assert quarantined["data"]["message"]["subject"].startswith("abcdabcd")
    assert ordinary["type"] == "message.new"
    assert ordinary["data"]["message"]["subject"] == "after the poison"

    uid = quarantined["data"]["uid"]
    with daemon.client(bob["api_key"]) as api:  # its 30 s timeout: "answers in seconds"
        listed = api.get("/v1/mail/messages", params={"folder": "Spam"})
        read = api.get(f"/v1/mail/messages/{uid}", params={"folder": "Spam"})
    assert listed.status_code == 200, listed.text
    assert uid in [m["uid"] for m in listed.json()["messages"]]
    assert read.status_code == 200, read.text
    body = read.json()
    assert body["security"] == sec  # the stored verdict, not a second reading
    assert body["message"]["text"] == "" and body["message"]["html"] is None


def test_an_attached_poison_message_is_quarantined_and_listed(
        daemon: DaemonHandle, agent_pair: tuple[dict[str, Any], dict[str, Any]]) -> None:
    _, bob = agent_pair
    # the attached message's 5 MB Subject travels in the BODYSTRUCTURE of a listing
    raw = (b'Subject: fwd\r\nMessage-ID: <fwd@evil.example>\r\nFrom: x@evil.example\r\n'
           b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
           b"--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
           b"--b\r\nContent-Type: message/rfc822\r\n\r\n" + poison() + b"\r\n--b--\r\n")
    with EventStream(daemon.api_url, bob["api_key"]) as events:
        _deliver_raw(daemon, bob["agent"]["address"], raw)
        quarantined = events.next(timeout=WITHIN_SECONDS)
    assert quarantined["type"] == "message.spam"
    assert quarantined["data"]["message"]["security"]["too_complex"]["limit"] == "encoded_words"
    with daemon.client(bob["api_key"]) as api:
        listed = api.get("/v1/mail/messages", params={"folder": "Spam"})
    assert listed.status_code == 200, listed.text
    assert [(m["uid"], m["subject"], m["has_attachments"]) for m in listed.json()["messages"]] \
        == [(quarantined["data"]["uid"], "fwd", True)]


def test_a_reused_message_id_does_not_launder_a_verdict(
        daemon: DaemonHandle, agent_pair: tuple[dict[str, Any], dict[str, Any]]) -> None:
    _, bob = agent_pair
    addr = bob["agent"]["address"]
    injection = _external("launder me", INJECTION_TEXT)
    reuse = _external("quarterly numbers", "The quarterly numbers are attached as agreed.",
                      sender="Carol <carol@example.org>")
    del reuse["Message-ID"]
    reuse["Message-ID"] = injection["Message-ID"]
    with EventStream(daemon.api_url, bob["api_key"]) as events:
        _deliver(daemon, addr, injection)
        first = events.next()
        _deliver(daemon, addr, reuse)
        second = events.next()
    assert first["type"] == "message.spam" and second["type"] == "message.new"
    assert first["data"]["message"]["message_id"] == second["data"]["message"]["message_id"]
    verdict = first["data"]["message"]["security"]
    assert verdict["score"] >= 40 and verdict["category"] == "prompt_injection"

    with daemon.client(bob["api_key"]) as api:
        spam = api.get(f"/v1/mail/messages/{first['data']['uid']}",
                       params={"folder": first["data"]["folder"]}).json()
        clean = api.get(f"/v1/mail/messages/{second['data']['uid']}").json()
    assert spam["message"]["subject"] == "launder me"
    assert spam["security"]["score"] == verdict["score"] >= 40
    assert spam["security"]["category"] == "prompt_injection"
    assert spam["security"]["internal"] is False
    assert clean["message"]["subject"] == "quarterly numbers"
    assert clean["security"] == second["data"]["message"]["security"]
    assert clean["security"]["score"] < 40 and clean["security"]["spam"] is False

    # a move keeps the bytes, so the message keeps its verdict in its new folder
    with daemon.client(bob["api_key"]) as api:
        assert api.post("/v1/mail/folders", json={"name": "Evidence"}).status_code == 201
        moved = api.post(f"/v1/mail/messages/{first['data']['uid']}/move",
                         json={"folder": first["data"]["folder"], "to": "Evidence"})
        assert moved.status_code == 200, moved.text
        kept = api.get("/v1/mail/messages", params={"folder": "Evidence"}).json()["messages"]
        assert [m["subject"] for m in kept] == ["launder me"]
        again = api.get(f"/v1/mail/messages/{kept[0]['uid']}",
                        params={"folder": "Evidence"}).json()
    assert again["security"] == spam["security"]


def test_a_submission_the_guard_cannot_read_whole_is_refused(
        daemon: DaemonHandle, agent_pair: tuple[dict[str, Any], dict[str, Any]]) -> None:
    alice, bob = agent_pair
    creds, sender = alice["mail"], alice["agent"]["address"]
    raw = many_parts(bounds.MAX_MIME_PARTS + 1).replace(
        b"From: x@evil.example", f"From: {sender}".encode()).replace(
        b"part 500", b"AWS secret: aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    with smtplib.SMTP(creds["smtp_host"], creds["smtp_port"], timeout=WITHIN_SECONDS) as smtp:
        smtp.login(creds["username"], alice["api_key"])
        with pytest.raises(smtplib.SMTPDataError) as refused:
            smtp.sendmail(sender, [bob["agent"]["address"]], raw)
    assert refused.value.smtp_code == 554 and b"too complex" in refused.value.smtp_error
    with daemon.client(alice["api_key"]) as api:
        assert api.get("/v1/mail/outbox").json()["outbox"] == []
