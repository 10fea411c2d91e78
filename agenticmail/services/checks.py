"""System checks shared by ``setup`` and ``doctor``: each a named result with a fix hint.

``system_checks`` is the wizard's first step (Python, Docker engine, Dovecot, disk, ports);
``choose_mail_host`` turns it into the default mail host with the reason for the choice.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..config import Settings
from ..errors import AgenticMailError, DependencyMissing
from ..hosts.local import find_dovecot
from ..processes import port_free
from ..providers.docker_engine import DockerEngine


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    hint: str | None = None
    optional: bool = False  # a failure is information, not a problem (e.g. Docker, local host)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def python_check() -> Check:
    version = ".".join(map(str, sys.version_info[:3]))
    return Check("python", sys.version_info >= (3, 11), f"Python {version}",
                 None if sys.version_info >= (3, 11) else "install Python 3.11 or newer")


def dovecot_check() -> Check:
    try:
        path = find_dovecot()
    except DependencyMissing as exc:
        return Check("dovecot", False, exc.message, exc.hint)
    return Check("dovecot", True, path)


def docker_check(settings: Settings) -> Check:
    """Is a Docker engine reachable (needed by the stalwart mail host)?"""
    engine = DockerEngine(settings.docker_host, timeout=5)  # a check must not hang
    try:
        info = engine.info()
    except AgenticMailError as exc:
        return Check("docker", False, exc.message, exc.hint)
    finally:
        engine.close()
    return Check("docker", True, f"Docker {info.version} (API {info.api_version}) at {info.url}")


MIN_FREE_BYTES = {"local": 200 * 1024 * 1024, "stalwart": 2 * 1024 * 1024 * 1024}


def disk_check(settings: Settings, mail_host: str | None = None) -> Check:
    kind = mail_host or settings.mail_host
    path: Path = settings.home
    while not path.exists() and path != path.parent:
        path = path.parent
    free = shutil.disk_usage(path).free
    need = MIN_FREE_BYTES.get(kind, MIN_FREE_BYTES["local"])
    ok = free >= need
    return Check("disk", ok, f"{free / 2**30:.1f} GiB free at {path}",
                 None if ok else f"the {kind} mail host needs {need / 2**30:.1f} GiB; free "
                                 "some space or choose another --home")


def choose_mail_host(docker: Check, dovecot: Check) -> tuple[str, str]:
    """The default mail host and why: stalwart when Docker runs, else local."""
    if docker.ok:
        return "stalwart", "a Docker engine is running, so mailboxes live in a pinned " \
                           "Stalwart container (full mail server: DKIM, domains, relay)"
    if dovecot.ok:
        return "local", "no Docker engine is running, so mailboxes live in a private " \
                        "Dovecot run by the daemon"
    return "local", "neither Docker nor Dovecot is available; the local host needs Dovecot"


def system_checks(settings: Settings) -> list[Check]:
    """What the wizard looks at before choosing a mail host (ports come after the choice)."""
    return [python_check(), docker_check(settings), dovecot_check(), disk_check(settings)]


def port_checks(settings: Settings, mail_host: str | None = None) -> list[Check]:
    wanted = [("api", settings.api_port), ("imap", settings.imap_port),
              ("submission", settings.submission_port)]
    if (mail_host or settings.mail_host) == "stalwart":  # the local host's LMTP is a socket
        wanted += [("lmtp", settings.lmtp_port), ("stalwart_http", settings.stalwart_http_port),
                   ("stalwart_smtp", settings.stalwart_smtp_port),
                   ("stalwart_submission", settings.stalwart_submission_port)]
    checks = []
    for name, port in wanted:
        free = port_free(port)
        checks.append(Check(
            f"port {name}", free, f"127.0.0.1:{port} is {'free' if free else 'in use'}",
            None if free else f"stop what listens on {port} or set {name}_port in "
                              f"{settings.config_path}",
        ))
    return checks
