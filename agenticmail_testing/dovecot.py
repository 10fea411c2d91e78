"""Test helpers around the real ``local`` mail host (a private Dovecot on free loopback ports).

    with DovecotServer() as server:             # LocalHost started under a temp dir
        creds = server.add_user("a@example.test", "pw")
        server.deliver(creds.username, b"Subject: hi\\r\\n\\r\\nbody\\r\\n")
        client = server.imap(creds.username, creds.password)     # logged-in IMAPClient
        assert server.login_fails(creds.username, "wrong")       # probe from 127.0.0.x

Works as root (the store then lives in a 0755 temp "system dir", as the daemon would use
/var/lib/agenticmail) and as a normal user. Negative-auth probes use a fresh source address in
127.0.0.0/8 each time, so Dovecot's per-IP auth penalty (2..15 s on the *next* login from the
same IP) never slows a test down.
"""

from __future__ import annotations

import atexit
import contextlib
import imaplib
import itertools
import os
import shutil
import smtplib
import socket
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

from imapclient import IMAPClient

from agenticmail.hosts.local import DOVECOT_PATHS, LocalHost
from agenticmail.mail.idle import FolderWatch
from agenticmail.models import Credentials, Endpoints
from agenticmail_testing.ports import free_ports

_SYSTEM_DIR: Path | None = None


def dovecot_available() -> bool:
    return bool(shutil.which("dovecot")) or any(os.path.exists(p) for p in DOVECOT_PATHS)


def wait_until(predicate: Callable[[], Any], timeout: float = 5.0, what: str = "condition") -> Any:
    """Poll ``predicate`` until it returns something truthy; AssertionError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)  # polling, not synchronising


def dovecot_pids(config: Path) -> list[int]:
    """Processes whose command line names the Dovecot config ``config`` (its master)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if str(config).encode() in cmdline:
                found.append(int(entry.name))
    return found


def process_tree(roots: Iterable[int]) -> list[int]:
    """``roots`` and every process descending from them (Dovecot's imap processes, whose
    command lines do not name the config)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:  # "pid (comm) state ppid ...": comm may hold spaces and parentheses
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    tree = set(roots)
    grown = True
    while grown:
        children = {pid for pid, ppid in parents.items() if ppid in tree} - tree
        tree |= children
        grown = bool(children)
    return sorted(tree)


def scratch_system_dir() -> Path:
    """A 0755 directory standing in for /var/lib/agenticmail (removed at interpreter exit)."""
    global _SYSTEM_DIR
    if _SYSTEM_DIR is None:
        _SYSTEM_DIR = Path(tempfile.mkdtemp(prefix="am-store-"))
        os.chmod(_SYSTEM_DIR, 0o755)  # root mode: nobody/dovecot must traverse it
        atexit.register(shutil.rmtree, _SYSTEM_DIR, True)
    return _SYSTEM_DIR


def make_local_host(tmpdir: Path, *, domain: str = "example.test", **kwargs: Any) -> LocalHost:
    """A (not yet started) LocalHost with data dir ``tmpdir/dovecot`` on free ports.

    Call ``host.purge()`` when done: it stops Dovecot and removes the store wherever it lives.
    """
    imap_port, lmtp_port, submission_port = free_ports(3)
    kwargs.setdefault("system_dir", scratch_system_dir())
    return LocalHost(
        Path(tmpdir) / "dovecot",
        domain=domain,
        imap_port=imap_port,
        lmtp_port=lmtp_port,
        submission_port=submission_port,
        **kwargs,
    )


_SOURCE_IPS = (f"127.0.{b}.{c}" for b in itertools.count(0) for c in range(2, 255))


def _source_ip_usable(ip: str) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((ip, 0))
        except OSError:  # macOS configures only 127.0.0.1 on lo0
            return False
    return True


def next_source_ip() -> str:
    """A loopback source address not used for a login before (or 127.0.0.1 if none exist)."""
    ip = next(_SOURCE_IPS)
    return ip if _source_ip_usable(ip) else "127.0.0.1"


class IMAPFrom(imaplib.IMAP4):
    """imaplib client connecting from a chosen loopback source address (negative-auth probes)."""

    def __init__(self, port: int, src: str | None = None, host: str = "127.0.0.1") -> None:
        self._src = src or next_source_ip()
        super().__init__(host, port, timeout=10)

    def _create_socket(self, timeout: float | None) -> socket.socket:
        return socket.create_connection(
            (self.host, self.port), timeout, source_address=(self._src, 0)
        )


def login_fails(imap_port: int, username: str, password: str) -> bool:
    """True if an IMAP LOGIN is refused (from a fresh source IP: no auth penalty carried over)."""
    client = IMAPFrom(imap_port)
    try:
        client.login(username, password)
    except imaplib.IMAP4.error:
        return True
    finally:
        with contextlib.suppress(imaplib.IMAP4.error, OSError):
            client.logout()
    return False


def wait_for_change(watch: FolderWatch, kind: str, timeout: float = 10) -> set[str]:
    """Call ``watch.wait`` until it reports ``kind`` ('exists', 'fetch' ...) or ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if kind in (kinds := watch.wait(0.5)):
            return kinds
    raise AssertionError(f"no {kind} announced within {timeout}s")


