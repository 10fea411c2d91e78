"""What an agent's mailbox holds, read over IMAP with its mail credentials (for tests and
the fault-injection script that count copies), and whether a mail login works."""

from __future__ import annotations

import collections
import email
import imaplib
import smtplib
from typing import TYPE_CHECKING, Any

from imapclient import IMAPClient

if TYPE_CHECKING:
    from agenticmail_testing.daemon import DaemonHandle


def message_ids(agent: dict[str, Any], folder: str) -> collections.Counter[str]:
    """The Message-IDs in the agent's ``folder`` (``"Sent"``: its special-use Sent folder),
    with how many copies of each."""
    creds = agent["mail"]
    with IMAPClient(creds["imap_host"], port=creds["imap_port"], ssl=False,
                    timeout=30) as imap:
        imap.login(creds["username"], creds["password"])
        if folder == "Sent":
            folder = next(name for flags, _, name in imap.list_folders() if b"\\Sent" in flags)
        imap.select_folder(folder, readonly=True)
        uids = imap.search(["ALL"])
        fetched = imap.fetch(uids, ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"]) if uids else {}
    return collections.Counter(
        str(email.message_from_bytes(item[b"BODY[HEADER.FIELDS (MESSAGE-ID)]"])["Message-ID"])
        for item in fetched.values())


def imap_login(daemon: DaemonHandle, user: str, password: str) -> bool:
    """Whether ``user``/``password`` logs in to the daemon's mail host over IMAP."""
    with imaplib.IMAP4("127.0.0.1", daemon.settings.imap_port) as imap:
        try:
            imap.login(user, password)
        except imaplib.IMAP4.error:
            return False
        imap.logout()
        return True


def smtp_login(daemon: DaemonHandle, user: str, password: str) -> bool:
    """Whether ``user``/``password`` logs in to the daemon's SMTP submission server."""
    with smtplib.SMTP("127.0.0.1", daemon.settings.submission_port, timeout=30) as smtp:
        try:
            smtp.login(user, password)
        except smtplib.SMTPAuthenticationError:
            return False
        return True
