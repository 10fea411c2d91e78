"""Parsing bounds (mail.bounds) and linear RFC 2047 decoding (mail.rfc2047): each bound is
named when a message is over it, real mail is under all of them, and a message over them is
parsed from its small stand-in (a generous "within seconds" bound only where the finding is
about time; scripts print precise timings)."""

from __future__ import annotations

import time
from email.message import EmailMessage
from pathlib import Path

import pytest

from agenticmail.mail import bounds
from agenticmail.mail.mime import decode_header_value, get_attachment, parse_message
from agenticmail.mail.rfc2047 import MAX_ENCODED_WORDS, decode_words
from agenticmail.security.mime_view import decode_header_value as security_decode
from agenticmail.security.sanitize import MAX_DEPTH, sanitize, sanitize_html
from agenticmail_testing.adversarial import many_parts, message, nested, poison

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "eml"


def test_real_mail_is_within_every_bound() -> None:
    paths = sorted(FIXTURES.rglob("*.eml"))
    assert paths
    assert [p.name for p in paths if bounds.check(p.read_bytes()) is not None] == []


@pytest.mark.parametrize(("raw", "limit"), [
    (message("Subject: x\r\nX-Big: " + "a" * (bounds.MAX_HEADER_BYTES + 1) + "\r\n"),
     "header_bytes"),
    (message("Subject: x\r\n" + "X-N: 1\r\n" * bounds.MAX_HEADERS), "header_count"),
    (message("Subject: " + " ".join(["=?utf-8?q?a?="] * (bounds.MAX_ENCODED_WORDS + 1))
              + "\r\n"), "encoded_words"),
    (message("Subject: x\r\n", "=?utf-8?b?YQ==?= " * (bounds.MAX_ENCODED_WORDS + 1)),
     "encoded_words"),
    (nested(bounds.MAX_MIME_DEPTH + 1), "mime_depth"),
    # however the container is spelled: a comment, a folded value, RFC 2231 parameters
    (nested(bounds.MAX_MIME_DEPTH + 1).replace(b"Content-Type: multipart/mixed; boundary=",
                                              b"Content-Type: (x)\r\n multipart/mixed; "
                                              b"boundary*0="), "mime_depth"),
    (many_parts(bounds.MAX_MIME_PARTS + 1), "mime_parts"),
    (message("Subject: x\r\n", "--\r\n" * (bounds.MAX_BOUNDARY_LINES + 1)), "mime_parts"),
    (poison(), "header_bytes"),
])
def test_each_bound_is_named(raw: bytes, limit: str) -> None:
    exceeded = bounds.check(raw)
    assert exceeded is not None and exceeded.limit == limit, exceeded


@pytest.mark.parametrize("raw", [
    message("Subject: x\r\n" + "X-N: 1\r\n" * (bounds.MAX_HEADERS - 10)),
    message("Subject: " + " ".join(["=?utf-8?q?a?="] * 100) + "\r\n"),
    nested(bounds.MAX_MIME_DEPTH - 1),
    many_parts(bounds.MAX_MIME_PARTS - 1),
    message("Subject: x\r\n", "-- \r\nsignature\r\n---\r\n" * 100),
])
def test_just_under_each_bound_is_read_whole(raw: bytes) -> None:
    assert bounds.check(raw) is None
    assert parse_message(raw, uid=1, folder="INBOX").subject


def test_sibling_parts_and_forwarded_messages_do_not_count_as_depth() -> None:
    inner = EmailMessage()
    inner["Subject"] = "forwarded"
    inner.set_content("inner text")
    inner.add_alternative("<p>inner</p>", subtype="html")
    outer = EmailMessage()
    outer["From"], outer["Subject"] = "a@example.org", "digest"
    outer.set_content("see attached")
    for _ in range(bounds.MAX_MIME_DEPTH + 5):
        outer.add_attachment(inner)
    assert bounds.check(outer.as_bytes()) is None


def test_a_message_over_a_bound_is_parsed_from_its_stand_in() -> None:
    raw = many_parts(bounds.MAX_MIME_PARTS + 1)
    parsed = parse_message(raw, uid=7, folder="INBOX")
    assert parsed.subject == "parts" and parsed.message_id == "<m@evil.example>"
    assert parsed.text == "" and parsed.attachments == () and parsed.size == len(raw)
    with pytest.raises(Exception, match="not found"):
        get_attachment(raw, 0)


def test_the_poison_message_parses_within_seconds() -> None:
    raw = poison()
    assert len(raw) > 5_000_000
    start = time.perf_counter()
    parsed = parse_message(raw, uid=1, folder="INBOX")
    elapsed = time.perf_counter() - start
    assert elapsed < 5.0, elapsed  # was 13 minutes: quadratic RFC 2047 decoding
    assert parsed.subject.startswith("abcdabcd") and len(parsed.subject) <= bounds.SAFE_HEADER_BYTES


def test_encoded_words_decode_like_the_stdlib() -> None:
    cases = {
        "=?utf-8?q?caf=C3=A9?= au lait": "café au lait",
        "=?utf-8?b?w6k=?= =?utf-8?b?w6k=?=": "éé",  # blank between two words dropped
        "plain =?iso-8859-1?q?a=E9_b?= tail": "plain aé b tail",
        "=?bogus-charset?q?x?= stays": "=?bogus-charset?q?x?= stays",
        "=?UTF-8*en?Q?hi?=": "hi",
        "no words at all": "no words at all",
    }
    for raw, want in cases.items():
        assert decode_header_value(raw) == want
        assert security_decode(raw) == want


def test_decoding_is_capped_per_header() -> None:
    value = " ".join(["=?utf-8?q?a?="] * (MAX_ENCODED_WORDS + 50))
    decoded = decode_words(value)
    assert decoded == "a" * MAX_ENCODED_WORDS + "…"


def test_html_nested_deeper_than_the_sanitiser_reads_is_reported() -> None:
    deep = sanitize_html("<div>" * (MAX_DEPTH + 1) + "text")
    assert "html_too_deep" in [d.type for d in deep.detections]
    ordinary = sanitize_html("<div>" * (MAX_DEPTH - 1) + "text")
    assert "html_too_deep" not in [d.type for d in ordinary.detections]
    html_mail = message("Subject: x\r\nContent-Type: text/html\r\n",
                         "<div>" * (MAX_DEPTH + 5) + "hi")
    assert "html_too_deep" in [d.type for d in sanitize(html_mail).detections]
