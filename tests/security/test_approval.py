"""Reply-based approval: only the owner's genuine, authenticated, coded answer counts.

Every fixture is a real RFC 5322 message built with :class:`email.message.EmailMessage`
(as a receiving MTA would hand it over: its ``Authentication-Results`` header on top) and is
checked both as an object and as the raw bytes on the wire.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email.message import EmailMessage

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agenticmail.security.approval import (
    CodeCheck,
    Notification,
    auth_result_details,
    classify_line,
    decide,
    format_code_instructions,
    normalize_code,
    organizational_domain,
    owner_lines,
)

MX = "mx.agenticmail.test"
TRUSTED = frozenset({MX})
CODE = "K7QF-9M2X"
NOTE = Notification(
    message_id="<held-42@agenticmail.example.net>", code=CODE, owner_email="Owner@Example.com"
)
OWNER = "Owner <owner@example.com>"
GOOD_AR = (
    f"{MX}; spf=pass smtp.mailfrom=owner@example.com; "
    'dkim=pass (2048-bit key) header.d=example.com header.s=s1 header.b="ab;cd"; '
    "dmarc=pass (p=reject dis=none) header.from=example.com"
)
NOTIFICATION_TEXT = (
    "agenticmail held an outgoing message from agent research for your review.\n\n"
    "Findings: HIGH aws_access_key AKIA****MPLE\n\n" + format_code_instructions(CODE)
)
QUOTED = "\n".join("> " + line for line in NOTIFICATION_TEXT.splitlines())
ATTRIBUTION = "On Mon, 1 Jan 2024 at 10:00, agenticmail <owner+research@example.com> wrote:"


@dataclass
class Case:
    body: str = f"Approve {CODE}\n\n{ATTRIBUTION}\n{QUOTED}\n"
    sender: str = OWNER
    ar: tuple[str, ...] = (GOOD_AR,)
    in_reply_to: str | None = NOTE.message_id
    references: str | None = None
    subject: str = "Re: [agenticmail] held message from research: quarterly report"
    html: str | None = None  # HTML-only reply when set
    headers: dict[str, str] = field(default_factory=dict)
    raw_prefix: bytes = b""  # raw header lines put on top (things EmailMessage refuses)
    attach_notification: bool = False
    trusted: frozenset[str] | None = TRUSTED


def build(case: Case) -> EmailMessage:
    msg = EmailMessage()
    for value in case.ar:
        msg["Authentication-Results"] = value
    msg["From"] = case.sender
    msg["To"] = "owner+research@example.com"
    msg["Subject"] = case.subject
    msg["Message-ID"] = "<reply-1@mail.example.com>"
    if case.in_reply_to is not None:
        msg["In-Reply-To"] = case.in_reply_to
    if case.references is not None:
        msg["References"] = case.references
    for name, value in case.headers.items():
        msg[name] = value
    if case.html is not None:
        msg.set_content(case.html, subtype="html")
    else:
        msg.set_content(case.body)
    if case.attach_notification:
        original = EmailMessage()
        original["From"] = "agenticmail <owner+research@example.com>"
        original["Subject"] = "held message"
        original.set_content(NOTIFICATION_TEXT)
        msg.add_attachment(original)
    return msg


ACCEPTED: dict[str, tuple[Case, str]] = {
    "genuine approve, top-posted over a quoted notification": (Case(), "approve"),
    "genuine reject": (Case(body=f"Reject {CODE}\n\n{ATTRIBUTION}\n{QUOTED}\n"), "reject"),
    "lower-case code without separator": (Case(body="approved k7qf9m2x\n"), "approve"),
    "yes! with the code in the edited subject": (
        Case(body=f"yes!\n\n{ATTRIBUTION}\n{QUOTED}\n", subject=f"Re: held message {CODE}"),
        "approve",
    ),
    "OK, send it": (Case(body=f"OK, send it\n{CODE}\n"), "approve"),
    "code alone on the first line, answer below": (Case(body=f"{CODE}\n\nApprove.\n"), "approve"),
    "No, don't send it": (Case(body=f"No, don\u2019t send it. {CODE}\n"), "reject"),
    "do not send": (Case(body=f"Do not send {CODE}\n"), "reject"),
    "go ahead": (Case(body=f"\n\nGo ahead - {CODE}\n"), "approve"),
    "deny": (Case(body=f"deny {CODE}\n-- \nOwner\n"), "reject"),
    "bottom-posted under a wrapped Gmail attribution": (
        Case(
            body=(
                "On Mon, Jan 1, 2024 at 10:00 AM agenticmail <\n"
                "owner+research@example.com> wrote:\n"
                f"{QUOTED}\n\nlgtm {CODE}\n"
            )
        ),
        "approve",
    ),
    "HTML-only reply with a Gmail quote": (
        Case(
            html=(
                f"<div dir=ltr>Approve&nbsp;{CODE}</div><br><div class=gmail_quote>"
                f"<div class=gmail_attr>{ATTRIBUTION}</div><blockquote class=gmail_quote>"
                f"{NOTIFICATION_TEXT.replace(chr(10), '<br>')}</blockquote></div>"
            )
        ),
        "approve",
    ),
    "display name irrelevant, address case-insensitive": (
        Case(sender="Someone Else <OWNER@EXAMPLE.COM>", body=f"cancel {CODE}"),
        "reject",
    ),
    "DKIM only, relaxed alignment (subdomain signer)": (
        Case(ar=(f"{MX}; dkim=pass header.d=mail.example.com; dmarc=none",)),
        "approve",
    ),
    "DKIM via header.i only": (Case(ar=(f"{MX}; dkim=pass header.i=@example.com",)), "approve"),
    "DMARC pass only": (Case(ar=(f"{MX}; dmarc=pass header.from=example.com",)), "approve"),
    "References (other case) instead of In-Reply-To": (
        Case(in_reply_to=None, references="<a@x.test> <HELD-42@AgenticMail.Example.NET>"),
        "approve",
    ),
    "In-Reply-To without angle brackets": (
        Case(in_reply_to="held-42@agenticmail.example.net"),
        "approve",
    ),
    "second trusted header (separate milters) may add a failure but is not needed": (
        Case(ar=(GOOD_AR, f"{MX}; dkim=pass header.d=example.com")),
        "approve",
    ),
}

IGNORED: dict[str, tuple[Case, str]] = {
    "lacking the code": (Case(body="Approve\n"), "code is missing"),
    "code only inside the quoted notification": (
        Case(body=f"no\n\n{ATTRIBUTION}\n{QUOTED}\n"),
        "code is missing",
    ),
    "code only in an Outlook unquoted original": (
        Case(body=f"Approve\n\n-----Original Message-----\n{NOTIFICATION_TEXT}"),
        "code is missing",
    ),
    "code only after an Outlook From/Sent block": (
        Case(
            body=(
                "yes\n\n________________________________\nFrom: agenticmail\n"
                f"Sent: Monday\nTo: Owner\nSubject: held\n\n{NOTIFICATION_TEXT}"
            )
        ),
        "code is missing",
    ),
    "code only in the signature": (Case(body=f"approve\n-- \n{CODE}\n"), "code is missing"),
    "code only in an HTML blockquote": (
        Case(html=f"<p>yes</p><blockquote type=cite>{NOTIFICATION_TEXT}</blockquote>"),
        "code is missing",
    ),
    "code only in the attached original": (
        Case(body="approve\n", attach_notification=True),
        "code is missing",
    ),
    "client quotes the notification without '>' and the owner wrote nothing": (
        Case(body=NOTIFICATION_TEXT),
        "unclear answer",
    ),
    "code only after Outlook's HTML reply header": (
        Case(
            html=(
                "<div>Approve</div><hr><div id=divRplyFwdMsg><b>From:</b> agenticmail<br>"
                f"<b>Sent:</b> Monday</div><div>{NOTIFICATION_TEXT}</div>"
            )
        ),
        "code is missing",
    ),
    "the agent's own plus-address (same mailbox, same DKIM signer)": (
        Case(sender="research <owner+research@example.com>"),
        "is not the owner",
    ),
    "from another address": (Case(sender="Mallory <mallory@example.org>"), "not the owner"),
    "display-name spoof": (
        Case(
            sender="Owner <attacker@evil.com>",
            ar=(f"{MX}; dkim=pass header.d=evil.com; dmarc=pass header.from=evil.com",),
        ),
        "attacker@evil.com is not the owner",
    ),
    "address as display name": (
        Case(sender='"owner@example.com" <attacker@evil.com>'),
        "not the owner",
    ),
    "two From addresses": (
        Case(sender="owner@example.com, attacker@evil.com"),
        "exactly one address",
    ),
    "two From headers": (Case(raw_prefix=b"From: attacker@evil.com\r\n"), "2 From headers"),
    "Sender on behalf of the owner": (
        Case(headers={"Sender": "assistant@example.com"}),
        "on the owner's behalf",
    ),
    "autoresponder": (Case(headers={"Auto-Submitted": "auto-replied"}), "auto-submitted"),
    "failing DKIM": (
        Case(ar=(f"{MX}; dkim=fail header.d=example.com; dmarc=pass header.from=example.com",)),
        "forged: dkim=fail",
    ),
    "failing DMARC": (
        Case(ar=(f"{MX}; dkim=pass header.d=example.com; dmarc=fail header.from=example.com",)),
        "forged: dmarc=fail",
    ),
    "DKIM fail in a second trusted header": (
        Case(ar=(GOOD_AR, f"{MX}; dkim=fail header.d=example.com")),
        "forged",
    ),
    "DKIM pass, unaligned signer": (
        Case(ar=(f"{MX}; spf=pass; dkim=pass header.d=evil.com; dmarc=none",)),
        "no passing DKIM/DMARC result aligned",
    ),
    "DKIM pass for a look-alike domain": (
        Case(ar=(f"{MX}; dkim=pass header.d=example.com.evil.com",)),
        "aligned",
    ),
    "SPF pass alone": (Case(ar=(f"{MX}; spf=pass smtp.mailfrom=example.com",)), "aligned"),
    "DMARC pass for another domain": (
        Case(ar=(f"{MX}; dmarc=pass header.from=evil.com",)),
        "aligned",
    ),
    "no Authentication-Results at all": (Case(ar=()), "no Authentication-Results"),
    "only an untrusted (sender-written) A-R header": (
        Case(ar=("evil.relay; dkim=pass header.d=example.com; dmarc=pass",)),
        "no Authentication-Results header from a trusted authserv-id",
    ),
    "forged A-R with our own id below the real one": (
        Case(ar=(f"{MX}; spf=none; dkim=none; dmarc=none", GOOD_AR)),
        "aligned",
    ),
    "forged A-R below the topmost (no trusted ids given)": (
        Case(ar=("mx.receiver.test; dkim=none; dmarc=none", GOOD_AR), trusted=None),
        "nothing attributable",
    ),
    "no trusted ids: even a perfect topmost header proves nothing": (
        Case(
            ar=(
                "spf=pass (sender IP is 192.0.2.1) smtp.mailfrom=example.com; dkim=pass "
                "(signature was verified) header.d=example.com;dmarc=pass action=none "
                "header.from=example.com;compauth=pass reason=100",
            ),
            trusted=None,
        ),
        "nothing attributable",
    ),
    "a passing trusted header below an untrusted topmost one": (
        Case(ar=("mx.receiver.test; dkim=none", GOOD_AR)),
        "topmost Authentication-Results header is not from a trusted",
    ),
    "wrong In-Reply-To": (Case(in_reply_to="<other@agenticmail.example.net>"), "not a reply"),
    "no In-Reply-To or References": (Case(in_reply_to=None), "not a reply"),
    "unclear text": (Case(body=f"Hmm, what is this? {CODE}\n"), "unclear answer"),
    "both words": (Case(body=f"Yes, cancel it {CODE}\n"), "unclear answer"),
    "negated approval": (Case(body=f"I do not approve this {CODE}\n"), "unclear answer"),
    "greeting first": (Case(body=f"Hi,\napprove {CODE}\n"), "unclear answer"),
    "code glued into a longer token": (Case(body=f"approve X{CODE}9\n"), "code is missing"),
}


def _run(case: Case, as_bytes: bool) -> tuple[str | None, str]:
    msg = build(case)
    raw: bytes | EmailMessage = msg
    if as_bytes or case.raw_prefix:
        raw = case.raw_prefix + msg.as_bytes()
    d = decide(raw, NOTE, trusted_authserv_ids=case.trusted)
    return d.action, d.reason


@pytest.mark.parametrize("as_bytes", [False, True], ids=["EmailMessage", "bytes"])
@pytest.mark.parametrize("name", list(ACCEPTED))
def test_genuine_owner_answers(name: str, as_bytes: bool) -> None:
    case, expected = ACCEPTED[name]
    action, reason = _run(case, as_bytes)
    assert action == expected, reason
    assert "owner@example.com" in reason


@pytest.mark.parametrize("as_bytes", [False, True], ids=["EmailMessage", "bytes"])
@pytest.mark.parametrize("name", list(IGNORED))
def test_not_an_approval(name: str, as_bytes: bool) -> None:
    case, why = IGNORED[name]
    action, reason = _run(case, as_bytes)
    assert action is None, reason
    assert why in reason


@pytest.mark.parametrize(
    ("note", "why"),
    [
        (Notification("<held-42@agenticmail.example.net>", "AB12", "owner@example.com"), "code"),
        (Notification("", CODE, "owner@example.com"), "Message-ID"),
        (Notification("<held-42@agenticmail.example.net>", CODE, "not an address"), "owner"),
    ],
)
def test_unusable_notification_never_approves(note: Notification, why: str) -> None:
    d = decide(build(Case(body="approve AB12")), note, trusted_authserv_ids=TRUSTED)
    assert d.action is None and why in d.reason


def test_instructions_cannot_answer_for_the_owner() -> None:
    text = format_code_instructions(CODE)
    assert CODE in text
    assert all(classify_line(line) is None for line in text.splitlines())


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Approve.", "approve"),
        ("yes!", "approve"),
        ("OK, send it", "approve"),
        ("LGTM", "approve"),
        ("Okay", "approve"),
        ("no", "reject"),
        ("Rejected!", "reject"),
        ("dont send", "reject"),
        ("Block it", "reject"),
        ("nope", None),
        ("yes no", None),
        ("not ok", None),
        ("don't block it", None),
        ("sending", None),
        ("known", None),
        ("approval", None),
        ("", None),
    ],
)
def test_classify_line(line: str, expected: str | None) -> None:
    assert classify_line(line) == expected


@pytest.mark.parametrize(
    ("domain", "org"),
    [
        ("example.com", "example.com"),
        ("Mail.Example.COM.", "example.com"),
        ("a.b.example.co.uk", "example.co.uk"),
        ("owner.test", "owner.test"),
        ("mail.owner.test", "owner.test"),
        ("co.uk", None),
        ("com", None),
        ("", None),
        ("a..b", None),
    ],
)
def test_organizational_domain(domain: str, org: str | None) -> None:
    assert organizational_domain(domain) == org


def test_owner_lines_drop_quotes_and_signature() -> None:
    body = f"yes\n{ATTRIBUTION}\n> quoted\n>> deeper\nthanks\n-- \nsig {CODE}"
    assert owner_lines(body) == ["yes", "thanks"]


def test_auth_details_expose_domains() -> None:
    details = auth_result_details(build(Case()), trusted_authserv_ids=TRUSTED)
    assert details is not None
    by_method = {r.method: r for r in details}
    assert by_method["dkim"].domain == "example.com"
    assert by_method["dkim"].prop("header.b") == "ab;cd"  # ';' inside quotes kept
    assert by_method["dmarc"].domain == "example.com"
    assert by_method["spf"].result == "pass"


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x00\xff",
        b"From: \r\n\r\n",
        b"In-Reply-To: <\r\nFrom: <<>>@\r\n\r\n",
        b"Authentication-Results: ;;;((((\r\n\r\nx",
        "not bytes",
    ],
)
def test_garbage_is_ignored_not_raised(raw: object) -> None:
    d = decide(raw, NOTE)  # type: ignore[arg-type]
    assert d.action is None and d.reason


_BITS = st.sampled_from(
    [
        b"From: owner@example.com\r\n",
        b"In-Reply-To: <held-42@agenticmail.example.net>\r\n",
        f"Authentication-Results: {GOOD_AR}\r\n".encode(),
        b"Subject: =?utf-8?q?x?=\r\n",
        b"Content-Type: text/html\r\n",
        b"Content-Type: multipart/mixed; boundary=b\r\n",
        b"--b\r\n",
        b"\r\n",
        b"approve ",
        CODE.encode(),
        b"<blockquote>",
        b"> ",
        b"-- \r\n",
        b"(",
        b'"',
        b";",
        b"\xff",
    ]
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_BITS | st.binary(max_size=20), max_size=30))
def test_fuzz_never_raises(parts: list[bytes]) -> None:
    d = decide(b"".join(parts), NOTE, trusted_authserv_ids=TRUSTED)
    assert d.action in (None, "approve", "reject")


@pytest.mark.parametrize(
    ("domains", "ar", "action", "why"),
    [
        (["example.com"], (f"{MX}; dkim=fail; dmarc=fail",), "approve", "verified by agenticmail"),
        (["mail.example.com"], (), "approve", "d=mail.example.com"),
        (["evil.com"], (GOOD_AR,), None, "no valid DKIM signature aligned with example.com"),
        ([], (GOOD_AR,), None, "verified signers: none"),
    ],
)
def test_dkim_verified_by_the_caller_is_the_only_proof_when_given(
    domains: list[str], ar: tuple[str, ...], action: str | None, why: str
) -> None:
    """Without a trusted authserv-id the daemon verifies DKIM itself; every
    Authentication-Results header (forged or not) is then ignored."""
    d = decide(build(Case(ar=ar)), NOTE, trusted_authserv_ids=TRUSTED, dkim_domains=domains)
    assert d.action == action and why in d.reason, d


def test_code_known_only_by_its_digest() -> None:
    asked: list[str] = []

    def matches(candidate: str) -> bool:
        asked.append(candidate)
        return candidate == "K7QF9M2X"

    note = Notification(NOTE.message_id, CodeCheck(8, matches), NOTE.owner_email)
    d = decide(build(Case()), note, trusted_authserv_ids=TRUSTED)
    assert d.action == "approve", d
    assert "K7QF9M2X" in asked and all(len(c) == 8 for c in asked)
    wrong = Notification(NOTE.message_id, CodeCheck(8, lambda c: False), NOTE.owner_email)
    d = decide(build(Case()), wrong, trusted_authserv_ids=TRUSTED)
    assert d.action is None and "code is missing" in d.reason
    assert normalize_code("k7qf-9m2x") == "K7QF9M2X"
