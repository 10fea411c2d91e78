"""The too_complex verdict of services.screening: a message over a parsing bound, with HTML too
deep to read, or over its time budget is quarantined with a verdict naming the limit, and a
stored too_complex verdict is reused without reading the message again."""

from __future__ import annotations

from pathlib import Path

import pytest

from agenticmail.config import Settings
from agenticmail.mail import bounds
from agenticmail.security.rule_table import SPAM_THRESHOLD
from agenticmail.security.sanitize import MAX_DEPTH
from agenticmail.services.context import ServiceContext, build_context
from agenticmail.services.screening import screen
from agenticmail_testing.adversarial import many_parts, message, nested, poison


def _local(raw: bytes) -> bytes:  # a local sender: no DNS lookups for authentication here
    return raw.replace(b"x@evil.example", b"a@localhost")


@pytest.fixture
def ctx(tmp_path: Path) -> ServiceContext:
    return build_context(Settings(home=tmp_path))


def _assert_too_complex(security: dict[str, object], limit: str) -> None:
    assert security["category"] == "too_complex" and security["spam"] is True
    assert isinstance(security["score"], int) and security["score"] >= SPAM_THRESHOLD
    found = security["too_complex"]
    assert isinstance(found, dict) and found["limit"] == limit and found["detail"]
    rules = security["rules"]
    assert isinstance(rules, list) and rules[0]["id"] == "TOO_COMPLEX"
    assert limit in rules[0]["description"]


@pytest.mark.parametrize(("raw", "limit"), [
    (poison(), "header_bytes"),
    (message("Subject: x\r\n" + "X-N: 1\r\n" * bounds.MAX_HEADERS), "header_count"),
    (message("Subject: " + " ".join(["=?utf-8?q?a?="] * (bounds.MAX_ENCODED_WORDS + 1))
              + "\r\n"), "encoded_words"),
    (nested(bounds.MAX_MIME_DEPTH + 1), "mime_depth"),
    (many_parts(bounds.MAX_MIME_PARTS + 1), "mime_parts"),
    (_local(message("Subject: x\r\nContent-Type: text/html\r\n",
                     "<div>" * (MAX_DEPTH + 5) + "hi")), "html_depth"),
    (_local(message("Subject: x\r\nContent-Type: text/html\r\n", "<b>x</b>" * 20_001)),
     "html_tags"),
])
def test_a_message_over_a_bound_is_too_complex(ctx: ServiceContext, raw: bytes,
                                               limit: str) -> None:
    assessment = screen(ctx, raw)
    _assert_too_complex(assessment.security.to_dict(), limit)
    assert assessment.spam and assessment.text == "" and assessment.html is None


def test_a_message_over_its_time_budget_is_too_complex(tmp_path: Path) -> None:
    no_time = build_context(Settings(home=tmp_path, message_time_budget_seconds=0))
    assessment = screen(no_time, _local(message("Subject: hello\r\n")))
    _assert_too_complex(assessment.security.to_dict(), "time_budget")


def test_ordinary_mail_is_assessed_as_before(ctx: ServiceContext) -> None:
    assessment = screen(ctx, _local(message("Subject: lunch\r\n", "Noon on Friday?\r\n")))
    assert assessment.security.category != "too_complex" and not assessment.spam
    assert "Noon on Friday?" in assessment.text


def test_a_stored_too_complex_verdict_is_reused_unread(ctx: ServiceContext) -> None:
    stored = screen(ctx, poison()).security
    # the bytes are not even looked at: an ordinary message with that verdict stays withheld
    again = screen(ctx, _local(message("Subject: lunch\r\n")), stored)
    assert again.security == stored and again.spam and again.text == ""
