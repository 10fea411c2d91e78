"""Errors without a daemon: one line on stderr, the right exit code, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .support import Invoke

NEEDS_DAEMON = [
    ("status",),
    ("status", "--json"),
    ("agents", "list"),
    ("agents", "list", "--json"),
    ("agents", "create", "alice"),
    ("agents", "show", "alice"),
    ("agents", "delete", "alice", "--yes"),
    ("agents", "rotate-key", "alice"),
    ("agents", "rotate-password", "alice"),
    ("delete", "--agent", "a", "1"),
    ("move", "--agent", "a", "1", "--to", "Trash"),
    ("mark", "--agent", "a", "1", "--unread", "--json"),
    ("attachment", "save", "--agent", "a", "1", "0", "--json"),
    ("send", "--agent", "a", "--to", "b@localhost", "--subject", "s", "--text", "t"),
    ("inbox", "--agent", "a"),
    ("read", "--agent", "a", "1"),
    ("search", "--agent", "a", "--subject", "x"),
    ("watch", "--agent", "a", "--json"),
]


def assert_one_error(stderr: str, message: str) -> None:
    lines = stderr.strip().splitlines()
    assert lines[0].startswith("error: "), stderr
    assert message in lines[0]
    assert all(line.startswith(("error: ", "hint: ")) for line in lines), stderr
    assert "Traceback" not in stderr


@pytest.mark.parametrize("command", NEEDS_DAEMON, ids=" ".join)
def test_daemon_down_exits_2_with_one_line(
    cli: Invoke, closed_home: Path, command: tuple[str, ...]
) -> None:
    result = cli(closed_home, *command)
    assert result.exit_code == 2, result.output
    assert_one_error(result.stderr, "the agenticmail daemon is not running at http://127.0.0.1:")
    assert "hint: start it with: agenticmail start --detach" in result.stderr
    if "--json" in command:
        assert json.loads(result.stdout)["error"]["code"] == "daemon_unavailable"
    else:
        assert result.stdout == ""


JSON_ERRORS = [
    (("agents", "list", "--json"), 2, "daemon_unavailable"),
    (("outbox", "list", "--json"), 2, "daemon_unavailable"),
    (("pending", "list", "--json"), 2, "daemon_unavailable"),
    (("send", "-a", "a", "--to", "b", "-s", "s", "--json"), 2, "usage_error"),
    (("search", "-a", "a", "--since", "last week", "--json"), 2, "usage_error"),
    (("agents", "create", "--json"), 2, "usage_error"),
    (("send", "-a", "a", "--to", "b", "-s", "s", "--text", "t", "--attach", "/nonexistent/x",
      "--json"), 1, "invalid_request"),
]


@pytest.mark.parametrize(("command", "exit_code", "code"), JSON_ERRORS, ids=lambda v: str(v))
def test_json_errors_are_json(
    cli: Invoke, closed_home: Path, command: tuple[str, ...], exit_code: int, code: str
) -> None:
    """With ``--json`` a failure is one JSON line on stdout (the API's error shape)."""
    result = cli(closed_home, *command)
    assert result.exit_code == exit_code, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.stdout
    error = json.loads(lines[0])["error"]
    assert error["code"] == code
    assert error["message"]
    assert "Traceback" not in result.output


def test_json_error_when_not_configured(cli: Invoke, tmp_path: Path) -> None:
    result = cli(tmp_path / "empty", "agents", "list", "--json")
    assert result.exit_code == 1
    error = json.loads(result.stdout)["error"]
    assert error == {"code": "not_configured", "message": "agenticmail is not set up yet",
                     "hint": "run: agenticmail setup"}


def test_not_configured(cli: Invoke, tmp_path: Path) -> None:
    result = cli(tmp_path / "empty", "agents", "list")
    assert result.exit_code == 1
    assert_one_error(result.stderr, "agenticmail is not set up yet")
    assert "hint: run: agenticmail setup" in result.stderr


def test_start_not_configured(cli: Invoke, tmp_path: Path) -> None:
    result = cli(tmp_path / "empty", "start", "--detach")
    assert result.exit_code == 1
    assert_one_error(result.stderr, "agenticmail is not set up yet")


def test_stop_when_not_running_is_fine(cli: Invoke, closed_home: Path) -> None:
    result = cli(closed_home, "stop")
    assert result.exit_code == 0
    assert "not running" in result.stdout


def test_stop_ignores_a_stale_pid_file(cli: Invoke, closed_home: Path) -> None:
    (closed_home / "daemon.pid").write_text("999999999\n")
    result = cli(closed_home, "stop")
    assert result.exit_code == 0
    assert "not running" in result.stdout


def test_bad_config_is_one_line(cli: Invoke, tmp_path: Path) -> None:
    home = tmp_path / "bad"
    home.mkdir()
    (home / "config.toml").write_text("api_port = [not toml\n")
    result = cli(home, "status")
    assert result.exit_code == 1
    assert_one_error(result.stderr, "cannot read")


def test_send_without_body_is_a_usage_error(cli: Invoke, closed_home: Path) -> None:
    result = cli(closed_home, "send", "--agent", "a", "--to", "b@localhost", "--subject", "s")
    assert result.exit_code == 2
    assert "--text" in result.stderr and "--html" in result.stderr
    assert "Traceback" not in result.output


def test_send_text_and_text_file_is_a_usage_error(
    cli: Invoke, closed_home: Path, tmp_path: Path
) -> None:
    body = tmp_path / "body.txt"
    body.write_text("hello")
    args = ("send", "-a", "a", "--to", "b", "-s", "s", "--text", "x", "--text-file", str(body))
    result = cli(closed_home, *args)
    assert result.exit_code == 2


def test_send_without_recipient_is_a_usage_error(cli: Invoke, closed_home: Path) -> None:
    result = cli(closed_home, "send", "--agent", "a", "--subject", "s", "--text", "t")
    assert result.exit_code == 2
    assert "--to" in result.stderr


def test_unreadable_attachment_is_one_line(cli: Invoke, closed_home: Path, tmp_path: Path) -> None:
    missing = tmp_path / "nope.pdf"
    args = ("send", "-a", "a", "--to", "b", "-s", "s", "--text", "t", "--attach", str(missing))
    result = cli(closed_home, *args)
    assert result.exit_code == 1
    assert_one_error(result.stderr, f"cannot read attachment {missing}")


def test_bad_date_is_a_usage_error(cli: Invoke, closed_home: Path) -> None:
    result = cli(closed_home, "search", "--agent", "a", "--since", "last week")
    assert result.exit_code == 2


def test_unknown_role_is_a_usage_error(cli: Invoke, closed_home: Path) -> None:
    result = cli(closed_home, "agents", "create", "alice", "--role", "wizard")
    assert result.exit_code == 2


def test_console_script_maps_errors(closed_home: Path) -> None:
    """The real entry point (``run()``), not only the app under CliRunner."""
    import subprocess
    import sys

    command = [sys.executable, "-m", "agenticmail", "--home", str(closed_home), "inbox", "-a", "x"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines()[0].startswith("error: the agenticmail daemon is not running")
    assert "Traceback" not in result.stderr
