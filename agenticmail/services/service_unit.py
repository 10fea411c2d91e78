"""Running the daemon as a service of the user's login session: the unit file (a systemd user
unit on Linux, a launchd agent on macOS) rendered from ``templates/``, and install, uninstall
and status through :mod:`agenticmail.providers.service_manager`.

The unit runs ``<this environment's agenticmail> --home HOME start --log-file-only`` with
``AGENTICMAIL_HOME`` set, starts at login and is restarted when it fails. Each home gets its
own unit: ``agenticmail`` for the default home, ``agenticmail-<hash>`` for another one.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any
from xml.sax.saxutils import escape

from ..config import Settings, default_home, write_private
from ..errors import AgenticMailError, InvalidRequest
from ..providers.service_manager import ServiceManager, UnitState, manager_for

SYSTEMD, LAUNCHD = "systemd", "launchd"
LAUNCHD_PREFIX = "dev.agenticmail."


def platform_manager() -> str:
    if sys.platform == "darwin":
        return LAUNCHD
    if sys.platform.startswith("linux"):
        return SYSTEMD
    raise InvalidRequest(f"running as a service is not supported on {sys.platform}",
                         code="not_supported", hint="run: agenticmail start --detach")


def executable() -> list[str]:
    """How the unit runs agenticmail: this environment's ``agenticmail`` script (next to its
    Python), else ``python -m agenticmail`` with this Python."""
    script = Path(sys.executable).parent / "agenticmail"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "agenticmail"]


@dataclass(frozen=True)
class Unit:
    manager: str  # "systemd" | "launchd"
    name: str  # the unit's name for the manager (systemd: with .service)
    path: Path  # where the unit file goes
    text: str  # the rendered file


def unit_name(home: Path, manager: str) -> str:
    default = home == default_home({}).expanduser().resolve()
    stem = "agenticmail" if default else \
        f"agenticmail-{hashlib.sha256(str(home).encode()).hexdigest()[:8]}"
    return f"{stem}.service" if manager == SYSTEMD else f"{LAUNCHD_PREFIX}{stem}"


def unit_path(name: str, manager: str, env: dict[str, str] | None = None) -> Path:
    env = dict(os.environ) if env is None else env
    user_home = Path(env.get("HOME") or Path.home())
    if manager == SYSTEMD:
        config = Path(env["XDG_CONFIG_HOME"]) if env.get("XDG_CONFIG_HOME") \
            else user_home / ".config"
        return config / "systemd" / "user" / name
    return user_home / "Library" / "LaunchAgents" / f"{name}.plist"


def _check_text(value: str) -> str:
    if any(c in value for c in "\n\r\0"):
        raise InvalidRequest(f"a path with a line break cannot go in a unit file: {value!r}")
    return value


def systemd_quote(value: str, *, exec_line: bool) -> str:
    """One word for a systemd unit file: double-quoted, ``\\`` and ``"`` escaped, ``%``
    (specifiers) doubled and, for an argument on an Exec line, ``$`` (variable expansion)
    doubled."""
    text = _check_text(value).replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%")
    if exec_line:
        text = text.replace("$", "$$")
    return f'"{text}"'


def systemd_exec(argv: list[str]) -> str:
    """An ``ExecStart=`` value. systemd expands no variables in the program's path and refuses
    a path holding quotes or backslashes."""
    program, *args = argv
    if any(c in program for c in "\"\'\\"):
        raise InvalidRequest(f"systemd cannot run a program whose path holds quotes or "
                             f"backslashes: {program}",
                             hint="install agenticmail in an environment at a plainer path")
    return " ".join([systemd_quote(program, exec_line=False),
                     *(systemd_quote(a, exec_line=True) for a in args)])


def _template(name: str) -> Template:
    return Template(resources.files("agenticmail").joinpath(f"templates/{name}")
                    .read_text("utf-8"))


def render(settings: Settings, manager: str, command: list[str] | None = None) -> str:
    home = str(settings.home)
    argv = [*(command or executable()), "--home", home, "start", "--log-file-only"]
    if manager == SYSTEMD:
        return _template("agenticmail.service").substitute(
            environment=systemd_quote(f"AGENTICMAIL_HOME={home}", exec_line=False),
            exec_start=systemd_exec(argv))
    return _template("agenticmail.plist").substitute(
        label=escape(unit_name(settings.home, LAUNCHD)),
        program_arguments="\n".join(f"    <string>{escape(_check_text(a))}</string>"
                                    for a in argv),
        home=escape(_check_text(home)),
        output=escape(str(settings.logs_dir / "daemon.out")))


def describe(settings: Settings, manager: str | None = None,
             env: dict[str, str] | None = None) -> Unit:
    manager = manager or platform_manager()
    name = unit_name(settings.home, manager)
    return Unit(manager, name, unit_path(name, manager, env), render(settings, manager))


@dataclass(frozen=True)
class ServiceReport:
    unit: Unit
    installed: bool
    state: UnitState
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"manager": self.unit.manager, "name": self.unit.name,
                "path": str(self.unit.path), "installed": self.installed,
                "enabled": self.state.enabled, "active": self.state.active,
                "detail": self.state.detail, "note": self.note}


def install(settings: Settings, *, manager: str | None = None,
            services: ServiceManager | None = None) -> ServiceReport:
    """Write the unit file (0644) and have the manager enable and start it."""
    unit = describe(settings, manager)
    services = services or manager_for(unit.manager)
    try:
        unit.path.parent.mkdir(parents=True, exist_ok=True)
        write_private(unit.path, unit.text.encode(), 0o644)
    except OSError as exc:
        raise AgenticMailError(f"cannot write {unit.path}: {exc.strerror or exc}") from exc
    settings.logs_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        services.enable(unit.name, unit.path)
    except AgenticMailError as exc:
        raise AgenticMailError(
            f"wrote {unit.path} but could not enable it: {exc.message}", code=exc.code,
            hint=_enable_hint(unit)) from exc
    return ServiceReport(unit, True, services.state(unit.name, unit.path))


def _enable_hint(unit: Unit) -> str:
    if unit.manager == SYSTEMD:
        return (f"in a login session with systemd: systemctl --user enable --now {unit.name} "
                "(and loginctl enable-linger to start it at boot)")
    return f"in the user's login session: launchctl bootstrap gui/$(id -u) {unit.path}"


def uninstall(settings: Settings, *, manager: str | None = None,
              services: ServiceManager | None = None) -> ServiceReport:
    """Stop and disable the unit (if the manager can be reached) and remove its file."""
    unit = describe(settings, manager)
    services = services or manager_for(unit.manager)
    if not unit.path.exists():
        return ServiceReport(unit, False, UnitState(None, None), "it was not installed")
    note = ""
    try:
        services.disable(unit.name, unit.path)
    except AgenticMailError as exc:
        note = f"not stopped by the service manager ({exc.message})"
    unit.path.unlink(missing_ok=True)
    with contextlib.suppress(AgenticMailError):
        services.forget()
    return ServiceReport(unit, False, UnitState(False, None), note)


def status(settings: Settings, *, manager: str | None = None,
           services: ServiceManager | None = None) -> ServiceReport:
    unit = describe(settings, manager)
    services = services or manager_for(unit.manager)
    installed = unit.path.exists()
    state = services.state(unit.name, unit.path) if installed else UnitState(False, None)
    stale = installed and unit.path.read_text("utf-8") != unit.text
    return ServiceReport(unit, installed, state,
                         "the unit file differs from this version's: run service install "
                         "again" if stale else "")
