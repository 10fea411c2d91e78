"""System checks shared by ``setup`` and ``doctor``: each a named result with a fix hint."""

from __future__ import annotations

import socket
import sys
from dataclasses import asdict, dataclass
from typing import Any

from ..config import Settings


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    hint: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def python_check() -> Check:
    version = ".".join(map(str, sys.version_info[:3]))
    return Check("python", sys.version_info >= (3, 11), f"Python {version}",
                 None if sys.version_info >= (3, 11) else "install Python 3.11 or newer")


def dovecot_check() -> Check:
    from ..errors import DependencyMissing
    from ..hosts.local import find_dovecot

    try:
        path = find_dovecot()
    except DependencyMissing as exc:
        return Check("dovecot", False, exc.message, exc.hint)
    return Check("dovecot", True, path)


def port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def port_checks(settings: Settings) -> list[Check]:
    wanted = [("api", settings.api_port), ("imap", settings.imap_port),
              ("lmtp", settings.lmtp_port), ("submission", settings.submission_port)]
    checks = []
    for name, port in wanted:
        free = port_free("127.0.0.1", port)
        checks.append(Check(
            f"port {name}", free, f"127.0.0.1:{port} is {'free' if free else 'in use'}",
            None if free else f"stop what listens on {port} or set {name}_port in "
                              f"{settings.config_path}",
        ))
    return checks
