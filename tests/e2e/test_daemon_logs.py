"""The detached daemon's logs (issue 17 #14): one log file, no aiosmtpd noise per session.

``logs/agenticmail.log`` is the log; ``logs/daemon.out`` holds only the process's own output
(before, it was a second copy of every line). An SMTP session logs no aiosmtpd warnings.
"""

from __future__ import annotations

import json
import os
import smtplib
import subprocess
import sys
from pathlib import Path

from agenticmail.config import load_settings
from agenticmail_testing.daemon import purge_mail_store
from agenticmail_testing.ports import free_port


def _run(home: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "agenticmail", "--home", str(home), *args],
                          env=env, capture_output=True, text=True, timeout=180)


def test_one_log_without_smtp_session_noise(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTICMAIL_")}
    smtp = free_port()
    ports = ("--api-port", str(free_port()), "--imap-port", str(free_port()),
             "--lmtp-port", str(free_port()), "--smtp-port", str(smtp))
    try:
        setup = _run(home, env, "setup", "--yes", "--no-agent", "--mail-host", "local", *ports)
        assert setup.returncode == 0, setup.stderr + setup.stdout
        created = _run(home, env, "agents", "create", "logger", "--json")
        assert created.returncode == 0, created.stderr
        agent = json.loads(created.stdout)
        for _ in range(2):
            with smtplib.SMTP("127.0.0.1", smtp, timeout=30) as session:
                session.login(agent["agent"]["address"], agent["mail"]["password"])
                session.sendmail(agent["agent"]["address"], [agent["agent"]["address"]],
                                 b"Subject: hi\r\n\r\nhello\r\n")
    finally:
        stopped = _run(home, env, "stop")
        purge_mail_store(load_settings(home, env={}))
    assert stopped.returncode == 0, stopped.stderr
    log = (home / "logs" / "agenticmail.log").read_text()
    out = (home / "logs" / "daemon.out").read_text()
    assert "SMTP submission listening" in log
    assert "auth_require_tls" not in log and "login_data" not in log
    assert "SMTP submission listening" not in out  # not a second copy of the log
    assert not [line for line in out.splitlines() if " INFO " in line or " WARNING " in line]
