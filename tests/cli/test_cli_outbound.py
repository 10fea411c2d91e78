"""``route``, ``send`` (queued / held / --wait), ``pending`` and ``outbox`` against the real
daemon, whose outbound route points at a TLS SMTP sink standing in for the provider.

One dedicated daemon (with an owner address, so holds notify the owner through the sink) and
one sink serve the whole module; each test makes its own agents and subjects.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from agenticmail.cli import main
from agenticmail_testing.daemon import DaemonHandle, unique
from agenticmail_testing.smtp_sink import Received, SmtpSink

AWS_KEY = "AKIAZ7Q3XK2M4N6P8R1T"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzQ8v3r9TjH"
LEAKY = f"deploy creds: {AWS_KEY} / {AWS_SECRET}"


APP = main.app


def invoke(home: Path | None, *args: str, input: str | None = None) -> Result:
    argv = (["--home", str(home)] if home is not None else []) + list(args)
    return CliRunner().invoke(APP, argv, input=input, env={"COLUMNS": "200"})


def run_json(home: Path, *args: str, input: str | None = None) -> Any:
    """``--json`` must succeed and print exactly one JSON document (nothing else) on stdout."""
    result = invoke(home, *args, "--json", input=input)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def flat(text: str) -> str:
    return " ".join(text.split())


def route_args(sink: SmtpSink) -> list[str]:
    return ["route", "set", "--host", "127.0.0.1", "--port", str(sink.port), "--tls", "implicit",
            "--address", sink.username, "--username", sink.username, "--ca-file", sink.ca_file]


@pytest.fixture(scope="module")
def outbound(sink: SmtpSink) -> Iterator[DaemonHandle]:
    """A daemon whose route was set through ``route set --password-stdin``."""
    handle = DaemonHandle(owner_email="boss@example.net").start()
    try:
        saved = run_json(handle.home, *route_args(sink), "--password-stdin",
                         input=f"{sink.password}\n")
        assert saved["route"]["has_password"] is True and "password" not in saved["route"]
        yield handle
    finally:
        handle.close()


@pytest.fixture
def agent(outbound: DaemonHandle) -> str:
    name: str = run_json(outbound.home, "agents", "create", unique("ob"))["agent"]["name"]
    return name


def send(home: Path, agent: str, subject: str, *extra: str, text: str = "hello",
         to: str = "friend@example.org") -> Result:
    return invoke(home, "send", "-a", agent, "--to", to, "-s", subject, "--text", text, *extra)


def send_json(home: Path, agent: str, subject: str, *extra: str, text: str = "hello",
              to: str = "friend@example.org") -> dict[str, Any]:
    result = send(home, agent, subject, *extra, "--json", text=text, to=to)
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def error_lines(result: Result) -> list[str]:
    """The CLI's ``error:``/``hint:`` lines (the in-process daemon and sink may log too)."""
    return [line for line in result.stderr.splitlines() if line.startswith(("error:", "hint:"))]


def one_error(result: Result, first_line: str, exit_code: int = 1) -> None:
    assert result.exit_code == exit_code, result.output
    assert result.stdout == ""
    assert error_lines(result)[0] == first_line, result.stderr


def subject_has(received: list[Received], *words: str) -> bool:
    return any(all(w in str(r.message["Subject"]) for w in words) for r in received)


# -- route -------------------------------------------------------------------------------
def test_route_show_never_shows_the_password(outbound: DaemonHandle, sink: SmtpSink) -> None:
    shown = run_json(outbound.home, "route", "show")["route"]
    assert shown == {"host": "127.0.0.1", "port": sink.port, "tls": "implicit",
                     "address": sink.username, "username": sink.username, "has_password": True}
    human = invoke(outbound.home, "route", "show")
    assert human.exit_code == 0, human.output
    assert "stored (encrypted)" in human.stdout and str(sink.port) in human.stdout
    assert sink.password not in human.output


