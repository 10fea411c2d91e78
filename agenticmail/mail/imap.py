"""One agent's IMAP mailbox session, on imapclient.

A :class:`MailboxSession` is a logged-in IMAP connection. It is synchronous and **not**
thread-safe: open one per worker thread (``with MailboxSession.open(endpoints, creds) as s:``).
All methods address messages by UID. Every imaplib/imapclient/socket error is converted at
this edge:

* cannot connect, connection lost, timeout -> :class:`MailHostUnavailable`
* unknown folder -> :class:`NotFound` (``folder 'X' not found``)
* unknown UID -> :class:`NotFound` (``message 42 not found in INBOX``)
* bad folder name, flag, UID or search term -> :class:`InvalidRequest` (also whatever the
  server refuses with ``[CANNOT]``: a request that can never succeed, such as a name with a
  character this server does not allow)
* anything else the server refuses (including a failed login) -> :class:`MailHostError`

Passwords are never logged, repr'd or put in an error message.
"""

from __future__ import annotations

import imaplib
import re
import socket
import ssl
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from types import TracebackType
from typing import Any

from imapclient import IMAPClient
from imapclient.exceptions import LoginError
from imapclient.imapclient import _literal

from ..errors import (
    AgenticMailError,
    Conflict,
    InvalidRequest,
    MailHostError,
    MailHostUnavailable,
    NotFound,
)
from ..models import Credentials, Endpoints, MessageSummary, SearchQuery
from .mime import parse_message

__all__ = ["SPECIAL_USES", "SYSTEM_FLAGS", "MailboxSession", "connect"]

SPECIAL_USES = ("\\All", "\\Archive", "\\Drafts", "\\Flagged", "\\Junk", "\\Sent", "\\Trash")
SYSTEM_FLAGS = ("\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft")
MAX_FOLDER_LENGTH = 200
MAX_PAGE = 1000

# The summary's headers come from at most 64 KiB of the fields it shows, as a literal: an
# ENVELOPE sends each value as one quoted line, and a 5 MB Subject overran imaplib's line limit
# (every listing of that folder failed). What is cut off is not shown.
_SUMMARY_FIELDS = "HEADER.FIELDS (FROM TO SUBJECT DATE MESSAGE-ID)"
_SUMMARY_HEADER_BYTES = 64 * 1024
_SUMMARY_ITEMS = [f"BODY.PEEK[{_SUMMARY_FIELDS}]<0.{_SUMMARY_HEADER_BYTES}>", "FLAGS",
                  "RFC822.SIZE", "BODYSTRUCTURE"]
_SUMMARY_KEY = f"BODY[{_SUMMARY_FIELDS}]<0>".encode()
_NONEXISTENT_RE = re.compile(r"NONEXISTENT|TRYCREATE|doesn't exist|does not exist", re.I)
_KEYWORD_RE = re.compile(r"^[!#$&'+\-.0-9:;<=>?@A-Z^_`a-z|}~]{1,100}$")  # IMAP atom chars
_APPENDUID_RE = re.compile(rb"APPENDUID\s+\d+\s+(\d+)", re.I)
_FOLDER_BAD_RE = re.compile(r"[\x00-\x1f\x7f*%]")
_UNCLOSED_BRACKET_RE = re.compile(r"\[[^\]]*$")
# "[CANNOT] Character not allowed in mailbox name: '.' (0.001 + 0.000 secs)." -> the reason
_CANNOT_RE = re.compile(
    r"\[CANNOT\]\s*(.*?)\s*(?:\([\d.]+ \+ [\d.]+(?: \+ [\d.]+)? secs\))?\.?[\"']?$")


def _check_folder(name: str) -> str:
    if not isinstance(name, str) or not name:
        raise InvalidRequest("a folder name is required")
    if len(name) > MAX_FOLDER_LENGTH:
        raise InvalidRequest(f"folder name is longer than {MAX_FOLDER_LENGTH} characters")
    if _FOLDER_BAD_RE.search(name):
        raise InvalidRequest(
            f"invalid folder name {name[:80]!r}: no control characters, '*' or '%'"
        )
    if _UNCLOSED_BRACKET_RE.search(name):  # imapclient cannot parse it back from a LIST
        raise InvalidRequest(f"invalid folder name {name[:80]!r}: a '[' without its ']'")
    if name != name.strip() or name.startswith("/") or name.endswith("/") or "//" in name:
        raise InvalidRequest(
            f"invalid folder name {name[:80]!r}: no surrounding spaces or empty path parts"
        )
    return name


