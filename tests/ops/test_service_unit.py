"""``agenticmail service``: the systemd unit and the launchd agent rendered from the shipped
templates (paths with spaces, quotes, ``%`` and ``$`` survive), checked by ``systemd-analyze
verify``; install/uninstall/status write and remove the unit file for real, and a service
manager that cannot be reached is a one-line error, never a traceback."""

from __future__ import annotations

import json
import os
import plistlib
import re
import shlex
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from agenticmail.config import Settings
from agenticmail.errors import InvalidRequest
from agenticmail.services import service_unit

ODD = 'odd dir "q" 100% $HOME \\n'  # what a home path may hold and a unit file must quote
PROGRAM_DIR = "venv dir 100% $HOME"  # systemd takes no quotes or backslashes in a program path


def _settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / ODD / "home")


def _exec_argv(unit: str) -> list[str]:
    line = next(ln for ln in unit.splitlines() if ln.startswith("ExecStart="))
    program, *args = shlex.split(line.removeprefix("ExecStart="))  # systemd's quoting is
    return [program.replace("%%", "%"),  # shell-like; the program path is not expanded
            *(w.replace("%%", "%").replace("$$", "$") for w in args)]


def _environment(unit: str) -> str:
    line = next(ln for ln in unit.splitlines() if ln.startswith("Environment="))
    (word,) = shlex.split(line.removeprefix("Environment="))
    return word.replace("%%", "%")


def test_the_systemd_unit_quotes_every_path(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    command = [str(tmp_path / PROGRAM_DIR / "agenticmail")]
    unit = service_unit.render(settings, "systemd", command)
    assert _exec_argv(unit) == [*command, "--home", str(settings.home), "start",
                                "--log-file-only"]
    assert _environment(unit) == f"AGENTICMAIL_HOME={settings.home}"
    assert "Restart=on-failure" in unit and "WantedBy=default.target" in unit


def test_systemd_analyze_verifies_the_unit(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    settings = _settings(tmp_path)
    binary = tmp_path / PROGRAM_DIR / "agenticmail"  # verify checks the program exists
    binary.parent.mkdir(parents=True)
    shutil.copy(sys.executable, binary)
    path = tmp_path / service_unit.unit_name(settings.home, "systemd")
    path.write_text(service_unit.render(settings, "systemd", [str(binary)]))
    result = subprocess.run([analyze, "verify", str(path)], capture_output=True, text=True,
                            timeout=60, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert path.name not in result.stderr, result.stderr  # no warning about our unit
    # a path left unquoted is what verify catches
    path.write_text(service_unit.render(settings, "systemd", [str(binary)])
                    .replace(service_unit.systemd_quote(str(binary), exec_line=False),
                             str(binary)))
    broken = subprocess.run([analyze, "verify", str(path)], capture_output=True, text=True,
                            timeout=60, cwd=tmp_path)
    assert broken.returncode != 0


def test_the_launchd_agent_is_a_valid_plist(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    command = [str(tmp_path / "a&b <c>" / "agenticmail")]
    agent = plistlib.loads(service_unit.render(settings, "launchd", command).encode())
    assert agent["ProgramArguments"] == [*command, "--home", str(settings.home), "start",
                                         "--log-file-only"]
    assert agent["EnvironmentVariables"] == {"AGENTICMAIL_HOME": str(settings.home)}
    assert agent["RunAtLoad"] is True and agent["KeepAlive"] == {"SuccessfulExit": False}
    assert agent["Label"] == service_unit.unit_name(settings.home, "launchd")
    assert agent["StandardErrorPath"] == str(settings.logs_dir / "daemon.out")


def test_each_home_has_its_own_unit(tmp_path: Path) -> None:
    one, two = (service_unit.unit_name(tmp_path / n, "systemd") for n in ("a", "b"))
    assert one != two and re.fullmatch(r"agenticmail-[0-9a-f]{8}\.service", one)
    default = (Path.home() / ".agenticmail").resolve()
    assert service_unit.unit_name(default, "systemd") == "agenticmail.service"


def test_paths_a_unit_cannot_hold_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequest, match="line break"):
        service_unit.render(Settings(home=tmp_path / "a\nb"), "systemd", ["/bin/x"])
    with pytest.raises(InvalidRequest, match="quotes or backslashes"):
        service_unit.render(Settings(home=tmp_path), "systemd", ['/opt/"v"/agenticmail'])


def _cli(tmp_path: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AGENTICMAIL_", "XDG_", "DBUS_"))}
    env.update(HOME=str(tmp_path / "user"), XDG_CONFIG_HOME=str(tmp_path / "user" / ".cfg"))
    return subprocess.run([sys.executable, "-m", "agenticmail", "--home", str(home), *args],
                          env=env, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the systemd flavour")
def test_install_status_uninstall_without_a_running_systemd(tmp_path: Path) -> None:
    """systemd's user manager is not reachable here (a test HOME and config dir: even on a
    desktop with systemd it knows nothing of this unit), so enabling fails clearly."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text('master_key = "mk_x"\n')
    unit = tmp_path / "user" / ".cfg" / "systemd" / "user" / \
        service_unit.unit_name(home.resolve(), "systemd")

    installed = _cli(tmp_path, home, "service", "install", "--json")
    assert installed.returncode == 1, installed.stdout
    assert "Traceback" not in installed.stderr
    error = json.loads(installed.stdout)["error"]
    assert error["code"] == "service_manager_unavailable"
    assert error["message"].startswith(f"wrote {unit} but could not enable it: ")
    assert "systemctl --user enable --now" in error["hint"]
    assert installed.stderr.startswith("error: wrote ")
    assert unit.is_file() and stat.S_IMODE(unit.stat().st_mode) == 0o644
    assert _exec_argv(unit.read_text())[1:] == ["--home", str(home.resolve()), "start",
                                               "--log-file-only"]

    shown = _cli(tmp_path, home, "service", "status", "--json")
    assert shown.returncode == 0, shown.stderr
    report = json.loads(shown.stdout)
    assert report["installed"] is True and report["path"] == str(unit)
    assert report["manager"] == "systemd" and report["note"] == ""

    removed = _cli(tmp_path, home, "service", "uninstall", "--json")
    assert removed.returncode == 0, removed.stderr
    assert json.loads(removed.stdout)["installed"] is False and not unit.exists()
    again = _cli(tmp_path, home, "service", "uninstall", "--json")
    assert json.loads(again.stdout)["note"] == "it was not installed"
