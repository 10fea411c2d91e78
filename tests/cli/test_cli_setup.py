"""``agenticmail setup``: prompts, the master key shown once, idempotent re-runs."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

from agenticmail.config import load_settings
from agenticmail_testing.daemon import purge_mail_store
from agenticmail_testing.ports import free_ports

from .support import Invoke, free_port


def test_interactive_setup_then_rerun(cli: Invoke, tmp_path: Path) -> None:
    home, port = tmp_path / "home", free_port()
    answers = f"local\n{port}\nowner@example.com\n\n"  # last: the gateway (default none)
    first = cli(home, "setup", "--no-start", input=answers)
    assert first.exit_code == 0, first.output
    out = " ".join(first.stdout.split())
    assert "Master key" in out and "will not be shown again" in out
    assert f"127.0.0.1:{port}" in out
    config = home / "config.toml"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert "owner@example.com" in config.read_text()
    assert "API port" in first.stderr  # prompts never go to stdout

    again = cli(home, "setup", "--yes", "--no-start", "--json")
    assert again.exit_code == 0, again.output
    data = json.loads(again.stdout)
    assert data["master_key"] is None and data["created"] is False
    assert data["settings"]["api_url"] == f"http://127.0.0.1:{port}"
    assert all(check["ok"] for check in data["checks"])
    assert "master_key" not in json.dumps(data["settings"])


def test_setup_rejects_a_bad_mail_host(cli: Invoke, tmp_path: Path) -> None:
    result = cli(tmp_path / "home", "setup", "--yes", "--mail-host", "exchange")
    assert result.exit_code == 2
    assert not (tmp_path / "home" / "config.toml").exists()


def _run(home: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agenticmail", "--home", str(home), *args],
        env=env, capture_output=True, text=True, timeout=180,
    )  # fmt: skip


def test_setup_as_a_new_user(tmp_path: Path) -> None:
    """Issue 17 #11-#13: port flags (checked free), Docker not a red failure on the local host,
    Next hints that work without .venv/bin on PATH, the route shown as the gateway in use."""
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items()
           if not (k.startswith("AGENTICMAIL_") or k in ("COLUMNS", "LINES"))}
    env["PATH"] = "/usr/bin:/bin"  # like a fresh shell after setup/install.sh
    api, imap, smtp, lmtp = free_ports(4)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        refused = _run(home, env, "setup", "--yes", "--imap-port", str(taken), "--json")
    assert refused.returncode == 1, refused.stderr
    assert json.loads(refused.stdout)["error"]["code"] == "config_error"
    assert f"127.0.0.1:{taken} is in use" in refused.stderr
    same = _run(home, env, "setup", "--yes", "--no-start", "--imap-port", str(imap),
                "--smtp-port", str(imap))  # fmt: skip
    assert same.returncode == 1 and "both use port" in same.stderr

    ports = ("--api-port", str(api), "--imap-port", str(imap), "--smtp-port", str(smtp),
             "--lmtp-port", str(lmtp))
    try:
        first = _run(home, env, "setup", "--yes", *ports)
        assert first.returncode == 0, first.stderr + first.stdout
        docker = next(line for line in first.stderr.splitlines() if " docker " in line)
        data_docker = _run(home, env, "setup", "--yes", "--json")
        summary = json.loads(data_docker.stdout)
        if not next(c for c in summary["system"] if c["name"] == "docker")["ok"]:
            assert "✗" not in docker and "(optional)" in docker  # information, not a failure
        cli = str(Path(sys.executable).parent / "agenticmail")
        next_lines = first.stdout[first.stdout.index("Next:"):].splitlines()[1:]
        commands = [line.strip() for line in next_lines if line.strip().startswith("/")]
        assert commands and all(c.startswith(f"{cli} ") for c in commands), first.stdout
        assert f'export PATH="{Path(cli).parent}:$PATH"' in first.stdout
        with socket.create_connection(("127.0.0.1", imap), timeout=10) as conn:
            assert conn.recv(100).startswith(b"* OK")  # Dovecot on the chosen IMAP port
        with socket.create_connection(("127.0.0.1", smtp), timeout=10) as conn:
            assert conn.recv(100).startswith(b"220")  # the daemon's submission port
        config = (home / "config.toml").read_text()
        assert f"imap_port = {imap}" in config and f"submission_port = {smtp}" in config

        route = _run(home, env, "route", "set", "--host", "smtp.example.org", "--tls",
                     "starttls", "--address", "me@example.org", "--no-auth")  # fmt: skip
        assert route.returncode == 0, route.stderr
        again = _run(home, env, "setup", "--yes", "--json")
        assert again.returncode == 0, again.stderr
        gateway = json.loads(again.stdout)["gateway"]
        assert gateway == "SMTP route via smtp.example.org:587 as me@example.org"
        human = _run(home, env, "setup", "--yes")
        assert "gateway" in human.stdout and "smtp.example.org" in human.stdout
    finally:
        _run(home, env, "stop")
        purge_mail_store(load_settings(home, env={}))
