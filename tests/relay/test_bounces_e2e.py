"""Bounces, complaints and unsubscribes end to end: a real daemon whose relay account is the
stand-in provider; bounce fixtures (tests/fixtures/bounces) arrive in the provider's INBOX as
its MX would deliver them, addressed to the agent's sub-address and naming the Message-ID the
agent really sent. No sleeps: events and deadline polls."""

from __future__ import annotations

import re
import smtplib
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx
import pytest
from typer.testing import CliRunner

from agenticmail.cli.main import app as cli_app
from agenticmail_testing.daemon import DaemonHandle, unique, wait_until
from agenticmail_testing.relay_provider import Provider
from agenticmail_testing.sse import EventStream
from tests.e2e.test_metrics import scrape, value
from tests.mail.test_bounces import EXPECTED
from tests.relay.helpers import mail

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "bounces"
FIXTURE_SENDER = "owner+alice@example.com"
WAIT = 60  # seconds an event may take on a loaded machine (a relay round trip each)


def bounce(fixture: str, name: str, message_id: str, failed: str | None = None,
           fixture_rcpt: str | None = None) -> bytes:
    """A fixture as it would come back for agent ``name``'s message ``message_id`` (and, when
    given, about recipient ``failed`` instead of the fixture's ``fixture_rcpt``)."""
    raw = (FIXTURES / fixture).read_bytes()
    original = re.search(rb"<orig-\d+@agenticmail\.local>", raw)
    assert original is not None
    raw = raw.replace(original.group(0), message_id.encode())
    raw = raw.replace(FIXTURE_SENDER.encode(), f"owner+{name}@example.com".encode())
    if failed and fixture_rcpt:
        raw = raw.replace(fixture_rcpt.encode(), failed.encode())
    # each delivery is a new message to the provider: its own Message-ID (in its header)
    head, sep, body = raw.partition(b"\n\n")
    head = re.sub(rb"(?im)^Message-I[Dd]: <[^>]+>\n?", b"", head).rstrip(b"\n")
    return head + f"\nMessage-ID: <{uuid.uuid4().hex}@mx.example>".encode() + sep + body


def send(handle: DaemonHandle, key: str, **body: Any) -> httpx.Response:
    with handle.client(key) as api:
        return api.post("/v1/mail/send", json={"subject": "hello", "text": "hi", **body})


def sent(handle: DaemonHandle, key: str, events: EventStream, **body: Any) -> dict[str, Any]:
    """Send and wait until it has left: the accepted answer."""
    r = send(handle, key, **body)
    assert r.status_code == 202, r.text
    accepted: dict[str, Any] = r.json()
    events.next("message.sent", timeout=WAIT,
                where=lambda e: e["data"]["message_id"] == accepted["message_id"])
    return accepted


def outbox_row(handle: DaemonHandle, key: str, outbox_id: str) -> dict[str, Any]:
    with handle.client(key) as api:
        r = api.get(f"/v1/mail/outbox/{outbox_id}")
    assert r.status_code == 200, r.text
    row: dict[str, Any] = r.json()["outbox"]
    return row


def suppressed(handle: DaemonHandle, key: str) -> dict[str, dict[str, Any]]:
    with handle.client(key) as api:
        r = api.get("/v1/suppressions")
    assert r.status_code == 200, r.text
    return {s["address"]: s for s in r.json()["suppressions"]}


def arrival(mid: str) -> Any:
    """An agent was told of the message ``mid`` (as new mail or as spam)."""
    return lambda e: e["type"] in ("message.new", "message.spam") and \
        e["data"]["message"]["message_id"] == mid


