"""docs/domain.md says what is true: each ``agenticmail domain ...`` command it shows runs
(its options included: ``--help`` after them still parses them), and the settings it names
are settings."""

from __future__ import annotations

import dataclasses
import re
import shlex
from pathlib import Path

from typer.testing import CliRunner

from agenticmail.cli.main import app
from agenticmail.config import Settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "domain.md"


def _commands() -> list[list[str]]:
    found = []
    for block in re.findall(r"```\w*\n(.*?)```", DOC.read_text(), re.DOTALL):
        for line in block.splitlines():
            if line.startswith("agenticmail domain "):
                found.append(shlex.split(line.split("#", 1)[0])[1:])
    return found


def test_every_command_in_the_doc_parses() -> None:
    commands = _commands()
    assert {c[1] for c in commands} >= {"status", "report", "check"}
    for words in commands:
        result = CliRunner().invoke(app, [*words, "--help"])
        assert result.exit_code == 0, (words, result.output)


def test_the_settings_in_the_doc_are_settings() -> None:
    names = {f.name for f in dataclasses.fields(Settings)}
    named = re.findall(r"`([a-z]+(?:_[a-z]+)+)`\s+setting", DOC.read_text())
    assert {"dns_nameservers", "rdap_bootstrap_url"} <= set(named)
    for name in named:
        assert name in names, name
