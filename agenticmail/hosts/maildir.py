"""Copying an account's Maildir tree out and back in, while Dovecot keeps delivering to it.

What is copied: every folder's messages (``cur/`` and ``new/``; the file names carry the flags,
the modification times are the received dates), ``dovecot-uidlist`` and the other small
metadata files (so UIDs and UIDVALIDITY survive and the database's references stay right),
and the directories. Not copied: ``tmp/`` contents (deliveries in progress) and Dovecot's index
and cache files (rebuilt from the messages).

Maildir is made for lock-free readers: messages are immutable files that only move from
``new/`` to ``cur/`` (a rename that may change the flags suffix) or disappear (expunge). The
export lists ``new/`` before ``cur/`` and skips a message already taken under another name,
so a message that moves while the export runs is copied once, and one that vanishes is skipped.
A folder's metadata files are read whole before its messages (Dovecot appends to the uidlist in
place): a message delivered after that gets a new UID when the copy is restored.
"""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from ..errors import InvalidRequest, MailHostError

MESSAGE_DIRS = ("new", "cur")  # in this order: see the module docstring
_SKIPPED = ("dovecot.index", "dovecot.list.index", "dovecot-uidlist.lock", "dovecot.mailbox.log")


@dataclass(frozen=True)
class MailFile:
    """One entry of an account's tree: a directory (``data`` None) or a file."""

    name: str  # relative to the account's home, "/"-separated
    mtime: float
    size: int = 0
    data: IO[bytes] | None = None

    @property
    def is_message(self) -> bool:
        parts = PurePosixPath(self.name).parts
        return self.data is not None and len(parts) >= 2 and parts[-2] in MESSAGE_DIRS


def _join(rel: PurePosixPath, *names: str) -> str:
    return str(rel.joinpath(*names))


def _skipped(name: str) -> bool:
    return name.startswith(_SKIPPED)


def export_tree(home: Path) -> Iterator[MailFile]:
    """Every directory, metadata file and message under ``home`` (see the module docstring).
    A message file is open while it is the current item: read it before asking for the next."""
    try:
        for top, dirs, files in os.walk(home, onerror=_raise):
            here = Path(top)
            rel = PurePosixPath(here.relative_to(home).as_posix())
            dirs.sort()
            if str(rel) != ".":
                yield MailFile(str(rel), here.stat().st_mtime)
            for name in sorted(files):
                if not _skipped(name) and (data := _read_whole(here / name)) is not None:
                    yield MailFile(_join(rel, name), data[1], len(data[0]), io.BytesIO(data[0]))
            if "cur" in dirs or "new" in dirs:  # a mail folder
                for sub in ("cur", "new", "tmp"):
                    if sub in dirs:
                        dirs.remove(sub)
                        yield MailFile(_join(rel, sub), (here / sub).stat().st_mtime)
                yield from _messages(here, rel)
    except OSError as exc:
        raise MailHostError(f"cannot read the mailbox at {home}: {exc}") from exc


def _raise(exc: OSError) -> None:
    if not isinstance(exc, FileNotFoundError):  # a folder deleted meanwhile: nothing to copy
        raise exc


def _read_whole(path: Path) -> tuple[bytes, float] | None:
    try:
        with open(path, "rb") as fh:
            return fh.read(), os.fstat(fh.fileno()).st_mtime
    except FileNotFoundError:
        return None


def _messages(folder: Path, rel: PurePosixPath) -> Iterator[MailFile]:
    taken: set[str] = set()
    for sub in MESSAGE_DIRS:
        try:
            names = sorted(os.listdir(folder / sub))
        except FileNotFoundError:
            continue
        for name in names:
            base = name.split(":", 1)[0]
            if base in taken or name.startswith("."):
                continue
            found = _open_message(folder, sub, name, base)
            if found is None:  # expunged meanwhile
                continue
            taken.add(base)
            where, actual, fh = found
            with fh:
                st = os.fstat(fh.fileno())
                yield MailFile(_join(rel, where, actual), st.st_mtime, st.st_size, fh)


def _open_message(folder: Path, sub: str, name: str,
                  base: str) -> tuple[str, str, IO[bytes]] | None:
    try:
        return sub, name, open(folder / sub / name, "rb")
    except FileNotFoundError:
        pass
    try:  # moved to cur/ (maybe with new flags) since the listing
        moved = [n for n in os.listdir(folder / "cur") if n.split(":", 1)[0] == base]
    except FileNotFoundError:
        return None
    for candidate in moved:
        try:
            return "cur", candidate, open(folder / "cur" / candidate, "rb")
        except FileNotFoundError:
            continue
    return None


def safe_name(name: str) -> PurePosixPath:
    """``name`` as a relative path that stays inside the tree, or InvalidRequest."""
    path = PurePosixPath(name)
    if not name or path.is_absolute() or any(p in ("..", ".", "") for p in name.split("/")):
        raise InvalidRequest(f"unsafe path in a mailbox copy: {name!r}")
    return path


def import_tree(home: Path, files: Iterable[MailFile]) -> int:
    """Write ``files`` under ``home`` (created 0700; files 0600 with their times); the number
    of messages written. ``home`` must not hold a file of the same name already."""
    messages = 0
    try:
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
        for item in files:
            target = home.joinpath(*safe_name(item.name).parts)
            if item.data is None:
                target.mkdir(mode=0o700, parents=True, exist_ok=True)
                continue
            target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with open(fd, "wb") as out:
                shutil.copyfileobj(item.data, out, 1 << 20)
            os.utime(target, (item.mtime, item.mtime))
            messages += item.is_message
    except OSError as exc:
        raise MailHostError(f"cannot write the mailbox at {home}: {exc}") from exc
    return messages
