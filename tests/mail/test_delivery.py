"""LMTP delivery against the real private Dovecot, plus a scripted aiosmtpd LMTP for 4xx/5xx."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP

from agenticmail.errors import InvalidRequest, PermanentDeliveryError, TransientDeliveryError
from agenticmail.mail.delivery import deliver_lmtp, deliver_lmtp_async
from agenticmail.mail.imap import MailboxSession
from agenticmail.models import Credentials, SearchQuery

from .conftest import Dovecot


def inbox(dovecot: Dovecot, creds: Credentials) -> list[bytes]:
    with MailboxSession.open(dovecot.endpoints(), creds, timeout=5) as s:
        return [s.fetch_raw("INBOX", uid)[0] for uid in sorted(s.search("INBOX", SearchQuery()))]


def lmtp(dovecot: Dovecot) -> tuple[str, int]:
    return "127.0.0.1", dovecot.lmtp_port


MSG = b"From: s@example.test\r\nSubject: hello\r\n\r\nbody line\r\n"


def test_deliver_to_one(dovecot: Dovecot, account: Credentials) -> None:
    assert deliver_lmtp(*lmtp(dovecot), "s@example.test", [account.username], MSG) == {}
    (got,) = inbox(dovecot, account)
    assert got.endswith(MSG)  # Dovecot prepends Return-Path / Delivered-To / Received


def test_multiple_recipients_with_one_unknown(dovecot: Dovecot) -> None:
    a = dovecot.add_user("multi-a@example.test", "pa")
    b = dovecot.add_user("multi-b@example.test", "pb")
    refused = deliver_lmtp(
        *lmtp(dovecot),
        "s@example.test",
        [a.username, "ghost@example.test", b.username, a.username],
        MSG,
    )
    assert list(refused) == ["ghost@example.test"]
    assert refused["ghost@example.test"].startswith("550 ")
    assert len(inbox(dovecot, a)) == 1  # duplicate recipient delivered once
    assert len(inbox(dovecot, b)) == 1


def test_plus_address_is_delivered_to_the_base_mailbox(
    dovecot: Dovecot, account: Credentials
) -> None:
    local, domain = account.username.split("@")
    assert deliver_lmtp(*lmtp(dovecot), "", [f"{local}+news@{domain}"], MSG) == {}
    (got,) = inbox(dovecot, account)
    assert b"Return-Path: <>" in got  # the null sender is allowed (bounces)


def test_all_unknown_is_permanent(dovecot: Dovecot) -> None:
    with pytest.raises(PermanentDeliveryError, match=r"ghost1@example\.test: 550"):
        deliver_lmtp(
            *lmtp(dovecot), "s@example.test", ["ghost1@example.test", "ghost2@example.test"], MSG
        )


def test_line_endings_and_dot_stuffing(dovecot: Dovecot, account: Credentials) -> None:
    data = b"Subject: dots\n\nfirst\n.\n..two\nlast-no-newline"
    assert deliver_lmtp(*lmtp(dovecot), "s@example.test", [account.username], data) == {}
    (got,) = inbox(dovecot, account)
    assert got.endswith(b"Subject: dots\r\n\r\nfirst\r\n.\r\n..two\r\nlast-no-newline\r\n")


def test_concurrent_deliveries_from_threads(dovecot: Dovecot, account: Credentials) -> None:
    def one(i: int) -> dict[str, str]:
        data = b"Subject: n%d\r\n\r\nx\r\n" % i
        return deliver_lmtp(*lmtp(dovecot), "s@example.test", [account.username], data)

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(one, range(16))) == [{}] * 16
    subjects = {m.split(b"Subject: ")[1].split(b"\r\n")[0] for m in inbox(dovecot, account)}
    assert subjects == {b"n%d" % i for i in range(16)}


async def test_async_variant(dovecot: Dovecot, account: Credentials) -> None:
    host, port = lmtp(dovecot)
    assert await deliver_lmtp_async(host, port, "s@example.test", [account.username], MSG) == {}
    with pytest.raises(PermanentDeliveryError):
        await deliver_lmtp_async(host, port, "s@example.test", ["nope@example.test"], MSG)


def test_connection_refused_is_transient() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        with pytest.raises(TransientDeliveryError, match="cannot deliver"):
            deliver_lmtp("127.0.0.1", port, "s@example.test", ["a@example.test"], MSG, timeout=2)


@pytest.mark.parametrize(
    ("sender", "recipients", "data", "reason"),
    [
        ("s@example.test", [], MSG, "at least one recipient"),
        ("s@example.test", ["not-an-address"], MSG, "invalid e-mail address"),
        ("bad sender", ["a@example.test"], MSG, "invalid e-mail address"),
        ("s@example.test", ["a@example.test"], b"", "non-empty bytes"),
        ("s@example.test", ["a@example.test"], "text", "non-empty bytes"),
        ("s@example.test", ["a@example.test\r\nRCPT TO:<x@y.test>"], MSG, "control"),
    ],
)
def test_invalid_arguments(sender: str, recipients: list[str], data: Any, reason: str) -> None:
    with pytest.raises(InvalidRequest, match=reason):
        deliver_lmtp("127.0.0.1", 1, sender, recipients, data)


# ----------------------------------------------------------------------------- scripted server


class ScriptedHandler:
    """Answers RCPT/MAIL with scripted replies keyed by address."""

    def __init__(self, rcpt: dict[str, str], mail: str | None = None) -> None:
        self.rcpt_replies = rcpt
        self.mail_reply = mail
        self.delivered: list[list[str]] = []

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str,
                          options: list[str]) -> str:  # fmt: skip
        if self.mail_reply:
            return self.mail_reply
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          options: list[str]) -> str:  # fmt: skip
        reply = self.rcpt_replies.get(address, "250 OK")
        if reply.startswith("250"):
            envelope.rcpt_tos.append(address)
        return reply

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.delivered.append(list(envelope.rcpt_tos))
        return "250 OK"  # single accepted recipient only: aiosmtpd sends one DATA reply


class LMTPController(Controller):
    def factory(self) -> LMTP:
        return LMTP(self.handler)


@pytest.fixture
def scripted() -> Iterator[Callable[..., tuple[ScriptedHandler, int]]]:
    controllers: list[Controller] = []

    def start(rcpt: dict[str, str], mail: str | None = None) -> tuple[ScriptedHandler, int]:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        handler = ScriptedHandler(rcpt, mail)
        controller = LMTPController(handler, hostname="127.0.0.1", port=port)
        controller.start()
        controllers.append(controller)
        return handler, port

    yield start
    for controller in controllers:
        controller.stop()


T451 = "451 4.3.0 Try again later"
P550 = "550 5.1.1 No such user"


def test_all_4xx_is_transient(scripted: Callable[..., tuple[ScriptedHandler, int]]) -> None:
    _, port = scripted({"a@x.test": T451, "b@x.test": T451})
    with pytest.raises(TransientDeliveryError, match=r"a@x\.test: 451 4\.3\.0"):
        deliver_lmtp("127.0.0.1", port, "s@x.test", ["a@x.test", "b@x.test"], MSG)


def test_mixed_4xx_and_5xx_all_failed_is_transient(
    scripted: Callable[..., tuple[ScriptedHandler, int]],
) -> None:
    _, port = scripted({"a@x.test": T451, "b@x.test": P550})
    with pytest.raises(TransientDeliveryError):
        deliver_lmtp("127.0.0.1", port, "s@x.test", ["a@x.test", "b@x.test"], MSG)


def test_partial_4xx_is_returned(scripted: Callable[..., tuple[ScriptedHandler, int]]) -> None:
    handler, port = scripted({"later@x.test": T451})
    refused = deliver_lmtp("127.0.0.1", port, "s@x.test", ["ok@x.test", "later@x.test"], MSG)
    assert refused == {"later@x.test": T451}
    assert handler.delivered == [["ok@x.test"]]


@pytest.mark.parametrize(
    ("reply", "error"),
    [("553 5.1.8 Bad sender", PermanentDeliveryError), ("421 4.3.2 Busy", TransientDeliveryError)],
)
def test_sender_refused(
    scripted: Callable[..., tuple[ScriptedHandler, int]], reply: str, error: type[Exception]
) -> None:
    handler, port = scripted({}, mail=reply)
    with pytest.raises(error, match=reply.split()[0]):
        deliver_lmtp("127.0.0.1", port, "s@x.test", ["a@x.test"], MSG)
    assert handler.delivered == []


def test_deliver_over_a_unix_socket(dovecot: Dovecot, account: Credentials) -> None:
    """A host starting with '/' is a unix socket (how the local mail host serves LMTP)."""
    path = f"{dovecot.dir}/run/lmtp"
    assert deliver_lmtp(path, 0, "s@example.test", [account.username], MSG) == {}
    assert MSG.split(b"\r\n\r\n")[1] in inbox(dovecot, account)[-1]
    with pytest.raises(TransientDeliveryError, match="LMTP server /nonexistent/lmtp"):
        deliver_lmtp("/nonexistent/lmtp", 0, "s@example.test", [account.username], MSG)
