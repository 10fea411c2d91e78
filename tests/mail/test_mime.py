"""MIME building and parsing (pure, table-driven)."""

from __future__ import annotations

import email
import email.headerregistry
import email.policy
from dataclasses import replace
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agenticmail.errors import InvalidRequest, NotFound
from agenticmail.mail import mime
from agenticmail.mail.mime import (
    build_message,
    get_attachment,
    html_to_text,
    normalize_message_id,
    parse_message,
    parse_message_ids,
    thread_key,
)
from agenticmail.models import Attachment, OutgoingMail

FROM = "agent@example.test"


def build(mail: OutgoingMail, **kw: Any) -> tuple[bytes, str]:
    kw.setdefault("from_addr", FROM)
    kw.setdefault("from_name", "Agent")
    kw.setdefault("domain", "example.test")
    msg, mid = build_message(mail, **kw)
    return bytes(msg), mid


def reparse(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)


def roundtrip(mail: OutgoingMail, **kw: Any) -> Any:
    raw, _ = build(mail, **kw)
    return parse_message(raw, uid=7, folder="INBOX", flags=("\\Seen",))


BASE = OutgoingMail(to=("bob@x.test",), subject="Hi", text="hello")


# ----------------------------------------------------------------------------- building


@pytest.mark.parametrize(
    ("text", "html", "atts", "top", "leaves"),
    [
        ("t", None, (), "text/plain", ["text/plain"]),
        (None, None, (), "text/plain", ["text/plain"]),
        (None, "<p>h</p>", (), "text/html", ["text/html"]),
        ("t", "<p>h</p>", (), "multipart/alternative", ["text/plain", "text/html"]),
        ("t", None, (Attachment("a.bin", "application/octet-stream", b"\0"),),
         "multipart/mixed", ["text/plain", "application/octet-stream"]),
        ("t", "<p>h</p>", (Attachment("a.pdf", "application/pdf", b"%PDF"),),
         "multipart/mixed", ["text/plain", "text/html", "application/pdf"]),
        (None, "<p>h</p>", (Attachment("a.txt", "text/plain", b"x"),),
         "multipart/mixed", ["text/html", "text/plain"]),
    ],
)  # fmt: skip
def test_body_structure(
    text: str | None, html: str | None, atts: tuple[Attachment, ...], top: str, leaves: list[str]
) -> None:
    raw, _ = build(replace(BASE, text=text, html=html, attachments=atts))
    msg = reparse(raw)
    assert msg.get_content_type() == top
    assert [p.get_content_type() for p in msg.walk() if not p.is_multipart()] == leaves
    assert msg["MIME-Version"] == "1.0"
    assert raw.count(b"MIME-Version") == 1


def test_headers_and_generated_message_id() -> None:
    mail = replace(BASE, cc=("Carol <carol@x.test>",), reply_to="Replies <r@x.test>")
    raw, mid = build(mail, from_name="Robo Agent")
    msg = reparse(raw)
    assert msg["From"] == "Robo Agent <agent@example.test>"
    assert msg["To"] == "bob@x.test"
    assert msg["Cc"] == "Carol <carol@x.test>"
    assert msg["Reply-To"] == "Replies <r@x.test>"
    assert msg["Message-ID"] == mid
    assert mid.startswith("<") and mid.endswith("@example.test>")
    assert parsedate_to_datetime(msg["Date"]).tzinfo is not None
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    _, mid2 = build(mail)
    assert mid2 != mid


def test_per_message_from_name_overrides_default_and_message_id_is_used() -> None:
    raw, mid = build(replace(BASE, from_name="Override"), message_id="given@host.test")
    msg = reparse(raw)
    assert mid == "<given@host.test>" == msg["Message-ID"]
    assert msg["From"] == "Override <agent@example.test>"


@pytest.mark.parametrize(
    ("in_reply_to", "references", "exp_irt", "exp_refs"),
    [
        (None, (), None, None),
        ("<p@x>", (), "<p@x>", "<p@x>"),
        ("p@x", (), "<p@x>", "<p@x>"),
        ("<p@x>", ("<root@x>",), "<p@x>", "<root@x> <p@x>"),
        ("<p@x>", ("<root@x>", "<p@x>"), "<p@x>", "<root@x> <p@x>"),
        (None, ("<root@x>", "<mid@x>"), None, "<root@x> <mid@x>"),
        ("<p@x>", ("<root@x>", "<root@x>"), "<p@x>", "<root@x> <p@x>"),
    ],
)
def test_threading_headers(
    in_reply_to: str | None, references: tuple[str, ...], exp_irt: str | None, exp_refs: str | None
) -> None:
    raw, _ = build(replace(BASE, in_reply_to=in_reply_to, references=references))
    msg = reparse(raw)
    assert msg["In-Reply-To"] == exp_irt
    assert msg["References"] == exp_refs
    parsed = parse_message(raw, uid=1, folder="INBOX")
    assert parsed.in_reply_to == exp_irt
    assert " ".join(parsed.references) == (exp_refs or "")


