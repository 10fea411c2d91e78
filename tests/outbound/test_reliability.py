"""Delivery under faults (issue 17): a Sent copy that fails, a crash after local delivery, a
route that is down or hangs, a server that answers the final dot too late, and message
headers a submission client left out. Real daemon, real Dovecot, real SMTP servers."""

from __future__ import annotations

import email
import os
import signal
import smtplib
import socket
import sqlite3
from collections.abc import Iterator
from email.message import Message
from typing import Any

import pytest
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from agenticmail.processes import pid_alive
from agenticmail_testing.daemon import DaemonHandle, unique, wait_until
from agenticmail_testing.smtp_sink import SmtpSink
from agenticmail_testing.sse import EventStream

FAST = {  # seconds, so that budgets and timeouts run out within a test
    "smtp_timeout_seconds": 2, "send_delayed_after_seconds": 2, "send_retry_seconds": 600,
    "send_backoff_max_seconds": 1,
}


@pytest.fixture(scope="module")
def fast(sink: SmtpSink) -> Iterator[DaemonHandle]:
    handle = DaemonHandle(**FAST).start()
    with handle.client() as owner:
        assert owner.put("/v1/route", json=sink.route()).status_code == 200
    yield handle
    handle.close()


@pytest.fixture(autouse=True)
def _plain_sink(sink: SmtpSink) -> Iterator[None]:
    yield
    sink.set_script(None)
    sink.answer_late(0, 0)


def _send(handle: DaemonHandle, key: str, **body: Any) -> dict[str, Any]:
    with handle.client(key) as api:
        r = api.post("/v1/mail/send", json={"subject": unique("s"), "text": "hello", **body})
    assert r.status_code == 202, r.text
    data: dict[str, Any] = r.json()
    return data


def _imap(agent: dict[str, Any]) -> IMAPClient:
    creds = agent["mail"]
    imap = IMAPClient(creds["imap_host"], port=creds["imap_port"], ssl=False, timeout=10)
    imap.login(creds["username"], creds["password"])
    return imap


def _fetch_raw(agent: dict[str, Any], uid: int) -> bytes:
    with _imap(agent) as imap:
        imap.select_folder("INBOX", readonly=True)
        data: bytes = imap.fetch([uid], ["BODY.PEEK[]"])[uid][b"BODY[]"]
    return data


def _copies(agent: dict[str, Any], folder: str, message_id: str) -> int:
    """How many messages in the agent's ``folder`` carry ``message_id`` (over IMAP)."""
    with _imap(agent) as imap:
        if folder != "INBOX":
            folder = next(name for flags, _, name in imap.list_folders()
                          if f"\\{folder}".encode() in flags)
        imap.select_folder(folder, readonly=True)
        return len(imap.search(["HEADER", "Message-ID", message_id.strip("<>")]))


def _reachable_copies(agent: dict[str, Any], folder: str, message_id: str) -> int | None:
    """:func:`_copies`, or None while the mail host is down."""
    try:
        return _copies(agent, folder, message_id)
    except (OSError, IMAPClientError):
        return None


def _kill_dovecot(handle: DaemonHandle) -> None:
    assert handle.daemon is not None
    pid = handle.daemon.ctx.host.pid  # type: ignore[attr-defined]
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not pid_alive(pid), timeout=10, what="Dovecot to die")


# -- 1: delivered mail is sent, even when its Sent copy cannot be saved yet ------------------

def test_mail_host_down_after_delivery_is_sent_and_filed_later(
        fast: DaemonHandle, sink: SmtpSink) -> None:
    agent = fast.create_agent(unique("ds"))

    def dovecot_dies_as_the_route_accepts(message: Message) -> None:
        if message.get("Subject", "").startswith("host dies"):
            _kill_dovecot(fast)  # the Sent copy is saved next: the mail host is gone

    sink.set_script(dovecot_dies_as_the_route_accepts)
    with EventStream(fast.api_url, agent["api_key"]) as events:
        queued = _send(fast, agent["api_key"], to=["far@example.org"], subject="host dies")
        done = events.next(where=lambda e: e["type"] in ("message.sent", "message.failed"),
                           timeout=30)
    assert done["type"] == "message.sent", done["data"]
    assert len(sink.with_id(queued["message_id"])) == 1
    assert fast.outbox_row(queued["id"])["status"] == "sent"
    # the supervisor restarts Dovecot; the Sent copy follows on its own, once
    wait_until(lambda: _reachable_copies(agent, "Sent", queued["message_id"]) == 1,
               timeout=60, interval=0.5, what="the Sent copy after the mail host came back")
    wait_until(lambda: fast.outbox_row(queued["id"])["last_error"] is None, timeout=30,
               what="the row to record the Sent copy")
    assert _copies(agent, "Sent", queued["message_id"]) == 1


