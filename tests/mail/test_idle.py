"""FolderWatch against a real private Dovecot: what the server announces is never lost."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from agenticmail.mail.idle import FolderWatch, Wakeup
from agenticmail.mail.imap import MailboxSession
from agenticmail.models import Credentials
from agenticmail_testing.dovecot import wait_for_change

from .conftest import Dovecot

MAIL = b"From: a@example.test\r\nTo: b@example.test\r\nSubject: s\r\n\r\nbody\r\n"


@pytest.fixture
def watch(dovecot: Dovecot, account: Credentials) -> Iterator[FolderWatch]:
    w = FolderWatch(dovecot.endpoints(), account, timeout=5)
    w.connect()
    yield w
    w.close()


def test_idle_reports_new_mail(dovecot: Dovecot, account: Credentials,
                               watch: FolderWatch) -> None:
    assert watch.wait(0.2) == set()
    dovecot.deliver(account.username, MAIL)
    wait_for_change(watch, "exists")
    assert watch.uids_after(0) == [1]


def test_exists_in_the_reply_to_our_own_command_is_reported(
        dovecot: Dovecot, account: Credentials, watch: FolderWatch) -> None:
    """Mail that arrives while a command runs is announced in that command's reply (here a
    FETCH of a UID that does not exist). The server will not announce it again in IDLE, so
    wait() must report it at once rather than idle on and miss it."""
    dovecot.deliver(account.username, MAIL)
    assert watch.fetch(999) is None  # its reply carries "* 1 EXISTS"
    assert watch.wait(5) == {"exists"}
    assert watch.uids_after(0) == [1]
    assert watch.wait(0.2) == set()  # reported once, not again


def test_mail_delivered_before_idle_starts_is_reported(
        dovecot: Dovecot, account: Credentials, watch: FolderWatch) -> None:
    """Dovecot announces such mail neither when IDLE starts nor during it: the watch must end
    its first IDLE after a command of its own to look."""
    assert watch.uids_after(0) == []  # our last command before idling
    dovecot.deliver(account.username, MAIL)
    assert "exists" in wait_for_change(watch, "exists", 5)
    assert watch.uids_after(0) == [1]


def test_flag_change_by_another_session_is_reported(dovecot: Dovecot, account: Credentials,
                                                    watch: FolderWatch) -> None:
    dovecot.deliver(account.username, MAIL)
    wait_for_change(watch, "exists")
    assert "\\Flagged" not in watch.all_flags()[1]
    with MailboxSession.open(dovecot.endpoints(), account, timeout=5) as other:
        other.set_flags("INBOX", [1], add=["\\Flagged"])
    wait_for_change(watch, "fetch")
    assert "\\Flagged" in watch.all_flags()[1]


def test_a_wakeup_ends_an_idle_wait_with_nothing_announced(watch: FolderWatch) -> None:
    """Nothing changes in the folder, so only the wake can end this 30 s wait."""
    wakeup = Wakeup()
    try:
        assert watch.wait(0.2, wakeup) == set()  # idling now
        threading.Thread(target=wakeup.set).start()
        assert watch.wait(30, wakeup) == {"woken"}
        assert watch.wait(0.2, wakeup) == set()  # one wake is reported once
    finally:
        wakeup.close()


def test_after_a_wake_the_search_finds_mail_just_delivered(
        dovecot: Dovecot, account: Credentials, watch: FolderWatch) -> None:
    """The daemon wakes a watcher right after LMTP accepted a message: the watcher's next
    UID search must already see it, without waiting for the server's IDLE notification."""
    wakeup = Wakeup()
    try:
        assert watch.wait(0.2, wakeup) == set()  # idling, as a watcher between messages
        dovecot.deliver(account.username, MAIL)
        wakeup.set()
        assert watch.wait(30, wakeup) == {"woken", "exists"}
        assert watch.uids_after(0) == [1]
    finally:
        wakeup.close()
