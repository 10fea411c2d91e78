"""docs/webhooks.md says what is true: its commands exist, its settings are settings, and its
receiver example verifies a delivery signed as the daemon signs it (and refuses a forged one)."""

from __future__ import annotations

import dataclasses
import re
import time
import tomllib
from pathlib import Path

from typer.testing import CliRunner

from agenticmail.cli.main import app
from agenticmail.config import Settings
from agenticmail.log import redact
from agenticmail.security.webhook_signing import new_secret, signed_headers

DOC = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", DOC.read_text(), re.DOTALL)


def test_every_command_in_the_doc_exists() -> None:
    commands = {line.split()[2] for block in _blocks("bash") for line in block.splitlines()
                if line.startswith("agenticmail webhooks ")}
    assert {"create", "list", "get", "update", "delete", "rotate-secret", "test",
            "deliveries", "replay"} <= commands
    for command in commands:
        result = CliRunner().invoke(app, ["webhooks", command, "--help"])
        assert result.exit_code == 0, (command, result.output)


def test_the_settings_in_the_doc_are_settings() -> None:
    names = {f.name for f in dataclasses.fields(Settings)}
    for block in _blocks("toml"):
        assert set(tomllib.loads(block)) <= names
    for name in re.findall(r"`(webhook_[a-z_]+_(?:seconds|http|networks))`", DOC.read_text()):
        assert name in names, name


def test_the_receiver_example_verifies_a_delivery() -> None:
    [example] = _blocks("python")
    secret = new_secret()
    namespace: dict[str, object] = {}
    exec(example.replace("whsec_…", secret), namespace)  # the doc's own code
    receive = namespace["receive"]
    body = b'{"id": 7, "type": "webhook.test", "agent": null, "data": {}, "created_at": "x"}'
    headers = signed_headers(secret, "msg_1", time.time(), body)
    assert receive(body, headers) == 204  # type: ignore[operator]
    assert receive(body.replace(b"7", b"8"), headers) == 400  # type: ignore[operator]
    stale = signed_headers(secret, "msg_1", time.time() - 3600, body)
    assert receive(body, stale) == 400  # type: ignore[operator]


def test_a_new_secret_never_reaches_a_log_line() -> None:
    secret = new_secret()
    line = redact(f"oops: {secret} and its key {secret.removeprefix('whsec_')}")
    assert secret not in line and secret.removeprefix("whsec_") not in line
