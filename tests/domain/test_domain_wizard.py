"""The wizard's ``domain`` gateway: with ``--yes`` it shows the exact command to run next."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from agenticmail.cli.main import app
from agenticmail_testing import log_audit
from agenticmail_testing.ports import free_port


def test_the_domain_gateway_names_the_setup_command(tmp_path: Path) -> None:
    home = tmp_path / "home"
    argv = ["--home", str(home), "setup", "--yes", "--no-start", "--mail-host", "local",
            "--api-port", str(free_port()), "--gateway", "domain"]
    result = CliRunner().invoke(app, [*argv, "--json"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    log_audit.cli_output(result.stdout)
    data = json.loads(result.stdout)
    assert data["settings"]["gateway_mode"] == "domain"
    assert any(step.endswith("domain setup --domain YOUR-DOMAIN --token-file FILE")
               for step in data["next"]), data["next"]
    # no cloudflared on PATH or in the data dir here: how to get it is the next line
    assert any(step.endswith("domain tunnel install") for step in data["next"])
    human = CliRunner().invoke(app, argv, env={"COLUMNS": "200"})
    assert human.exit_code == 0, human.output
    text = " ".join((human.stdout + human.stderr).split())
    assert "not available in this version" not in text
    assert "agenticmail domain setup --domain YOUR-DOMAIN" in text
