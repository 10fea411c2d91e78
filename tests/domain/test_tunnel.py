"""Domain mode's tunnel: the real daemon runs ``cloudflared`` (here the stand-in,
agenticmail_testing/cloudflared_standin.py, through the ``cloudflared_path`` setting) while a
DomainConfig with a tunnel token is saved, shows its state in /v1/health, ``status`` and
``doctor``, restarts it with backoff, stops it on teardown, reconfiguration and daemon shutdown,
and never puts the token on a command line. ``domain tunnel install`` downloads a release from
a local server standing in for GitHub's, checked against its SHA-256."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from agenticmail.cli.main import app
from agenticmail.processes import pid_alive
from agenticmail.providers import cloudflared
from agenticmail.services import domain_config, operations_checks, tunnel
from agenticmail.services.context import build_context
from agenticmail.services.domain_config import DomainConfig
from agenticmail_testing import cloudflared_standin as standin
from agenticmail_testing import log_audit
from agenticmail_testing.daemon import DaemonHandle, wait_until

BACKOFF = {"tunnel_backoff_seconds": 0.1, "tunnel_max_backoff_seconds": 2.0,
           "tunnel_stop_timeout_seconds": 2.0, "tunnel_healthy_after_seconds": 120.0}


@dataclass
class Standin:
    path: Path
    control: Path

    def runs(self) -> list[dict[str, Any]]:
        return standin.runs(self.control)

    def command(self, text: str) -> None:
        """Hand the running stand-in one command and wait until it took it."""
        staged = self.control / ".staged"
        staged.write_text(text)
        staged.rename(self.control / "command")
        wait_until(lambda: not (self.control / "command").exists(), 10,
                   what=f"the stand-in to take {text!r}")


@pytest.fixture(scope="module")
def fake(tmp_path_factory: pytest.TempPathFactory) -> Standin:
    root = tmp_path_factory.mktemp("cloudflared")
    return Standin(standin.install_standin(root / "bin", root / "control"), root / "control")


@pytest.fixture(scope="module")
def handle(fake: Standin) -> Iterator[DaemonHandle]:
    daemon = DaemonHandle(cloudflared_path=str(fake.path), **BACKOFF).start()
    yield daemon
    daemon.close()


def _ctx(handle: DaemonHandle) -> Any:
    assert handle.daemon is not None
    return handle.daemon.ctx


def set_token(handle: DaemonHandle, token: str) -> None:
    """What domain setup saves once it has the tunnel's token (never to be logged)."""
    log_audit.remember(token)
    ctx = _ctx(handle)
    domain_config.save(ctx, DomainConfig(
        domain="example.com", hostname="mail.example.com", tunnel_name="agenticmail",
        tunnel_token_enc=domain_config.encrypt(ctx, token)))


def health(handle: DaemonHandle) -> dict[str, Any]:
    with handle.client() as client:
        response = client.get("/v1/health")
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def state(handle: DaemonHandle) -> dict[str, Any]:
    found: dict[str, Any] = health(handle)["tunnel"]
    return found


def wait_state(handle: DaemonHandle, what: str, check: Any, timeout: float = 15.0
               ) -> dict[str, Any]:
    def ready() -> dict[str, Any] | None:
        now = state(handle)
        return now if check(now) else None

    found: dict[str, Any] = wait_until(ready, timeout, 0.05, what=what)
    return found


def connected(handle: DaemonHandle, connections: int = 4, **more: Any) -> dict[str, Any]:
    return wait_state(handle, f"the tunnel connected ({connections}) {more}",
                      lambda s: s["state"] == "connected" and s["connections"] == connections
                      and all(check(s) for check in more.values()))


def command_lines() -> list[str]:
    """Every process's command line that can be read (what ``ps`` shows)."""
    lines = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                lines.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(
                    "utf-8", "replace"))
            except OSError:
                continue
    return lines


def assert_token_hidden(token: str) -> None:
    assert not [line for line in command_lines() if token in line]


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def cli(home: Path, *args: str) -> Result:
    return CliRunner().invoke(app, ["--home", str(home), *args], env={"COLUMNS": "200"})


