"""Every command against the real daemon: ``--json`` output, error lines, secrets, prompts.

The session-wide ``daemon`` fixture is shared, so each test makes its own uniquely named agents.
The ``watch`` reconnect test restarts a dedicated daemon of its own.
"""

from __future__ import annotations

import imaplib
import json
import os
import re
import signal
import smtplib
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from agenticmail import __version__
from agenticmail_testing.daemon import DaemonHandle, unique, wait_until
from agenticmail_testing.sse import EventStream

from .support import Invoke, Watcher, run_json, write_config


def make_agent(cli: Invoke, daemon: DaemonHandle, prefix: str, *options: str) -> dict[str, Any]:
    data: dict[str, Any] = run_json(cli, daemon.home, "agents", "create", unique(prefix), *options)
    return data


def wait_for_mail(cli: Invoke, daemon: DaemonHandle, agent: str, count: int = 1) -> list[dict]:
    """Poll ``inbox --json`` until ``agent`` has ``count`` messages; return them."""

    def arrived() -> list[dict] | None:
        page = run_json(cli, daemon.home, "inbox", "--agent", agent)
        return page["messages"] if page["total"] >= count else None

    messages: list[dict] = wait_until(arrived, timeout=15, what=f"{count} message(s) for {agent}")
    return messages


def secret(label: str, output: str) -> str:
    """A value from a secrets panel row (``API key``, ``mail password``) in human output."""
    found = re.search(rf"^\W*{label}\s+(\S+)", output, re.MULTILINE)
    assert found, output
    return found.group(1)


def one_error(result: Any, *lines: str, exit_code: int = 1, as_json: bool = False) -> None:
    """The command failed with exactly these ``error:``/``hint:`` lines and no stdout (with
    ``--json``: the same error as one JSON document on stdout)."""
    assert result.exit_code == exit_code, result.output
    if as_json:
        error = json.loads(result.stdout)["error"]
        shown = [f"error: {error['message']}"] + ([f"hint: {error['hint']}"]
                                                  if "hint" in error else [])
        assert shown == list(lines)
    else:
        assert result.stdout == ""
    assert result.stderr.splitlines() == list(lines)


def daemon_error(
    daemon: DaemonHandle, status: int, method: str, path: str, key: str = "master", **kw: Any
) -> list[str]:
    """The daemon's own answer to a request, as the ``error:``/``hint:`` lines it should become."""
    with daemon.client(key) as api:
        response = api.request(method, path, **kw)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    return [f"error: {error['message']}"] + ([f"hint: {error['hint']}"] if "hint" in error else [])


# -- authentication ----------------------------------------------------------------------
def test_master_key_is_sent(cli: Invoke, daemon: DaemonHandle) -> None:
    with daemon.client(None) as anonymous:
        assert anonymous.get("/v1/agents").status_code == 401  # the route needs the key
    listed = run_json(cli, daemon.home, "agents", "list")
    assert isinstance(listed["agents"], list)


def test_wrong_master_key(cli: Invoke, daemon: DaemonHandle, tmp_path: Path) -> None:
    home = write_config(tmp_path / "other", daemon.settings.api_port, master_key="mk_wrong")
    expected = daemon_error(daemon, 401, "GET", "/v1/agents", key="mk_wrong")
    assert expected[0].startswith("error: ") and "key" in expected[0]
    for args in (("agents", "list"), ("inbox", "--agent", "anyone", "--json")):
        one_error(cli(home, *args), *expected, as_json="--json" in args)


# -- agents ------------------------------------------------------------------------------
def test_agents_create_json_and_human(cli: Invoke, daemon: DaemonHandle) -> None:
    data = make_agent(cli, daemon, "alice", "--role", "researcher", "--display-name", "Desk")
    name = data["agent"]["name"]
    assert data["agent"]["address"] == f"{name}@{daemon.settings.domain}"
    assert data["api_key"].startswith("ak_") and data["mail"]["password"]
    shown = run_json(cli, daemon.home, "agents", "show", name)["agent"]
    assert (shown["role"], shown["display_name"]) == ("researcher", "Desk")
    human_show = cli(daemon.home, "agents", "show", name)
    assert human_show.exit_code == 0 and "researcher" in human_show.stdout

    bob = unique("bob")
    result = cli(daemon.home, "agents", "create", bob)
    assert result.exit_code == 0, result.output
    assert "will not be shown again" in " ".join(result.stdout.split())
    # the secrets shown once are the real ones: the key authenticates, the password logs in
    with daemon.client(secret("API key", result.stdout)) as as_bob:
        assert as_bob.get("/v1/mail/messages").status_code == 200
    imap = imaplib.IMAP4("127.0.0.1", daemon.settings.imap_port)
    try:
        status, _ = imap.login(
            f"{bob}@{daemon.settings.domain}", secret("mail password", result.stdout)
        )
        assert status == "OK"
    finally:
        imap.logout()


