"""Mail logins as the README states them (issue 17 #9) and mail-password rotation (#12).

IMAP takes the agent's mail password only; SMTP submission takes the mail password or the
API key. ``agents rotate-password`` gives a new password that Dovecot (through the MailHost's
``change_password``) and the daemon's own SMTP submission both take at once; the old one
stops working for new logins.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agenticmail.cli.main import app
from agenticmail_testing.daemon import DaemonHandle, unique
from agenticmail_testing.mailbox import imap_login, smtp_login

README = Path(__file__).resolve().parents[2] / "README.md"




def create(daemon: DaemonHandle) -> dict[str, Any]:
    with daemon.client() as owner:
        response = owner.post("/v1/agents", json={"name": unique("pw")})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def test_readme_states_which_login_each_protocol_takes(daemon: DaemonHandle) -> None:
    created = create(daemon)
    address, password, key = (created["agent"]["address"], created["mail"]["password"],
                              created["api_key"])
    assert imap_login(daemon, address, password)
    assert not imap_login(daemon, address, key)  # IMAP refuses the API key
    assert smtp_login(daemon, address, password) and smtp_login(daemon, address, key)
    text = " ".join(README.read_text().split())
    assert "**IMAP** (127.0.0.1:3143): the **mail password** only" in text
    assert "mail password **or its API key**" not in text


def test_rotate_password(daemon: DaemonHandle) -> None:
    created = create(daemon)
    name, address = created["agent"]["name"], created["agent"]["address"]
    old = created["mail"]["password"]
    result = CliRunner().invoke(app, ["--home", str(daemon.home), "agents", "rotate-password",
                                      name, "--json"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    new = data["mail"]["password"]
    assert data["mail"]["username"] == address and new and new != old
    assert imap_login(daemon, address, new) and not imap_login(daemon, address, old)
    assert smtp_login(daemon, address, new) and not smtp_login(daemon, address, old)
    assert smtp_login(daemon, address, created["api_key"])  # the API key is unchanged
    with daemon.client() as owner:  # the daemon itself reads the mailbox with the new one
        assert owner.get("/v1/mail/messages", params={"agent": name}).status_code == 200
        missing = owner.post("/v1/agents/nobody-here/rotate-password")
        assert missing.status_code == 404
    with daemon.client(created["api_key"]) as agent:
        assert agent.post(f"/v1/agents/{name}/rotate-password").status_code == 403


@pytest.mark.parametrize("args", [("agents", "rotate-password", "x", "--json")])
def test_rotate_password_json_error_without_daemon(tmp_path: Path, args: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, ["--home", str(tmp_path / "none"), *args])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["error"]["code"] == "not_configured"