# -- the daemon runs it ---------------------------------------------------------------------
def test_runs_while_domain_mode_has_a_tunnel_and_reports_it(handle: DaemonHandle,
                                                            fake: Standin) -> None:
    ctx = _ctx(handle)
    domain_config.clear(ctx)
    idle = wait_state(handle, "idle", lambda s: s["state"] == "idle")
    assert idle["pid"] is None and health(handle)["status"] == "ok"  # idling is no problem
    assert operations_checks.tunnel_check(ctx) == []

    token = standin.make_token()
    set_token(handle, token)
    up = connected(handle)
    assert pid_alive(up["pid"])
    assert up["binary"] == str(fake.path) and up["version"] == standin.VERSION
    assert health(handle)["components"]["tunnel"]["state"] == "running"
    recorded = tunnel.current(ctx)
    assert recorded is not None and recorded["state"] == "connected"
    assert recorded["connections"] == 4 and recorded["pid"] == up["pid"]

    # the token reached cloudflared through its environment only
    run = fake.runs()[-1]
    assert run["pid"] == up["pid"] and run["token_sha256"] == sha(token)
    assert run["argv"][-4:] == ["--no-autoupdate", "--loglevel", "info", "run"]
    assert_token_hidden(token)
    environ = Path(f"/proc/{up['pid']}/environ").read_bytes().split(b"\0")
    assert f"TUNNEL_TOKEN={token}".encode() in environ
    assert not [v for v in environ if v.startswith(b"AGENTICMAIL") or
                handle.master_key.encode() in v]  # nothing else of the daemon's

    # status, domain tunnel status and doctor show it
    status = cli(handle.home, "status", "--json")
    assert status.exit_code == 0, status.output
    assert json.loads(status.stdout)["tunnel"]["state"] == "connected"
    shown = cli(handle.home, "status")
    assert re.search(r"tunnel\s+connected · 4 connections", shown.stdout), shown.stdout
    mine = cli(handle.home, "domain", "tunnel", "status", "--json")
    assert mine.exit_code == 0, mine.output
    assert json.loads(mine.stdout)["pid"] == up["pid"]
    told = cli(handle.home, "domain", "tunnel", "status")
    assert re.search(r"state\s+connected", told.stdout) and str(up["pid"]) in told.stdout
    (check,) = operations_checks.tunnel_check(ctx)
    assert check.ok and "4 connection(s)" in check.detail


def test_lost_connections_and_long_lines_are_followed(handle: DaemonHandle,
                                                      fake: Standin) -> None:
    set_token(handle, standin.make_token())
    pid = connected(handle)["pid"]
    fake.command("flood 300000")  # one line far over the bound, then normal lines
    fake.command("drop 1")
    assert connected(handle, 3)["pid"] == pid
    for index in (0, 2, 3):
        fake.command(f"drop {index}")
    down = wait_state(handle, "every connection lost",
                      lambda s: s["state"] == "disconnected" and s["connections"] == 0)
    assert "Serve tunnel error" in down["last_error"] and down["pid"] == pid
    (check,) = operations_checks.tunnel_check(_ctx(handle))
    assert not check.ok and "disconnected" in check.detail and check.hint
    fake.command("register 2")
    assert connected(handle, 1)["pid"] == pid


def test_a_killed_cloudflared_is_restarted_with_growing_backoff(
        handle: DaemonHandle, fake: Standin, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="agenticmail.daemon.tunnel")
    token = standin.make_token()
    set_token(handle, token)
    first = connected(handle)
    os.kill(first["pid"], signal.SIGKILL)
    again = connected(handle, pid=lambda s: s["pid"] != first["pid"])
    assert again["restarts"] == first["restarts"] + 1
    assert again["last_exit_code"] == -signal.SIGKILL
    assert not pid_alive(first["pid"])

    # it keeps failing at once (a refused token): each wait is longer than the one before
    (fake.control / "fail-start").write_text("3")
    try:
        os.kill(again["pid"], signal.SIGKILL)
        seen = wait_state(handle, "four more restarts",
                          lambda s: s["restarts"] >= again["restarts"] + 4)
        assert_token_hidden(token)
    finally:
        (fake.control / "fail-start").unlink()
    assert seen["last_exit_code"] == 3 and "Unauthorized" in seen["last_error"]
    delays = [float(m.group(1)) for r in caplog.records
              if (m := re.search(r"starting it again in ([0-9.]+) s", r.getMessage()))]
    assert len(delays) >= 5  # below the cap (2 s), each doubled (within a 20% jitter)
    assert all(a < b for a, b in zip(delays[-4:-1], delays[-3:], strict=True)), delays
    back = connected(handle)
    assert back["restarts"] >= seen["restarts"]
    assert all(r["token_sha256"] == sha(token) for r in fake.runs()[-5:])
    assert_token_hidden(token)


