"""Small facts about other processes and their sockets, and the few things done to them.

Is a pid alive, its command line, signalling a process group, is a port taken, is a server
listening (loopback port or unix socket) and does it greet as expected, and polling for any
of these with a deadline. Nothing here knows which server is on the other side.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

POLL = 0.02  # seconds between polls


def ps(pid: int, fmt: str) -> str:
    """``ps -p PID -o FMT`` (portable to macOS, where /proc does not exist); "" on failure."""
    try:
        res = subprocess.run(["ps", "-p", str(pid), "-o", fmt], capture_output=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return res.stdout.decode("utf-8", "replace").strip()


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` runs. A zombie (exited, not yet reaped by its parent) does not."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return "Z" not in ps(pid, "stat=")


def cmdline(pid: int) -> str:
    """The process's command line ("" if it cannot be read)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
    except OSError:
        return ps(pid, "command=")


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether nothing listens on ``host:port`` (a bind test, as the server would do it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def poll_until(check: Callable[[], bool], timeout: float, interval: float = POLL) -> bool:
    """Call ``check()`` every ``interval`` seconds until it returns true or ``timeout``
    passes. Returns the last result."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)
    return True


def signal_group(pgid: int, sig: signal.Signals) -> None:
    """Signal every process of the group ``pgid`` (a server started in a session of its own,
    with any child it left behind); nothing if the group is gone or not ours."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def signal_leader(pid: int, sig: signal.Signals) -> None:
    """Signal ``pid`` and, when it leads a process group, that whole group (a server found
    through its pid file, not a child of ours)."""
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _connect(where: int | Path) -> socket.socket:
    if isinstance(where, Path):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(2)
        try:
            sock.connect(str(where))
        except OSError:
            sock.close()
            raise
        return sock
    return socket.create_connection(("127.0.0.1", where), timeout=2)


def connectable(port: int) -> bool:
    """Whether something accepts connections on loopback ``port``."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def unix_connectable(path: Path) -> bool:
    """Whether something accepts connections on the unix socket ``path``."""
    try:
        with _connect(path):
            return True
    except OSError:
        return False


def probe(where: int | Path, greeting: bytes) -> str:
    """Connect (a loopback port or a unix socket) and read the server's greeting: "ok" or
    what went wrong."""
    label = f"socket {where}" if isinstance(where, Path) else f"port {where}"
    try:
        with _connect(where) as s:
            s.settimeout(2)
            banner = s.recv(512)
    except OSError as exc:
        return f"{label}: {exc.strerror or exc}"
    if banner.startswith(greeting):
        return "ok"
    return f"{label}: unexpected greeting {banner[:40]!r}"


def lower_thread_priority(niceness: int = 19) -> None:
    """Make the calling thread (and the threads it starts later) yield the CPU to the rest of
    the process: Linux keeps a nice value per thread. Elsewhere, or when not allowed, nothing
    changes."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)