def test_very_long_reference_chains_keep_root_and_recent() -> None:
    refs = tuple(f"<r{i}@x>" for i in range(80))
    raw, _ = build(replace(BASE, in_reply_to="<last@x>", references=refs))
    kept = parse_message_ids(reparse(raw)["References"])
    assert kept[0] == "<r0@x>" and kept[-1] == "<last@x>" and len(kept) == 50


@pytest.mark.parametrize(
    "bcc", [("hidden@x.test",), ("Secret Person <hidden@x.test>", "other@y.test")]
)
def test_bcc_never_in_headers(bcc: tuple[str, ...]) -> None:
    raw, _ = build(replace(BASE, bcc=bcc))
    assert b"hidden@x.test" not in raw
    # no Bcc header (a random Message-ID may contain the letters "bcc": look at header names)
    assert reparse(raw)["Bcc"] is None and b"\nbcc:" not in raw.lower()
    assert b"Secret" not in raw


def test_bcc_only_is_allowed_but_still_hidden() -> None:
    raw, _ = build(OutgoingMail(to=(), bcc=("hidden@x.test",), subject="s", text="t"))
    assert b"hidden@x.test" not in raw
    assert reparse(raw)["To"] is None


@pytest.mark.parametrize(
    ("subject", "name", "to"),
    [
        ("Grüße aus Köln", "Jörg Müller", "Zoë <zoe@x.test>"),
        ("日本語の件名 " * 8, "山田太郎", "李雷 <li@x.test>"),
        ("emoji 🎉 subject", "Agent 🤖", "bob@x.test"),
        ("plain ascii", "Doe, Jane", '"O\'Neil, Pat" <pat@x.test>'),
    ],
)
def test_non_ascii_headers_are_encoded_and_roundtrip(subject: str, name: str, to: str) -> None:
    raw, _ = build(replace(BASE, subject=subject, to=(to,), text="Grüße ✓"), from_name=name)
    assert raw.isascii()  # RFC 2047 / QP: nothing 8-bit on the wire
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    parsed = parse_message(raw, uid=3, folder="INBOX")
    assert parsed.subject == " ".join(subject.split())
    assert parsed.from_.startswith(name if "," not in name else f'"{name}"')
    assert parsed.from_.endswith("<agent@example.test>")
    assert parsed.text.strip() == "Grüße ✓"
    assert parsed.to[0].endswith(to.rsplit("<", 1)[-1].rstrip(">") + ">") or parsed.to[0] == to


ATTACHMENTS = [
    Attachment("report.pdf", "application/pdf", b"%PDF-1.7\n" + bytes(range(256)) * 40),
    Attachment("notes.txt", "text/plain", "latin-1 bytes: caf\xe9\n".encode("latin-1")),
    Attachment("rapport été.csv", "text/csv", b"a,b\r\n1,2\r\n"),
    Attachment("empty.bin", "application/octet-stream", b""),
    Attachment("../../etc/passwd", "text/plain", b"root"),
    Attachment("pic.png", "IMAGE/PNG", b"\x89PNG\r\n\x1a\n" + b"\x00" * 100),
]


def test_attachments_roundtrip_through_parse_message() -> None:
    raw, _ = build(replace(BASE, html="<b>x</b>", attachments=tuple(ATTACHMENTS)))
    parsed = parse_message(raw, uid=9, folder="Archive")
    assert [a.index for a in parsed.attachments] == list(range(len(ATTACHMENTS)))
    assert parsed.attachments[0].filename == "report.pdf"
    assert parsed.attachments[2].filename == "rapport été.csv"
    assert "/" not in parsed.attachments[4].filename
    assert parsed.attachments[5].content_type == "image/png"
    for i, sent in enumerate(ATTACHMENTS):
        got = get_attachment(raw, i)
        assert got.content == sent.content, sent.filename
        assert parsed.attachments[i].size == len(sent.content)
        assert got.content_type == sent.content_type.lower()
    assert parsed.text == "hello\n" and parsed.html == "<b>x</b>\n"


