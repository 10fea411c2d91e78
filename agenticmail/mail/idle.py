"""One long-lived IMAP connection that watches a folder with IDLE (an adapter over imapclient).

``FolderWatch.wait`` reports which kinds of change the server announced; the caller decides
what to fetch. Every foreign error becomes a ``MailHostError``/``MailHostUnavailable``.

Nothing the server announces may be lost; two places where imapclient alone would lose it:

* A change that lands while one of our commands runs is announced in that command's reply
  (``* 2 EXISTS`` before the tagged OK of a FETCH or SEARCH). imapclient hands back only what
  the command asked for, so ``wait`` first reports what imaplib kept aside.
* Dovecot reports changes made before IDLE right after ``+ idling``. imaplib's buffered reader
  usually takes those lines in with ``+ idling``, and imapclient's ``idle_check`` polls the
  socket only, so they would sit in the buffer until the next change. ``wait`` reads them.

IDLE is renewed after ``renew_seconds`` (RFC 2177 asks for < 29 minutes).

A :class:`Wakeup` ends a ``wait`` early (reported as ``"woken"``): whoever knows of new mail
sooner than the server's IDLE notification (Dovecot delays those by 500 ms) sets it, and the
caller looks for new UIDs at once. It only shortens the wait; what is new is still decided by
the caller's own UID search, so a wake can neither lose nor duplicate a message.
"""

from __future__ import annotations

import imaplib
import re
import select
import socket
import ssl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any, TypeVar

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError

from ..errors import MailHostError, MailHostUnavailable
from ..models import Credentials, Endpoints
from .imap import connect, untagged_responses

T = TypeVar("T")
_CHANGES = {"EXISTS": "exists", "EXPUNGE": "expunge", "FETCH": "fetch", "RECENT": None}
_UNTAGGED = re.compile(rb"\* (\d+) ([A-Za-z]+)")
_NETWORK_ERRORS = (OSError, socket.timeout, ssl.SSLError, imaplib.IMAP4.abort)


def _flag_names(flags: Any) -> tuple[str, ...]:
    return tuple(f.decode() if isinstance(f, bytes) else str(f) for f in flags or ())


def _peer_closed(client: IMAPClient) -> bool:
    """Whether the server has closed the TCP connection (peeking below any TLS layer)."""
    try:
        raw = socket.fromfd(client.socket().fileno(), socket.AF_INET, socket.SOCK_STREAM)
    except OSError:
        return True
    try:
        return raw.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True
    finally:
        raw.close()


def _buffered_responses(client: IMAPClient, read_timeout: float) -> list[tuple[bytes, ...]]:
    """The whole lines imaplib has already read off the socket into its buffer, as
    ``(number, TYPE)`` pairs; without blocking."""
    imap = client._imap  # imapclient offers no public access to the reader
    sock = client.socket()
    sock.setblocking(False)
    try:
        try:
            if not imap.file.peek(1):
                return []
        except OSError:  # nothing buffered and nothing to read (a TLS socket says so)
            return []
        responses: list[tuple[bytes, ...]] = []
        while True:
            try:
                line = imap._get_line()
            except (OSError, imaplib.IMAP4.abort):  # drained: imaplib calls that "EOF"
                break
            if match := _UNTAGGED.match(line):
                responses.append((match.group(1), match.group(2)))
        return responses
    finally:
        sock.settimeout(read_timeout)


def _kinds(responses: list[tuple[Any, ...]]) -> set[str]:
    """The kinds of change in parsed untagged responses (``(1, b'EXISTS')`` ...)."""
    kinds = set()
    for response in responses:
        if len(response) >= 2 and isinstance(response[1], bytes):
            kind = _CHANGES.get(response[1].decode().upper())
            if kind:
                kinds.add(kind)
    return kinds


def _take_announced(client: IMAPClient) -> set[str]:
    """The kinds of change announced in replies to our commands (and to IDLE's DONE),
    taken from where imaplib keeps untagged responses nobody asked for."""
    pending = untagged_responses(client)
    kinds = set()
    for name, kind in _CHANGES.items():
        if pending.pop(name, None) and kind:
            kinds.add(kind)
    return kinds


class Wakeup:
    """A thread-safe, sticky wake-up for one :class:`FolderWatch`: ``set`` from any thread;
    the next (or current) ``wait`` ends and reports ``"woken"``. A socket pair, so that the
    wait polls it together with the IMAP connection."""

    def __init__(self) -> None:
        self._reader, self._writer = socket.socketpair()
        self._reader.setblocking(False)
        self._writer.setblocking(False)

    def fileno(self) -> int:
        return self._reader.fileno()

    def set(self) -> None:
        with suppress(OSError):  # full (already set) or closed (the watch has ended)
            self._writer.send(b"!")

    def wait(self, timeout: float) -> bool:
        """Block until set (True) or ``timeout`` s have passed (False); it stays set."""
        return bool(_readable([self.fileno()], timeout))

    def clear(self) -> bool:
        """Whether it was set; it is not any more."""
        woken = False
        with suppress(OSError):
            while self._reader.recv(512):
                woken = True
        return woken

    def close(self) -> None:
        self._reader.close()
        self._writer.close()


def _readable(fds: list[int], timeout: float) -> set[int]:
    """Which of ``fds`` are readable within ``timeout`` s (poll: no FD_SETSIZE limit)."""
    poller = select.poll()
    for fd in fds:
        poller.register(fd, select.POLLIN | select.POLLERR | select.POLLHUP)
    return {fd for fd, _ in poller.poll(max(0.0, timeout) * 1000)}