def test_a_hard_bounce_marks_the_row_suppresses_the_recipient_and_refuses_the_next_send(
        relay_daemon: DaemonHandle, provider: Provider) -> None:
    created = relay_daemon.create_agent(unique("hb"))
    name, key = created["agent"]["name"], created["api_key"]
    gone = f"gone-{uuid.uuid4().hex[:8]}@example.net"
    with EventStream(relay_daemon.api_url, key) as events:
        accepted = sent(relay_daemon, key, events, to=[gone], subject="quarterly figures")
        # first a delay warning (soft), then the final failure (hard)
        provider.deliver(bounce("postfix_soft_delayed.eml", name, accepted["message_id"],
                                gone, "slow@example.org"))
        warning = events.next("message.bounced", timeout=WAIT)["data"]
        assert (warning["kind"], warning["failed"], warning["suppressed"]) == ("soft", False,
                                                                              [])
        provider.deliver(bounce("postfix_hard.eml", name, accepted["message_id"], gone,
                                "nobody@example.net"))
        event = events.next("message.bounced", timeout=WAIT)["data"]
        added = events.next("suppression.added", timeout=WAIT,
                            where=lambda e: e["data"]["address"] == gone)
    assert event["id"] == accepted["id"] and event["message_id"] == accepted["message_id"]
    assert (event["kind"], event["failed"], event["suppressed"]) == ("hard", True, [gone])
    [failure] = event["recipients"]
    assert (failure["address"], failure["status"], failure["remote_mta"]) == (
        gone, "5.1.1", "mail.example.net")
    assert "User unknown" in failure["diagnostic"]
    assert added["data"]["reason"] == "hard_bounce"

    wait_until(lambda: outbox_row(relay_daemon, key, accepted["id"])["status"] == "bounced",
               timeout=WAIT)
    shown = CliRunner().invoke(cli_app, ["--home", str(relay_daemon.home), "outbox", "show",
                                         accepted["id"]], env={"COLUMNS": "200"})
    assert shown.exit_code == 0 and "bounced" in shown.stdout, shown.output
    assert f"{gone}: hard 5.1.1" in shown.stdout
    row = outbox_row(relay_daemon, key, accepted["id"])
    with relay_daemon.client(key) as api:
        listed = api.get("/v1/mail/outbox", params={"status": "bounced"}).json()["outbox"]
    assert [r["id"] for r in listed] == [accepted["id"]]
    # /metrics: the message is counted as sent and as bounced
    _, samples = scrape(relay_daemon)
    assert value(samples, "agenticmail_messages_total", agent=name, event="bounced") == 1
    assert value(samples, "agenticmail_messages_total", agent=name, event="sent") == 1
    assert (row["bounce"]["kind"], row["bounce"]["failed"]) == ("hard", True)
    assert [r["recipients"][0]["status"] for r in row["bounce"]["reports"]] == ["4.4.1",
                                                                               "5.1.1"]
    entry = suppressed(relay_daemon, key)[gone]
    assert entry["reason"] == "hard_bounce" and entry["source"] == accepted["id"]

    # the next send to it, whether to, cc or bcc, is refused and nothing is queued
    with relay_daemon.client(key) as api:
        before = len(api.get("/v1/mail/outbox").json()["outbox"])
    for field in ("to", "cc", "bcc"):
        body = {"to": ["friend@example.org"]} if field != "to" else {}
        r = send(relay_daemon, key, **{**body, field: [gone.upper()]})
        assert r.status_code == 403, r.text
        error = r.json()["error"]
        assert error["code"] == "recipient_suppressed"
        assert gone in error["message"] and "hard_bounce" in error["message"]
    with relay_daemon.client(key) as api:
        assert len(api.get("/v1/mail/outbox").json()["outbox"]) == before

    # and by SMTP submission: refused at RCPT TO, naming the address and the reason
    creds = created["mail"]
    with smtplib.SMTP(creds["smtp_host"], creds["smtp_port"], timeout=10) as smtp:
        smtp.login(creds["username"], creds["password"])
        smtp.mail(created["agent"]["address"])
        code, text = smtp.rcpt(gone)
    assert code == 550 and gone.encode() in text and b"hard_bounce" in text


BOUNCES = sorted(name for name, expected in EXPECTED.items() if expected[0] == "bounce")