def test_message_rfc822_attachment() -> None:
    inner = b"From: a@b.test\r\nSubject: forwarded\r\n\r\ninner body\r\n"
    raw, _ = build(replace(BASE, attachments=(Attachment("fwd.eml", "message/rfc822", inner),)))
    parsed = parse_message(raw, uid=1, folder="INBOX")
    assert [(a.filename, a.content_type) for a in parsed.attachments] == [
        ("fwd.eml", "message/rfc822")
    ]
    assert b"Subject: forwarded" in get_attachment(raw, 0).content
    assert parsed.text == "hello\n"  # the forwarded text is not folded into this body


@pytest.mark.parametrize("index", [-1, 1, 99])
def test_get_attachment_bad_index(index: int) -> None:
    raw, _ = build(replace(BASE, attachments=(Attachment("a", "text/plain", b"x"),)))
    with pytest.raises(NotFound, match=f"attachment {index} not found"):
        get_attachment(raw, index)


@pytest.mark.parametrize(
    ("mail", "reason"),
    [
        (replace(BASE, to=()), "at least one recipient"),
        (replace(BASE, to=("not an address",)), "invalid e-mail address"),
        (replace(BASE, cc=("a@b.test\r\nBcc: x@y.test",)), "control characters"),
        (replace(BASE, bcc=("bad@",)), "invalid e-mail address"),
        (replace(BASE, reply_to="nope"), "invalid e-mail address"),
        (replace(BASE, subject="line1\r\nBcc: evil@x.test"), "Subject"),
        (replace(BASE, from_name="Eve\nX: y"), "From name"),
        (replace(BASE, in_reply_to="has space@x"), "in_reply_to"),
        (replace(BASE, in_reply_to="<a@x>\r\nX: y"), "in_reply_to"),
        (replace(BASE, references=("",)), "references"),
        (replace(BASE, headers=(("X-Ok", "a\r\nBcc: x@y.test"),)), "X-Ok"),
        (replace(BASE, headers=(("Bad Name", "v"),)), "invalid header name"),
        (replace(BASE, headers=(("X:Colon", "v"),)), "invalid header name"),
        (replace(BASE, attachments=(Attachment("a", "nonsense", b""),)), "content type"),
    ]
    + [
        (replace(BASE, headers=((name, "v"),)), "cannot be set directly")
        for name in ("From", "to", "CC", "Bcc", "Message-ID", "Date", "MIME-Version",
                     "Content-Type", "content-transfer-encoding", "Subject", "References")
    ],
)  # fmt: skip
def test_build_rejects(mail: OutgoingMail, reason: str) -> None:
    with pytest.raises(InvalidRequest, match=reason):
        build(mail)


def test_build_rejects_bad_from_and_message_id() -> None:
    with pytest.raises(InvalidRequest):
        build(BASE, from_addr="nobody")
    with pytest.raises(InvalidRequest):
        build(BASE, message_id="a b@c")


def test_custom_headers_are_added() -> None:
    raw, _ = build(replace(BASE, headers=(("X-Agent-Task", "42"), ("List-Unsubscribe", "<m@x>"))))
    msg = reparse(raw)
    assert msg["X-Agent-Task"] == "42"
    assert msg["List-Unsubscribe"] == "<m@x>"


# ----------------------------------------------------------------------------- parsing


def test_parse_fields() -> None:
    raw = (
        b"From: =?utf-8?q?J=C3=B6rg?= <j@x.test>\r\n"
        b'To: a@b.test, "Doe, Jane" <d@e.test>\r\n'
        b"Cc: c@c.test\r\n"
        b"Reply-To: r@x.test\r\n"
        b"Subject: =?utf-8?q?h=C3=A9llo?= world\r\n"
        b"Message-Id: <abc@x>\r\n"
        b"In-Reply-To: <p@x> (comment)\r\n"
        b"References: <r1@x>\r\n <r2@x>\r\n"
        b"Received: from a\r\nReceived: from b\r\n"
        b"Date: Mon, 1 Jan 2024 12:00:00 +0200\r\n"
        b"\r\nbody\r\n"
    )
    p = parse_message(raw, uid=5, folder="INBOX", flags=(b"\\Seen", "$agent-done"))
    assert (p.uid, p.folder, p.size) == (5, "INBOX", len(raw))
    assert p.from_ == "Jörg <j@x.test>"
    assert p.to == ("a@b.test", '"Doe, Jane" <d@e.test>')
    assert p.cc == ("c@c.test",) and p.reply_to == ("r@x.test",)
    assert p.subject == "héllo world"
    assert p.message_id == "<abc@x>"
    assert p.in_reply_to == "<p@x>"
    assert p.references == ("<r1@x>", "<r2@x>")
    assert p.date == "2024-01-01T10:00:00+00:00"
    assert p.flags == ("\\Seen", "$agent-done")
    assert p.headers["Received"] == "from a\nfrom b"
    assert p.text == "body\n" and p.html is None and p.attachments == ()