class FolderWatch:
    def __init__(self, endpoints: Endpoints, creds: Credentials, folder: str = "INBOX",
                 *, renew_seconds: float = 540, timeout: float = 30,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self._endpoints, self._creds, self.folder = endpoints, creds, folder
        self._renew, self._timeout = renew_seconds, timeout
        self._ssl_context = ssl_context  # for IMAPS: e.g. an extra CA (relay accounts, tests)
        self._client: IMAPClient | None = None
        self._idle_since: float | None = None

    @contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        try:
            yield
        except LoginError as exc:
            raise MailHostError(f"IMAP login failed for {self._creds.username}") from exc
        except _NETWORK_ERRORS as exc:
            raise MailHostUnavailable(f"IMAP connection lost while {what}: {exc}") from exc
        except (IMAPClientError, imaplib.IMAP4.error) as exc:
            raise MailHostError(f"IMAP error while {what}: {exc}") from exc

    def _call(self, what: str, fn: Callable[[IMAPClient], T]) -> T:
        if self._client is None:
            raise MailHostUnavailable("not connected")
        with self._errors(what):
            if self._idle_since is not None:  # a command cannot be sent while idling
                self._end_idle(self._client)
            return fn(self._client)

    def _end_idle(self, client: IMAPClient) -> None:
        client.idle_done()  # what its reply announces is kept aside by imaplib, as for commands
        self._idle_since = None

    def connect(self) -> int:
        """Log in, select the folder and return its UIDVALIDITY."""
        with self._errors("connecting"):
            client = connect(self._endpoints, self._timeout, self._ssl_context)
            self._client = client
            if self._creds.oauth:
                client.oauth2_login(self._creds.username, self._creds.password)
            else:
                client.login(self._creds.username, self._creds.password)
            info = client.select_folder(self.folder)
            _take_announced(client)  # SELECT's counts: the caller reads the folder afresh
        if b"UIDVALIDITY" not in info:
            raise MailHostError(f"the IMAP server sent no UIDVALIDITY for {self.folder}")
        return int(info[b"UIDVALIDITY"])

    def has_capability(self, name: str) -> bool:
        return bool(self._call("reading capabilities", lambda c: c.has_capability(name)))

    def uids_after(self, last_uid: int) -> list[int]:
        uids = self._call("searching", lambda c: c.search(["UID", f"{last_uid + 1}:*"]))
        return sorted(u for u in uids if u > last_uid)

    def fetch(self, uid: int) -> tuple[bytes, tuple[str, ...]] | None:
        """The raw message (without setting \\Seen) and its flags; None if it is gone."""
        data = self._call("fetching", lambda c: c.fetch([uid], ["BODY.PEEK[]", "FLAGS"]))
        item = data.get(uid)
        if not item or b"BODY[]" not in item:
            return None
        return bytes(item[b"BODY[]"]), _flag_names(item.get(b"FLAGS"))

    def all_flags(self) -> dict[int, tuple[str, ...]]:
        def read(c: IMAPClient) -> dict[int, Any]:
            uids = c.search(["ALL"])
            return c.fetch(uids, ["FLAGS"]) if uids else {}

        data = self._call("reading flags", read)
        return {uid: _flag_names(v.get(b"FLAGS")) for uid, v in data.items()}

    def wait(self, timeout: float, wakeup: Wakeup | None = None) -> set[str]:
        """IDLE up to ``timeout`` s; the kinds of change announced since the last call:
        'exists', 'expunge', 'fetch', and 'woken' when ``wakeup`` was set (before or during
        the wait). IDLE has ended whenever the answer is not empty."""
        client = self._client
        if client is None:
            raise MailHostUnavailable("not connected")
        with self._errors("waiting for mail"):
            if kinds := _take_announced(client):
                return kinds
            if self._idle_since is None and wakeup is not None and wakeup.clear():
                return self._woken(client)  # set while we were busy: no IDLE to start
            if self._idle_since is not None \
                    and time.monotonic() - self._idle_since > self._renew:
                self._end_idle(client)
                if kinds := _take_announced(client):
                    return kinds
            if self._idle_since is None:
                client.idle()
                self._idle_since = time.monotonic()
            started = time.monotonic()
            responses = _buffered_responses(client, self._timeout)
            if not responses and wakeup is not None:
                server = client.socket().fileno()
                ready = _readable([server, wakeup.fileno()], timeout)
                if wakeup.fileno() in ready and wakeup.clear():
                    self._end_idle(client)
                    return self._woken(client)
                if server in ready:
                    responses = client.idle_check(timeout=0)
            elif not responses:
                responses = client.idle_check(timeout=timeout)
            # imapclient's idle_check swallows EOF and returns []: an early empty return may
            # mean the server went away, so look at the socket before idling on it again.
            if not responses and time.monotonic() - started < timeout * 0.9 \
                    and _peer_closed(client):
                raise MailHostUnavailable("the IMAP server closed the connection")
            if kinds := _kinds(responses):
                self._end_idle(client)
                kinds |= _take_announced(client)
            return kinds

    @staticmethod
    def _woken(client: IMAPClient) -> set[str]:
        """After a wake: a NOOP, because Dovecot looks at the mail store afresh only for
        NOOP/CHECK (after IDLE's DONE or a SEARCH it reports what it had already noticed);
        what the NOOP's reply announces is reported with ``"woken"``."""
        _, responses = client.noop()
        return {"woken"} | _kinds(responses) | _take_announced(client)

    def close(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        try:
            if self._idle_since is not None:
                client.idle_done()
            client.logout()
        except Exception:  # closing a dead connection: nothing left to report
            with suppress(Exception):
                client.shutdown()
        self._idle_since = None
