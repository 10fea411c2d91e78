"""``agenticmail setup`` end to end: ``--yes`` on the local host (real Dovecot, real daemon,
subprocesses), interactively through a pseudo-terminal, and on the stalwart host with the
fake Docker engine; re-runs change nothing; ``doctor`` agrees afterwards."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from agenticmail.config import load_settings
from agenticmail_testing.daemon import purge_mail_store
from agenticmail_testing.dovecot import dovecot_available
from agenticmail_testing.ports import free_ports
from agenticmail_testing.terminal import spawn_cli

from .fake_docker import FakeDockerServer

pytestmark = pytest.mark.skipif(not dovecot_available(), reason="needs Dovecot")


def _env(home: Path, docker: str, stalwart: bool = False) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTICMAIL_")}
    names = ["API", "IMAP", "LMTP", "SUBMISSION"]
    if stalwart:
        names += ["STALWART_HTTP", "STALWART_SMTP", "STALWART_SUBMISSION"]
    for name, port in zip(names, free_ports(len(names)), strict=True):
        env[f"AGENTICMAIL_{name}_PORT"] = str(port)
    env.update({"AGENTICMAIL_HOME": str(home), "DOCKER_HOST": docker, "COLUMNS": "200",
                "AGENTICMAIL_LOG_LEVEL": "WARNING"})
    return env


def _run(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "agenticmail", *args], env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    """A data dir whose daemon (if the test started one) is stopped afterwards, and whose
    local mail store (outside the home when run as root) is removed."""
    path = tmp_path / "home"
    yield path
    if (path / "config.toml").exists():
        subprocess.run([sys.executable, "-m", "agenticmail", "--home", str(path), "stop"],
                       capture_output=True, timeout=60)
        settings = load_settings(path, env={})
        if settings.mail_host == "local":
            purge_mail_store(settings)


def _agents(env: dict[str, str], key: str) -> list[str]:
    url = f"http://127.0.0.1:{env['AGENTICMAIL_API_PORT']}/v1/agents"
    response = httpx.get(url, headers={"Authorization": f"Bearer {key}"}, timeout=10)
    assert response.status_code == 200, response.text
    return [a["name"] for a in response.json()["agents"]]


def test_yes_mode_on_the_local_host_then_rerun_changes_nothing(home: Path) -> None:
    env = _env(home, "unix:///nonexistent/docker.sock")  # no Docker: local is chosen
    first = _run(env, "setup", "--yes", "--json")
    assert first.returncode == 0, first.stderr
    data: dict[str, Any] = json.loads(first.stdout)
    assert data["settings"]["mail_host"] == "local"
    assert "no Docker engine" in data["host_reason"]
    assert data["master_key"].startswith("mk_") and data["created"] is True
    assert data["agent"]["agent"]["name"] == "secretary"
    assert data["agent"]["api_key"].startswith("ak_")
    assert "started at" in data["daemon"]
    assert {c["name"] for c in data["system"]} >= {"python", "docker", "dovecot", "disk"}
    assert "[1/7] System check" in first.stderr and "[7/7] Summary" in first.stderr
    assert _agents(env, data["master_key"]) == ["secretary"]
    config = home / "config.toml"
    before = (config.read_bytes(), config.stat().st_mtime_ns)

    again = _run(env, "setup", "--yes", "--json")
    assert again.returncode == 0, again.stderr
    redo = json.loads(again.stdout)
    assert redo["master_key"] is None and redo["agent"] is None and redo["created"] is False
    assert redo["changes"] == [] and redo["agents"] == ["secretary"]
    assert redo["daemon"].startswith("already running")
    assert (config.read_bytes(), config.stat().st_mtime_ns) == before
    assert _agents(env, data["master_key"]) == ["secretary"]
    assert data["master_key"] not in again.stdout + again.stderr

    human = _run(env, "setup", "--yes")
    assert human.returncode == 0 and "Existing configuration kept." in human.stdout
    assert "agenticmail inbox --agent secretary" in human.stdout

    doctor = _run(env, "doctor", "--json")
    report = json.loads(doctor.stdout)
    assert doctor.returncode == 0 and report["ok"], doctor.stdout
    assert any(c["name"] == "agent secretary" and c["ok"] for c in report["checks"])


def test_refuses_to_switch_the_mail_host_of_an_install_with_agents(home: Path) -> None:
    env = _env(home, "unix:///nonexistent/docker.sock")
    assert _run(env, "setup", "--yes", "--json").returncode == 0
    switch = _run(env, "setup", "--yes", "--domain", "other.test")
    assert switch.returncode == 1
    last = switch.stderr.strip().splitlines()[-2:]
    assert last[0] == "error: the daemon is running; stop it before changing domain"
    assert last[1] == "hint: agenticmail stop, then run setup again"
    assert _run(env, "stop").returncode == 0
    switch = _run(env, "setup", "--yes", "--domain", "other.test")
    assert switch.returncode == 1
    last = switch.stderr.strip().splitlines()[-2:]
    assert last[0].startswith("error: cannot change domain of an install that has agents")
    assert last[1].startswith("hint: delete the agents first")
    assert 'domain = "other.test"' not in (home / "config.toml").read_text()
    assert "Traceback" not in switch.stderr


def test_closed_stdin_is_a_one_line_error(home: Path) -> None:
    env = _env(home, "unix:///nonexistent/docker.sock")
    result = subprocess.run([sys.executable, "-m", "agenticmail", "setup"], env=env,
                            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "error: setup needs answers but standard input has ended" in result.stderr
    assert not (home / "config.toml").exists()


def test_interactive_wizard_through_a_pty(home: Path) -> None:
    pexpect = pytest.importorskip("pexpect")
    env = {**_env(home, "unix:///nonexistent/docker.sock"), "NO_COLOR": "1", "TERM": "dumb"}
    port = env["AGENTICMAIL_API_PORT"]
    child = spawn_cli(["setup"], env)
    try:
        child.expect(r"Mail host \[local/stalwart\] \(local\)")
        child.sendline("exchange")  # not a choice: asked again
        child.expect("Please select one of the available options")
        child.sendline("local")
        child.expect(rf"API port \({port}\)")
        child.sendline("")
        child.expect("Owner email")
        child.sendline("owner@example.com")
        child.expect(r"First agent's name \(secretary\)")
        child.sendline("helper")
        child.expect(r"Internet gateway \[none/relay/domain\] \(none\)")
        child.sendline("relay")
        child.expect(r"Set up the relay account now\? \[y/n\] \(y\)")
        child.sendline("n")
        child.expect("Master key")
        child.expect("First agent: helper <helper@localhost>")
        child.expect("agenticmail relay setup")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0
    config = (home / "config.toml").read_text()
    assert 'gateway_mode = "relay"' in config and "owner@example.com" in config


def test_stalwart_host_through_the_wizard(docker_server: FakeDockerServer, home: Path) -> None:
    env = _env(home, docker_server.url, stalwart=True)
    first = _run(env, "setup", "--yes", "--json", "--domain", "agents.test")
    assert first.returncode == 0, first.stderr
    data = json.loads(first.stdout)
    assert data["settings"]["mail_host"] == "stalwart"
    assert "Docker engine is running" in data["host_reason"]
    assert "stalwartlabs/stalwart:v0.16.18" in data["host"]
    assert data["agent"]["agent"]["address"] == "secretary@agents.test"
    container = docker_server.engine.find("agenticmail-stalwart")
    assert container is not None and container.running
    fake = container.fake
    assert fake is not None and fake.registry.account_by_login("secretary@agents.test")
    assert "bootstrapping Stalwart" in first.stderr  # progress lines on stderr

    doctor = _run(env, "doctor", "--json")
    report = {c["name"]: c for c in json.loads(doctor.stdout)["checks"]}
    for name in ("docker", "stalwart container", "stalwart version", "stalwart health",
                 "stalwart admin login", "dkim", "agent secretary"):
        assert report[name]["ok"], (name, report[name])
    assert doctor.returncode == 0, doctor.stdout

    stopped = _run(env, "stop")
    assert stopped.returncode == 0, stopped.stderr
    assert container.status == "exited"  # the daemon stops its mail host on the way out
    restarted = _run(env, "setup", "--yes", "--json")  # resumes: starts both again
    assert restarted.returncode == 0, restarted.stderr
    again = json.loads(restarted.stdout)
    assert again["master_key"] is None and again["agent"] is None
    assert docker_server.engine.find("agenticmail-stalwart") is container and container.running


def test_wizard_runs_relay_setup_and_survives_a_bad_answer(home: Path) -> None:
    """Choosing the relay gateway runs `relay setup` in place; its error does not end setup."""
    pexpect = pytest.importorskip("pexpect")
    env = {**_env(home, "unix:///nonexistent/docker.sock"), "NO_COLOR": "1", "TERM": "dumb"}
    child = spawn_cli(["setup", "--mail-host", "local", "--owner-email", "owner@example.com",
                       "--agent", "helper"], env)
    try:
        child.expect(r"API port")
        child.sendline("")
        child.expect(r"Internet gateway \[none/relay/domain\]")
        child.sendline("relay")
        child.expect(r"Set up the relay account now\?")
        child.sendline("y")
        child.expect(r"Provider")
        child.sendline("gmail")
        child.expect(r"(?i)address")
        child.sendline("not an address")
        child.expect("App password")
        child.sendline("xxxx xxxx xxxx xxxx")
        child.expect("relay not set up")
        child.expect("Master key")
        child.expect("agenticmail relay setup")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0
