"""Running the CLI in-process against a test daemon's home (as ``tests/cli`` does)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner, Result

from agenticmail.cli.main import app
from agenticmail_testing import log_audit


def cli(home: Path, *args: str) -> Result:
    result = CliRunner().invoke(app, ["--home", str(home), *args], env={"COLUMNS": "200"})
    if "--json" in args:
        log_audit.cli_output(result.stdout)
    return result


def cli_json(home: Path, *args: str) -> Any:
    """A command with ``--json`` that must succeed with exactly one JSON document."""
    result = cli(home, *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)