def test_route_clear_then_set_with_a_hidden_prompt(outbound: DaemonHandle, sink: SmtpSink,
                                                   agent: str) -> None:
    cleared = invoke(outbound.home, "route", "clear")
    assert cleared.exit_code == 0 and "cleared" in cleared.stdout
    try:
        assert run_json(outbound.home, "route", "show") == {"route": None}
        assert "No outbound route" in invoke(outbound.home, "route", "show").stdout
        refused = send(outbound.home, agent, "no route")
        assert refused.exit_code == 1 and "friend@example.org" in refused.stderr
    finally:
        # no --password-stdin: the password is asked for on stderr and never echoed
        result = invoke(outbound.home, *route_args(sink), input=f"{sink.password}\n")
    assert result.exit_code == 0, result.output
    assert "SMTP password for" in result.stderr
    assert sink.password not in result.output
    assert run_json(outbound.home, "route", "show")["route"]["has_password"] is True
    # the password really reached the daemon: the sink (which checks it) takes mail again
    sent = send_json(outbound.home, agent, "route is back", "--wait")
    assert sent["outbox"]["status"] == "sent"


def test_route_set_usage_errors(outbound: DaemonHandle, sink: SmtpSink,
                                tmp_path: Path) -> None:
    both = invoke(outbound.home, *route_args(sink), "--no-auth")
    assert both.exit_code == 2 and "--no-auth" in both.stderr
    missing = invoke(outbound.home, "route", "set", "--host", "h", "--address", "a@example.com",
                     "--ca-file", str(tmp_path / "missing.pem"), "--password-stdin", input="x")
    assert missing.exit_code == 2 and "--ca-file" in missing.stderr
    empty = invoke(outbound.home, *route_args(sink), "--password-stdin", input="")
    one_error(empty, "error: --password-stdin: stdin was empty; pipe the password in")
    as_argument = invoke(outbound.home, *route_args(sink), "--password", "x")
    assert as_argument.exit_code == 2 and "No such option" in as_argument.stderr
    assert run_json(outbound.home, "route", "show")["route"]["has_password"] is True


# -- send --------------------------------------------------------------------------------
def test_send_clean_external_mail_and_wait_until_sent(outbound: DaemonHandle, sink: SmtpSink,
                                                      agent: str) -> None:
    data = send_json(outbound.home, agent, "clean and waited", "--wait")
    assert data["status"] == "sent" and data["id"].startswith("ob_")  # the final state
    assert data["outbox"]["status"] == "sent" and data["outbox"]["attempts"] == 1
    assert data["outbox"]["id"] == data["id"]
    delivered = sink.with_id(data["message_id"])
    assert len(delivered) == 1 and delivered[0].rcpt_tos == ["friend@example.org"]

    human = send(outbound.home, agent, "clean human", "--wait")
    assert human.exit_code == 0, human.output
    assert human.stdout.startswith("sent ob_") and "waiting up to 60s" in human.stderr
    mid = human.stdout.split()[2]
    assert len(sink.with_id(mid)) == 1


def test_send_wait_exits_1_with_the_reason_when_delivery_fails(
        outbound: DaemonHandle, sink: SmtpSink, agent: str) -> None:
    def refuse(message: Message) -> str | None:
        if message["Subject"] == "bounce me":
            return "550 5.7.1 relaying denied for this sender"
        return None

    sink.set_script(refuse)
    try:
        result = send(outbound.home, agent, "bounce me", "--wait", "--json")
    finally:
        sink.set_script(None)
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)  # still one document, with the final state
    assert data["outbox"]["status"] == "failed"
    assert "550 5.7.1 relaying denied" in data["outbox"]["last_error"]
    [error] = error_lines(result)
    assert error.startswith(f"error: message {data['id']} was not delivered: ")
    assert "550 5.7.1 relaying denied" in error


def test_send_idempotency_key(outbound: DaemonHandle, sink: SmtpSink, agent: str) -> None:
    key = unique("idem")
    first = send_json(outbound.home, agent, "once only", "--idempotency-key", key, "--wait")
    again = send(outbound.home, agent, "once only", "--idempotency-key", key)
    assert again.exit_code == 0, again.output
    assert first["id"] in again.stdout and "earlier send" in flat(again.stdout)
    second = send_json(outbound.home, agent, "once only", "--idempotency-key", key)
    assert second["id"] == first["id"] and second["duplicate"] is True
    assert len(sink.with_id(first["message_id"])) == 1


