"""Fixtures for the CLI tests: ``cli`` (run the app in-process) and ``closed_home``.

Commands that need a daemon use the project's real ``daemon`` fixture from ``tests/conftest.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from agenticmail.cli.main import app
from agenticmail_testing import log_audit

from .support import Invoke, free_port, write_config


@pytest.fixture
def closed_home(tmp_path: Path) -> Path:
    """A configured data dir whose API port has nothing listening."""
    return write_config(tmp_path / "closed", free_port())


@pytest.fixture
def cli() -> Invoke:
    """``cli(home, *args, input=None)``: run the app in-process like the console script."""
    runner = CliRunner()

    def invoke(home: Path | None, *args: str, input: str | None = None) -> Result:
        argv = (["--home", str(home)] if home is not None else []) + list(args)
        result = runner.invoke(app, argv, input=input, env={"COLUMNS": "200"})
        if "--json" in args:
            log_audit.cli_output(result.stdout)  # keys it was given: never in a log line
        return result

    return invoke
