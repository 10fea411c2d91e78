"""The phishing rules that need the agent's correspondents, end to end on a real daemon: a
sender imitating a domain the agent corresponds with, and a first-contact domain asking for a
payment, are scored at ingest from the agent's own address book (issue 15)."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from typing import Any

from agenticmail_testing.daemon import DaemonHandle, unique
from agenticmail_testing.sse import EventStream


def _deliver(handle: DaemonHandle, rcpt: str, sender: str, subject: str, text: str) -> None:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, rcpt, subject
    message["Message-ID"] = f"<{unique('m')}@outside.example>"
    message.set_content(text)
    with smtplib.LMTP(handle.lmtp_socket) as lmtp:
        lmtp.send_message(message, to_addrs=[rcpt])


def _rules(event: dict[str, Any]) -> set[str]:
    return {r["id"] for r in event["data"]["message"]["security"]["rules"]}


def test_lookalike_of_a_correspondent_and_first_contact_request(
        daemon: DaemonHandle, agent_pair: tuple[dict[str, Any], dict[str, Any]]) -> None:
    _, bob = agent_pair
    b_addr = bob["agent"]["address"]
    vendor = unique("acmesupplies")  # a fresh domain per run: the contacts are per agent
    with EventStream(daemon.api_url, bob["api_key"]) as events:
        _deliver(daemon, b_addr, f"Anna <anna@{vendor}.example>", "order 1182",
                 "The pallets leave on Thursday.")
        first = events.next("message.new", where=lambda e: e["data"]["message"]["subject"]
                            == "order 1182")
        assert not _rules(first) & {"PH_LOOKALIKE_CONTACT"}

        # one letter off the known domain: the same words now carry the look-alike rule
        fake = vendor.replace("supplies", "suppl1es")
        _deliver(daemon, b_addr, f"Anna <anna@{fake}.example>", "order 1183",
                 "The pallets leave on Thursday.")
        look = events.next("message.new", where=lambda e: e["data"]["message"]["subject"]
                           == "order 1183")
        assert "PH_LOOKALIKE_CONTACT" in _rules(look)

        # the known correspondent asking for a payment is not a first contact
        _deliver(daemon, b_addr, f"Anna <anna@{vendor}.example>", "invoice 1",
                 "Please pay the attached invoice by wire transfer.")
        known = events.next("message.new", where=lambda e: e["data"]["message"]["subject"]
                            == "invoice 1")
        assert "PH_NEW_SENDER_REQUEST" not in _rules(known)
        # a never-seen domain asking the same is
        _deliver(daemon, b_addr, f"Dana <dana@{unique('newvendor')}.example>", "invoice 2",
                 "Please pay the attached invoice by wire transfer.")
        new = events.next("message.new", where=lambda e: e["data"]["message"]["subject"]
                          == "invoice 2")
        assert "PH_NEW_SENDER_REQUEST" in _rules(new)
