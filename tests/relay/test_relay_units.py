"""Pure parts of the relay gateway: routing table, retry schedule, dedup key, the delivered
copy, plain-words errors, presets."""

from __future__ import annotations

import ssl
from email import message_from_bytes

import pytest

from agenticmail.errors import InvalidRequest, MailHostError, TransientDeliveryError
from agenticmail.gateway import relay_account as gw
from agenticmail.services import relay_oauth
from agenticmail.services.relay_gateway import RelayInput, build_account

ACCOUNT = "owner@gmail.com"
AGENTS = ["alice", "Bob", "carol"]
SENT = {"<out-1@localhost>": "alice", "<out-2@localhost>": "bob", "<note@localhost>": "_system"}


def lookup(ids: list[str]) -> str | None:
    for mid in ids:
        if mid.lower() in SENT:
            return SENT[mid.lower()]
    return None


def msg(**headers: str) -> bytes:
    lines = [f"{k.replace('_', '-')}: {v}" for k, v in headers.items()]
    return ("\r\n".join(["From: someone@example.org", *lines, "Subject: s", "", "b", ""])
            ).encode()


ROUTES: list[tuple[str, bytes, str | None, str | None]] = [
    ("tag in To", msg(To="owner+alice@gmail.com"), "alice", "sub-address"),
    ("tag in Cc", msg(To="x@example.org", Cc="Owner <owner+carol@gmail.com>"), "carol",
     "sub-address"),
    ("tag in Delivered-To", msg(To="list@example.org", Delivered_To="owner+bob@gmail.com"),
     "Bob", "sub-address"),
    ("tag in X-Original-To", msg(To="u@example.org", X_Original_To="owner+alice@gmail.com"),
     "alice", "sub-address"),
    ("tag case and Gmail dots", msg(To="O.Wner+ALICE@googlemail.com"), "alice", "sub-address"),
    ("tag wins over In-Reply-To", msg(To="owner+carol@gmail.com",
                                      In_Reply_To="<out-1@localhost>"), "carol", "sub-address"),
    ("another account's tag", msg(To="other+alice@gmail.com"), None, None),
    ("In-Reply-To", msg(To=ACCOUNT, In_Reply_To="<OUT-1@localhost>"), "alice", "in-reply-to"),
    ("References, newest first", msg(To=ACCOUNT, References="<out-1@localhost> <zz@x> "
                                                           "<out-2@localhost>"),
     "Bob", "references"),
    ("reply to a notification is no agent's", msg(To=ACCOUNT, In_Reply_To="<note@localhost>"),
     None, None),
    ("the owner's own mail", msg(To=ACCOUNT), None, None),
    ("unknown tag without a default", msg(To="owner+zed@gmail.com"), None, None),
]


@pytest.mark.parametrize(("raw", "agent", "reason"), [r[1:] for r in ROUTES],
                         ids=[r[0] for r in ROUTES])
def test_routing(raw: bytes, agent: str | None, reason: str | None) -> None:
    decided = gw.route_message(raw, ACCOUNT, AGENTS, lookup)
    got = (decided.agent, decided.reason) if decided else (None, None)
    assert got == (agent, reason)


def test_default_agent_gets_unknown_tags_and_with_scope_all_everything() -> None:
    unknown, own = msg(To="owner+zed@gmail.com"), msg(To=ACCOUNT)
    assert gw.route_message(unknown, ACCOUNT, AGENTS, lookup, "carol") == \
        gw.RouteDecision("carol", "default")
    assert gw.route_message(own, ACCOUNT, AGENTS, lookup, "carol") is None
    assert gw.route_message(own, ACCOUNT, AGENTS, lookup, "carol", "all") == \
        gw.RouteDecision("carol", "default")
    assert gw.route_message(unknown, ACCOUNT, AGENTS, lookup, "ghost") is None


def test_backoff_schedule_is_30s_1m_2m_4m_then_5m_for_ever() -> None:
    assert [gw.backoff_delay(n) for n in range(1, 9)] == [30, 60, 120, 240, 300, 300, 300, 300]
    assert gw.backoff_delay(10_000) == 300
    assert gw.backoff_delay(0) == 0
    assert [gw.backoff_delay(n, first=1) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]


def test_message_key_is_the_message_id_else_a_digest() -> None:
    assert gw.message_key(b"Message-ID: <A@B>\r\nSubject: x\r\n\r\nbody") == "<a@b>"
    a = gw.message_key(b"Subject: x\r\n\r\nbody one")
    assert a.startswith("sha256:") and a != gw.message_key(b"Subject: x\r\n\r\nbody two")


def test_relayed_copy_keeps_the_original_bytes_and_marks_the_origin() -> None:
    raw = (b"Authentication-Results: mx.google.com; dkim=pass header.d=example.org\r\n"
           b"DKIM-Signature: v=1; d=example.org; b=xyz\r\n"
           b"From: Friend <friend@example.org>\r\nTo: owner@gmail.com\r\n\r\nhi\r\n")
    copy = gw.relayed_copy(raw, account=ACCOUNT, uid=7,
                           route=gw.RouteDecision("alice", "in-reply-to"),
                           local_domains=["localhost"])
    assert copy.endswith(raw)
    message = message_from_bytes(copy)
    assert message["X-Original-From"] == "Friend <friend@example.org>"
    assert message["X-Agenticmail-Relay"] == "owner@gmail.com; uid=7; route=in-reply-to"


