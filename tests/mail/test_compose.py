"""Reply-all recipients, subject prefixes and References chains against a table of cases."""

from __future__ import annotations

import pytest

from agenticmail.mail.compose import (
    forward_subject,
    normalize_subject,
    reply_headers,
    reply_subject,
)
from agenticmail.models import ParsedMessage

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