@pytest.mark.parametrize("fixture", BOUNCES)
def test_every_bounce_format_through_the_relay(relay_daemon: DaemonHandle, provider: Provider,
                                               fixture: str) -> None:
    """Postfix, Exim, Gmail, Outlook, Stalwart, Dovecot LMTP (and qmail, Dovecot's own
    rejection), hard and soft: the row, the event and the suppression list."""
    _, _, fixture_rcpt, kind, action, status, words, _ = EXPECTED[fixture]
    created = relay_daemon.create_agent(unique("fmt"))
    name, key = created["agent"]["name"], created["api_key"]
    rcpt = f"r-{uuid.uuid4().hex[:8]}@example.org"
    with EventStream(relay_daemon.api_url, key) as events:
        accepted = sent(relay_daemon, key, events, to=[rcpt])
        provider.deliver(bounce(fixture, name, accepted["message_id"], rcpt, fixture_rcpt))
        event = events.next("message.bounced", timeout=WAIT)["data"]
    failed = action == "failed"
    assert (event["id"], event["kind"], event["failed"]) == (accepted["id"], kind, failed)
    [failure] = event["recipients"]
    assert (failure["address"], failure["status"]) == (rcpt, status)
    assert words in failure["diagnostic"]
    assert event["suppressed"] == ([rcpt] if kind == "hard" else [])
    wait_until(lambda: outbox_row(relay_daemon, key, accepted["id"])["status"] == (
        "bounced" if failed else "sent"), timeout=WAIT)
    assert outbox_row(relay_daemon, key, accepted["id"])["bounce"]["kind"] == kind
    listed = suppressed(relay_daemon, key)
    if kind == "hard":
        assert listed[rcpt]["reason"] == "hard_bounce"
        assert send(relay_daemon, key, to=[rcpt]).status_code == 403
    else:  # soft: nothing suppressed, the address may be mailed again
        assert listed == {}
        assert send(relay_daemon, key, to=[rcpt]).status_code == 202


def test_a_complaint_suppresses_the_complainer(relay_daemon: DaemonHandle,
                                               provider: Provider) -> None:
    created = relay_daemon.create_agent(unique("fbl"))
    name, key = created["agent"]["name"], created["api_key"]
    annoyed = f"annoyed-{uuid.uuid4().hex[:8]}@example.org"
    with EventStream(relay_daemon.api_url, key) as events:
        accepted = sent(relay_daemon, key, events, to=[annoyed])
        provider.deliver(bounce("arf_complaint.eml", name, accepted["message_id"], annoyed,
                                "annoyed@hotmail.example"))
        event = events.next("message.bounced", timeout=WAIT)["data"]
    assert (event["kind"], event["failed"], event["suppressed"]) == ("complaint", False,
                                                                    [annoyed])
    assert suppressed(relay_daemon, key)[annoyed]["reason"] == "complaint"


