"""The bounce reader over real-world formats (tests/fixtures/bounces): hard vs soft, status,
the remote server's words, the original Message-ID; and what must not be read as a bounce."""

from __future__ import annotations

import time
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from agenticmail.mail.bounces import (
    COMPLAINT,
    HARD,
    MAX_HEURISTIC_BYTES,
    SOFT,
    Report,
    kind_of,
    read_report,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "bounces"


def report(name: str) -> Report | None:
    raw = (FIXTURES / name).read_bytes()
    return read_report(message_from_bytes(raw, policy=policy.compat32), raw)


# fixture -> (type, format, address, kind, action, status, words in the diagnostic, original id)
EXPECTED = {
    "postfix_hard.eml": ("bounce", "rfc3464", "nobody@example.net", HARD, "failed", "5.1.1",
                         "User unknown in virtual mailbox table", "<orig-0001@agenticmail.local>"),
    "postfix_soft_delayed.eml": ("bounce", "rfc3464", "slow@example.org", SOFT, "delayed",
                                 "4.4.1", "Connection timed out",
                                 "<orig-0002@agenticmail.local>"),
    "exim_hard.eml": ("bounce", "heuristic", "gone@example.net", HARD, "failed", "5.1.1",
                      "User unknown", "<orig-0003@agenticmail.local>"),
    "exim_soft_report.eml": ("bounce", "rfc3464", "full@example.org", SOFT, "delayed", "4.2.2",
                             "Mailbox full", "<orig-0004@agenticmail.local>"),
    "gmail_hard.eml": ("bounce", "rfc3464", "no-such-user@gmail.com", HARD, "failed", "5.1.1",
                       "does not exist", "<orig-0005@agenticmail.local>"),
    "gmail_soft_delayed.eml": ("bounce", "rfc3464", "busy@example.org", SOFT, "delayed",
                               "4.7.0", "unusual rate", "<orig-0006@agenticmail.local>"),
    "outlook_hard.eml": ("bounce", "rfc3464", "left.company@contoso.example", HARD, "failed",
                         "5.1.10", "RecipientNotFound", "<orig-0007@agenticmail.local>"),
    "stalwart_hard.eml": ("bounce", "rfc3464", "nope@example.com", HARD, "failed", "5.1.1",
                          "Mailbox does not exist", "<orig-0008@agenticmail.local>"),
    "stalwart_soft_delayed.eml": ("bounce", "rfc3464", "later@example.com", SOFT, "delayed",
                                  "4.3.0", "Temporary lookup failure",
                                  "<orig-0009@agenticmail.local>"),
    # a full mailbox refused by Dovecot LMTP: 5.2.2, yet soft (it clears by itself)
    "dovecot_lmtp_quota.eml": ("bounce", "rfc3464", "bob@mail.example.org", SOFT, "failed",
                               "5.2.2", "Quota exceeded", "<orig-0010@agenticmail.local>"),
    "dovecot_lmtp_unknown_user.eml": ("bounce", "rfc3464", "carol@mail.example.org", HARD,
                                      "failed", "5.1.1", "User doesn't exist",
                                      "<orig-0011@agenticmail.local>"),
    "dovecot_reject_mdn.eml": ("bounce", "mdn-rejection", "dave@mail.example.org", SOFT,
                               "failed", "4.2.2", "Quota exceeded",
                               "<orig-0012@agenticmail.local>"),
    "qmail_hard.eml": ("bounce", "heuristic", "ghost@qmail.example", HARD, "failed", "5.1.1",
                       "no mailbox here", "<orig-0013@agenticmail.local>"),
    "arf_complaint.eml": ("complaint", "arf", "annoyed@hotmail.example", COMPLAINT,
                          "complained", None, "abuse", "<orig-0014@agenticmail.local>"),
}
NOT_REPORTS = ("lookalike_person.eml", "read_receipt_mdn.eml")


def test_every_fixture_is_covered() -> None:
    assert {p.name for p in FIXTURES.glob("*.eml")} == set(EXPECTED) | set(NOT_REPORTS)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture(name: str) -> None:
    type_, format_, address, kind, action, status, words, original = EXPECTED[name]
    found = report(name)
    assert found is not None, name
    assert (found.type, found.format) == (type_, format_)
    assert len(found.failures) == 1
    failure = found.failures[0]
    assert (failure.address, failure.kind, failure.action, failure.status) == (
        address, kind, action, status)
    assert failure.diagnostic is not None and words in failure.diagnostic
    assert found.original_ids[0] == original


@pytest.mark.parametrize("name", NOT_REPORTS)
def test_what_only_looks_like_a_bounce_is_not_one(name: str) -> None:
    # a person pasting a bounce (subject, status lines, our Message-ID), and a read receipt
    assert report(name) is None


def test_remote_mta_and_reporter_are_kept() -> None:
    found = report("postfix_hard.eml")
    assert found is not None
    assert found.reporter == "mx1.example.com"
    assert found.failures[0].remote_mta == "mail.example.net"


@pytest.mark.parametrize(("status", "action", "kind"), [
    ("5.1.1", "failed", HARD), ("5.7.1", "failed", HARD), ("4.4.1", "failed", SOFT),
    ("5.1.1", "delayed", SOFT), ("5.2.2", "failed", SOFT), ("4.2.2", "failed", SOFT),
    (None, "failed", HARD), (None, "delayed", SOFT),
])
def test_kind_of(status: str | None, action: str, kind: str) -> None:
    assert kind_of(status, action) == kind


def test_a_delivered_recipient_in_a_report_is_not_a_failure() -> None:
    raw = (FIXTURES / "postfix_hard.eml").read_bytes().replace(
        b"Action: failed", b"Action: delivered")
    assert read_report(message_from_bytes(raw, policy=policy.compat32), raw) is None


def test_a_huge_plain_text_bounce_is_read_within_bounds() -> None:
    # a "bounce" from a mailer daemon, 16 MB of lines every detector's patterns chew on and
    # none matches: the detectors see its first MAX_HEURISTIC_BYTES only (all of it takes
    # them ~20 s here)
    head = (b"Return-Path: <>\nFrom: MAILER-DAEMON@mx.example\nTo: owner@example.com\n"
            b"Subject: failure notice\n\n")
    filler = (b"The following addresses had permanent fatal errors\n" + b":" * 100_000
              + b"\n") * 160
    raw = head + filler
    assert len(raw) > 30 * MAX_HEURISTIC_BYTES
    message = message_from_bytes(raw, policy=policy.compat32)
    started = time.monotonic()
    assert read_report(message, raw) is None
    assert time.monotonic() - started < 8  # generous: bounded by the cut, not by the size


def test_at_most_a_hundred_recipients_are_reported() -> None:
    raw = (FIXTURES / "postfix_hard.eml").read_bytes()
    block = (b"Final-Recipient: rfc822; r{n}@example.net\nAction: failed\nStatus: 5.1.1\n\n")
    many = b"".join(block.replace(b"{n}", str(i).encode()) for i in range(300))
    raw = raw.replace(b"Final-Recipient: rfc822; nobody@example.net", many + b"Final-Recipient: "
                      b"rfc822; nobody@example.net", 1)
    found = read_report(message_from_bytes(raw, policy=policy.compat32), raw)
    assert found is not None and len(found.failures) == 100