def test_html_only_message_gets_text_rendering() -> None:
    raw, _ = build(
        replace(BASE, text=None, html="<html><style>p{}</style><p>Hello&nbsp;<b>you</b></p>"
                "<script>alert(1)</script><p>Line 2</p></html>")
    )  # fmt: skip
    p = parse_message(raw, uid=1, folder="INBOX")
    assert p.html is not None and "<b>you</b>" in p.html
    assert p.text == "Hello you\n\nLine 2"


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p>a</p><p>b</p>", "a\n\nb"),
        ("x<br>y", "x\ny"),
        ("<script>bad()</script>ok", "ok"),
        ("&lt;tag&gt; &amp;", "<tag> &"),
        ("<div", "<div"),  # an unterminated tag stays as text
    ],
)
def test_html_to_text(html: str, text: str) -> None:
    assert html_to_text(html) == text


MALFORMED: list[bytes] = [
    b"",
    b"\r\n\r\n",
    b"no headers at all, just text",
    b"\x00\xff\xfe" * 200,
    b"Subject: \xff\xfe bad bytes\r\nFrom: \xe9\xe9 <x@\xff>\r\n\r\n\xff body",
    b"Subject: =?utf-8?q?broken=ZZ?= =?x-unknown?b?AAAA?=\r\n\r\nbody",
    b"From: <<<>>>@@@,,,;;\r\nTo: ,,,\r\nDate: not a date\r\nMessage-ID: <>\r\n\r\nx",
    b"Date: Mon, 99 Foo 2024 99:99:99 +9999\r\n\r\nx",
    b"Content-Type: multipart/mixed; boundary=XYZ\r\n\r\n--XYZ\r\nContent-Type: text/plain\r\n\r\n"
    b"unterminated",
    b"Content-Type: multipart/mixed\r\n\r\nno boundary param",
    b"Content-Type: text/plain; charset=x-does-not-exist\r\n\r\n\xe9t\xe9",
    b"Content-Type: application/pdf; name=a.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    b"!!!not base64!!!",
    b"Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=ZZ=\r\n",
    b"Subject: " + b"x" * 100_000 + b"\r\n\r\nlong header",
    b"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
    + b"".join(
        b"--b\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n" % i for i in range(60)
    ),
    b"Content-Type: message/rfc822\r\n\r\nnot really a message",
    b"References: <a@x> garbage <b@x\r\nIn-Reply-To: nothing-useful\r\n\r\n",
]


@pytest.mark.parametrize("raw", MALFORMED, ids=lambda r: repr(r[:30]))
def test_malformed_input_never_raises(raw: bytes) -> None:
    p = parse_message(raw, uid=1, folder="INBOX", flags=())
    assert isinstance(p.text, str) and isinstance(p.subject, str)
    assert p.size == len(raw)
    for info in p.attachments:
        assert len(get_attachment(raw, info.index).content) == info.size