def test_reconfiguring_and_tearing_down_stop_it(handle: DaemonHandle, fake: Standin) -> None:
    set_token(handle, standin.make_token())
    old = connected(handle)["pid"]
    other = standin.make_token()
    set_token(handle, other)  # a new tunnel: the old one stops, the new token runs
    new = connected(handle, pid=lambda s: s["pid"] != old)
    assert not pid_alive(old) and fake.runs()[-1]["token_sha256"] == sha(other)

    domain_config.clear(_ctx(handle))  # teardown
    wait_state(handle, "idle after teardown", lambda s: s["state"] == "idle" and not s["pid"])
    assert not pid_alive(new["pid"])
    assert not [line for line in command_lines() if str(fake.control) in line]

    # one that ignores SIGTERM is killed after the stop timeout
    (fake.control / "ignore-sigterm").touch()
    try:
        set_token(handle, standin.make_token())
        stubborn = connected(handle)["pid"]
        domain_config.clear(_ctx(handle))
        wait_state(handle, "idle after a SIGKILL", lambda s: s["state"] == "idle")
        assert not pid_alive(stubborn)
    finally:
        (fake.control / "ignore-sigterm").unlink()


def _leftover(daemon: DaemonHandle, tmp_path: Path) -> subprocess.Popen[bytes]:
    """A cloudflared a killed daemon left running, recorded in its state."""
    control = tmp_path / "leftover"
    wrapper = standin.install_standin(tmp_path / "leftover-bin", control)
    proc = subprocess.Popen([str(wrapper), "tunnel", "run"], start_new_session=True,
                            env={"PATH": os.environ["PATH"],
                                 "TUNNEL_TOKEN": standin.make_token()},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until(lambda: standin.runs(control), 10, what="the leftover to start")
    ctx = build_context(daemon.settings)
    try:
        tunnel.record(ctx, {"state": "connected", "connections": 4, "pid": proc.pid})
    finally:
        ctx.db.close()
    return proc


def test_missing_binary_then_installed_and_daemon_stop_leaves_nothing(
        tmp_path: Path) -> None:
    where = tmp_path / "bin" / "cloudflared"
    daemon = DaemonHandle(cloudflared_path=str(where), **BACKOFF)
    leftover = _leftover(daemon, tmp_path)
    try:
        daemon.start()
        assert leftover.wait(timeout=10) == 0  # stopped (SIGTERM) as the daemon started
        token = standin.make_token()
        set_token(daemon, token)
        missing = wait_state(daemon, "not installed", lambda s: s["state"] == "not_installed")
        assert str(where) in missing["last_error"]
        (check,) = operations_checks.tunnel_check(_ctx(daemon))
        assert not check.ok and "agenticmail domain tunnel install" in (check.hint or "")

        standin.install_standin(where.parent, tmp_path / "control")  # it appears: used
        pid = connected(daemon)["pid"]
        daemon.stop()
        assert not pid_alive(pid)
        assert not [line for line in command_lines() if str(tmp_path / "control") in line]
        ctx = build_context(daemon.settings)
        try:
            stopped = tunnel.current(ctx)
        finally:
            ctx.db.close()
        assert stopped is not None and stopped["state"] == "stopped" and not stopped["pid"]
    finally:
        if leftover.poll() is None:
            leftover.kill()
            leftover.wait()
        daemon.close()


def test_doctor_names_the_install_command_when_the_binary_is_missing(
        handle: DaemonHandle, tmp_path: Path) -> None:
    set_token(handle, standin.make_token())
    settings = replace(handle.settings, cloudflared_path=str(tmp_path / "nothing"))
    ctx = build_context(settings)  # what doctor builds from the settings
    try:
        (check,) = operations_checks.tunnel_check(ctx)
    finally:
        ctx.db.close()
    assert not check.ok and "not installed" in check.detail
    assert check.hint == "install it: agenticmail domain tunnel install"


# -- installing it --------------------------------------------------------------------------
def _home(tmp_path: Path, **settings: str) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    lines = ['master_key = "mk_placeholder_not_a_real_key"'] + [
        f'{k} = "{v}"' for k, v in settings.items()]
    (home / "config.toml").write_text("\n".join(lines) + "\n")
    (home / "config.toml").chmod(0o600)
    return home


RELEASE = Path(standin.__file__).read_bytes()
ASSET = cloudflared.asset_name()


def test_install_downloads_verifies_and_places_the_binary(tmp_path: Path) -> None:
    digest = hashlib.sha256(RELEASE).hexdigest()
    with standin.ReleaseServer({f"/2099.1.0/{ASSET}": RELEASE}) as server:
        home = _home(tmp_path, cloudflared_download_url=server.url,
                     cloudflared_version="2099.1.0", cloudflared_sha256=digest)
        result = cli(home, "domain", "tunnel", "install", "--yes", "--json")
    assert result.exit_code == 0, result.output
    done = json.loads(result.stdout)
    path = home / "bin" / "cloudflared"
    assert done == {"path": str(path), "version": "2099.1.0", "sha256": digest,
                    "url": f"{server.url}/2099.1.0/{ASSET}",
                    "used": shutil.which("cloudflared") or str(path)}
    assert path.read_bytes() == RELEASE and path.stat().st_mode & 0o777 == 0o755
    assert sorted(p.name for p in path.parent.iterdir()) == ["cloudflared"]
    out = subprocess.run([str(path), "--version"], capture_output=True, text=True, check=True)
    assert standin.VERSION in out.stdout


def test_install_refuses_a_wrong_checksum_and_leaves_nothing(tmp_path: Path) -> None:
    # the pinned release's checksum, but the server hands out something else
    pinned = f"/{cloudflared.PINNED_VERSION}/{ASSET}"
    with standin.ReleaseServer({pinned: RELEASE}) as server:
        home = _home(tmp_path, cloudflared_download_url=server.url)
        result = cli(home, "domain", "tunnel", "install", "--yes", "--json")
    assert result.exit_code != 0
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "checksum_mismatch"
    assert cloudflared.PINNED_SHA256[ASSET] in error["message"]
    assert not list((home / "bin").iterdir())


def test_install_needs_consent_and_reports_a_failed_download(tmp_path: Path) -> None:
    with standin.ReleaseServer({}) as server:
        home = _home(tmp_path, cloudflared_download_url=server.url)
        asked = cli(home, "domain", "tunnel", "install", "--json")
        assert asked.exit_code != 0 and "--yes" in asked.stdout
        assert not (home / "bin").exists()
        gone = cli(home, "domain", "tunnel", "install", "--yes", "--json")
    assert gone.exit_code != 0
    assert json.loads(gone.stdout)["error"]["code"] == "download_failed"
    assert not list((home / "bin").iterdir())


# -- cloudflared's log lines, as it writes them -----------------------------------------------
@pytest.mark.parametrize(("line", "expected"), [
    ("2026-09-30T07:31:18Z INF Registered tunnel connection connIndex=0 connection=bb527b3a-8a27"
     "-467b-9fca-84972898be5c event=0 ip=2606:4700:a8::1 location=del04 protocol=quic",
     cloudflared.LogEvent("connected", 0, "del04")),
    ("2026-09-30T07:40:02Z INF Unregistered tunnel connection connIndex=3 event=0 "
     "ip=198.41.200.23", cloudflared.LogEvent("disconnected", 3)),
    ('2026-09-30T07:40:02Z ERR Serve tunnel error error="timeout: no recent network activity" '
     "connIndex=1 event=0 ip=198.41.192.37",
     cloudflared.LogEvent("disconnected", 1, message='Serve tunnel error error="timeout: no '
                          'recent network activity" connIndex=1 event=0 ip=198.41.192.37')),
    ("2026-09-30T07:31:16Z INF Version 2026.6.1 (Checksum 4a6e)",
     cloudflared.LogEvent("version", message="2026.6.1")),
    ("2026-09-30T07:31:16Z ERR Provided Tunnel token is not valid.",
     cloudflared.LogEvent("error", message="Provided Tunnel token is not valid.")),
    ("2026-09-30T07:31:16Z INF Initial protocol quic", None),
    ('"cloudflared tunnel run" requires the ID or name of the tunnel', None),
])
def test_log_lines_are_read_as_cloudflared_writes_them(
        line: str, expected: cloudflared.LogEvent | None) -> None:
    assert cloudflared.parse_line(line) == expected
