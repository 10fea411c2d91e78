"""Issue 15, per-sender policy end to end on a real daemon (real DNS for DKIM keys, a real SMTP
route): an allowlisted sender with ``require = ["dkim"]`` whose DKIM fails goes to quarantine,
and with DKIM passing is delivered with the rule's capabilities in the agent's read; a
``bounce`` rule answers the sender with a DSN through the route (not to itself) and the agent
never sees the message; ``drop`` files it in Trash unannounced; a policy file edited by hand
is reloaded without a restart, and a broken one keeps the last good policy in force and says
why in status and doctor; the CLI shows, sets and tests policies."""

from __future__ import annotations

import email
import smtplib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agenticmail.cli.main import app
from agenticmail.config import load_settings
from agenticmail.services.doctor import run_checks
from agenticmail_testing.daemon import DaemonHandle, unique, wait_until
from agenticmail_testing.dns_server import DkimKey, DnsServer
from agenticmail_testing.smtp_sink import SmtpSink
from agenticmail_testing.sse import EventStream

PARTNER = "billing@partner.example"
POLICY = f"""
default = "deliver"
capabilities = ["reply"]

[[sender]]
match = "{PARTNER}"
require = ["dkim"]
action = "deliver"
capabilities = ["reply", "forward", "attachments"]

[[sender]]
match = "spammer.example"
action = "bounce"

[[sender]]
match = "*.dropped.example"
action = "drop"
"""


@pytest.fixture(scope="module")
def partner_key() -> DkimKey:
    return DkimKey.generate("partner.example", "s1")


@pytest.fixture(scope="module")
def world(partner_key: DkimKey) -> Iterator[tuple[DaemonHandle, SmtpSink]]:
    dns = DnsServer().start()
    dns.publish(partner_key)
    sink = SmtpSink().start()
    handle = DaemonHandle(dns_nameservers=dns.nameservers).start()
    with handle.client() as owner:
        assert owner.put("/v1/route", json=sink.route()).status_code == 200
    yield handle, sink
    handle.close()
    sink.stop()
    dns.close()


@pytest.fixture
def agent(world: tuple[DaemonHandle, SmtpSink]) -> dict[str, Any]:
    handle, _ = world
    created = handle.create_agent(unique("pol"))
    with handle.client() as owner:
        r = owner.put(f"/v1/policies/{created['agent']['name']}", json={"policy": POLICY})
    assert r.status_code == 200, r.text
    assert r.json()["rules"] == 3 and r.json()["error"] is None
    return created


def _raw(sender: str, subject: str, body: str = "Invoice 1042 is attached.") -> bytes:
    return (f"From: Partner <{sender}>\r\nTo: agent@localhost\r\nSubject: {subject}\r\n"
            f"Date: Sat, 05 Dec 2026 09:00:00 +0000\r\n"
            f"Message-ID: <{uuid.uuid4().hex}@{sender.split('@')[1]}>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
            f"{body}\r\n").encode()


def _deliver(handle: DaemonHandle, rcpt: str, raw: bytes, sender: str) -> None:
    with smtplib.LMTP(handle.lmtp_socket) as lmtp:
        lmtp.sendmail(sender, [rcpt], raw)


