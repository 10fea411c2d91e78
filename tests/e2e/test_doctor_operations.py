"""``agenticmail doctor`` checks the daemon at work, each with a fix hint: the route and relay
logins, SMTP submission (a real login), every watcher, stuck outbox rows and the audit chain.
A real daemon whose relay account is the stand-in provider; each fault is a real one (a
stopped IMAP server, a wrong password, a halted component, a tampered database)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from typer.testing import CliRunner

from agenticmail.cli.main import app
from agenticmail_testing.daemon import DaemonHandle, unique, wait_until
from agenticmail_testing.dovecot import dovecot_available
from agenticmail_testing.relay_provider import Provider
from tests.audit.test_audit import tamper

OWNER = "owner@example.com"


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    if not dovecot_available():
        pytest.skip("needs Dovecot")
    p = Provider(OWNER).start()
    yield p
    p.close()


@pytest.fixture(scope="module")
def handle(provider: Provider) -> Iterator[DaemonHandle]:
    daemon = DaemonHandle(owner_email=OWNER, relay_backoff_seconds=1).start(
        restart_backoff=0.05, max_restart_backoff=0.4)
    with daemon.client() as owner:
        r = owner.put("/v1/relay", json=provider.relay_account())
        assert r.status_code == 200, r.text
    yield daemon
    daemon.close()


def doctor(handle: DaemonHandle, **env: str) -> tuple[int, dict[str, dict[str, Any]]]:
    result = CliRunner().invoke(app, ["--home", str(handle.home), "doctor", "--json"],
                                env=env)
    assert "Traceback" not in result.output, result.output
    checks = json.loads(result.stdout)["checks"]
    return result.exit_code, {c["name"]: c for c in checks}


def on_loop(handle: DaemonHandle, coro: Any) -> None:
    assert handle.daemon is not None and handle.daemon.loop is not None
    asyncio.run_coroutine_threadsafe(coro, handle.daemon.loop).result(20)


def test_a_healthy_daemon_passes_every_new_check(handle: DaemonHandle) -> None:
    agent = handle.create_agent(unique("ok"))
    name, address = agent["agent"]["name"], agent["agent"]["address"]
    wait_until(lambda: doctor(handle)[1].get(f"watcher {name}", {}).get("ok"),
               what="the watcher to connect")
    code, checks = doctor(handle)
    port = handle.settings.submission_port
    assert checks["SMTP submission"] == {
        **checks["SMTP submission"], "ok": True, "detail": f"logged in to 127.0.0.1:{port} as "
                                                          f"{address}"}
    assert checks[f"watcher {name}"]["ok"]
    assert checks["outbound route"] == {**checks["outbound route"], "ok": True}
    assert checks["outbound route"]["detail"].endswith(f"as {OWNER}")
    assert checks["relay IMAP login"]["ok"], checks["relay IMAP login"]
    assert checks["outbox"]["ok"] and checks["audit chain"]["ok"]
    assert checks["audit chain"]["detail"].startswith("intact: ")
    assert code == 0, [c for c in checks.values() if not c["ok"]]


def test_relay_and_route_logins_that_fail_are_reported(handle: DaemonHandle,
                                                       provider: Provider) -> None:
    provider.stop_imap()
    try:
        code, checks = doctor(handle)
    finally:
        provider.start_imap()
    assert code == 1
    relay = checks["relay IMAP login"]
    assert not relay["ok"] and "cannot reach the IMAP server" in relay["detail"]
    assert relay["hint"]
    with handle.client() as owner:
        route = owner.get("/v1/route").json()["route"]
        wrong = {k: route[k] for k in ("host", "port", "tls", "address", "username")}
        assert owner.put("/v1/route", json={**wrong, "password": "wrong",
                                            "ca_file": provider.sink.ca_file}).status_code == 200
        try:
            checks = doctor(handle)[1]
        finally:
            assert owner.put("/v1/relay", json=provider.relay_account()).status_code == 200
    refused = checks["outbound route"]
    assert not refused["ok"] and "refused the login" in refused["detail"]
    assert refused["hint"] == "check the account's (app) password"
    assert doctor(handle)[1]["outbound route"]["ok"]


def test_a_halted_submission_server_and_sender_and_a_stuck_outbox(handle: DaemonHandle
                                                                  ) -> None:
    agent = handle.create_agent(unique("stuck"))
    daemon = handle.daemon
    assert daemon is not None
    on_loop(handle, daemon.supervisor.halt("submission"))
    on_loop(handle, daemon.supervisor.halt("sender"))
    try:
        with handle.client(agent["api_key"]) as api:
            sent = api.post("/v1/mail/send", json={"to": [agent["agent"]["address"]],
                                                   "subject": "stuck", "text": "x"})
        assert sent.status_code == 202, sent.text
        code, checks = doctor(handle, AGENTICMAIL_OUTBOX_STUCK_MINUTES="0")
    finally:
        on_loop(handle, daemon.supervisor.resume("submission"))
        on_loop(handle, daemon.supervisor.resume("sender"))
    assert code == 1
    submission = checks["SMTP submission"]
    assert not submission["ok"] and "cannot reach the SMTP server" in submission["detail"]
    assert "agenticmail start" in submission["hint"]
    outbox = checks["outbox"]
    assert not outbox["ok"] and outbox["detail"].startswith("1 queued send(s) more than 0 min")
    assert "agenticmail outbox list --status queued" in outbox["hint"]
    wait_until(lambda: doctor(handle, AGENTICMAIL_OUTBOX_STUCK_MINUTES="0")[1]["outbox"]["ok"],
               timeout=20, what="the sender to deliver it once resumed")
    assert doctor(handle)[1]["SMTP submission"]["ok"]


def test_a_watcher_that_lost_its_mail_host_fails_its_check(handle: DaemonHandle) -> None:
    agent = handle.create_agent(unique("w"))
    name = agent["agent"]["name"]
    daemon = handle.daemon
    assert daemon is not None
    wait_until(lambda: daemon.watchers.status().get(name, {}).get("connected"),
               what="the watcher to connect")
    daemon.supervisor.inject_fault("mail-host", RuntimeError("injected"), starts=1_000_000)
    try:
        wait_until(lambda: not daemon.watchers.status()[name]["connected"],
                   what="the watcher to lose its connection")
        check = doctor(handle)[1][f"watcher {name}"]
    finally:
        daemon.supervisor.inject_fault("mail-host", RuntimeError("cleared"), starts=0)
    assert not check["ok"] and check["detail"].startswith("not connected")
    assert "reconnects by itself" in check["hint"]
    wait_until(lambda: doctor(handle)[1][f"watcher {name}"]["ok"], timeout=30,
               what="the watcher back")


def test_a_tampered_audit_chain_fails_its_check(handle: DaemonHandle) -> None:
    handle.create_agent(unique("audited"))  # at least one audited change
    tamper(handle.settings, "UPDATE audit_log SET detail = '{}' WHERE id = 1")
    code, checks = doctor(handle)
    assert code == 1
    chain = checks["audit chain"]
    assert not chain["ok"] and chain["detail"].startswith("broken: row 1: edited")
    assert "agenticmail audit verify" in chain["hint"]