def test_relayed_copy_of_a_forged_local_sender_is_made_external() -> None:
    raw = b"From: boss@localhost\r\n (folded)\r\nTo: owner@gmail.com\r\nSubject: pay\r\n\r\nx\r\n"
    copy = gw.relayed_copy(raw, account=ACCOUNT, uid=1,
                           route=gw.RouteDecision("alice", "sub-address"),
                           local_domains=["localhost"])
    message = message_from_bytes(copy)
    assert message.get_all("From") == ["relay <owner@gmail.com>"]
    assert message["X-Original-From"] == "boss@localhost (folded)"
    assert message["Subject"] == "pay" and message.get_payload() == "x\r\n"


def test_errors_are_explained_in_plain_words() -> None:
    account = build_account(RelayInput("gmail", ACCOUNT, "abcd efgh ijkl mnop"))
    refused = MailHostError("IMAP login failed for owner@gmail.com")
    assert "revoked" in gw.explain(refused, account)
    down = MailHostError("IMAP connection lost while connecting: x")
    down.__cause__ = ConnectionRefusedError(111, "refused")
    assert "imap.gmail.com:993 refused the connection" in gw.explain(down, account)
    cert = MailHostError("x")
    err = ssl.SSLCertVerificationError("bad")
    err.verify_message = "self-signed certificate"
    cert.__cause__ = err
    assert "not trusted: self-signed certificate" in gw.explain(cert, account)
    assert "agent's mailbox" in gw.explain(TransientDeliveryError("LMTP down"), account)
    assert "abcdefghijklmnop" not in repr(account)


def test_presets_and_account_validation() -> None:
    gmail = build_account(RelayInput("gmail", "Owner@Gmail.com", "abcd efgh ijkl mnop"))
    assert (gmail.smtp_host, gmail.smtp_port, gmail.smtp_tls) == ("smtp.gmail.com", 465,
                                                                 "implicit")
    assert (gmail.imap_host, gmail.imap_port) == ("imap.gmail.com", 993)
    assert gmail.password == "abcdefghijklmnop"  # Google shows app passwords with spaces
    assert gmail.authserv_ids == ("mx.google.com",)
    outlook = build_account(RelayInput("outlook", "me@outlook.com", "pw"))
    assert (outlook.smtp_host, outlook.smtp_port, outlook.smtp_tls) == (
        "smtp.office365.com", 587, "starttls")
    assert outlook.imap_host == "outlook.office365.com"
    with pytest.raises(InvalidRequest, match="smtp_host and imap_host"):
        build_account(RelayInput("other", "me@example.org", "pw"))
    with pytest.raises(InvalidRequest, match="without a \\+tag"):
        build_account(RelayInput("gmail", "owner+x@gmail.com", "pw"))
    with pytest.raises(InvalidRequest, match="provider"):
        build_account(RelayInput("yahoo", "me@yahoo.com", "pw"))


def test_auth_results_claiming_a_trusted_id_survive_only_as_the_topmost_header() -> None:
    genuine = b"Authentication-Results: mx.google.com;\r\n dkim=pass header.d=example.org\r\n"
    forged = (b"Authentication-Results: mx.google.com; dkim=pass header.d=bank.example\r\n"
              b"Authentication-Results: mx.local.test; dkim=pass header.d=bank.example\r\n")
    rest = b"From: Friend <friend@example.org>\r\nTo: owner@gmail.com\r\n\r\nhi\r\n"
    copy = gw.relayed_copy(genuine + forged + rest, account=ACCOUNT, uid=3,
                           route=gw.RouteDecision("alice", "sub-address"),
                           local_domains=["localhost"], trusted_authserv_ids=["mx.google.com"],
                           foreign_authserv_ids=["mx.local.test"])
    assert copy.endswith(genuine + rest)  # the provider's header, byte-identical; no other
    # a message whose topmost header is not the provider's keeps none that claims its id
    unstamped = gw.strip_forged_auth_results(b"Authentication-Results: other.test; dkim=none\r\n"
                                             + genuine + rest, ["mx.google.com"])
    assert unstamped == b"Authentication-Results: other.test; dkim=none\r\n" + rest


def test_the_relay_seal_binds_the_providers_header_to_this_message() -> None:
    raw = (b"Authentication-Results: mx.google.com; dkim=pass header.d=example.org\r\n"
           b"X-Agenticmail-Relay-Seal: brought-along\r\n"
           b"From: Friend <friend@example.org>\r\nMessage-ID: <m1@example.org>\r\n\r\nhi\r\n")
    copy = gw.relayed_copy(raw, account=ACCOUNT, uid=3,
                           route=gw.RouteDecision("alice", "sub-address"),
                           local_domains=["localhost"], trusted_authserv_ids=["mx.google.com"],
                           seal=lambda text: "MAC(" + text.replace("\n", "|") + ")")
    seals = message_from_bytes(copy).get_all(gw.SEAL_HEADER)
    assert seals == ["MAC(" + gw.seal_input(copy).replace("\n", "|") + ")"]
    stored = copy.replace(b"\r\n", b"\n")  # as a mail store may keep it: same input
    assert gw.seal_input(stored) == gw.seal_input(copy)
    assert gw.seal_input(copy.replace(b"hi\r\n", b"pay now\r\n")) != gw.seal_input(copy)


@pytest.mark.parametrize(("expires", "issued", "margin", "due"), [
    (4600.0, 1000.0, 300.0, 4300.0),  # an hour's token: 5 min before it expires
    (1060.0, 1000.0, 300.0, 1030.0),  # a 1-minute token: halfway, not at once
    (1005.0, 1000.0, 2.0, 1003.0),
    (0.0, 1000.0, 300.0, -300.0),  # forgotten after a refused login: due now
    (4600.0, 0.0, 300.0, 4300.0),  # issue time unknown
])
def test_an_oauth_token_is_renewed_before_it_expires(expires: float, issued: float,
                                                      margin: float, due: float) -> None:
    assert relay_oauth.renew_at(expires, issued, margin) == due