def test_forged_bounces_are_read_as_mail_and_change_nothing(
        relay_daemon: DaemonHandle, provider: Provider) -> None:
    alice = relay_daemon.create_agent(unique("victim"))
    mallory = relay_daemon.create_agent(unique("forger"))
    name, key = alice["agent"]["name"], alice["api_key"]
    target = f"partner-{uuid.uuid4().hex[:8]}@example.net"
    with EventStream(relay_daemon.api_url, key) as events:
        # mallory is cc'd, so it knows the Message-ID and the other recipient
        accepted = sent(relay_daemon, key, events, to=[target],
                        cc=[mallory["agent"]["address"]])

        # 1. a DSN mallory submits over SMTP to alice (local delivery, stamped as internal)
        forged = bounce("postfix_hard.eml", name, accepted["message_id"], target,
                        "nobody@example.net")
        forged = re.sub(rb"(?m)^From: .*$", f"From: {mallory['agent']['address']}".encode(),
                        forged, count=1)
        forged = re.sub(rb"(?m)^To: owner\+.*$", f"To: {alice['agent']['address']}".encode(),
                        forged, count=1)
        forged = forged.replace(b"Return-Path: <>\n", b"")
        local_mid = re.search(rb"(?m)^Message-ID: (<[^>]+>)", forged)
        assert local_mid is not None
        creds = mallory["mail"]
        with smtplib.SMTP(creds["smtp_host"], creds["smtp_port"], timeout=10) as smtp:
            smtp.login(creds["username"], creds["password"])
            smtp.sendmail(mallory["agent"]["address"], [alice["agent"]["address"]],
                          forged.replace(b"\n", b"\r\n"))
        events.next(None, timeout=WAIT, where=arrival(local_mid.group(1).decode()))

        # 2. mallory's mail through the relay, landing in the owner's provider INBOX for
        # alice's sub-address (as Gmail files it): sealed, but from the daemon's own route
        relayed = bounce("postfix_hard.eml", name, accepted["message_id"], target,
                         "nobody@example.net")
        relayed = re.sub(rb"(?m)^From: .*$", f"From: owner+{mallory['agent']['name']}"
                         f"@example.com".encode(), relayed, count=1)
        relayed = relayed.replace(b"Return-Path: <>", f"Return-Path: <owner+"
                                  f"{mallory['agent']['name']}@example.com>".encode())
        relay_mid = re.search(rb"(?m)^Message-ID: (<[^>]+>)", relayed)
        assert relay_mid is not None
        provider.deliver(relayed)
        events.next(None, timeout=WAIT, where=arrival(relay_mid.group(1).decode()))

        # 3. a person pasting a bounce into ordinary mail, with our Message-ID in it
        text = (FIXTURES / "lookalike_person.eml").read_bytes().replace(
            b"<orig-0001@agenticmail.local>", accepted["message_id"].encode()).replace(
            FIXTURE_SENDER.encode(), f"owner+{name}@example.com".encode()).replace(
            b"nobody@example.net", target.encode())
        provider.deliver(text)
        events.next(None, timeout=WAIT, where=arrival("<chat-771@example.net>"))
        # the bounce step runs in the transaction that announces each message: by now all
        # three were decided
        assert not [e for e in events.drain() if e["type"] in ("message.bounced",
                                                               "suppression.added")]
    assert outbox_row(relay_daemon, key, accepted["id"])["bounce"] is None
    assert suppressed(relay_daemon, key) == {}