def test_agent_listings_never_show_secrets(cli: Invoke, daemon: DaemonHandle) -> None:
    data = make_agent(cli, daemon, "alice")
    name = data["agent"]["name"]
    outputs = [
        cli(daemon.home, "agents", "list"),
        cli(daemon.home, "agents", "list", "--json"),
        cli(daemon.home, "agents", "show", name),
        cli(daemon.home, "agents", "show", name, "--json"),
    ]
    assert all(r.exit_code == 0 for r in outputs)
    assert data["agent"]["address"] in outputs[0].stdout
    assert name in [a["name"] for a in json.loads(outputs[1].stdout)["agents"]]
    for result in outputs:
        assert data["api_key"] not in result.output
        assert data["mail"]["password"] not in result.output


def test_delete_asks_first(cli: Invoke, daemon: DaemonHandle) -> None:
    make_agent(cli, daemon, "keeper")  # the last remaining agent may never be deleted
    name = make_agent(cli, daemon, "alice")["agent"]["name"]
    declined = cli(daemon.home, "agents", "delete", name, input="n\n")
    assert declined.exit_code == 1
    assert "Nothing deleted." in declined.stderr and declined.stdout == ""
    assert run_json(cli, daemon.home, "agents", "show", name)["agent"]["name"] == name

    confirmed = run_json(cli, daemon.home, "agents", "delete", name, input="y\n")
    assert confirmed["deleted"] == name  # stdout is pure JSON: the prompt went to stderr
    one_error(cli(daemon.home, "agents", "show", name), f"error: no agent named {name!r}")


def test_delete_report(cli: Invoke, daemon: DaemonHandle) -> None:
    sender = make_agent(cli, daemon, "carol")["agent"]
    doomed = make_agent(cli, daemon, "dave")["agent"]
    sent = cli(daemon.home, "send", "-a", sender["name"], "--to", doomed["address"],
               "-s", "before you go", "--text", "x")  # fmt: skip
    assert sent.exit_code == 0, sent.output
    wait_for_mail(cli, daemon, doomed["name"])

    result = cli(daemon.home, "agents", "delete", doomed["name"], "--yes")
    assert result.exit_code == 0, result.output
    archives = list(daemon.settings.deletions_dir.glob(f"{doomed['name']}-*"))
    assert len(archives) == 1 and str(archives[0]) in result.stdout
    assert f"Deleted agent {doomed['name']}" in result.stdout
    assert "INBOX" in result.stdout and sender["address"] in result.stdout  # top correspondent


def test_rotate_key(cli: Invoke, daemon: DaemonHandle) -> None:
    created = make_agent(cli, daemon, "erin")
    name, old = created["agent"]["name"], created["api_key"]
    human = cli(daemon.home, "agents", "rotate-key", name)
    assert human.exit_code == 0, human.output
    new = secret("API key", human.stdout)
    assert new.startswith("ak_") and new != old
    with daemon.client(old) as stale, daemon.client(new) as fresh:
        assert stale.get("/v1/mail/messages").status_code == 401
        assert fresh.get("/v1/mail/messages").status_code == 200
    again = run_json(cli, daemon.home, "agents", "rotate-key", name)
    assert again["agent"]["name"] == name and again["api_key"] not in (old, new)


# -- errors from the daemon --------------------------------------------------------------
def test_daemon_errors_are_one_line(cli: Invoke, daemon: DaemonHandle) -> None:
    """404, 409 and 400 answers become the daemon's message (and hint) on stderr, exit 1."""
    zed = unique("zed")
    missing = daemon_error(daemon, 404, "GET", f"/v1/agents/{zed}")
    assert missing == [f"error: no agent named {zed!r}"]
    one_error(cli(daemon.home, "agents", "show", zed, "--json"), *missing, as_json=True)
    one_error(cli(daemon.home, "agents", "delete", zed, "--yes"), *missing)
    one_error(cli(daemon.home, "inbox", "--agent", zed), *missing)

    alice = make_agent(cli, daemon, "alice")["agent"]
    duplicate = daemon_error(daemon, 409, "POST", "/v1/agents", json={"name": alice["name"]})
    assert alice["name"] in duplicate[0] and "already exists" in duplicate[0]
    one_error(cli(daemon.home, "agents", "create", alice["name"]), *duplicate)

    no_uid = daemon_error(daemon, 404, "GET", "/v1/mail/messages/999",
                          params={"agent": alice["name"]})  # fmt: skip
    assert "999" in no_uid[0]
    one_error(cli(daemon.home, "read", "--agent", alice["name"], "999"), *no_uid)

    body = {"agent": alice["name"], "to": ["x@example.com"], "subject": "s", "text": "t"}
    no_route = daemon_error(daemon, 400, "POST", "/v1/mail/send", json=body)
    assert "x@example.com" in no_route[0] and len(no_route) == 2  # a message and a hint
    external = ("--to", "x@example.com", "--subject", "s", "--text", "t")
    one_error(cli(daemon.home, "send", "--agent", alice["name"], *external), *no_route)


