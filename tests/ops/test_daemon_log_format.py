"""The daemon started with ``--log-format json`` writes JSON lines, and no line of its log
holds the master key, an agent's API key or its mail password, after logins right and wrong."""

from __future__ import annotations

import contextlib
import json
import os
import smtplib
import subprocess
import sys
from pathlib import Path

from agenticmail.config import load_settings
from agenticmail_testing import log_audit
from agenticmail_testing.daemon import purge_mail_store
from agenticmail_testing.ports import free_port


def _run(home: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "agenticmail", "--home", str(home), *args],
                            env=env, capture_output=True, text=True, timeout=180)
    log_audit.cli_output(result.stdout)
    return result


def test_json_log_lines_without_secrets(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTICMAIL_")}
    smtp = free_port()
    ports = ("--api-port", str(free_port()), "--imap-port", str(free_port()),
             "--lmtp-port", str(free_port()), "--smtp-port", str(smtp))
    try:
        setup = _run(home, env, "setup", "--yes", "--no-agent", "--no-start",
                     "--mail-host", "local", *ports, "--json")
        assert setup.returncode == 0, setup.stderr + setup.stdout
        master_key = json.loads(setup.stdout)["master_key"]
        started = _run(home, env, "start", "--detach", "--log-format", "json")
        assert started.returncode == 0, started.stderr
        created = _run(home, env, "agents", "create", "jsonlog", "--json")
        assert created.returncode == 0, created.stderr
        agent = json.loads(created.stdout)
        address, password = agent["agent"]["address"], agent["mail"]["password"]
        with smtplib.SMTP("127.0.0.1", smtp, timeout=30) as session:
            with contextlib.suppress(smtplib.SMTPAuthenticationError):
                session.login(address, password + "x")
            session.login(address, password)
            session.sendmail(address, [address], f"Subject: {password}\r\n\r\n"
                             f"my key {agent['api_key']}\r\n".encode())
    finally:
        stopped = _run(home, env, "stop")
        lines = (home / "logs" / "agenticmail.log").read_text().splitlines()
        purge_mail_store(load_settings(home, env={}))
    assert stopped.returncode == 0, stopped.stderr
    records = [json.loads(line) for line in lines]  # every line is one JSON document
    assert {"time", "level", "logger", "message"} <= set(records[0])
    assert any("SMTP submission listening" in r["message"] for r in records)
    assert {master_key, agent["api_key"], password} <= log_audit.issued
    assert log_audit.leaked_in(lines) == []
