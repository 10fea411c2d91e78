"""The user's service manager -- systemd (``systemctl --user``) or launchd (``launchctl``) --
behind one small adapter: load, enable and start a unit, stop and disable it, say its state.

Every failure (the program is missing, systemd is not running in this session, the manager
refuses) is an :class:`AgenticMailError` with code ``service_manager_unavailable`` and a one-line
message that says why, never a subprocess exception.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ..errors import AgenticMailError

TIMEOUT = 30.0
UNAVAILABLE = "service_manager_unavailable"


@dataclass(frozen=True)
class UnitState:
    enabled: bool | None  # None: the manager could not be asked
    active: str | None  # "active", "inactive", "failed", "running" ...
    detail: str = ""


class ServiceManager(Protocol):
    kind: str

    def enable(self, name: str, path: Path) -> None:
        """Load the unit file at ``path``, enable it at login and start it now."""

    def disable(self, name: str, path: Path) -> None:
        """Stop the unit and disable it (the file stays)."""

    def forget(self) -> None:
        """Tell the manager a unit file was removed."""

    def state(self, name: str, path: Path) -> UnitState: ...


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    if shutil.which(argv[0]) is None:
        raise AgenticMailError(f"{argv[0]} is not installed here", code=UNAVAILABLE)
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT,
                              check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise AgenticMailError(f"{' '.join(argv[:3])} failed: {exc}", code=UNAVAILABLE) from None


def _first_line(res: subprocess.CompletedProcess[str]) -> str:
    text = (res.stderr or res.stdout or "").strip()
    return text.splitlines()[0] if text else f"exit status {res.returncode}"


class SystemdUser:
    """``systemctl --user``: units in ``$XDG_CONFIG_HOME/systemd/user``."""

    kind = "systemd"

    def _check(self, *args: str) -> str:
        res = _run(["systemctl", "--user", *args])
        if res.returncode != 0:
            raise AgenticMailError(f"systemctl --user {args[0]}: {_first_line(res)}",
                                   code=UNAVAILABLE)
        return res.stdout.strip()

    def enable(self, name: str, path: Path) -> None:
        self._check("daemon-reload")
        self._check("enable", "--now", name)

    def disable(self, name: str, path: Path) -> None:
        self._check("disable", "--now", name)

    def forget(self) -> None:
        self._check("daemon-reload")

    def state(self, name: str, path: Path) -> UnitState:
        try:
            enabled = _run(["systemctl", "--user", "is-enabled", name])
            active = _run(["systemctl", "--user", "is-active", name])
        except AgenticMailError as exc:
            return UnitState(None, None, exc.message)
        answer = active.stdout.strip()
        if not answer or "Failed to connect" in (active.stderr or ""):
            return UnitState(None, None, f"systemctl --user: {_first_line(active)}")
        return UnitState(enabled.stdout.strip() == "enabled", answer)


class Launchd:
    """``launchctl`` in the login session's domain (``gui/<uid>``): agents in
    ``~/Library/LaunchAgents``."""

    kind = "launchd"

    @property
    def _domain(self) -> str:
        return f"gui/{os.getuid()}"

    def _check(self, *args: str) -> str:
        res = _run(["launchctl", *args])
        if res.returncode != 0:
            raise AgenticMailError(f"launchctl {args[0]}: {_first_line(res)}", code=UNAVAILABLE)
        return res.stdout

    def enable(self, name: str, path: Path) -> None:
        self._check("bootstrap", self._domain, str(path))
        self._check("enable", f"{self._domain}/{name}")

    def disable(self, name: str, path: Path) -> None:
        self._check("bootout", f"{self._domain}/{name}")

    def forget(self) -> None:
        return None  # launchd reads the file at bootstrap only

    def state(self, name: str, path: Path) -> UnitState:
        try:
            res = _run(["launchctl", "print", f"{self._domain}/{name}"])
        except AgenticMailError as exc:
            return UnitState(None, None, exc.message)
        if res.returncode != 0:
            return UnitState(False, "not loaded")
        states = [line.split("=", 1)[1].strip() for line in res.stdout.splitlines()
                  if line.strip().startswith("state =")]
        return UnitState(True, states[0] if states else "loaded")


def manager_for(kind: str) -> ServiceManager:
    return Launchd() if kind == "launchd" else SystemdUser()