# -- mail --------------------------------------------------------------------------------
def test_send_inbox_read_search(cli: Invoke, daemon: DaemonHandle, tmp_path: Path) -> None:
    alice = make_agent(cli, daemon, "alice")["agent"]
    bob = make_agent(cli, daemon, "bob")["agent"]
    blob, report = tmp_path / "blob.bin", tmp_path / "report.csv"
    blob.write_bytes(b"\x00\x01binary\xff")
    report.write_bytes(b"a,b\n1,2\n")
    sent = run_json(
        cli, daemon.home, "send", "--agent", alice["name"], "--to", bob["address"],
        "--subject", "Quarterly report", "--text", "Numbers attached.",
        "--attach", str(blob), "--attach", str(report),
    )  # fmt: skip
    [summary] = wait_for_mail(cli, daemon, bob["name"])
    assert summary["message_id"] == sent["message_id"]
    uid = str(summary["uid"])
    assert summary["subject"] == "Quarterly report" and summary["has_attachments"] is True
    inbox = cli(daemon.home, "inbox", "--agent", bob["name"])
    assert inbox.exit_code == 0
    assert "Quarterly report" in inbox.stdout and alice["address"] in inbox.stdout

    read = cli(daemon.home, "read", "--agent", bob["name"], uid)
    assert read.exit_code == 0, read.output
    assert "Numbers attached." in read.stdout
    assert "blob.bin" in read.stdout and "report.csv" in read.stdout
    message = run_json(cli, daemon.home, "read", "-a", bob["name"], uid)["message"]
    assert message["text"].strip() == "Numbers attached."
    assert [(a["filename"], a["content_type"], a["size"]) for a in message["attachments"]] == [
        ("blob.bin", "application/octet-stream", blob.stat().st_size),
        ("report.csv", "text/csv", report.stat().st_size),
    ]
    with daemon.client() as owner:  # the base64 the CLI sent decodes to the very bytes
        for index, path in enumerate((blob, report)):
            got = owner.get(f"/v1/mail/messages/{uid}/attachments/{index}",
                            params={"agent": bob["name"]})  # fmt: skip
            assert got.status_code == 200 and got.content == path.read_bytes()

    today = date.today()

    def search(*criteria: str) -> list[int]:
        found = run_json(cli, daemon.home, "search", "--agent", bob["name"], *criteria)
        uids: list[int] = found["uids"]
        return uids

    hit = search(
        "--subject", "quarterly", "--from", alice["name"], "--to", bob["name"],
        "--body", "numbers", "--unseen",
        "--since", str(today - timedelta(days=1)), "--before", str(today + timedelta(days=2)),
    )  # fmt: skip
    assert hit == [summary["uid"]]
    assert search("--seen") == []
    assert search("--subject", "minutes") == []
    assert search("--since", str(today + timedelta(days=2))) == []
    assert search("--before", str(today - timedelta(days=1))) == []
    human = cli(daemon.home, "search", "--agent", bob["name"], "--subject", "quarterly")
    assert human.exit_code == 0 and "1 match in INBOX" in human.stdout


def test_send_body_from_a_file(cli: Invoke, daemon: DaemonHandle, tmp_path: Path) -> None:
    alice = make_agent(cli, daemon, "alice")["agent"]
    bob = make_agent(cli, daemon, "bob")["agent"]
    body = tmp_path / "body.txt"
    body.write_text("from a file\nsecond line\n")
    result = cli(daemon.home, "send", "-a", alice["name"], "--to", bob["address"],
                 "-s", "filed", "--text-file", str(body))  # fmt: skip
    assert result.exit_code == 0, result.output
    [summary] = wait_for_mail(cli, daemon, bob["name"])
    assert summary["message_id"] in result.stdout  # the human output names the message
    message = run_json(cli, daemon.home, "read", "-a", bob["name"], str(summary["uid"]))
    assert message["message"]["text"].strip() == "from a file\nsecond line"


