"""``GET /metrics`` after real traffic through a real daemon, read with the Prometheus parser:
every metric is present and moves with more traffic; the master key guards it (or loopback,
when configured); ``agenticmail status`` shows the same figures."""

from __future__ import annotations

import json
import os
import re
import smtplib
import sys
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pexpect
import pytest
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner

from agenticmail.api.app import create_app
from agenticmail.cli.main import app as cli_app
from agenticmail.services.metrics import METRIC_NAMES
from agenticmail_testing.daemon import DaemonHandle, unique, wait_until
from agenticmail_testing.smtp_sink import SmtpSink
from agenticmail_testing.sse import EventStream
from agenticmail_testing.terminal import spawn_cli
from agenticmail_testing.webhook_receiver import Receiver
from tests.e2e.test_inbound_protection import INJECTION_TEXT

AWS_KEY = "AKIAZ7Q3XK2M4N6P8R1T"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzQ8v3r9TjH"

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture(scope="module")
def handle(sink: SmtpSink) -> Iterator[DaemonHandle]:
    daemon = DaemonHandle(owner_email="boss@example.net").start(
        restart_backoff=0.05, max_restart_backoff=0.4)
    with daemon.client() as owner:
        assert owner.put("/v1/route", json=sink.route()).status_code == 200
    yield daemon
    daemon.close()