# -- 3: a crash after local delivery never gives the recipient a second copy -----------------

def test_retry_after_a_crash_mid_local_delivery_delivers_once(fast: DaemonHandle) -> None:
    alice, bob = fast.create_agent(unique("la")), fast.create_agent(unique("lb"))
    with EventStream(fast.api_url, bob["api_key"]) as inbox:
        queued = _send(fast, alice["api_key"], to=[bob["agent"]["address"]])
        inbox.next("message.new", where=lambda e:
                   e["data"]["message"]["message_id"] == queued["message_id"])
    wait_until(lambda: fast.outbox_row(queued["id"])["status"] == "sent", what="the send")
    # What a SIGKILL between Dovecot's LMTP 250 and the progress commit leaves behind: a
    # leased row, local delivery and Sent copy not recorded (both happened).
    fast.stop()
    with sqlite3.connect(fast.settings.db_path) as db:
        db.execute("UPDATE outbox SET status = 'sending', delivered_local = 0, filed = 0, "
                   "lease_until = 0, sent_at = NULL WHERE id = ?", (queued["id"],))
    fast.start()
    with EventStream(fast.api_url, bob["api_key"]) as inbox:
        wait_until(lambda: fast.outbox_row(queued["id"])["status"] == "sent", timeout=30,
                   what="the retried send")
        marker = _send(fast, alice["api_key"], to=[bob["agent"]["address"]])
        inbox.next("message.new", where=lambda e:
                   e["data"]["message"]["message_id"] == marker["message_id"])
        again = [e for e in inbox.drain() if e["type"] == "message.new"
                 and e["data"]["message"]["message_id"] == queued["message_id"]]
    assert _copies(bob, "INBOX", queued["message_id"]) == 1
    assert _copies(alice, "Sent", queued["message_id"]) == 1
    assert again == []


def test_a_second_copy_of_our_own_mail_is_never_announced_again(fast: DaemonHandle) -> None:
    """Should a second copy reach the mailbox anyway (a retry racing a crash), the recipient
    still hears of the Message-ID once."""
    alice, bob = fast.create_agent(unique("na")), fast.create_agent(unique("nb"))
    with EventStream(fast.api_url, bob["api_key"]) as inbox:
        queued = _send(fast, alice["api_key"], to=[bob["agent"]["address"]])
        first = inbox.next("message.new", where=lambda e:
                           e["data"]["message"]["message_id"] == queued["message_id"])
        raw = _fetch_raw(bob, first["data"]["uid"])
        assert fast.daemon is not None
        lmtp_socket = str(fast.daemon.ctx.host.lmtp_socket)  # type: ignore[attr-defined]
        with smtplib.LMTP(lmtp_socket, timeout=10) as lmtp:
            lmtp.sendmail(alice["agent"]["address"], [bob["agent"]["address"]], raw)
        marker = _send(fast, alice["api_key"], to=[bob["agent"]["address"]])
        inbox.next("message.new", where=lambda e:
                   e["data"]["message"]["message_id"] == marker["message_id"])
        again = [e for e in inbox.drain() if e["type"] == "message.new"
                 and e["data"]["message"]["message_id"] == queued["message_id"]]
    assert _copies(bob, "INBOX", queued["message_id"]) == 2  # the mailbox has both
    assert again == []


# -- 4: a route down for a while: message.delayed once, then sent; failed after the budget --

def test_route_down_a_while_announces_delayed_once_then_sends(
        fast: DaemonHandle, sink: SmtpSink) -> None:
    agent = fast.create_agent(unique("rd"))
    down = {"on": True}
    sink.set_script(lambda m: "451 4.3.0 try again later" if down["on"] else None)
    with EventStream(fast.api_url, agent["api_key"]) as events:
        queued = _send(fast, agent["api_key"], to=["far@example.org"])
        delayed = events.next("message.delayed", timeout=30)
        assert delayed["data"]["message_id"] == queued["message_id"]
        assert "451" in delayed["data"]["error"] and delayed["data"]["retrying_until"]
        assert fast.outbox_row(queued["id"])["status"] == "queued"
        wait_until(lambda: fast.outbox_row(queued["id"])["attempts"] >= 4, timeout=30,
                   what="more retries after the delay was announced")
        down["on"] = False
        events.next("message.sent", timeout=30)
        later = [e for e in events.drain() if e["type"] in ("message.delayed",
                                                            "message.failed")]
    assert later == []  # announced once, never failed
    assert len(sink.with_id(queued["message_id"])) == 1