def test_mail_cannot_drive_the_terminal(cli: Invoke, daemon: DaemonHandle) -> None:
    """Mail from outside (LMTP into the mail host) with escape sequences is shown inert."""
    bob = make_agent(cli, daemon, "bob")["agent"]
    raw = (
        "From: Mallory <mallory@example.org>\r\n"
        "Subject: =?utf-8?q?Quarterly_=1B[31mreport?=\r\n"
        f"Message-ID: <{unique('esc')}@example.org>\r\n\r\n"
        "body \x1b[2J cleared\r\n"
    )
    with smtplib.LMTP(daemon.lmtp_socket) as lmtp:
        lmtp.sendmail("mallory@example.org", [bob["address"]], raw.encode())
    [summary] = wait_for_mail(cli, daemon, bob["name"])
    assert summary["subject"] == "Quarterly \x1b[31mreport"  # the escape does reach the CLI
    uid = str(summary["uid"])
    for args in (("inbox",), ("read", uid), ("search", "--subject", "quarterly")):
        result = cli(daemon.home, *args, "--agent", bob["name"])
        assert result.exit_code == 0, result.output
        assert "Quarterly" in result.stdout and "\x1b" not in result.stdout


# -- status ------------------------------------------------------------------------------
def test_status(cli: Invoke, daemon: DaemonHandle) -> None:
    data = run_json(cli, daemon.home, "status")
    assert data["url"] == daemon.api_url and data["version"] == __version__
    assert data["pid"] == os.getpid()  # the test daemon runs in this process
    human = cli(daemon.home, "status")
    assert human.exit_code == 0, human.output
    assert re.search(r"daemon\s+running", human.stdout)
    assert re.search(rf"pid\s+{data['pid']}\b", human.stdout)
    assert re.search(r"uptime\s+(\d+d )?(\d+h )?(\d+m )?\d+s\b", human.stdout)
    assert daemon.api_url in human.stdout


# -- watch -------------------------------------------------------------------------------
def subject_of(event: dict[str, Any]) -> str:
    subject: str = event["data"]["message"]["subject"]
    return subject


def test_watch_reconnects_with_last_event_id(cli: Invoke) -> None:
    """The stream drops twice (the daemon restarts) while mail arrives; ``watch`` resumes
    each time where it left off: first from the ``ready`` id (no event seen yet), then from
    ``Last-Event-ID``. The watcher is paused (SIGSTOP) across each restart so the mail in
    between can only reach it by replay, never live."""
    handle = DaemonHandle().start()
    watcher: Watcher | None = None
    try:
        sender = handle.create_agent(unique("dan"))["agent"]
        receiver = handle.create_agent(unique("eve"))["agent"]

        def send(subject: str) -> None:
            result = cli(handle.home, "send", "-a", sender["name"], "--to",
                         receiver["address"], "-s", subject, "--text", "x")  # fmt: skip
            assert result.exit_code == 0, result.output

        def restart_and_send_while_paused(subject: str) -> None:
            assert watcher is not None
            os.kill(watcher.process.pid, signal.SIGSTOP)
            try:
                handle.stop()
                handle.start()
                params = {"agent": receiver["name"]}
                with EventStream(handle.api_url, handle.master_key, params, last_event_id=0) as log:
                    send(subject)  # recorded in the event log before the watcher can reconnect
                    log.next("message.new", where=lambda e: subject_of(e) == subject)
            finally:
                os.kill(watcher.process.pid, signal.SIGCONT)

        watcher = Watcher(handle.home, "--agent", receiver["name"], "--count", "3", "--json")
        watcher.note("watching")
        restart_and_send_while_paused("one")  # dropped before any event: resume from ready
        first = watcher.event()
        watcher.note("reconnected")
        restart_and_send_while_paused("two")  # dropped after an event: Last-Event-ID
        second = watcher.event()
        watcher.note("reconnected")
        send("three")  # live again
        third = watcher.event()
        assert watcher.wait() == 0

        events = [first, second, third]
        assert [subject_of(e) for e in events] == ["one", "two", "three"]
        assert {(e["type"], e["agent"]) for e in events} == {("message.new", receiver["name"])}
        assert first["id"] < second["id"] < third["id"]  # in order, none twice, none skipped
        assert watcher.stdout.empty()  # no ready event, no duplicates
    finally:
        if watcher is not None:
            watcher.close()
        handle.close()