def _check_uids(uids: Iterable[int] | int) -> list[int]:
    items = [uids] if isinstance(uids, int) else list(uids)
    if not items:
        raise InvalidRequest("at least one message UID is required")
    for uid in items:
        if not isinstance(uid, int) or isinstance(uid, bool) or not 0 < uid < 2**32:
            raise InvalidRequest(f"invalid message UID {uid!r}: expected a positive integer")
    return list(dict.fromkeys(items))


def _check_flag(flag: str) -> str:
    if not isinstance(flag, str) or not flag:
        raise InvalidRequest("a flag must be a non-empty string")
    if flag.startswith("\\"):
        for system in SYSTEM_FLAGS:
            if flag.lower() == system.lower():
                return system
        raise InvalidRequest(f"unknown system flag {flag!r}; allowed: {', '.join(SYSTEM_FLAGS)}")
    if not _KEYWORD_RE.match(flag):
        raise InvalidRequest(
            f"invalid flag keyword {flag[:80]!r}: use letters, digits and $-_.: (no spaces)"
        )
    return flag


def _search_string(value: str) -> bytes:
    """A user's search text as an IMAP string, never as bare atoms: imapclient quotes only
    text with a space, quote or backslash, so ``(``, ``)`` or ``{5}`` (a literal announcement
    the server would wait on) went out as protocol syntax. A literal is always safe; imapclient
    sends one for ``_literal`` bytes (and a quoted string when it needs quoting anyway)."""
    return _literal(value.encode("utf-8"))


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _flags(values: Iterable[Any]) -> tuple[str, ...]:
    return tuple(_text(v) for v in values)


def _leaf_is_attachment(part: Sequence[Any]) -> bool:
    mtype = _text(part[0]).lower() if part else ""
    subtype = _text(part[1]).lower() if len(part) > 1 else ""
    if (mtype, subtype) == ("message", "rfc822"):
        return True
    params = part[2] if len(part) > 2 and isinstance(part[2], tuple | list) else ()
    if any(_text(p).lower() in ("name", "filename") for p in params[::2]):
        return True
    for item in part[7:]:  # the disposition sits at a type-dependent index after the basics
        if isinstance(item, tuple | list) and item and isinstance(item[0], bytes):
            disposition = item[0].lower()
            dparams = item[1] if len(item) > 1 and isinstance(item[1], tuple | list) else ()
            if disposition == b"attachment" or any(
                _text(p).lower() == "filename" for p in dparams[::2]
            ):
                return True
    return False


def _has_attachments(structure: Any) -> bool:
    if not structure:
        return False
    if isinstance(structure[0], list):  # multipart: ([parts...], subtype, ...)
        return any(_has_attachments(part) for part in structure[0])
    return _leaf_is_attachment(structure)


def _expand_uid_set(text: str) -> list[int]:
    out: list[int] = []
    for chunk in text.split(","):
        low, _, high = chunk.partition(":")
        a, b = int(low), int(high or low)
        step = 1 if b >= a else -1
        out.extend(range(a, b + step, step))
    return out


class _UnixIMAP4(imaplib.IMAP4):
    """imaplib over a unix stream socket (``host`` is the socket's path)."""

    def __init__(self, path: str, timeout: float | None) -> None:
        super().__init__(path, 0, timeout)

    def _create_socket(self, timeout: float | None) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.connect(self.host)
        except OSError:
            sock.close()
            raise
        return sock


class _UnixIMAPClient(IMAPClient):
    """IMAPClient on a unix socket: imapclient connects only by host and port, so the one
    factory it calls for its imaplib connection is replaced."""

    def _create_IMAP4(self) -> imaplib.IMAP4:
        return _UnixIMAP4(self.host, self._timeout.connect)


def connect(
    endpoints: Endpoints, timeout: float, ssl_context: ssl.SSLContext | None = None
) -> IMAPClient:
    """An IMAPClient (not logged in) for ``endpoints``: over ``imap_socket`` when the host
    offers one for the daemon, else TCP (TLS if ``imap_tls``). Raises what imapclient raises."""
    if endpoints.imap_socket:
        return _UnixIMAPClient(endpoints.imap_socket, ssl=False, timeout=timeout)
    return IMAPClient(
        endpoints.imap_host,
        port=endpoints.imap_port,
        ssl=endpoints.imap_tls,
        ssl_context=ssl_context,
        timeout=timeout,
    )


