"""``agenticmail setup``: prompts, the master key shown once, idempotent re-runs."""

from __future__ import annotations

import json
import stat
from pathlib import Path

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