def test_allowlisted_sender_needs_its_dkim_to_pass(
        world: tuple[DaemonHandle, SmtpSink], agent: dict[str, Any],
        partner_key: DkimKey) -> None:
    handle, _ = world
    addr, key = agent["agent"]["address"], agent["api_key"]
    signed = partner_key.sign(_raw(PARTNER, "signed invoice"))
    forged = _raw(PARTNER, "forged invoice")  # no signature: the allowlist proves nothing
    tampered = partner_key.sign(_raw(PARTNER, "tampered invoice")).replace(
        b"Invoice 1042", b"Invoice 9999")
    with EventStream(handle.api_url, key) as events:
        _deliver(handle, addr, signed, PARTNER)
        _deliver(handle, addr, forged, PARTNER)
        _deliver(handle, addr, tampered, PARTNER)
        got = [events.next(timeout=20) for _ in range(3)]
    by_subject = {e["data"]["message"]["subject"]: e for e in got}
    good = by_subject["signed invoice"]
    assert good["type"] == "message.new"
    policy = good["data"]["message"]["security"]["policy"]
    assert policy["action"] == "deliver" and policy["rule"] == 0
    assert policy["capabilities"] == ["reply", "forward", "attachments"]
    for subject in ("forged invoice", "tampered invoice"):
        bad = by_subject[subject]
        assert bad["type"] == "message.spam" and bad["data"]["folder"] == "Spam", bad
        policy = bad["data"]["message"]["security"]["policy"]
        assert policy["action"] == "quarantine" and policy["failed"] == ["dkim"]
        assert policy["capabilities"] == ["reply"], "not trusted: the default capabilities"
    with handle.client(key) as api:  # the agent's own read carries the capabilities
        read = api.get(f"/v1/mail/messages/{good['data']['uid']}")
    assert read.status_code == 200, read.text
    assert read.json()["security"]["policy"]["capabilities"] == ["reply", "forward",
                                                                 "attachments"]


def test_bounce_answers_the_sender_through_the_route_and_drop_is_silent(
        world: tuple[DaemonHandle, SmtpSink], agent: dict[str, Any]) -> None:
    handle, sink = world
    addr, key = agent["agent"]["address"], agent["api_key"]
    with EventStream(handle.api_url, key) as events:
        _deliver(handle, addr, _raw("promo@spammer.example", "buy now"), "promo@spammer.example")
        _deliver(handle, addr, _raw("x@news.dropped.example", "dropped news"),
                 "x@news.dropped.example")
        _deliver(handle, addr, _raw("friend@example.org", "lunch?"), "friend@example.org")
        first = events.next("message.new", timeout=20)
        sent = events.next("message.sent", timeout=20)  # the DSN, sent as the agent's mail
    assert sent["data"]["subject"] == "Undelivered Mail Returned to Sender"
    # neither the bounced nor the dropped message was announced: the next new mail is lunch
    assert first["type"] == "message.new", first
    assert first["data"]["message"]["subject"] == "lunch?"
    assert first["data"]["message"]["security"]["policy"]["rule"] is None
    received = sink.wait_for(lambda got: any("promo@spammer.example" in r.rcpt_tos
                                             for r in got))
    dsn = next(r for r in received if "promo@spammer.example" in r.rcpt_tos)
    parsed = email.message_from_bytes(dsn.data)
    assert parsed.get_content_type() == "multipart/report"
    assert parsed.get_param("report-type") == "delivery-status"
    status = next(p for p in parsed.walk() if p.get_content_type() == "message/delivery-status")
    assert "5.7.1" in status.as_string()
    assert not any("x@news.dropped.example" in r.rcpt_tos for r in sink.received)
    with handle.client(key) as api:
        trash = api.get("/v1/mail/messages", params={"folder": "Trash"}).json()["messages"]
        inbox = api.get("/v1/mail/messages").json()["messages"]
    assert {"buy now", "dropped news"} <= {m["subject"] for m in trash}
    assert not {"buy now", "dropped news"} & {m["subject"] for m in inbox}


