"""The CLI as a new user meets it (issue 17): changing messages, folders by any case, the final
state after ``send --wait``, ``--json`` errors from the daemon, and output to a pipe.

All against the session's real daemon; each test makes its own uniquely named agents.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from agenticmail_testing.daemon import DaemonHandle

from .support import Invoke, Watcher, run_json
from .test_cli_commands import make_agent, wait_for_mail


def pair(cli: Invoke, daemon: DaemonHandle) -> tuple[dict[str, Any], dict[str, Any]]:
    alice = make_agent(cli, daemon, "alice")["agent"]
    bob = make_agent(cli, daemon, "bob")["agent"]
    return alice, bob


def test_send_wait_json_reports_the_final_status(cli: Invoke, daemon: DaemonHandle) -> None:
    alice, bob = pair(cli, daemon)
    sent = run_json(cli, daemon.home, "send", "-a", alice["name"], "--to", bob["address"],
                    "-s", "waited", "--text", "hi", "--wait")  # fmt: skip
    assert sent["outbox"]["status"] == "sent"
    assert sent["status"] == "sent"  # not "queued": the mail has left


def test_special_folders_match_any_case(cli: Invoke, daemon: DaemonHandle) -> None:
    bob = make_agent(cli, daemon, "bob")["agent"]
    for spelling in ("spam", "SPAM", "Spam", "junk"):
        page = run_json(cli, daemon.home, "inbox", "-a", bob["name"], "--folder", spelling)
        assert page["folder"] == "Spam" and page["total"] == 0
    with daemon.client() as owner:  # the API benefits too (the service resolves the name)
        got = owner.get("/v1/mail/messages", params={"agent": bob["name"], "folder": "sent"})
        assert got.status_code == 200 and got.json()["folder"] == "Sent"
    missing = cli(daemon.home, "inbox", "-a", bob["name"], "--folder", "nosuch", "--json")
    assert missing.exit_code == 1
    error = json.loads(missing.stdout)["error"]
    assert error["code"] == "not_found" and "'nosuch'" in error["message"]
    assert "Spam" in error["hint"] and "INBOX" in error["hint"]


def test_mark_move_delete_and_read_mark_read(cli: Invoke, daemon: DaemonHandle) -> None:
    alice, bob = pair(cli, daemon)
    for subject in ("one", "two"):
        run_json(cli, daemon.home, "send", "-a", alice["name"], "--to", bob["address"],
                 "-s", subject, "--text", "x")  # fmt: skip
    messages = wait_for_mail(cli, daemon, bob["name"], 2)
    uids = {m["subject"]: str(m["uid"]) for m in messages}
    name = bob["name"]

    def flags(uid: str, folder: str = "INBOX") -> list[str]:
        read = run_json(cli, daemon.home, "read", "-a", name, uid, "--folder", folder)
        found: list[str] = read["message"]["flags"]
        return found

    shown = run_json(cli, daemon.home, "read", "-a", name, uids["one"], "--mark-read")
    assert "\\Seen" in shown["message"]["flags"]
    assert "\\Seen" in flags(uids["one"])
    unread = run_json(cli, daemon.home, "mark", "-a", name, uids["one"], "--unread")
    assert unread["messages"][0]["flags"] == [] and "\\Seen" not in flags(uids["one"])
    marked = run_json(cli, daemon.home, "mark", "-a", name, uids["one"], uids["two"])
    assert [("\\Seen" in m["flags"]) for m in marked["messages"]] == [True, True]

    moved = run_json(cli, daemon.home, "move", "-a", name, uids["two"], "--to", "trash")
    assert moved["messages"][0]["moved_to"] == "trash"
    trash = run_json(cli, daemon.home, "inbox", "-a", name, "--folder", "Trash")
    assert [m["subject"] for m in trash["messages"]] == ["two"]

    deleted = cli(daemon.home, "delete", "-a", name, uids["one"])
    assert deleted.exit_code == 0, deleted.output
    assert f"deleted uid {uids['one']} in INBOX" in deleted.stdout
    assert run_json(cli, daemon.home, "inbox", "-a", name)["total"] == 0
    gone = cli(daemon.home, "read", "-a", name, uids["one"], "--json")
    assert gone.exit_code == 1 and json.loads(gone.stdout)["error"]["code"] == "not_found"


def test_attachment_save(cli: Invoke, daemon: DaemonHandle, tmp_path: Path) -> None:
    alice, bob = pair(cli, daemon)
    blob = tmp_path / "blob.bin"
    blob.write_bytes(b"\x00\x01binary\xff" * 100)
    run_json(cli, daemon.home, "send", "-a", alice["name"], "--to", bob["address"],
             "-s", "file", "--text", "attached", "--attach", str(blob))  # fmt: skip
    [summary] = wait_for_mail(cli, daemon, bob["name"])
    uid = str(summary["uid"])
    target = tmp_path / "out.bin"
    saved = run_json(cli, daemon.home, "attachment", "save", "-a", bob["name"], uid, "0",
                     "-o", str(target))  # fmt: skip
    assert saved["size"] == blob.stat().st_size
    assert target.read_bytes() == blob.read_bytes()
    assert target.stat().st_mode & 0o777 == 0o600
    again = cli(daemon.home, "attachment", "save", "-a", bob["name"], uid, "0", "-o", str(target))
    assert again.exit_code == 1 and "already exists" in again.stderr  # no silent overwrite
    default_dir = tmp_path / "cwd"
    default_dir.mkdir()
    cwd = os.getcwd()
    os.chdir(default_dir)
    try:
        named = run_json(cli, daemon.home, "attachment", "save", "-a", bob["name"], uid, "0")
    finally:
        os.chdir(cwd)
    assert named["path"] == "blob.bin"
    assert (default_dir / "blob.bin").read_bytes() == blob.read_bytes()
    missing = cli(daemon.home, "attachment", "save", "-a", bob["name"], uid, "7",
                  "-o", str(tmp_path / "x"), "--json")  # fmt: skip
    assert missing.exit_code == 1 and "error" in json.loads(missing.stdout)


def test_output_to_a_pipe_does_not_wrap(cli: Invoke, daemon: DaemonHandle) -> None:
    """A long subject stays on one line when stdout is a pipe (no COLUMNS, not a terminal)."""
    alice, bob = pair(cli, daemon)
    subject = "A subject far longer than eighty columns " + "x" * 120
    watcher = Watcher(daemon.home, "-a", bob["name"], "--count", "1", columns=None)
    try:
        watcher.note("watching")
        run_json(cli, daemon.home, "send", "-a", alice["name"], "--to", bob["address"],
                 "-s", subject, "--text", "long")  # fmt: skip
        line = watcher.line()
        assert "message.new" in line and subject in line  # the whole event on one line
        assert watcher.wait() == 0
    finally:
        watcher.close()
    wait_for_mail(cli, daemon, bob["name"])
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    base = [sys.executable, "-m", "agenticmail", "--home", str(daemon.home)]
    inbox = subprocess.run([*base, "inbox", "-a", bob["name"]], capture_output=True, text=True,
                           env=env, timeout=60)  # fmt: skip
    assert inbox.returncode == 0, inbox.stderr
    assert any(subject in line for line in inbox.stdout.splitlines()), inbox.stdout