def test_send_at_schedules_and_wait_gives_up(outbound: DaemonHandle, agent: str) -> None:
    later = (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0)
    data = send_json(outbound.home, agent, "later", "--send-at", later.isoformat())
    assert data["status"] == "queued" and data["send_at"]
    row = run_json(outbound.home, "outbox", "show", data["id"])["outbox"]
    assert row["status"] == "queued" and row["send_at"]

    naive_local = (datetime.now() + timedelta(hours=2)).replace(microsecond=0).isoformat()
    timed_out = send(outbound.home, agent, "later still", "--send-at", naive_local,
                     "--wait", "--timeout", "0.3")
    assert timed_out.exit_code == 1 and timed_out.stdout == ""
    assert "is still queued after 0.3s" in timed_out.stderr
    assert "agenticmail outbox show ob_" in timed_out.stderr

    bad = send(outbound.home, agent, "never", "--send-at", "tomorrow-ish")
    assert bad.exit_code == 2 and "--send-at" in bad.stderr


# -- held mail ---------------------------------------------------------------------------
def hold(outbound: DaemonHandle, agent: str, subject: str) -> dict[str, Any]:
    held = send_json(outbound.home, agent, subject, text=LEAKY, to="leak@example.org")
    assert held["status"] == "held" and held["pending_id"].startswith("pm_")
    return held


def test_leaky_mail_is_held_and_shown_masked(outbound: DaemonHandle, sink: SmtpSink,
                                             agent: str) -> None:
    subject = unique("creds")
    result = send(outbound.home, agent, subject, "--wait", text=LEAKY, to="leak@example.org")
    assert result.exit_code == 0, result.output  # held is not a failure
    out = flat(result.stdout)
    assert out.startswith("held for the owner's approval pm_")
    assert "aws" in out.lower() and "high" in out and "hint: the owner must approve" in out
    assert AWS_KEY not in result.output and AWS_SECRET not in result.output
    assert "not waiting" in result.stderr
    pending_id = out.split()[5]

    listed = run_json(outbound.home, "pending", "list", "--agent", agent)["pending"]
    assert [p["id"] for p in listed] == [pending_id]
    assert listed[0]["status"] == "pending" and "request" not in listed[0]
    assert run_json(outbound.home, "pending", "list", "--agent", agent,
                    "--status", "approved") == {"pending": []}
    human_list = invoke(outbound.home, "pending", "list", "--agent", agent)
    assert human_list.exit_code == 0, human_list.output
    assert pending_id in human_list.stdout and subject in human_list.stdout
    assert "high" in human_list.stdout and "1 waiting for you" in human_list.stdout
    assert AWS_KEY not in human_list.output and AWS_SECRET not in human_list.output

    shown = run_json(outbound.home, "pending", "show", pending_id)["pending"]
    previews = [f["preview"] for f in shown["findings"]]
    assert previews and all(AWS_KEY not in p and AWS_SECRET not in p for p in previews)
    assert shown["request"]["mail"]["to"] == ["leak@example.org"]
    human = invoke(outbound.home, "pending", "show", pending_id)
    assert human.exit_code == 0, human.output
    for preview in previews:
        assert preview in human.stdout
    # the whole key appears only in the held body the owner is reviewing, never in a finding
    assert human.stdout.count(AWS_KEY) == 1
    assert "deploy creds:" in [line.strip()[:13] for line in human.stdout.splitlines()]
    assert "leak@example.org" in human.stdout and f"pending approve {pending_id}" in human.stdout
    assert sink.with_id(shown["message_id"]) == []


def test_approve_sends_exactly_the_held_message(outbound: DaemonHandle, sink: SmtpSink,
                                                agent: str) -> None:
    held = hold(outbound, agent, unique("approve me"))
    pending_id, mid = held["pending_id"], held["message_id"]
    result = invoke(outbound.home, "pending", "approve", pending_id)
    assert result.exit_code == 0, result.output
    assert f"Approved {pending_id}" in result.stdout
    sink.wait_for(lambda rs: any(r.message_id == mid for r in rs))
    [delivered] = sink.with_id(mid)
    assert delivered.rcpt_tos == ["leak@example.org"] and AWS_KEY in delivered.data.decode()

    again = invoke(outbound.home, "pending", "approve", pending_id, "--json")
    assert again.exit_code == 1 and json.loads(again.stdout)["error"]["code"] == "conflict"
    assert error_lines(again)[0] == f"error: held message {pending_id} was already approved"
    decided = run_json(outbound.home, "pending", "show", pending_id)["pending"]
    assert decided["status"] == "approved" and decided["resolved_by"] == "owner"
    row = run_json(outbound.home, "outbox", "show", decided["outbox_id"])["outbox"]
    assert row["pending_id"] == pending_id and row["message_id"] == mid
    assert len(sink.with_id(mid)) == 1