def test_a_route_down_longer_than_the_budget_fails_the_send(sink: SmtpSink) -> None:
    handle = DaemonHandle(**{**FAST, "send_retry_seconds": 3}).start()
    try:
        with handle.client() as owner:
            assert owner.put("/v1/route", json=sink.route()).status_code == 200
        agent = handle.create_agent(unique("rb"))
        sink.set_script(lambda m: "451 4.3.0 try again later")
        with EventStream(handle.api_url, agent["api_key"]) as events:
            queued = _send(handle, agent["api_key"], to=["far@example.org"])
            failed = events.next("message.failed", timeout=30)
        assert failed["data"]["message_id"] == queued["message_id"]
        assert failed["data"]["error"].startswith("gave up after")
        assert handle.outbox_row(queued["id"])["status"] == "failed"
    finally:
        handle.close()


# -- 5: a hung route holds external slots only -------------------------------------------------

@pytest.fixture
def hung_server() -> Iterator[socket.socket]:
    """Accepts connections (the kernel does) and never says a word."""
    server = socket.create_server(("127.0.0.1", 0), backlog=64)
    yield server
    server.close()


def test_a_hung_route_does_not_delay_agent_to_agent_mail(
        daemon: DaemonHandle, hung_server: socket.socket) -> None:
    """The session daemon waits 60 s per SMTP step, like a real one."""
    alice, bob = daemon.create_agent(unique("ha")), daemon.create_agent(unique("hb"))
    port = hung_server.getsockname()[1]
    with daemon.client() as owner:
        assert owner.put("/v1/route", json={
            "host": "127.0.0.1", "port": port, "tls": "none", "address": "o@example.com",
            "username": "o@example.com", "password": "x"}).status_code == 200
    try:
        stuck = [_send(daemon, alice["api_key"], to=[f"far{i}@example.org"])
                 for i in range(daemon.settings.send_concurrency + 2)]
        wait_until(lambda: all(daemon.outbox_row(s["id"])["status"] == "sending"
                               for s in stuck[:daemon.settings.send_concurrency]),
                   timeout=10, what="the external sends to hang")
        with EventStream(daemon.api_url, bob["api_key"]) as inbox:
            local = _send(daemon, alice["api_key"], to=[bob["agent"]["address"]])
            got = inbox.next("message.new", timeout=10, where=lambda e:
                             e["data"]["message"]["message_id"] == local["message_id"])
        assert got["agent"] == bob["agent"]["name"]
    finally:
        with daemon.client() as owner:  # the stuck sends fail: no route any more
            owner.delete("/v1/route")


# -- 6: the answer to the final dot comes too late: in doubt, not an unflagged resend --------

def test_a_late_answer_to_the_final_dot_is_in_doubt(fast: DaemonHandle,
                                                    sink: SmtpSink) -> None:
    agent = fast.create_agent(unique("ld"))
    sink.answer_late(fast.settings.smtp_timeout_seconds + 2)
    with EventStream(fast.api_url, agent["api_key"]) as events:
        queued = _send(fast, agent["api_key"], to=["far@example.org"])
        events.next("message.sent", timeout=30)
    row = fast.outbox_row(queued["id"])
    assert row["status"] == "sent" and row["in_doubt"] is True
    assert len(sink.with_id(queued["message_id"])) == 2  # the server did have it


# -- 13: a submission without Date gets one (RFC 6409 §8) -------------------------------------

def test_submission_without_date_or_message_id_gets_both(fast: DaemonHandle) -> None:
    alice, bob = fast.create_agent(unique("sa")), fast.create_agent(unique("sb"))
    creds, subject = alice["mail"], unique("no date")
    with EventStream(fast.api_url, bob["api_key"]) as inbox:
        with smtplib.SMTP(creds["smtp_host"], creds["smtp_port"], timeout=10) as smtp:
            smtp.login(creds["username"], creds["password"])
            smtp.sendmail(alice["agent"]["address"], [bob["agent"]["address"]],
                          f"From: {alice['agent']['address']}\r\nTo: {bob['agent']['address']}"
                          f"\r\nSubject: {subject}\r\n\r\nbody\r\n".encode())
        got = inbox.next("message.new", where=lambda e:
                         e["data"]["message"]["subject"] == subject)
    message = email.message_from_bytes(_fetch_raw(bob, got["data"]["uid"]))
    assert message["Date"] and email.utils.parsedate_to_datetime(message["Date"])
    assert message["Message-ID"]