@pytest.mark.parametrize("raw", MALFORMED[:8], ids=lambda r: repr(r[:30]))
def test_stdlib_fallback_when_mailparser_chokes(
    raw: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(_: bytes) -> None:
        raise RuntimeError("mail-parser exploded")

    monkeypatch.setattr(mime.mailparser, "parse_from_bytes", boom)
    p = parse_message(raw, uid=1, folder="INBOX")
    assert isinstance(p.text, str)


def test_stdlib_fallback_matches_mailparser_on_wellformed_mail(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fwd = Attachment("fwd.eml", "message/rfc822", b"Subject: inner\r\n\r\ninner body\r\n")
    raw, _ = build(replace(BASE, html="<i>h</i>", attachments=(*ATTACHMENTS[:3], fwd)))
    normal = parse_message(raw, uid=1, folder="INBOX")
    monkeypatch.setattr(mime.mailparser, "parse_from_bytes", lambda _: 1 / 0)
    fallback = parse_message(raw, uid=1, folder="INBOX")
    assert fallback == normal
    assert get_attachment(raw, 0).content == ATTACHMENTS[0].content


# ----------------------------------------------------------------------------- threading


@pytest.mark.parametrize(
    ("message_id", "in_reply_to", "references", "root"),
    [
        ("<m@x>", None, (), "<m@x>"),
        ("<m@x>", "<p@x>", (), "<p@x>"),
        ("<m@x>", "<p@x>", ("<root@x>", "<p@x>"), "<root@x>"),
        ("<m@x>", None, "<root@x> <mid@x>", "<root@x>"),
        ("m@x", None, None, "<m@x>"),
        (None, None, None, ""),
        ("<m@x>", "<p@x>", ("", "junk with space"), "<p@x>"),
    ],
)
def test_thread_key(
    message_id: str | None, in_reply_to: str | None, references: Any, root: str
) -> None:
    assert thread_key(message_id, in_reply_to, references) == root


def test_thread_key_of_a_built_reply_chain() -> None:
    raw1, mid1 = build(BASE)
    p1 = parse_message(raw1, uid=1, folder="INBOX")
    raw2, mid2 = build(replace(BASE, in_reply_to=mid1, references=p1.references))
    p2 = parse_message(raw2, uid=2, folder="INBOX")
    raw3, _ = build(replace(BASE, in_reply_to=mid2, references=p2.references))
    p3 = parse_message(raw3, uid=3, folder="INBOX")
    keys = {thread_key(p.message_id, p.in_reply_to, p.references) for p in (p1, p2, p3)}
    assert keys == {mid1}


@pytest.mark.parametrize(
    ("value", "expected"),
    [("<a@b>", "<a@b>"), (" a@b ", "<a@b>"), ("", None), (None, None), ("a b", None),
     ("x <a@b> y", "<a@b>")],
)  # fmt: skip
def test_normalize_message_id(value: str | None, expected: str | None) -> None:
    assert normalize_message_id(value) == expected


def test_building_messages_makes_each_header_class_once() -> None:
    """The email package's header registry builds a new class (``type(...)``) for every header
    it sets; ours makes each once: a tenth of the cost of an accepted send."""
    mail = OutgoingMail(to=("r@example.org",), subject="one", text="x")
    first, _ = build_message(mail, from_addr=FROM, from_name=None, domain="example.test")
    second, _ = build_message(mail, from_addr=FROM, from_name=None, domain="example.test")
    for name in ("From", "To", "Subject", "Date", "Message-ID", "Content-Type"):
        assert type(first[name]) is type(second[name]), name


# the header memo (mime._HeaderClasses): a header object made once serves every message
_TEXTS = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=60)
_WORDS = st.sampled_from(["Re: invoice", "héllo wörld", "\"quoted\" and \\ slashes",
                          "=?utf-8?q?caf=C3=A9?=", "a " * 120, "日本語の件名", ""])


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(subjects=st.lists(st.one_of(_WORDS, _TEXTS), min_size=1, max_size=4),
       names=st.lists(st.one_of(st.none(), _WORDS, _TEXTS), min_size=1, max_size=3),
       header=st.one_of(_WORDS, _TEXTS))
def test_remembered_headers_build_the_same_bytes(monkeypatch: pytest.MonkeyPatch,
                                                 subjects: list[str], names: list[str | None],
                                                 header: str) -> None:
    """Every message (values repeated, so the memo answers the repeats) is byte for byte what
    the email package's own registry builds, apart from the Date of the moment."""
    plain = email.policy.SMTP.clone(cte_type="7bit",
                                    header_factory=email.headerregistry.HeaderRegistry())

    def built(mail: OutgoingMail, name: str | None) -> bytes:
        try:
            raw, _ = build(mail, from_name=name, message_id="<fixed@example.test>")
        except InvalidRequest as exc:
            return f"refused: {exc}".encode()
        return b"\n".join(line for line in raw.split(b"\n") if not line.startswith(b"Date:"))

    mails = [(OutgoingMail(to=("a@example.org",), subject=subject, text="hi",
                           headers=(("X-Note", header),)), name)
             for subject in subjects * 2 for name in names]
    remembered = [built(mail, name) for mail, name in mails]
    monkeypatch.setattr(mime, "POLICY", plain)
    assert remembered == [built(mail, name) for mail, name in mails]