def idle_until_exists(client: IMAPClient, timeout: float = 5.0) -> list[Any]:
    """With ``client`` in IDLE, collect responses until an EXISTS arrives (or ``timeout``)."""
    deadline = time.monotonic() + timeout
    seen: list[Any] = []
    while time.monotonic() < deadline:
        seen += client.idle_check(timeout=max(0.1, deadline - time.monotonic()))
        if any(len(r) > 1 and r[1] == b"EXISTS" for r in seen):
            break
    return seen


class DovecotServer:
    """A started :class:`LocalHost` under a temporary directory, plus test conveniences."""

    def __init__(self, tmpdir: Path | None = None, *, domain: str = "example.test") -> None:
        self._own_tmp = tmpdir is None
        self.tmpdir = Path(tmpdir) if tmpdir is not None else Path(tempfile.mkdtemp(prefix="am-"))
        self.host = make_local_host(self.tmpdir, domain=domain)
        self.domain = domain

    # lifecycle
    def start(self) -> DovecotServer:
        self.host.start()
        return self

    def close(self) -> None:
        self.host.purge()
        if self._own_tmp:
            shutil.rmtree(self.tmpdir, ignore_errors=True)

    def __enter__(self) -> DovecotServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # conveniences
    @property
    def imap_port(self) -> int:
        return self.host.imap_port

    @property
    def lmtp_socket(self) -> str:
        return str(self.host.lmtp_socket)

    def endpoints(self) -> Endpoints:
        return self.host.endpoints()

    def unique_address(self, prefix: str = "u") -> str:
        return f"{prefix}{uuid.uuid4().hex[:10]}@{self.domain}"

    def add_user(self, user: str | None = None, password: str | None = None) -> Credentials:
        creds = Credentials(user or self.unique_address(), password or uuid.uuid4().hex)
        self.host.create_account(creds.username, creds.password)
        return creds

    def remove_user(self, user: str) -> None:
        self.host.delete_account(user)

    def deliver(
        self, rcpt: str | Iterable[str], data: bytes, sender: str = "sender@example.test"
    ) -> dict[str, tuple[int, bytes]]:
        """LMTP delivery; returns the refused recipients (empty dict = all delivered)."""
        rcpts = [rcpt] if isinstance(rcpt, str) else list(rcpt)
        with smtplib.LMTP(self.lmtp_socket) as lmtp:
            return lmtp.sendmail(sender, rcpts, data)

    def imap(self, user: str, password: str) -> IMAPClient:
        client = IMAPClient("127.0.0.1", port=self.imap_port, ssl=False, timeout=10)
        client.login(user, password)
        return client

    def login_fails(self, user: str, password: str) -> bool:
        return login_fails(self.imap_port, user, password)
