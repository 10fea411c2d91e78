"""Small facts about other processes (is a pid alive, its command line, is a port taken)."""

from __future__ import annotations

import os
import socket
import subprocess


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
