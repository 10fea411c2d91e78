"""Mailbox files on disk (mbox and Maildir, through the stdlib :mod:`mailbox`): writing an
export and reading one back, with each message's IMAP flags and date.

mbox keeps flags in its ``Status``/``X-Status`` headers and the date on the ``From `` line;
Maildir keeps flags in the file name and the date as the file's time. A message read back
carries neither ``Status`` header (they describe the file, not the message). Reading is
auto-detected: a directory with ``cur``/``new``/``tmp`` is a Maildir, a file is an mbox.
Every failure of the files becomes an :mod:`agenticmail.errors` type here.
"""

from __future__ import annotations

import calendar
import mailbox
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ..errors import InvalidRequest

FORMATS = ("mbox", "maildir")

# IMAP system flag <-> mbox Status/X-Status letter, and <-> Maildir info letter
_MBOX = {"\\Seen": "R", "\\Deleted": "D", "\\Flagged": "F", "\\Answered": "A"}
_MAILDIR = {"\\Seen": "S", "\\Deleted": "T", "\\Flagged": "F", "\\Answered": "R",
            "\\Draft": "D"}
_STATUS_HEADERS = (b"status:", b"x-status:")


@dataclass(frozen=True)
class Archived:
    """One message of an archive: its bytes, IMAP flags and (arrival) date."""

    raw: bytes
    flags: tuple[str, ...]
    date: datetime | None


def _lf(raw: bytes) -> bytes:
    return raw.replace(b"\r\n", b"\n")


def detect(path: Path) -> str:
    """``"maildir"`` or ``"mbox"`` for what is at ``path``."""
    if path.is_dir():
        if all((path / sub).is_dir() for sub in ("cur", "new", "tmp")):
            return "maildir"
        raise InvalidRequest(f"{path} is a directory but not a Maildir (no cur/new/tmp)",
                             code="unknown_archive")
    if path.is_file():
        with path.open("rb") as f:
            head = f.read(5)
        if head and head != b"From ":
            raise InvalidRequest(f"{path} is neither an mbox file nor a Maildir",
                                 code="unknown_archive")
        return "mbox"
    raise InvalidRequest(f"{path} does not exist", code="not_found")


def _strip_status(raw: bytes) -> bytes:
    head, sep, body = raw.partition(b"\n\n")
    kept = [line for line in head.split(b"\n") if not line.lower().startswith(_STATUS_HEADERS)]
    return b"\n".join(kept) + sep + body


def _mbox_date(from_line: str) -> datetime | None:
    try:  # "sender Mon Jan  1 00:00:00 2026" (time.asctime, UTC)
        parsed = time.strptime(" ".join(from_line.split()[-5:]), "%a %b %d %H:%M:%S %Y")
    except ValueError:
        return None
    return datetime.fromtimestamp(calendar.timegm(parsed), UTC)


def read(path: Path) -> tuple[str, int, Iterator[Archived]]:
    """The archive's format, its message count and its messages (read lazily)."""
    fmt = detect(path)
    try:
        box: mailbox.Mailbox[mailbox.Message] = (
            mailbox.Maildir(str(path), create=False) if fmt == "maildir"
            else mailbox.mbox(str(path), create=False))
        keys = list(box.keys())
    except (OSError, mailbox.Error) as exc:
        raise InvalidRequest(f"cannot read {path}: {exc}", code="unreadable_archive") from None

    def messages() -> Iterator[Archived]:
        try:
            for key in keys:
                raw = box.get_bytes(key)
                message = box.get_message(key)
                if isinstance(message, mailbox.MaildirMessage):
                    letters, table = message.get_flags(), _MAILDIR
                    date: datetime | None = datetime.fromtimestamp(message.get_date(), UTC)
                else:
                    assert isinstance(message, mailbox.mboxMessage)
                    letters, table = message.get_flags(), _MBOX
                    date = _mbox_date(message.get_from())
                    raw = _strip_status(raw)
                flags = tuple(flag for flag, letter in table.items() if letter in letters)
                yield Archived(raw=raw, flags=flags, date=date)
        except (OSError, mailbox.Error) as exc:
            raise InvalidRequest(f"cannot read {path}: {exc}",
                                 code="unreadable_archive") from None
        finally:
            box.close()

    return fmt, len(keys), messages()


class Writer:
    """Adds messages to an export (see :func:`writer`)."""

    def __init__(self, box: mailbox.Mailbox[mailbox.Message], fmt: str) -> None:
        self._box, self._fmt = box, fmt

    def add(self, item: Archived) -> None:
        raw = _lf(item.raw)
        when = (item.date or datetime.now(UTC)).timestamp()
        message: mailbox.Message
        if self._fmt == "maildir":
            md = mailbox.MaildirMessage(raw)
            md.set_flags("".join(sorted(_MAILDIR[f] for f in item.flags if f in _MAILDIR)))
            md.set_subdir("cur")
            md.set_date(when)
            message = md
        else:
            mb = mailbox.mboxMessage(raw)
            mb.set_flags("O" + "".join(_MBOX[f] for f in item.flags if f in _MBOX))
            mb.set_from("MAILER-DAEMON", time.gmtime(when))
            message = mb
        try:
            self._box.add(message)
        except (OSError, mailbox.Error) as exc:
            raise InvalidRequest(f"cannot write the export: {exc}",
                                 code="unwritable_archive") from None


@contextmanager
def writer(path: Path, fmt: str) -> Iterator[Writer]:
    """A new mbox file or Maildir at ``path`` (which must not exist yet), 0600/0700."""
    if fmt not in FORMATS:
        raise InvalidRequest(f"the format must be one of {', '.join(FORMATS)}",
                             code="unknown_archive")
    if path.exists():
        raise InvalidRequest(f"{path} already exists: export to a new path",
                             code="archive_exists")
    old = os.umask(0o077)  # mail is private: the files are the owner's alone
    try:
        box: mailbox.Mailbox[mailbox.Message] = (
            mailbox.Maildir(str(path), create=True) if fmt == "maildir"
            else mailbox.mbox(str(path), create=True))
        box.lock()
    except (OSError, mailbox.Error) as exc:
        raise InvalidRequest(f"cannot create {path}: {exc}", code="unwritable_archive") from None
    finally:
        os.umask(old)
    try:
        yield Writer(box, fmt)
        box.flush()
    except OSError as exc:
        raise InvalidRequest(f"cannot write {path}: {exc}", code="unwritable_archive") from None
    finally:
        box.unlock()
        box.close()
        _private(path)


def _private(path: Path) -> None:
    """Files 0600, directories 0700 (what the mailbox module created under the umask)."""
    paths = [path, *path.rglob("*")] if path.is_dir() else [path]
    for p in paths:
        if p.exists():
            p.chmod(0o700 if p.is_dir() else 0o600)