def test_bulk_mail_carries_one_click_unsubscribe_and_both_ways_are_honoured(
        relay_daemon: DaemonHandle, provider: Provider) -> None:
    created = relay_daemon.create_agent(unique("news"))
    name, key = created["agent"]["name"], created["api_key"]
    reader = f"reader-{uuid.uuid4().hex[:8]}@example.org"
    other = f"other-{uuid.uuid4().hex[:8]}@example.org"
    r = send(relay_daemon, key, to=[reader, other], bulk=True)
    assert r.status_code == 400 and r.json()["error"]["code"] == "bulk_needs_one_recipient"

    with EventStream(relay_daemon.api_url, key) as events:
        first = sent(relay_daemon, key, events, to=[reader], subject="news", bulk=True)
        second = sent(relay_daemon, key, events, to=[other], subject="news", bulk=True)
        headers = {}
        for accepted in (first, second):
            [out] = provider.sink.with_id(accepted["message_id"])
            assert out.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
            headers[accepted["id"]] = str(out.message["List-Unsubscribe"])
        url, mailto = re.findall(r"<([^>]+)>", headers[first["id"]])
        assert url.startswith(f"{relay_daemon.api_url}/v1/unsubscribe/")
        assert mailto.startswith(f"mailto:owner+{name}@example.com?subject=unsubscribe")

        # a forged or altered token is refused, without a key as with one
        token = url.rsplit("/", 1)[1]
        body, mac = token.split(".")
        for bad in (f"{body}.{'0' * len(mac)}", f"{body[:-2]}xx.{mac}", "x", "a.b"):
            answer = httpx.post(f"{relay_daemon.api_url}/v1/unsubscribe/{bad}",
                                content="List-Unsubscribe=One-Click")
            assert answer.status_code == 400, answer.text
            assert answer.json()["error"]["code"] == "invalid_unsubscribe_token"
        assert suppressed(relay_daemon, key) == {}

        # opened in a browser: a page whose button makes the POST; the GET changes nothing
        page = httpx.get(url)
        assert page.status_code == 200 and 'method="post"' in page.text
        assert httpx.get(url.replace(mac, "0" * len(mac))).status_code == 400
        assert suppressed(relay_daemon, key) == {}

        # the one-click POST a mail provider makes: no key, the RFC 8058 body
        answer = httpx.post(url, content="List-Unsubscribe=One-Click",
                            headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert answer.status_code == 200, answer.text
        events.next("suppression.added", timeout=WAIT,
                    where=lambda e: e["data"]["address"] == reader)
        assert suppressed(relay_daemon, key)[reader]["reason"] == "unsubscribe"

        # the mailto: the reader's mail comes back through the relay to the agent
        _, other_mailto = re.findall(r"<([^>]+)>", headers[second["id"]])
        target = urlsplit(other_mailto)
        subject = unquote(target.query.removeprefix("subject="))
        request, _ = mail(subject, from_=f"Other <{other}>", to=target.path)
        provider.deliver(request)
        events.next("suppression.added", timeout=WAIT,
                    where=lambda e: e["data"]["address"] == other)
    assert suppressed(relay_daemon, key)[other]["detail"] == "email"
    r = send(relay_daemon, key, to=[other])
    assert r.status_code == 403 and r.json()["error"]["code"] == "recipient_suppressed"


def test_suppressions_api_and_cli(relay_daemon: DaemonHandle) -> None:
    alice = relay_daemon.create_agent(unique("sup"))
    bob = relay_daemon.create_agent(unique("sup"))
    name, key = alice["agent"]["name"], alice["api_key"]
    runner = CliRunner()

    def cli(*args: str) -> Any:
        result = runner.invoke(cli_app, ["--home", str(relay_daemon.home), *args],
                               env={"COLUMNS": "200"})
        return result

    added = cli("suppressions", "add", "Someone@Example.org", "--agent", name,
                "--detail", "asked by phone", "--json")
    assert added.exit_code == 0, added.output
    assert '"added": true' in added.stdout
    listed = cli("suppressions", "list", "--agent", name)
    assert listed.exit_code == 0 and "someone@example.org" in listed.stdout
    assert "asked by phone" in listed.stdout
    # the agent sees its own list; another agent's key sees nothing of it
    assert list(suppressed(relay_daemon, key)) == ["someone@example.org"]
    assert suppressed(relay_daemon, bob["api_key"]) == {}
    with relay_daemon.client(bob["api_key"]) as api:
        r = api.get("/v1/suppressions", params={"agent": name})
        assert r.status_code == 403, r.text
        r = api.post("/v1/suppressions", json={"address": "x@example.org"})
        assert r.status_code == 201 and r.json()["suppression"]["agent"] == bob["agent"]["name"]
        r = api.post("/v1/suppressions", json={"address": "not an address"})
        assert r.status_code == 400, r.text
    r = send(relay_daemon, key, to=["someone@example.org"])
    assert r.status_code == 403 and "someone@example.org" in r.json()["error"]["message"]

    # send --bulk: one recipient, or a one-line error with the stable code
    bulk = cli("send", "--agent", name, "--to", "list@example.org", "-s", "news", "--text",
               "hi", "--bulk", "--json")
    assert bulk.exit_code == 0 and '"queued"' in bulk.stdout, bulk.output
    two = cli("send", "--agent", name, "--to", "a@example.org", "--to", "b@example.org",
              "-s", "news", "--text", "hi", "--bulk", "--json")
    assert two.exit_code != 0 and "bulk_needs_one_recipient" in two.stdout, two.output

    removed = cli("suppressions", "remove", "someone@example.org", "--agent", name, "--json")
    assert removed.exit_code == 0, removed.output
    again = cli("suppressions", "remove", "someone@example.org", "--agent", name)
    assert again.exit_code != 0 and "not on the suppression list" in again.output
    assert send(relay_daemon, key, to=["someone@example.org"]).status_code == 202