# A BODYSTRUCTURE carries an attached message's ENVELOPE, each header value one quoted string
# on the response line: allow lines as long as the largest message, not imaplib's 1 MB (a 5 MB
# Subject in an attached message broke every listing of its folder). The parse stays linear.
MAX_RESPONSE_LINE = 64 * 1024 * 1024


def _allow_long_lines(client: IMAPClient) -> None:
    """Raise this connection's response-line limit to :data:`MAX_RESPONSE_LINE` (imaplib has
    only a module-wide one, which this leaves alone)."""
    imap = client._imap

    def readline() -> bytes:
        line: bytes = imap.file.readline(MAX_RESPONSE_LINE + 1)
        if len(line) > MAX_RESPONSE_LINE:
            raise imap.error(f"got more than {MAX_RESPONSE_LINE} bytes")
        return line

    imap.readline = readline


class MailboxSession:
    """A logged-in IMAP session for one mailbox; use :meth:`open`."""

    def __init__(self, client: IMAPClient, username: str) -> None:
        self._client = client
        self.username = username
        self._selected: str | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f"MailboxSession(username={self.username!r}, selected={self._selected!r})"

    # ------------------------------------------------------------------ lifecycle

    @classmethod
    def open(
        cls,
        endpoints: Endpoints,
        creds: Credentials,
        timeout: float = 15,
        *,
        ssl_context: ssl.SSLContext | None = None,
    ) -> MailboxSession:
        """Connect and log in. MailHostUnavailable if unreachable, MailHostError on bad login."""
        where = endpoints.imap_socket or f"{endpoints.imap_host}:{endpoints.imap_port}"
        try:
            client = connect(endpoints, timeout, ssl_context)
        except (OSError, imaplib.IMAP4.error) as exc:
            raise MailHostUnavailable(f"cannot connect to IMAP server at {where}: {exc}") from exc
        except Exception as exc:
            raise MailHostUnavailable(
                f"cannot connect to IMAP server at {where}: {type(exc).__name__}"
            ) from exc
        _allow_long_lines(client)
        try:
            client.login(creds.username, creds.password)
        except LoginError:
            _quiet_logout(client)
            raise MailHostError(f"IMAP login failed for {creds.username}") from None
        except (OSError, imaplib.IMAP4.abort):
            _quiet_logout(client)
            raise MailHostUnavailable(
                f"IMAP connection to {where} lost while logging in {creds.username}"
            ) from None
        except Exception:
            _quiet_logout(client)
            raise MailHostError(f"IMAP login failed for {creds.username}") from None
        return cls(client, creds.username)

    def close(self) -> None:
        """Log out; never raises, safe to call twice."""
        if not self._closed:
            self._closed = True
            _quiet_logout(self._client)

    def __enter__(self) -> MailboxSession:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @contextmanager
    def _errors(self, action: str, folder: str | None = None) -> Iterator[None]:
        if self._closed:
            raise MailHostError(f"IMAP session for {self.username} is closed")
        try:
            yield
        except AgenticMailError:
            raise
        except (imaplib.IMAP4.abort, OSError) as exc:
            self._selected = None
            raise MailHostUnavailable(f"IMAP connection lost during {action}: {exc}") from exc
        except imaplib.IMAP4.error as exc:
            self._selected = None
            if folder is not None and _NONEXISTENT_RE.search(str(exc)):
                raise NotFound(f"folder {folder!r} not found") from exc
            cannot = _CANNOT_RE.search(str(exc))
            if cannot:  # RFC 5530: the request itself can never succeed (e.g. a bad name)
                what = f"folder {folder!r}" if folder is not None else action
                raise InvalidRequest(f"the mail host refused {what}: {cannot.group(1)}") from exc
            raise MailHostError(f"IMAP {action} failed: {exc}") from exc
        except Exception as exc:  # a parser error etc.: still never leak a foreign type
            raise MailHostError(f"IMAP {action} failed: {type(exc).__name__}: {exc}") from exc

    def _select(self, folder: str) -> None:
        if self._selected != folder:
            self._selected = None
            self._client.select_folder(folder)
            self._selected = folder

    def _existing(self, folder: str, uids: list[int]) -> dict[int, tuple[str, ...]]:
        """Flags of ``uids`` (which must be in the selected folder); NotFound for any missing."""
        found = self._client.fetch(uids, ["FLAGS"])
        missing = [u for u in uids if u not in found]
        if missing:
            what = (
                f"message {missing[0]}"
                if len(missing) == 1
                else ("messages " + ", ".join(map(str, missing[:10])))
            )
            raise NotFound(f"{what} not found in {folder}")
        return {u: _flags(found[u].get(b"FLAGS", ())) for u in uids}

    def noop(self) -> None:
        """A round trip to check the connection is alive (MailHostUnavailable if not)."""
        with self._errors("NOOP"):
            self._client.noop()

    # ------------------------------------------------------------------ folders

    def list_folders(self) -> list[dict[str, Any]]:
        """``[{"name", "flags", "special_use"}]``; special_use is e.g. ``"\\Sent"`` or None."""
        with self._errors("LIST"):
            rows = self._client.list_folders()
        out: list[dict[str, Any]] = []
        for flags, _delim, name in rows:
            flag_list = list(_flags(flags))
            special = next((f for f in flag_list if f in SPECIAL_USES), None)
            out.append({"name": _text(name), "flags": flag_list, "special_use": special})
        return out

    def folder_exists(self, name: str) -> bool:
        name = _check_folder(name)
        with self._errors("LIST"):
            return bool(self._client.folder_exists(name))

    def create_folder(self, name: str) -> None:
        """Create a folder; Conflict if it already exists."""
        name = _check_folder(name)
        if self.folder_exists(name):
            raise Conflict(f"folder {name!r} already exists")
        with self._errors("CREATE", name):
            self._client.create_folder(name)

    def folder_status(self, name: str) -> dict[str, int]:
        """``{"messages", "unseen", "recent", "uidnext", "uidvalidity"}``; NotFound if missing."""
        name = _check_folder(name)
        with self._errors("STATUS", name):
            status = self._client.folder_status(name)
        return {_text(k).lower(): int(v) for k, v in status.items()}

    def uidvalidity(self, folder: str) -> int:
        return self.folder_status(folder)["uidvalidity"]

    def special_folder(self, use: str) -> str:
        """Name of the folder with special-use ``use`` (``"\\Sent"``, ``"Junk"``, ...)."""
        wanted = use if use.startswith("\\") else "\\" + use
        canonical = next((s for s in SPECIAL_USES if s.lower() == wanted.lower()), None)
        if canonical is None:
            raise InvalidRequest(f"unknown special-use {use!r}; one of {', '.join(SPECIAL_USES)}")
        with self._errors("LIST"):
            name = self._client.find_special_folder(canonical.encode())
        if not name:
            raise NotFound(f"this mailbox has no {canonical} folder")
        return _text(name)

    # ------------------------------------------------------------------ reading

    def list_messages(
        self, folder: str, limit: int = 50, offset: int = 0
    ) -> tuple[int, list[MessageSummary]]:
        """``(total, page)`` newest first (by UID, descending)."""
        folder = _check_folder(folder)
        if not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
            raise InvalidRequest(f"limit must be between 1 and {MAX_PAGE}")
        if not isinstance(offset, int) or offset < 0:
            raise InvalidRequest("offset must be zero or positive")
        with self._errors("SEARCH", folder):
            self._select(folder)
            uids = sorted(self._client.search(["ALL"]), reverse=True)
        return len(uids), self.summaries(folder, uids[offset : offset + limit])

    def summaries(self, folder: str, uids: Sequence[int]) -> list[MessageSummary]:
        """Summaries of ``uids`` in the order given (UIDs no longer there are skipped)."""
        folder = _check_folder(folder)
        if not uids:
            return []
        with self._errors("FETCH", folder):
            self._select(folder)
            data = self._client.fetch(list(uids), _SUMMARY_ITEMS)
        return [self._summary(folder, uid, data[uid]) for uid in uids if uid in data]

    @staticmethod
    def _summary(folder: str, uid: int, item: dict[bytes, Any]) -> MessageSummary:
        head = item.get(_SUMMARY_KEY)
        fields = parse_message(bytes(head) if isinstance(head, bytes | bytearray) else b"",
                               uid=uid, folder=folder)
        try:
            has_attachments = _has_attachments(item.get(b"BODYSTRUCTURE"))
        except Exception:  # an odd BODYSTRUCTURE must not break a listing
            has_attachments = False
        return MessageSummary(
            uid=uid,
            folder=folder,
            message_id=fields.message_id,
            subject=fields.subject,
            from_=fields.from_,
            to=fields.to,
            date=fields.date,
            flags=_flags(item.get(b"FLAGS", ())),
            size=int(item.get(b"RFC822.SIZE", 0)),
            has_attachments=has_attachments,
        )

    def fetch_raw(self, folder: str, uid: int) -> tuple[bytes, tuple[str, ...]]:
        """The full message and its flags, via BODY.PEEK[] (does not set \\Seen)."""
        folder = _check_folder(folder)
        (uid,) = _check_uids(uid)
        with self._errors("FETCH", folder):
            self._select(folder)
            data = self._client.fetch([uid], ["BODY.PEEK[]", "FLAGS"])
        item = data.get(uid)
        if item is None or b"BODY[]" not in item:
            raise NotFound(f"message {uid} not found in {folder}")
        return bytes(item[b"BODY[]"]), _flags(item.get(b"FLAGS", ()))

    def uids_between(self, folder: str, first: int, last: int) -> list[int]:
        """The UIDs from ``first`` to ``last`` (inclusive) that exist, ascending."""
        folder = _check_folder(folder)
        if not 1 <= first <= last:
            return []
        with self._errors("SEARCH", folder):
            self._select(folder)
            uids = self._client.search(["UID", f"{first}:{last}"])
        return sorted(u for u in (int(x) for x in uids) if first <= u <= last)

    def fetch_with_dates(self, folder: str, uids: Sequence[int]
                         ) -> list[tuple[int, bytes, tuple[str, ...], datetime | None]]:
        """``(uid, message, flags, INTERNALDATE)`` of each of ``uids`` still there, in the
        order given, via BODY.PEEK[] (does not set \\Seen): what an export keeps."""
        folder = _check_folder(folder)
        ids = _check_uids(uids) if uids else []
        if not ids:
            return []
        with self._errors("FETCH", folder):
            self._select(folder)
            data = self._client.fetch(ids, ["BODY.PEEK[]", "FLAGS", "INTERNALDATE"])
        out = []
        for uid in ids:
            item = data.get(uid)
            if item is None or b"BODY[]" not in item:
                continue
            when = item.get(b"INTERNALDATE")
            out.append((uid, bytes(item[b"BODY[]"]), _flags(item.get(b"FLAGS", ())),
                        when if isinstance(when, datetime) else None))
        return out

    def flags_of(self, folder: str, uids: Sequence[int] | None = None
                 ) -> dict[int, tuple[str, ...]]:
        """Flags of the messages of ``uids`` still in ``folder`` (all of them: None); a UID
        no longer there is simply absent."""
        folder = _check_folder(folder)
        if uids is not None and not uids:
            return {}
        with self._errors("FETCH", folder):
            self._select(folder)
            wanted = self._client.search(["ALL"]) if uids is None else list(uids)
            found = self._client.fetch(wanted, ["FLAGS"]) if wanted else {}
        return {int(u): _flags(item.get(b"FLAGS", ())) for u, item in found.items()}

    def fetch_many(self, folder: str, uids: Sequence[int]
                   ) -> dict[int, tuple[bytes, tuple[str, ...]]]:
        """Full messages and flags of ``uids`` (BODY.PEEK[]: \\Seen is not set); UIDs no
        longer there are absent."""
        folder = _check_folder(folder)
        if not uids:
            return {}
        with self._errors("FETCH", folder):
            self._select(folder)
            data = self._client.fetch(list(uids), ["BODY.PEEK[]", "FLAGS"])
        return {int(u): (bytes(item[b"BODY[]"]), _flags(item.get(b"FLAGS", ())))
                for u, item in data.items() if b"BODY[]" in item}

    def search(self, folder: str, query: SearchQuery) -> list[int]:
        """UIDs matching every given criterion, newest first. SINCE/BEFORE use whole days."""
        folder = _check_folder(folder)
        criteria: list[Any] = []
        for key, value in (
            ("FROM", query.from_),
            ("TO", query.to),
            ("SUBJECT", query.subject),
            ("BODY", query.body),
            ("HEADER Message-ID", query.message_id),
        ):
            if value:
                if not isinstance(value, str) or re.search(r"[\x00-\x1f\x7f]", value):
                    raise InvalidRequest(f"search {key.lower()} must be text without line breaks")
                criteria += [*key.split(), _search_string(value)]
        if query.since is not None:
            criteria += ["SINCE", query.since.date()]
        if query.before is not None:
            criteria += ["BEFORE", query.before.date()]
        if query.seen is not None:
            criteria.append("SEEN" if query.seen else "UNSEEN")
        if query.keyword is not None:
            criteria += ["KEYWORD", _check_flag(query.keyword)]
        charset = "UTF-8" if any(isinstance(c, bytes) and not c.isascii() for c in criteria) \
            else None
        with self._errors("SEARCH", folder):
            self._select(folder)
            uids = self._client.search(criteria or ["ALL"], charset=charset)
        return sorted((int(u) for u in uids), reverse=True)

    # ------------------------------------------------------------------ writing

    def set_flags(
        self,
        folder: str,
        uids: Iterable[int] | int,
        add: Iterable[str] = (),
        remove: Iterable[str] = (),
    ) -> dict[int, tuple[str, ...]]:
        """Add then remove flags/keywords; returns each message's flags afterwards."""
        folder = _check_folder(folder)
        ids = _check_uids(uids)
        to_add = [_check_flag(f) for f in add]
        to_remove = [_check_flag(f) for f in remove]
        with self._errors("STORE", folder):
            self._select(folder)
            self._existing(folder, ids)
            if to_add:
                self._client.add_flags(ids, to_add, silent=True)
            if to_remove:
                self._client.remove_flags(ids, to_remove, silent=True)
            return self._existing(folder, ids)

    def move(self, folder: str, uids: Iterable[int] | int, dest: str) -> dict[int, int]:
        """Move messages to ``dest``; returns ``{old_uid: new_uid}`` when the server says so."""
        folder, dest = _check_folder(folder), _check_folder(dest)
        ids = _check_uids(uids)
        if dest == folder:
            raise InvalidRequest(f"messages are already in {folder!r}")
        if not self.folder_exists(dest):
            raise NotFound(f"folder {dest!r} not found")
        with self._errors("MOVE", folder):
            self._select(folder)
            self._existing(folder, ids)
            untagged = untagged_responses(self._client)
            untagged.pop("COPYUID", None)
            if self._client.has_capability("MOVE"):
                self._client.move(ids, dest)
            else:
                self._require_uidplus()
                self._client.copy(ids, dest)
                self._client.add_flags(ids, ["\\Deleted"], silent=True)
                self._client.uid_expunge(ids)
            return self._copyuid_map(untagged.pop("COPYUID", None))

    def delete(self, folder: str, uids: Iterable[int] | int) -> None:
        """Flag ``\\Deleted`` and UID EXPUNGE exactly these messages (nothing else)."""
        folder = _check_folder(folder)
        ids = _check_uids(uids)
        with self._errors("EXPUNGE", folder):
            self._select(folder)
            self._require_uidplus()
            self._existing(folder, ids)
            self._client.add_flags(ids, ["\\Deleted"], silent=True)
            self._client.uid_expunge(ids)

    def append(
        self,
        folder: str,
        raw: bytes,
        flags: Iterable[str] = (),
        date: datetime | None = None,
    ) -> int | None:
        """Store a message in ``folder``; returns its UID (UIDPLUS APPENDUID) or None."""
        folder = _check_folder(folder)
        if not isinstance(raw, bytes | bytearray) or not raw:
            raise InvalidRequest("the message to append must be non-empty bytes")
        flag_list = [_check_flag(f) for f in flags]
        with self._errors("APPEND", folder):
            response = self._client.append(folder, bytes(raw), flag_list, date)
        match = _APPENDUID_RE.search(response if isinstance(response, bytes) else b"")
        return int(match.group(1)) if match else None

    # ------------------------------------------------------------------ internals

    def _require_uidplus(self) -> None:
        if not self._client.has_capability("UIDPLUS"):
            raise MailHostError("the IMAP server lacks UIDPLUS; cannot expunge single messages")

    @staticmethod
    def _copyuid_map(values: Any) -> dict[int, int]:
        if not values:
            return {}
        try:
            _validity, src, dst = _text(values[-1]).split()
            return dict(zip(_expand_uid_set(src), _expand_uid_set(dst), strict=True))
        except (ValueError, IndexError):
            return {}


def untagged_responses(client: IMAPClient) -> dict[str, Any]:
    """Where imaplib keeps untagged responses no command asked for (response codes such as
    [COPYUID ...], EXISTS announced in a command's reply); imapclient has no public accessor.
    Empty (a fresh dict) if that ever changes."""
    untagged = getattr(getattr(client, "_imap", None), "untagged_responses", None)
    return untagged if isinstance(untagged, dict) else {}


def _quiet_logout(client: IMAPClient) -> None:
    try:
        client.logout()
    except Exception:  # closing a dead connection: nothing to report
        try:
            client.shutdown()
        except Exception:
            return
