"""A quiet watcher parks (closes its IMAP session: no Dovecot memory for a thousand quiet
agents) when the local Dovecot pushes every change, and every change still reaches the agent:
the daemon's own deliveries and API changes wake it, a mail client's changes are pushed, and
what nobody announces (``doveadm save``) is found by the periodic look."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from imapclient import IMAPClient

from agenticmail.hosts import build_host
from agenticmail_testing.daemon import DaemonHandle, wait_until
from agenticmail_testing.sse import EventStream


@pytest.fixture(scope="module")
def parking() -> Iterator[DaemonHandle]:
    handle = DaemonHandle(watch_linger_seconds=1, watch_check_seconds=3).start()
    try:
        assert handle.daemon is not None
        if not handle.daemon.ctx.host.push_enabled:
            pytest.skip("this Dovecot has no push_notification Lua driver")
        yield handle
    finally:
        handle.close()


def _watcher(handle: DaemonHandle, name: str) -> dict[str, Any]:
    with handle.client() as owner:
        return dict(owner.get("/v1/health").json()["watchers"][name])


def _sessions(handle: DaemonHandle, address: str) -> int:
    """How many IMAP sessions Dovecot has open for ``address`` (``doveadm who``)."""
    config = build_host(handle.settings).config_path  # type: ignore[attr-defined]
    out = subprocess.run([_doveadm(), "-c", str(config), "who", "-1", address],
                         capture_output=True, text=True, check=True).stdout
    return sum(1 for line in out.splitlines() if line.startswith(address))


def _doveadm() -> str:
    return shutil.which("doveadm") or "/usr/bin/doveadm"


def _parked(handle: DaemonHandle, name: str) -> None:
    wait_until(lambda: _watcher(handle, name)["parked"], timeout=15,
               what=f"{name}'s watcher to park")


def _mail_client(creds: dict[str, Any]) -> IMAPClient:
    client = IMAPClient("127.0.0.1", port=creds["imap_port"], ssl=False, timeout=10)
    client.login(creds["username"], creds["password"])
    return client


def test_a_parked_watcher_holds_no_session_and_misses_nothing(parking: DaemonHandle) -> None:
    alice, bob = parking.create_agent("alice"), parking.create_agent("bob")
    address, creds = bob["agent"]["address"], bob["mail"]
    _parked(parking, "bob")
    status = _watcher(parking, "bob")
    assert status["connected"] and status["parked"]
    assert _sessions(parking, address) == 0  # nothing of bob's left in Dovecot

    with EventStream(parking.api_url, bob["api_key"]) as events:
        # the daemon's own delivery wakes it
        with parking.client(alice["api_key"]) as api:
            assert api.post("/v1/mail/send", json={"to": [address], "subject": "while parked",
                                                   "text": "hi"}).status_code == 202
        uid = events.next("message.new", 10, where=lambda e: e["data"]["message"]["subject"]
                          == "while parked")["data"]["message"]["uid"]

        # a mail client's flag change is pushed (a wake, not the periodic look, which counts none)
        _parked(parking, "bob")
        wakes = _watcher(parking, "bob")["wakes"]
        client = _mail_client(creds)
        try:
            client.select_folder("INBOX")
            client.add_flags([uid], [b"\\Flagged"])
        finally:
            client.logout()
        events.next("message.flags", 10, where=lambda e: e["data"]["uid"] == uid
                    and "\\Flagged" in e["data"]["flags"])
        assert _watcher(parking, "bob")["wakes"] > wakes

        # a change through the API wakes it
        _parked(parking, "bob")
        with parking.client(bob["api_key"]) as api:
            assert api.post(f"/v1/mail/messages/{uid}/flags",
                            json={"add": ["$agent-done"]}).status_code == 200
        events.next("message.flags", 10, where=lambda e: e["data"]["uid"] == uid
                    and "$agent-done" in e["data"]["flags"])

        # a mail client's APPEND and its expunge are pushed
        _parked(parking, "bob")
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = "x@example.org", address, "appended"
        msg.set_content("filed by a mail client")
        client = _mail_client(creds)
        try:
            client.append("INBOX", msg.as_bytes())
        finally:
            client.logout()
        appended = events.next("message.new", 10, where=lambda e: e["data"]["message"][
            "subject"] == "appended")["data"]["message"]["uid"]
        _parked(parking, "bob")
        wakes = _watcher(parking, "bob")["wakes"]
        client = _mail_client(creds)
        try:
            client.select_folder("INBOX")
            client.delete_messages([appended])
            client.expunge()
        finally:
            client.logout()
        events.next("message.expunged", 10, where=lambda e: e["data"]["uid"] == appended)
        assert _watcher(parking, "bob")["wakes"] > wakes

        # what nobody announces (doveadm loads no push plugin) is found by the periodic look
        _parked(parking, "bob")
        config = build_host(parking.settings).config_path  # type: ignore[attr-defined]
        unannounced = (f"From: x@example.org\r\nTo: {address}\r\nSubject: unannounced\r\n"
                       "\r\nsaved behind everyone's back\r\n").encode()
        subprocess.run([_doveadm(), "-c", str(config), "save", "-u", address],
                       input=unannounced, check=True, capture_output=True)
        events.next("message.new", 15, where=lambda e: e["data"]["message"]["subject"]
                    == "unannounced")
        # each message was announced once
        assert not [e for e in events.drain() if e["type"] == "message.new"]