def test_reject_never_sends(outbound: DaemonHandle, sink: SmtpSink, agent: str) -> None:
    subject = unique("reject me")
    held = hold(outbound, agent, subject)
    pending_id, mid = held["pending_id"], held["message_id"]

    declined = invoke(outbound.home, "pending", "reject", pending_id, input="n\n")
    assert declined.exit_code == 1 and "Nothing rejected" in declined.stderr
    assert run_json(outbound.home, "pending", "show", pending_id)["pending"]["status"] == \
        "pending"

    rejected = run_json(outbound.home, "pending", "reject", pending_id, "--yes")["pending"]
    assert rejected["status"] == "rejected" and rejected["outbox_id"] is None
    one_error(invoke(outbound.home, "pending", "approve", pending_id),
              f"error: held message {pending_id} was already rejected")
    # the owner's confirmation is queued after the decision: once it has arrived, the held
    # message has had every chance to leave
    sink.wait_for(lambda rs: subject_has(rs, "Rejected", subject))
    assert sink.with_id(mid) == []
    listed = run_json(outbound.home, "pending", "list", "--agent", agent, "--status", "rejected")
    assert [p["id"] for p in listed["pending"]] == [pending_id]


def test_pending_errors(outbound: DaemonHandle) -> None:
    result = invoke(outbound.home, "pending", "show", "pm_doesnotexist")
    assert result.exit_code == 1 and result.stdout == ""
    assert "pm_doesnotexist" in error_lines(result)[0]
    bad = invoke(outbound.home, "pending", "list", "--status", "maybe")
    assert bad.exit_code == 2


# -- outbox ------------------------------------------------------------------------------
def test_outbox_list_and_show(outbound: DaemonHandle, sink: SmtpSink, agent: str) -> None:
    first = send_json(outbound.home, agent, "outbox one", "--wait")
    second = send_json(outbound.home, agent, "outbox two", "--wait")
    rows = run_json(outbound.home, "outbox", "list", "--agent", agent)["outbox"]
    assert [r["id"] for r in rows] == [second["id"], first["id"]]  # newest first
    assert all(r["status"] == "sent" and r["recipients"] == ["friend@example.org"]
               for r in rows)
    assert [r["id"] for r in run_json(outbound.home, "outbox", "list", "--agent", agent,
                                      "--limit", "1")["outbox"]] == [second["id"]]
    assert run_json(outbound.home, "outbox", "list", "--agent", agent,
                    "--status", "failed") == {"outbox": []}

    human = invoke(outbound.home, "outbox", "list", "--agent", agent)
    assert human.exit_code == 0, human.output
    assert first["id"] in human.stdout and "outbox two" in human.stdout
    shown = invoke(outbound.home, "outbox", "show", first["id"])
    assert shown.exit_code == 0, shown.output
    assert first["message_id"] in shown.stdout and "sent" in shown.stdout
    assert run_json(outbound.home, "outbox", "show", first["id"])["outbox"]["id"] == first["id"]
    missing = invoke(outbound.home, "outbox", "show", "ob_nope")
    assert missing.exit_code == 1 and missing.stdout == ""
    assert "ob_nope" in error_lines(missing)[0]


# -- help --------------------------------------------------------------------------------
@pytest.mark.parametrize(("command", "expected"), [
    (("pending",), "approve"),
    (("pending", "show"), "masked"),
    (("pending", "reject"), "never sent"),
    (("outbox", "list"), "failed"),
    (("route", "set"), "never an argument"),
    (("send",), "--wait"),
])
def test_help(command: tuple[str, ...], expected: str) -> None:
    result = invoke(None, *command, "--help")
    assert result.exit_code == 0, result.output
    assert expected in flat(result.stdout)
