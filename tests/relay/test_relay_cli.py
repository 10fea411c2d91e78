"""``agenticmail relay setup`` / ``status`` against the real daemon and stand-in provider."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from agenticmail.cli.main import app
from agenticmail_testing.daemon import DaemonHandle
from agenticmail_testing.relay_provider import Provider
from tests.relay.helpers import OWNER


def run(handle: DaemonHandle, *args: str, input: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["--home", str(handle.home), *args], input=input,
                                env={"COLUMNS": "200"})
    return result.exit_code, result.stdout, result.stderr


def test_setup_with_yes_and_password_stdin_then_status(relay_daemon: DaemonHandle,
                                                        provider: Provider) -> None:
    acct = provider.relay_account()
    code, out, err = run(
        relay_daemon, "relay", "setup", "--yes", "--provider", "other", "--address", OWNER,
        "--smtp-host", "127.0.0.1", "--smtp-port", str(acct["smtp_port"]),
        "--smtp-tls", "implicit", "--imap-host", "127.0.0.1",
        "--imap-port", str(acct["imap_port"]), "--ca-file", acct["ca_file"],
        "--password-stdin", "--json", input=provider.password + "\n")
    assert code == 0, out + err
    saved = json.loads(out)["relay"]
    assert saved["address"] == OWNER and saved["idle"] is True
    assert provider.password not in out + err

    code, out, err = run(relay_daemon, "relay", "status", "--json")
    assert code == 0, err
    status = json.loads(out)["relay"]
    assert status["configured"] and {"mode", "last_activity_at", "last_error", "delivered",
                                      "sent"} <= set(status)
    code, out, _ = run(relay_daemon, "relay", "status")
    assert code == 0 and OWNER in out and "delivered to agents" in out
    # no trusted authserv-id given: owner replies are authenticated by our own DKIM check
    assert "DKIM signature itself" in " ".join(out.split()), out
    assert "DKIM signature itself" in status["account"]["reply_approval"]


def test_setup_explains_gmail_app_passwords_and_refuses_a_bad_one(
        relay_daemon: DaemonHandle, provider: Provider) -> None:
    code, out, err = run(relay_daemon, "relay", "setup", "--yes", "--provider", "gmail",
                         "--address", OWNER)
    assert code != 0 and "--password-stdin" in out + err  # --yes never prompts
    assert "apppasswords" in err
    acct = provider.relay_account()
    code, out, err = run(
        relay_daemon, "relay", "setup", "--provider", "other", "--address", OWNER,
        "--smtp-host", "127.0.0.1", "--smtp-port", str(acct["smtp_port"]),
        "--smtp-tls", "implicit", "--imap-host", "127.0.0.1",
        "--imap-port", str(acct["imap_port"]), "--ca-file", acct["ca_file"],
        input="not-the-password\n")
    assert code != 0 and "refused the login" in out + err
    assert "not-the-password" not in out + err
