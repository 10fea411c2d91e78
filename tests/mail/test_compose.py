"""Reply-all recipients, subject prefixes and References chains against a table of cases."""

from __future__ import annotations

import pytest

from agenticmail.mail.compose import (
    forward_mail,
    forward_subject,
    normalize_subject,
    reply_bodies,
    reply_headers,
    reply_subject,
)
from agenticmail.models import Attachment, ParsedMessage

ME = "alice@agents.local"


def _msg(**kw: object) -> ParsedMessage:
    base: dict[str, object] = dict(
        uid=1, folder="INBOX", message_id="<m1@x>", subject="Hello", from_="Bob <bob@x.org>",
        to=(ME,), cc=(), reply_to=(), date=None, text="hi", html=None, attachments=(),
        headers={}, flags=(), in_reply_to=None, references=(), size=10)
    base.update(kw)
    return ParsedMessage(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(("subject", "expected"), [
    ("Hello", "Re: Hello"),
    ("Re: Hello", "Re: Hello"),
    ("RE: Re: re:Hello", "Re: Hello"),
    ("Re[2]: Hello", "Re: Hello"),
    ("AW: Hello", "Re: Hello"),
    ("Fwd: Hello", "Re: Fwd: Hello"),
    ("", "Re:"),
    ("  Re :   spaced  out ", "Re: spaced out"),
])
def test_reply_subject(subject: str, expected: str) -> None:
    assert reply_subject(subject) == expected


@pytest.mark.parametrize(("subject", "expected"), [
    ("Hello", "Fwd: Hello"), ("Fwd: Hello", "Fwd: Hello"), ("FW: Hello", "FW: Hello"),
    ("Re: Hello", "Fwd: Re: Hello"),
])
def test_forward_subject(subject: str, expected: str) -> None:
    assert forward_subject(subject) == expected


@pytest.mark.parametrize(("subject", "key"), [
    ("Re: [python-dev] Fwd: PEP 8", "pep 8"), ("RE:  Hello  World", "hello world"),
    ("[list] hello", "hello"), ("AW: SV: Re[3]: x", "x"),
])
def test_normalize_subject(subject: str, key: str) -> None:
    assert normalize_subject(subject) == key


LONG_REFS = tuple(f"<r{i}@client.example>" for i in range(30))

CASES = [
    # (name, message fields, reply_all, to, cc, in_reply_to, references)
    ("plain reply", {}, False, ["bob@x.org"], [], "<m1@x>", ["<m1@x>"]),
    ("reply-to wins", {"reply_to": ("list@x.org",)}, False, ["list@x.org"], [], "<m1@x>",
     ["<m1@x>"]),
    ("reply-all drops me and duplicates",
     {"to": (ME, "carol@x.org", "Carol <CAROL@x.org>"), "cc": ("bob@x.org", "dan@y.org", ME)},
     True, ["bob@x.org"], ["carol@x.org", "dan@y.org"], "<m1@x>", ["<m1@x>"]),
    ("reply (not all) ignores cc", {"cc": ("dan@y.org",)}, False, ["bob@x.org"], [], "<m1@x>",
     ["<m1@x>"]),
    ("references chain extends",
     {"references": ("<r0@x>", "<r1@x>"), "in_reply_to": "<r1@x>"}, False, ["bob@x.org"], [],
     "<m1@x>", ["<r0@x>", "<r1@x>", "<m1@x>"]),
    ("in-reply-to only (no References)", {"in_reply_to": "<p@x>"}, False, ["bob@x.org"], [],
     "<m1@x>", ["<p@x>", "<m1@x>"]),
    ("long References keep root and newest",
     {"references": LONG_REFS}, False, ["bob@x.org"], [], "<m1@x>",
     [LONG_REFS[0], *LONG_REFS[-18:], "<m1@x>"]),
    ("reply to my own sent message goes to its recipients",
     {"from_": f"Alice <{ME}>", "to": ("bob@x.org",), "cc": ("carol@x.org",)}, True,
     ["bob@x.org"], ["carol@x.org"], "<m1@x>", ["<m1@x>"]),
    ("no Message-ID: no threading headers invented", {"message_id": None}, False,
     ["bob@x.org"], [], None, []),
]


@pytest.mark.parametrize(("name", "fields", "reply_all", "to", "cc", "irt", "refs"), CASES,
                         ids=[c[0] for c in CASES])
def test_reply_headers(name: str, fields: dict[str, object], reply_all: bool, to: list[str],
                       cc: list[str], irt: str | None, refs: list[str]) -> None:
    head = reply_headers(_msg(**fields), [ME], reply_all=reply_all)
    assert list(head.to) == to
    assert list(head.cc) == cc
    assert head.in_reply_to == irt
    assert list(head.references) == refs
    assert len(head.references) <= 20


def test_reply_bodies_quote_text_and_html() -> None:
    original = _msg(text="line one\n\nline two", date="2026-01-02T03:04:05+00:00")
    text, html = reply_bodies(original, "My answer", None, "line one\n\nline two",
                              "<p>line <b>one</b></p>")
    assert text is not None and text.startswith("My answer\n\nOn 2026-01-02")
    assert "> line one\n>\n> line two" in text
    assert html is not None and html.startswith("<div>My answer</div>")
    assert '<blockquote type="cite"' in html and "<p>line <b>one</b></p>" in html
    text_only, no_html = reply_bodies(original, "ok", None, "hi", None)
    assert no_html is None and text_only is not None and text_only.endswith("> hi\n")


def test_forward_inline_and_as_attachment() -> None:
    att = Attachment("a.pdf", "application/pdf", b"%PDF-1.4")
    original = _msg(subject="Plan", cc=("carol@x.org",))
    inline = forward_mail(original, b"raw", to=["dan@y.org"], cc=[], text="FYI", html=None,
                          original_text="the plan", original_html=None, attachments=[att])
    assert inline.subject == "Fwd: Plan" and inline.attachments == (att,)
    assert inline.text is not None
    assert inline.text.startswith("FYI\n\n---------- Forwarded message ----------")
    assert "From: Bob <bob@x.org>" in inline.text and "Cc: carol@x.org" in inline.text
    assert inline.text.rstrip().endswith("the plan")
    attached = forward_mail(original, b"Subject: Plan\r\n\r\nthe plan", to=["dan@y.org"],
                            cc=[], text=None, html=None, original_text="the plan",
                            original_html=None, attachments=[att], as_attachment=True)
    assert [a.content_type for a in attached.attachments] == ["message/rfc822"]
    assert attached.attachments[0].content.startswith(b"Subject: Plan")