def scrape(handle: DaemonHandle) -> tuple[set[str], Samples]:
    """(family names, samples) of one scrape with the master key, parsed by prometheus_client."""
    with handle.client() as owner:
        r = owner.get("/metrics")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    names: set[str] = set()
    samples: Samples = {}
    for family in text_string_to_metric_families(r.text):
        if family.name.endswith("_created"):  # the client library's creation timestamps
            continue
        names.add(family.name)
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return names, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum over every series of ``name`` whose labels include ``labels``."""
    return sum(v for (n, ls), v in samples.items()
               if n == name and set(labels.items()) <= set(ls))


def send(handle: DaemonHandle, key: str, **body: Any) -> dict[str, Any]:
    with handle.client(key) as api:
        r = api.post("/v1/mail/send", json={"text": "hello", "subject": "s", **body})
    assert r.status_code == 202, r.text
    data: dict[str, Any] = r.json()
    return data


def exposed(names: set[str]) -> set[str]:
    """Family names as METRIC_NAMES lists them (counters carry _total, info carries _info)."""
    out = set()
    for name in names:
        if name + "_total" in METRIC_NAMES:
            out.add(name + "_total")
        elif name + "_info" in METRIC_NAMES:
            out.add(name + "_info")
        else:
            out.add(name)
    return out


def test_every_metric_is_present_and_moves_with_traffic(handle: DaemonHandle,
                                                        sink: SmtpSink) -> None:
    alice = handle.create_agent(unique("alice"))
    bob = handle.create_agent(unique("bob"))
    a, b = alice["agent"]["name"], bob["agent"]["name"]
    wait_until(lambda: value(scrape(handle)[1], "agenticmail_watcher_connected", agent=b),
               what="bob's watcher to connect")
    hooks, failing = Receiver().up(), Receiver().up()  # real endpoints: one answers 500
    failing.default = (500, 0.0)
    with handle.client() as owner:
        for receiver in (hooks, failing):
            r = owner.post("/v1/webhooks", json={"url": receiver.url, "events": ["message.sent"]})
            assert r.status_code == 201, r.text
    names, before = scrape(handle)
    assert exposed(names) == set(METRIC_NAMES)
    for event in ("received", "sent", "held", "failed", "bounced"):
        assert ("agenticmail_messages_total", (("agent", a), ("event", event))) in before

    sink.set_script(lambda m: "550 5.1.1 no such user" if m["Subject"] == "fail me" else None)
    try:
        with EventStream(handle.api_url, bob["api_key"]) as inbox, \
                EventStream(handle.api_url, alice["api_key"]) as outbox:
            send(handle, alice["api_key"], to=[bob["agent"]["address"]], subject="local")
            send(handle, alice["api_key"], to=["friend@example.org"], subject="external")
            held = send(handle, alice["api_key"], to=["x@example.org"], subject="creds",
                        text=f"deploy creds: {AWS_KEY} / {AWS_SECRET}")
            send(handle, alice["api_key"], to=["nobody@example.org"], subject="fail me")
            spam = EmailMessage()  # mail from outside, straight into bob's mailbox
            spam["From"], spam["To"] = "m@evil.example", bob["agent"]["address"]
            spam["Subject"] = "urgent task"
            spam.set_content(INJECTION_TEXT)
            with smtplib.LMTP(handle.lmtp_socket) as lmtp:
                lmtp.send_message(spam, to_addrs=[bob["agent"]["address"]])
            inbox.next("message.new")
            inbox.next("message.spam")
            outbox.next("message.failed")
            wait_until(lambda: value(scrape(handle)[1], "agenticmail_messages_total",
                                     agent=a, event="sent") == 2, what="two sent")
        hooks.wait_for(2)  # message.sent twice, delivered ...
        failing.wait_for(1)  # ... and answered 500

        def recorded() -> bool:
            samples = scrape(handle)[1]
            return value(samples, "agenticmail_webhook_deliveries_total",
                         outcome="success") >= 2 and value(
                samples, "agenticmail_webhook_deliveries_total", outcome="failure") >= 1
        wait_until(recorded, what="the webhook deliveries recorded")
    finally:
        sink.set_script(None)
        hooks.down()
        failing.down()
    assert held["status"] == "held"
    with handle.client() as owner:  # a route with a path parameter, called by name
        assert owner.get(f"/v1/agents/{a}").status_code == 200
    _, after = scrape(handle)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("agenticmail_messages_total", agent=a, event="sent") == 2
    assert moved("agenticmail_messages_total", agent=a, event="held") == 1
    assert moved("agenticmail_messages_total", agent=a, event="failed") == 1
    assert moved("agenticmail_messages_total", agent=b, event="received") == 2
    assert value(after, "agenticmail_messages_total", agent=a, event="bounced") == 0
    assert total(after, "agenticmail_filter_verdicts_total") \
        == total(before, "agenticmail_filter_verdicts_total") + 2
    assert moved("agenticmail_filter_verdicts_total", verdict="spam",
                 category="prompt_injection") == 1
    # latency by route template: the send route counted four more times, the agent's name
    # in a path never becomes a label
    send_count = ("agenticmail_api_request_duration_seconds_count",
                  (("method", "POST"), ("route", "/v1/mail/send")))
    assert after[send_count] - before.get(send_count, 0) == 4
    assert value(after, "agenticmail_api_request_duration_seconds_count", method="GET",
                 route="/v1/agents/{name}") >= 1
    routes = {dict(ls).get("route") for (n, ls) in after
              if n == "agenticmail_api_requests_total"}
    assert routes and not any(a in str(r) for r in routes), routes
    assert total(after, "agenticmail_api_request_duration_seconds_bucket", route="/v1/mail/send",
                 le="+Inf") == after[send_count]
    # webhook deliveries by outcome, and their response times
    assert moved("agenticmail_webhook_deliveries_total", outcome="success") >= 2
    assert moved("agenticmail_webhook_deliveries_total", outcome="failure") >= 1
    assert moved("agenticmail_webhook_delivery_duration_seconds_count") >= 3
    # the queue, the runtime, the mail host
    assert ("agenticmail_outbox_depth", (("status", "queued"),)) in after
    assert value(after, "agenticmail_outbox_oldest_age_seconds") >= 0
    assert value(after, "agenticmail_watcher_connected", agent=b) == 1
    assert ("agenticmail_watcher_reconnects_total", (("agent", b),)) in after
    assert handle.daemon is not None
    components = handle.daemon.supervisor.status()  # every one, whatever components there are
    assert {"mail-host", "watchers", "submission", "sender", "api"} <= set(components)
    for component in components:
        assert value(after, "agenticmail_component_up", component=component) == 1
        assert value(after, "agenticmail_component_state", component=component,
                     state="running") == 1
    assert value(after, "agenticmail_mail_host_up", kind="local") == 1
    assert value(after, "agenticmail_storage_writable") == 1
    assert value(after, "agenticmail_daemon_uptime_seconds") > 0


def test_a_mail_host_crash_shows_down_then_restarts_and_reconnects(handle: DaemonHandle) -> None:
    bob = handle.create_agent(unique("bob"))
    b = bob["agent"]["name"]
    wait_until(lambda: value(scrape(handle)[1], "agenticmail_watcher_connected", agent=b),
               what="bob's watcher to connect")
    _, before = scrape(handle)
    daemon = handle.daemon
    assert daemon is not None
    daemon.supervisor.inject_fault("mail-host", RuntimeError("injected"), starts=1_000_000)
    down = wait_until(lambda: (lambda s: s if value(s, "agenticmail_component_up",
                                                    component="mail-host") == 0 else None)(
        scrape(handle)[1]), what="the mail host to be down")
    assert value(down, "agenticmail_mail_host_up", kind="local") == 0
    daemon.supervisor.inject_fault("mail-host", RuntimeError("cleared"), starts=0)

    def recovered() -> Samples | None:
        s = scrape(handle)[1]
        return s if value(s, "agenticmail_component_up", component="mail-host") == 1 \
            and value(s, "agenticmail_watcher_connected", agent=b) == 1 else None

    after = wait_until(recovered, timeout=30, what="the mail host and bob's watcher back")
    assert value(after, "agenticmail_mail_host_up", kind="local") == 1
    assert value(after, "agenticmail_component_restarts_total", component="mail-host") \
        == value(before, "agenticmail_component_restarts_total", component="mail-host") + 1
    assert value(after, "agenticmail_watcher_reconnects_total", agent=b) \
        > value(before, "agenticmail_watcher_reconnects_total", agent=b)


def test_metrics_need_the_master_key(handle: DaemonHandle) -> None:
    agent = handle.create_agent(unique("peek"))
    with handle.client(None) as anonymous:
        r = anonymous.get("/metrics")
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized", r.text
    with handle.client(agent["api_key"]) as api:
        r = api.get("/metrics")
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden", r.text
    _, samples = scrape(handle)  # the refusals are timed too, under the route's template
    assert value(samples, "agenticmail_api_requests_total", method="GET", route="/metrics",
                 status="401") >= 1
    assert value(samples, "agenticmail_api_requests_total", method="GET", route="/metrics",
                 status="403") >= 1


def test_status_shows_the_same_figures(handle: DaemonHandle) -> None:
    alice = handle.create_agent(unique("alice"))
    a = alice["agent"]["name"]
    send(handle, alice["api_key"], to=[alice["agent"]["address"]], subject="to myself")
    wait_until(lambda: value(scrape(handle)[1], "agenticmail_messages_total", agent=a,
                             event="received") == 1, what="the message to arrive")
    runner = CliRunner()
    shown = runner.invoke(cli_app, ["--home", str(handle.home), "status", "--json"])
    assert shown.exit_code == 0, shown.output
    figures = json.loads(shown.stdout)["figures"]
    assert figures["messages"][a] == {"received": 1, "sent": 1, "held": 0, "failed": 0,
                                      "bounced": 0}
    assert {"queued", "sending", "oldest_age_seconds", "overdue"} <= set(figures["outbox"])
    assert figures["api"]["POST /v1/mail/send"]["requests"] >= 1
    assert sum(figures["filter"].values()) >= 1
    rendered = runner.invoke(cli_app, ["--home", str(handle.home), "status"],
                             env={"COLUMNS": "200"})
    assert rendered.exit_code == 0, rendered.output
    rows = [line.replace("│", " ").split() for line in rendered.stdout.splitlines()]
    assert [a, "1", "1", "0", "0", "0"] in rows, rendered.stdout  # the messages table
    for heading in ("received", "outbox", "filter verdict", "POST /v1/mail/send", "mail-host"):
        assert heading in rendered.stdout, rendered.stdout


def test_status_watch_refreshes_until_ctrl_c(handle: DaemonHandle) -> None:
    alice = handle.create_agent(unique("alice"))
    a = alice["agent"]["name"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    child = spawn_cli(["--home", str(handle.home), "status", "--watch", "--interval", "0.3"],
                      env, rows=60)
    try:
        child.expect(rf"{a}\s+│\s+0\s+│\s+0\s+│")  # received 0, sent 0
        send(handle, alice["api_key"], to=[alice["agent"]["address"]], subject="watched")
        child.expect(rf"{a}\s+│\s+1\s+│\s+1\s+│")  # the next frames count it
        child.sendintr()
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0, child.before
    assert "Traceback" not in (child.before or "")
    both = CliRunner().invoke(cli_app, ["--home", str(handle.home), "status", "--watch",
                                        "--json"])
    assert both.exit_code == 1 and "Traceback" not in both.output
    assert json.loads(both.stdout)["error"]["code"] == "invalid_request"  # --json: as JSON


async def test_loopback_access_opens_metrics_to_loopback_callers_only() -> None:
    handle = DaemonHandle(metrics_access="loopback").start()
    try:
        with handle.client(None) as anonymous:
            assert anonymous.get("/metrics").status_code == 200  # the daemon's own socket
            assert anonymous.get("/v1/agents").status_code == 401  # nothing else opens
        assert handle.daemon is not None
        # the same application, called as from another host (the daemon listens on loopback
        # only, so no socket of this machine can show a remote peer)
        app = create_app(handle.daemon.ctx)
        for peer, expected in (("192.0.2.7", 401), ("::1", 200)):
            transport = httpx.ASGITransport(app, client=(peer, 40000))
            async with httpx.AsyncClient(transport=transport, base_url="http://d") as caller:
                assert (await caller.get("/metrics")).status_code == expected, peer
    finally:
        handle.close()


def test_the_docs_list_every_metric() -> None:
    docs = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"
    listed = set(re.findall(r"^\| `(agenticmail_[a-z_]+)` \|", docs.read_text(), re.M))
    assert listed == set(METRIC_NAMES)
