"""Every command's ``--help`` says what it does (no daemon, no config needed)."""

from __future__ import annotations

import pytest

from .support import Invoke

HELP = [
    ((), "mailbox"),
    (("setup",), "master key"),
    (("start",), "--detach"),
    (("stop",), "Stop the background daemon"),
    (("status",), "daemon"),
    (("doctor",), "how to fix"),
    (("agents",), "rotate"),
    (("agents", "create"), "API key"),
    (("agents", "list"), "no keys or passwords"),
    (("agents", "show"), "Show one agent"),
    (("agents", "delete"), "archived"),
    (("agents", "rotate-key"), "new API key"),
    (("agents", "rotate-password"), "new mail password"),
    (("delete",), "Delete messages"),
    (("move",), "Move messages"),
    (("mark",), "read (default) or unread"),
    (("attachment", "save"), "Save one attachment"),
    (("read",), "--mark-read"),
    (("send",), "Send an email"),
    (("inbox",), "unread"),
    (("read",), "text body"),
    (("search",), "Search"),
    (("watch",), "events"),
]


@pytest.mark.parametrize(("command", "expected"), HELP, ids=lambda v: " ".join(v) or "root")
def test_help_says_what_it_does(cli: Invoke, command: tuple[str, ...], expected: str) -> None:
    result = cli(None, *command, "--help")
    assert result.exit_code == 0, result.output
    assert expected.lower() in " ".join(result.stdout.split()).lower()


def test_no_arguments_shows_help(cli: Invoke) -> None:
    result = cli(None)
    assert "Usage" in result.output
    assert result.exit_code in (0, 2)


def test_version(cli: Invoke) -> None:
    from agenticmail import __version__

    result = cli(None, "--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"agenticmail {__version__}"


@pytest.mark.parametrize("command", [("send",), ("agents", "delete"), ("status",)], ids=" ".join)
def test_flags_show_no_type(cli: Invoke, command: tuple[str, ...]) -> None:
    """A flag takes no value: its help row has no ``<bool>``/``BOOLEAN`` type column."""
    result = cli(None, *command, "--help")
    assert result.exit_code == 0, result.output
    assert "--help" in result.stdout
    assert "<bool>" not in result.stdout and "BOOLEAN" not in result.stdout
