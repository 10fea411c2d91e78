"""MailboxSession against a real private Dovecot."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from agenticmail.errors import (
    Conflict,
    InvalidRequest,
    MailHostError,
    MailHostUnavailable,
    NotFound,
)
from agenticmail.mail.imap import MailboxSession
from agenticmail.mail.mime import build_message, parse_message
from agenticmail.models import Attachment, Credentials, Endpoints, OutgoingMail, SearchQuery

from .conftest import Dovecot


def make(subject: str, text: str = "body", **kw: Any) -> bytes:
    mail = OutgoingMail(to=("Agent <agent@example.test>",), subject=subject, text=text, **kw)
    msg, _ = build_message(
        mail, from_addr="sender@example.test", from_name="Sändér", domain="example.test"
    )
    return bytes(msg)


@pytest.fixture
def session(dovecot: Dovecot, account: Credentials) -> Iterator[MailboxSession]:
    with MailboxSession.open(dovecot.endpoints(), account, timeout=5) as s:
        yield s


@pytest.fixture
def inbox3(dovecot: Dovecot, account: Credentials, session: MailboxSession) -> list[int]:
    """Three delivered messages; returns their UIDs oldest first."""
    dovecot.deliver(account.username, make("first", "alpha apples"))
    pdf = Attachment("r.pdf", "application/pdf", b"%PDF-1.4 data")
    dovecot.deliver(account.username, make("Grüße zweite", "beta bananas", attachments=(pdf,)))
    dovecot.deliver(account.username, make("third", "gamma apples", in_reply_to="<p@x>"))
    return sorted(session.search("INBOX", SearchQuery()))


# ----------------------------------------------------------------------------- connecting


def test_open_unreachable_host_is_unavailable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound but not listening: connection refused
        ep = Endpoints("127.0.0.1", port, "127.0.0.1", 0, "127.0.0.1", 0)
        with pytest.raises(MailHostUnavailable, match=f"127.0.0.1:{port}"):
            MailboxSession.open(ep, Credentials("a@example.test", "pw"), timeout=2)


def test_bad_login_is_mail_host_error_without_password(
    dovecot: Dovecot, account: Credentials, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Failed logins make Dovecot delay the next login from the same IP: fail from 127.0.0.2.
    real = socket.create_connection

    def from_127_0_0_2(address: Any, timeout: Any = None, source_address: Any = None) -> Any:
        return real(address, timeout, source_address or ("127.0.0.2", 0))

    monkeypatch.setattr(socket, "create_connection", from_127_0_0_2)
    wrong = Credentials(account.username, "definitely-wrong-pw")
    with pytest.raises(MailHostError) as info:
        MailboxSession.open(dovecot.endpoints(), wrong, timeout=5)
    assert not isinstance(info.value, MailHostUnavailable)
    assert str(info.value) == f"IMAP login failed for {account.username}"
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert "definitely-wrong-pw" not in repr(info.value)


def test_session_repr_and_close(session: MailboxSession, account: Credentials) -> None:
    assert account.password not in repr(session)
    assert account.username in repr(session)
    session.close()
    session.close()  # idempotent
    with pytest.raises(MailHostError, match="closed"):
        session.list_folders()


def test_connection_dropped_by_server_is_unavailable(
    dovecot: Dovecot, account: Credentials, session: MailboxSession
) -> None:
    session.noop()
    subprocess.run(
        ["doveadm", "-c", dovecot.conf, "kick", account.username], check=True, capture_output=True
    )
    with pytest.raises(MailHostUnavailable):
        for _ in range(3):  # the BYE may be consumed by the first command
            session.list_messages("INBOX")


# ----------------------------------------------------------------------------- folders


def test_list_folders_and_special_use(session: MailboxSession) -> None:
    folders = {f["name"]: f for f in session.list_folders()}
    assert {"INBOX", "Sent", "Spam", "Archive", "Trash"} <= set(folders)
    assert folders["Sent"]["special_use"] == "\\Sent"
    assert folders["Spam"]["special_use"] == "\\Junk"
    assert folders["INBOX"]["special_use"] is None
    assert all(isinstance(f, str) for f in folders["Sent"]["flags"])


@pytest.mark.parametrize(
    ("use", "name"), [("\\Junk", "Spam"), ("Sent", "Sent"), ("\\archive", "Archive")]
)
def test_special_folder(session: MailboxSession, use: str, name: str) -> None:
    assert session.special_folder(use) == name


def test_special_folder_missing_or_unknown(session: MailboxSession) -> None:
    with pytest.raises(NotFound, match="Drafts"):
        session.special_folder("\\Drafts")
    with pytest.raises(InvalidRequest, match="unknown special-use"):
        session.special_folder("\\Bogus")


@pytest.mark.parametrize("name", ["Projects", "Projects/2024", "Rechnungen/Ärger & Co", "日本"])
def test_create_folder(session: MailboxSession, name: str) -> None:
    session.create_folder(name)
    assert name in {f["name"] for f in session.list_folders()}
    assert session.folder_status(name)["messages"] == 0
    with pytest.raises(Conflict, match="already exists"):
        session.create_folder(name)


@pytest.mark.parametrize(
    "name", ["", "a\r\nb", "tab\there", "*", "a%", "/lead", "trail/", "a//b", " sp", "x" * 201]
)
def test_invalid_folder_names(session: MailboxSession, name: str) -> None:
    with pytest.raises(InvalidRequest):
        session.create_folder(name)
    with pytest.raises(InvalidRequest):
        session.list_messages(name)


@pytest.mark.parametrize(
    "call",
    [
        lambda s: s.folder_status("Nope"),
        lambda s: s.uidvalidity("Nope"),
        lambda s: s.list_messages("Nope"),
        lambda s: s.fetch_raw("Nope", 1),
        lambda s: s.search("Nope", SearchQuery()),
        lambda s: s.set_flags("Nope", [1], add=["\\Seen"]),
        lambda s: s.delete("Nope", [1]),
        lambda s: s.move("Nope", [1], "Archive"),
        lambda s: s.append("Nope", b"Subject: x\r\n\r\nx\r\n"),
    ],
)
def test_unknown_folder_is_not_found(session: MailboxSession, call: Any) -> None:
    with pytest.raises(NotFound, match="folder 'Nope' not found"):
        call(session)
    session.noop()  # the session survives the error


def test_folder_status_and_uidvalidity(session: MailboxSession, inbox3: list[int]) -> None:
    status = session.folder_status("INBOX")
    assert status["messages"] == 3 and status["unseen"] == 3
    assert status["uidnext"] > max(inbox3)
    assert session.uidvalidity("INBOX") == status["uidvalidity"] > 0


# ----------------------------------------------------------------------------- reading


def test_list_messages_newest_first_with_summaries(
    session: MailboxSession, inbox3: list[int]
) -> None:
    total, page = session.list_messages("INBOX", limit=10)
    assert total == 3
    assert [m.uid for m in page] == sorted(inbox3, reverse=True)
    third, second, first = page
    assert (third.subject, second.subject, first.subject) == ("third", "Grüße zweite", "first")
    assert second.has_attachments and not first.has_attachments and not third.has_attachments
    assert first.from_ == "Sändér <sender@example.test>"
    assert first.to == ("Agent <agent@example.test>",)
    assert first.folder == "INBOX" and first.size > 100
    assert first.message_id and first.message_id.endswith("@example.test>")
    assert first.date is not None and datetime.fromisoformat(first.date).tzinfo is not None
    assert "\\Seen" not in first.flags


@pytest.mark.parametrize(
    ("limit", "offset", "subjects"),
    [(2, 0, ["third", "Grüße zweite"]), (2, 2, ["first"]), (1, 1, ["Grüße zweite"]), (5, 3, [])],
)
def test_list_messages_paging(
    session: MailboxSession, inbox3: list[int], limit: int, offset: int, subjects: list[str]
) -> None:
    total, page = session.list_messages("INBOX", limit=limit, offset=offset)
    assert total == 3
    assert [m.subject for m in page] == subjects


@pytest.mark.parametrize(("limit", "offset"), [(0, 0), (1001, 0), (10, -1)])
def test_list_messages_bad_paging(session: MailboxSession, limit: int, offset: int) -> None:
    with pytest.raises(InvalidRequest):
        session.list_messages("INBOX", limit=limit, offset=offset)


def test_fetch_raw_does_not_mark_seen(session: MailboxSession, inbox3: list[int]) -> None:
    uid = inbox3[1]
    raw, flags = session.fetch_raw("INBOX", uid)
    assert "\\Seen" not in flags
    parsed = parse_message(raw, uid=uid, folder="INBOX", flags=flags)
    assert parsed.subject == "Grüße zweite"
    assert [a.filename for a in parsed.attachments] == ["r.pdf"]
    _, again = session.fetch_raw("INBOX", uid)
    assert "\\Seen" not in again
    assert session.folder_status("INBOX")["unseen"] == 3


@pytest.mark.parametrize("uid", [999, 2**31])
def test_fetch_raw_unknown_uid(session: MailboxSession, inbox3: list[int], uid: int) -> None:
    with pytest.raises(NotFound, match=f"message {uid} not found in INBOX"):
        session.fetch_raw("INBOX", uid)


@pytest.mark.parametrize("uid", [0, -1, True, "3", 2**32])
def test_invalid_uid(session: MailboxSession, uid: Any) -> None:
    with pytest.raises(InvalidRequest):
        session.fetch_raw("INBOX", uid)


@pytest.mark.parametrize(
    ("query", "expected_idx"),
    [
        (SearchQuery(), [2, 1, 0]),
        (SearchQuery(subject="third"), [2]),
        (SearchQuery(subject="grüße"), [1]),
        (SearchQuery(body="apples"), [2, 0]),
        (SearchQuery(body="apples", subject="first"), [0]),
        (SearchQuery(from_="sender@example.test"), [2, 1, 0]),
        (SearchQuery(to="agent@example.test"), [2, 1, 0]),
        (SearchQuery(from_="nobody@else.test"), []),
    ],
)
def test_search(
    session: MailboxSession, inbox3: list[int], query: SearchQuery, expected_idx: list[int]
) -> None:
    assert session.search("INBOX", query) == [inbox3[i] for i in expected_idx]


def test_search_seen_and_dates(session: MailboxSession, inbox3: list[int]) -> None:
    session.set_flags("INBOX", [inbox3[0]], add=["\\Seen"])
    assert session.search("INBOX", SearchQuery(seen=True)) == [inbox3[0]]
    assert session.search("INBOX", SearchQuery(seen=False)) == [inbox3[2], inbox3[1]]
    old = session.append("INBOX", make("old one"), date=datetime(2020, 5, 1, 12, tzinfo=UTC))
    assert old is not None
    cutoff = datetime(2021, 1, 1, tzinfo=UTC)
    assert session.search("INBOX", SearchQuery(before=cutoff)) == [old]
    assert old not in session.search("INBOX", SearchQuery(since=cutoff))
    assert len(session.search("INBOX", SearchQuery(since=cutoff))) == 3


def test_search_rejects_line_breaks(session: MailboxSession) -> None:
    with pytest.raises(InvalidRequest, match="line breaks"):
        session.search("INBOX", SearchQuery(subject="a\r\nb"))


def test_search_by_keyword(session: MailboxSession, inbox3: list[int]) -> None:
    session.set_flags("INBOX", [inbox3[1]], add=["$agent-done"])
    assert session.search("INBOX", SearchQuery(keyword="$agent-done")) == [inbox3[1]]
    with pytest.raises(InvalidRequest):
        session.search("INBOX", SearchQuery(keyword="bad keyword"))


# ----------------------------------------------------------------------------- writing


def test_set_flags_add_remove_keywords(session: MailboxSession, inbox3: list[int]) -> None:
    a, b = inbox3[0], inbox3[1]
    result = session.set_flags("INBOX", [a, b], add=["\\Seen", "$agent-done", "\\flagged"])
    assert set(result) == {a, b}
    assert {"\\Seen", "$agent-done", "\\Flagged"} <= set(result[a])
    result = session.set_flags("INBOX", a, remove=["\\Seen", "$agent-done"])
    assert "\\Seen" not in result[a] and "$agent-done" not in result[a]
    assert "\\Flagged" in result[a]
    _, flags_b = session.fetch_raw("INBOX", b)
    assert "$agent-done" in flags_b


@pytest.mark.parametrize("flag", ["\\Recent", "\\Bogus", "has space", "(paren", "", "a]b"])
def test_set_flags_rejects_bad_flags(session: MailboxSession, inbox3: list[int], flag: str) -> None:
    with pytest.raises(InvalidRequest):
        session.set_flags("INBOX", inbox3[:1], add=[flag])


def test_set_flags_unknown_uid_changes_nothing(session: MailboxSession, inbox3: list[int]) -> None:
    with pytest.raises(NotFound, match="message 4242 not found in INBOX"):
        session.set_flags("INBOX", [inbox3[0], 4242], add=["\\Seen"])
    assert session.search("INBOX", SearchQuery(seen=True)) == []


def test_move(session: MailboxSession, inbox3: list[int]) -> None:
    mapping = session.move("INBOX", [inbox3[0], inbox3[2]], "Archive")
    assert set(mapping) == {inbox3[0], inbox3[2]}
    assert session.search("INBOX", SearchQuery()) == [inbox3[1]]
    archived = session.search("Archive", SearchQuery())
    assert sorted(archived) == sorted(mapping.values())
    raw, _ = session.fetch_raw("Archive", mapping[inbox3[0]])
    assert b"Subject: first" in raw


def test_move_errors(session: MailboxSession, inbox3: list[int]) -> None:
    with pytest.raises(NotFound, match="folder 'Missing' not found"):
        session.move("INBOX", [inbox3[0]], "Missing")
    with pytest.raises(NotFound, match="message 777 not found in INBOX"):
        session.move("INBOX", [777], "Archive")
    with pytest.raises(InvalidRequest, match="already in"):
        session.move("INBOX", [inbox3[0]], "INBOX")
    assert session.folder_status("INBOX")["messages"] == 3


def test_delete_expunges_only_given_uids(session: MailboxSession, inbox3: list[int]) -> None:
    # Another message already flagged \Deleted must survive: UID EXPUNGE, not EXPUNGE.
    session.set_flags("INBOX", [inbox3[1]], add=["\\Deleted"])
    session.delete("INBOX", [inbox3[0]])
    assert session.search("INBOX", SearchQuery()) == [inbox3[2], inbox3[1]]
    with pytest.raises(NotFound):
        session.fetch_raw("INBOX", inbox3[0])
    with pytest.raises(NotFound, match=f"message {inbox3[0]} not found"):
        session.delete("INBOX", [inbox3[0]])


def test_append_returns_uid(session: MailboxSession) -> None:
    raw = make("saved copy", "sent text")
    uid = session.append("Sent", raw, flags=["\\Seen", "$agent-sent"])
    assert isinstance(uid, int)
    got, flags = session.fetch_raw("Sent", uid)
    assert got == raw
    assert {"\\Seen", "$agent-sent"} <= set(flags)
    second = session.append("Sent", raw)
    assert second is not None and second > uid


@pytest.mark.parametrize(
    ("raw", "flags"), [(b"", ()), ("text", ()), (b"Subject: x\r\n\r\n", ["bad flag"])]
)
def test_append_rejects(session: MailboxSession, raw: Any, flags: Any) -> None:
    with pytest.raises(InvalidRequest):
        session.append("Sent", raw, flags=flags)


def test_operations_across_folders_reselect(session: MailboxSession, inbox3: list[int]) -> None:
    uid = session.append("Archive", make("in archive"))
    assert uid is not None
    # alternate folders: each call must act on the folder it names
    assert session.fetch_raw("Archive", uid)[0].count(b"in archive") == 1
    assert session.list_messages("INBOX")[0] == 3
    assert session.search("Archive", SearchQuery(subject="archive")) == [uid]
    assert session.set_flags("Archive", [uid], add=["\\Seen"])[uid]
    assert session.search("INBOX", SearchQuery(seen=True)) == []
