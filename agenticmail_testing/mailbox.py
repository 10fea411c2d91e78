"""What an agent's mailbox holds, read over IMAP with its mail credentials (for tests and
the fault-injection script that count copies)."""

from __future__ import annotations

import collections
import email
from typing import Any

from imapclient import IMAPClient


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