def test_a_hand_edited_policy_reloads_and_a_broken_one_keeps_the_last_good(
        world: tuple[DaemonHandle, SmtpSink], agent: dict[str, Any]) -> None:
    handle, _ = world
    name, addr, key = agent["agent"]["name"], agent["agent"]["address"], agent["api_key"]
    path = handle.settings.home / "policies" / f"{name}.toml"
    path.write_text('default = "quarantine"\ncapabilities = []\n')  # by hand: no API call

    def problems() -> list[dict[str, Any]]:
        with handle.client() as owner:
            return list(owner.get("/v1/health").json().get("policy_problems") or [])

    with EventStream(handle.api_url, key) as events:
        _deliver(handle, addr, _raw("someone@example.org", "after edit"),
                 "someone@example.org")
        quarantined = events.next(timeout=20)
        assert quarantined["type"] == "message.spam"
        assert quarantined["data"]["message"]["security"]["policy"]["action"] == "quarantine"

        path.write_text('default = "deliver"\n[[sender]]\nmatch = \n')  # broken TOML
        found = wait_until(lambda: [p for p in problems() if p["agent"] == name
                                    and "not valid TOML" in p["error"]], timeout=10,
                           what="the broken policy reported")  # (not the write's empty moment)
        assert found
        doctor = [c for c in run_checks(load_settings(handle.settings.home), lambda s: None)
                  if c.name == f"policy {name}"]
        assert doctor and not doctor[0].ok and "last good" in doctor[0].detail
        _deliver(handle, addr, _raw("someone@example.org", "while broken"),
                 "someone@example.org")
        held = events.next(timeout=20)  # the last good policy (quarantine) still holds
        assert held["type"] == "message.spam"
        assert held["data"]["message"]["subject"] == "while broken"

        path.write_text('default = "deliver"\n')
        wait_until(lambda: not [p for p in problems() if p["agent"] == name], timeout=10,
                   what="the fixed policy loaded")
        _deliver(handle, addr, _raw("someone@example.org", "fixed"), "someone@example.org")
        delivered = events.next(timeout=20)
    assert delivered["type"] == "message.new"
    assert delivered["data"]["message"]["subject"] == "fixed"


def test_the_cli_shows_sets_and_tests_a_policy(
        world: tuple[DaemonHandle, SmtpSink], agent: dict[str, Any], partner_key: DkimKey,
        tmp_path: Path) -> None:
    handle, _ = world
    name = agent["agent"]["name"]
    runner = CliRunner()

    def cli(*args: str, editor: str = "true") -> Any:
        result = runner.invoke(app, ["--home", str(handle.settings.home), *args],
                               env={"COLUMNS": "200", "EDITOR": editor, "VISUAL": ""})
        return result

    shown = cli("policy", "show", "--agent", name, "--json")
    assert shown.exit_code == 0, shown.output
    assert '"rules": 3' in shown.stdout
    message = tmp_path / "forged.eml"
    message.write_bytes(_raw(PARTNER, "forged"))
    tested = cli("policy", "test", "--agent", name, str(message), "--json")
    assert tested.exit_code == 0, tested.output
    assert '"action": "quarantine"' in tested.stdout and '"dkim"' in tested.stdout
    signed = tmp_path / "signed.eml"
    signed.write_bytes(partner_key.sign(_raw(PARTNER, "signed")))
    human = cli("policy", "test", "--agent", name, str(signed))
    assert human.exit_code == 0 and "deliver" in human.stdout and PARTNER in human.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text("[[sender]]\nmatch = 'x@y.example'\naction = 'explode'\n")
    refused = cli("policy", "set", "--agent", name, str(bad), "--json")
    assert refused.exit_code != 0 and "invalid_policy" in refused.output
    assert "Traceback" not in refused.output
    assert cli("policy", "show", "--agent", name, "--json").stdout.count('"rules": 3') == 1
    edited = cli("policy", "edit", "--agent", name, "--json",
                 editor="sed -i 's/^default.=.*/default = \"quarantine\"/'")
    assert edited.exit_code == 0, edited.output
    assert '"default": "quarantine"' in edited.stdout
    broken = cli("policy", "edit", "--agent", name, editor="sed -i s/^default.=.*/default=/")
    assert broken.exit_code != 0 and "not valid TOML" in broken.output
    assert "Traceback" not in broken.output
    gone = cli("policy", "remove", "--agent", name, "--json")
    assert gone.exit_code == 0 and '"policy": null' in gone.stdout
