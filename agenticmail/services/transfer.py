"""Export and import: an agent's mail out to mbox/Maildir files and back in, no lock-in.

The daemon side pages a folder out (each message's bytes, flags and arrival date) and takes
messages in one at a time. An imported message is treated as mail arriving from outside:
stamps and seals only this daemon makes are removed, so is any ``Authentication-Results`` that
claims a server this daemon trusts, and it is appended to the INBOX, where the watcher runs it
through the inbound pipeline like any arriving mail (assessment, sanitising, Spam, index,
``message.new``). Import is idempotent by Message-ID (a message without one gets a stable one
made from its bytes). The files themselves are :mod:`agenticmail.mail.archive`'s, read and
written by the CLI on the owner's machine.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from email import policy
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

from ..errors import InvalidRequest, PayloadTooLarge
from ..gateway import relay_account as gw
from ..mail import archive
from ..mail.mime import normalize_message_id
from ..models import Agent
from . import origin
from .context import ServiceContext
from .delivery import agent_has
from .mailbox import resolve_folder
from .relay_gateway import get_account
from .sessions import open_session

__all__ = ["IMPORTABLE_FLAGS", "Archived", "export_page", "import_encoded", "import_message",
           "read_archive", "write_archive"]

Archived = archive.Archived
IMPORTABLE_FLAGS = ("\\Seen", "\\Answered", "\\Flagged", "\\Draft")
MAX_PAGE = 100
PAGE_BYTES = 16 * 1024 * 1024  # a page stops growing past this (one message at least)
_BATCH = 10
_WINDOW = 5000  # UIDs searched at once while filling a page


def _iso(when: datetime | None) -> str | None:
    """UTC ISO time of an INTERNALDATE (imapclient gives naive local times)."""
    return None if when is None else when.astimezone(UTC).isoformat()


def export_page(ctx: ServiceContext, agent: Agent, folder: str = "INBOX", after_uid: int = 0,
                limit: int = 50) -> dict[str, Any]:
    """The next messages of ``folder`` after ``after_uid`` (oldest first): bytes (base64),
    flags and INTERNALDATE; ``next_after`` continues, ``done`` says there is no more and
    ``total`` is how many messages the folder holds. UIDs are looked up a window at a time
    below the folder's UIDNEXT, so a page costs the same at the start and at the end of a
    large folder."""
    if not 1 <= limit <= MAX_PAGE or after_uid < 0:
        raise InvalidRequest(f"limit must be 1-{MAX_PAGE} and after_uid not negative")
    with open_session(ctx, agent) as session:
        name = resolve_folder(session, folder)
        status = session.folder_status(name)
        wanted: list[int] = []
        start = after_uid + 1
        while len(wanted) < limit and start < status["uidnext"]:
            end = min(status["uidnext"] - 1, start + _WINDOW - 1)
            wanted += session.uids_between(name, start, end)[:limit - len(wanted)]
            start = end + 1
        page: list[dict[str, Any]] = []
        size, covered = 0, 0  # covered: how many of ``wanted`` were fetched (or were gone)
        while covered < len(wanted) and size < PAGE_BYTES:
            batch = wanted[covered:covered + _BATCH]
            for uid, raw, flags, when in session.fetch_with_dates(name, batch):
                page.append({"uid": uid, "flags": list(flags), "date": _iso(when),
                             "raw_base64": base64.b64encode(raw).decode()})
                size += len(raw)
            covered += len(batch)
    exhausted = start >= status["uidnext"] and len(wanted) < limit
    return {"folder": name, "messages": page,
            "next_after": wanted[covered - 1] if covered else after_uid,
            "total": status["messages"], "done": exhausted and covered == len(wanted)}


def _message_id(raw: bytes) -> str | None:
    head = BytesHeaderParser(policy=policy.compat32).parsebytes(raw)
    return normalize_message_id(str(head.get("Message-ID") or ""))


def _rename_message_id(raw: bytes) -> bytes:
    """``raw`` with an unusable ``Message-ID`` field renamed (one stays: the one added)."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    lines = [b"X-Unusable-" + line if line[:11].lower() == b"message-id:" else line
             for line in head.split(b"\r\n")]
    return b"\r\n".join(lines) + sep + body


def _as_outside_mail(ctx: ServiceContext, raw: bytes) -> bytes:
    """``raw`` without what only this daemon may write or what servers it trusts vouch for."""
    trusted = [i for i in (ctx.settings.trusted_authserv_ids or "").split(",") if i.strip()]
    account = get_account(ctx)
    if account is not None:
        trusted += list(account.authserv_ids)
    return gw.strip_forged_auth_results(origin.strip(raw), (), trusted,
                                        drop=(gw.SEAL_HEADER.lower(),))


def import_message(ctx: ServiceContext, agent: Agent, raw: bytes,
                   flags: Sequence[str] = (), date: str | None = None) -> dict[str, Any]:
    """Put one message into ``agent``'s INBOX as arriving mail, unless it has it already:
    ``{"status": "imported"|"duplicate", "message_id", "uid"}``."""
    if not raw.strip():
        raise InvalidRequest("the message is empty")
    if len(raw) > ctx.settings.max_message_bytes:
        raise PayloadTooLarge(f"the message is {len(raw)} bytes; the limit is "
                              f"{ctx.settings.max_message_bytes}")
    unknown = sorted(set(flags) - set(IMPORTABLE_FLAGS))
    if unknown:
        raise InvalidRequest(f"flags an import may set: {', '.join(IMPORTABLE_FLAGS)} "
                             f"(not {', '.join(unknown)})", code="invalid_flag")
    when = None
    if date:
        try:
            when = datetime.fromisoformat(date.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidRequest("date must be an ISO 8601 time") from None
    raw = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    message_id = _message_id(raw)
    if message_id is None:  # a stable one, so importing the same bytes again is a duplicate
        message_id = f"<{hashlib.sha256(raw).hexdigest()[:32]}@import.agenticmail.invalid>"
        raw = f"Message-ID: {message_id}\r\n".encode() + _rename_message_id(raw)
    clean = _as_outside_mail(ctx, raw)
    with open_session(ctx, agent) as session:
        if agent_has(ctx, agent, message_id, session):
            return {"status": "duplicate", "message_id": message_id, "uid": None}
        uid = session.append("INBOX", clean, flags=tuple(flags), date=when)
    ctx.mail_arrived([agent.address])  # the watcher takes it through the inbound pipeline
    return {"status": "imported", "message_id": message_id, "uid": uid}


def import_encoded(ctx: ServiceContext, agent: Agent, raw_base64: str,
                   flags: Sequence[str] = (), date: str | None = None) -> dict[str, Any]:
    """:func:`import_message` of a message given as base64 (the API's form)."""
    try:
        raw = base64.b64decode(raw_base64, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidRequest("raw_base64 is not valid base64") from None
    return import_message(ctx, agent, raw, flags, date)


def read_archive(path: Path) -> tuple[str, int, Iterator[Archived]]:
    """An mbox file or Maildir on this machine: its format, size and messages."""
    return archive.read(path)


write_archive = archive.writer
