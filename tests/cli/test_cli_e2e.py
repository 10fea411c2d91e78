"""End to end: the CLI against the real daemon (private Dovecot) from ``tests/conftest.py``.

The ``daemon`` fixture runs one daemon per session, so every test makes its own agents.
``start --detach``/``status``/``stop`` run the console entry point in subprocesses on a
fresh data dir of their own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from agenticmail.config import load_settings
from agenticmail_testing.daemon import purge_mail_store, unique, wait_until
from agenticmail_testing.ports import free_ports

from .support import Invoke, Watcher, run_json


def test_agents_send_inbox_read(cli: Invoke, daemon: Any) -> None:
    alice, bob = unique("alice"), unique("bob")
    created = {n: run_json(cli, daemon.home, "agents", "create", n) for n in (alice, bob)}
    for name, data in created.items():
        assert data["agent"]["name"] == name
        assert data["agent"]["address"].startswith(f"{name}@")
        assert data["api_key"].startswith("ak_")
        assert data["mail"]["password"]
    to = created[bob]["agent"]["address"]

    sent = run_json(
        cli, daemon.home, "send", "--agent", alice, "--to", to,
        "--subject", "Hello from the CLI", "--text", "The body, in plain text.",
    )  # fmt: skip
    assert sent["message_id"].startswith("<")

    def listed() -> dict[str, Any] | None:
        page = run_json(cli, daemon.home, "inbox", "--agent", bob)
        return next((m for m in page["messages"] if m["subject"] == "Hello from the CLI"), None)

    message = wait_until(listed, timeout=15, what="the message in bob's inbox")
    human = cli(daemon.home, "inbox", "--agent", bob)
    assert human.exit_code == 0 and "Hello from the CLI" in human.stdout

    read = cli(daemon.home, "read", "--agent", bob, str(message["uid"]))
    assert read.exit_code == 0, read.output
    assert "The body, in plain text." in read.stdout
    assert created[alice]["agent"]["address"] in read.stdout
    full = run_json(cli, daemon.home, "read", "--agent", bob, str(message["uid"]))
    assert full["message"]["text"].strip() == "The body, in plain text."

    found = run_json(cli, daemon.home, "search", "--agent", bob, "--subject", "from the CLI")
    assert message["uid"] in found["uids"]

    listing = cli(daemon.home, "agents", "list", "--json")
    human_list = cli(daemon.home, "agents", "list")
    for out in (listing.stdout, human_list.stdout):
        for data in created.values():
            assert data["api_key"] not in out
            assert data["mail"]["password"] not in out
    names = [a["name"] for a in json.loads(listing.stdout)["agents"]]
    assert alice in names and bob in names


def test_rotate_and_delete(cli: Invoke, daemon: Any) -> None:
    name = unique("carol")
    first = run_json(cli, daemon.home, "agents", "create", name)
    rotated = run_json(cli, daemon.home, "agents", "rotate-key", name)
    assert rotated["api_key"].startswith("ak_") and rotated["api_key"] != first["api_key"]
    deleted = run_json(cli, daemon.home, "agents", "delete", name, "--yes")
    assert deleted["deleted"] == name
    missing = cli(daemon.home, "agents", "show", name)
    assert missing.exit_code == 1 and missing.stderr.startswith("error: ")


def test_status_and_doctor(cli: Invoke, daemon: Any) -> None:
    status = run_json(cli, daemon.home, "status")
    assert status["status"] == "ok" and status["mail_host"]["ok"] is True
    human = cli(daemon.home, "status")
    assert human.exit_code == 0 and daemon.api_url in human.stdout
    doctor = cli(daemon.home, "doctor", "--json")
    checks = json.loads(doctor.stdout)["checks"]
    assert {c["name"] for c in checks} >= {"dovecot", "daemon"}
    assert doctor.exit_code == (0 if all(c["ok"] for c in checks) else 1)
    again = cli(daemon.home, "start", "--detach")
    assert again.exit_code == 0 and "already running" in again.stdout


def test_watch_prints_new_mail(cli: Invoke, daemon: Any) -> None:
    sender, receiver = unique("dan"), unique("eve")
    run_json(cli, daemon.home, "agents", "create", sender)
    to = run_json(cli, daemon.home, "agents", "create", receiver)["agent"]["address"]
    watcher = Watcher(daemon.home, "--agent", receiver, "--count", "1", "--json")
    try:
        watcher.note("watching")  # connected: later events are live
        sent = cli(daemon.home, "send", "-a", sender, "--to", to, "-s", "ping", "--text", "hi")
        assert sent.exit_code == 0, sent.output
        event = watcher.event()
        assert watcher.wait() == 0
    finally:
        watcher.close()
    assert event["type"] == "message.new" and event["agent"] == receiver
    assert event["data"]["message"]["subject"] == "ping"


def _agenticmail(home: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agenticmail", "--home", str(home), *args],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_setup_start_detach_status_stop(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {**os.environ}
    env.pop("AGENTICMAIL_HOME", None)
    *others, api = free_ports(4)
    for name, other in zip(("IMAP", "LMTP", "SUBMISSION"), others, strict=True):
        env[f"AGENTICMAIL_{name}_PORT"] = str(other)
    port = str(api)
    setup = _agenticmail(home, env, "setup", "--yes", "--no-start", "--api-port", port, "--json")
    assert setup.returncode == 0, setup.stderr
    first = json.loads(setup.stdout)
    assert first["master_key"] and first["settings"]["api_url"].endswith(f":{port}")
    rerun = _agenticmail(home, env, "setup", "--yes", "--no-start")
    assert rerun.returncode == 0 and "Existing configuration kept" in rerun.stdout
    assert first["master_key"] not in rerun.stdout

    down = _agenticmail(home, env, "status")
    assert down.returncode == 2 and down.stderr.startswith("error: the agenticmail daemon is")
    try:
        started = _agenticmail(home, env, "start", "--detach", "--timeout", "60")
        assert started.returncode == 0, started.stderr + started.stdout
        assert f"127.0.0.1:{port}" in started.stdout
        status = _agenticmail(home, env, "status", "--json")
        assert status.returncode == 0, status.stderr
        assert json.loads(status.stdout)["pid"] > 0
    finally:
        stopped = _agenticmail(home, env, "stop")
        purge_mail_store(load_settings(home, env=env))  # as root it lives outside the home
    assert stopped.returncode == 0, stopped.stderr
    assert "stopped" in stopped.stdout
    assert _agenticmail(home, env, "status").returncode == 2
    assert "not running" in _agenticmail(home, env, "stop").stdout
