"""OAuth2 for the relay, end to end: ``agenticmail relay setup --oauth`` run as the owner runs
it (a subprocess), signing in at a fake identity provider (Microsoft's device code, Google's
loopback redirect; the test plays the user), a real daemon logging in to a private Dovecot
with ``AUTHENTICATE XOAUTH2`` (its ``oauth2`` passdb asks the fake's introspection endpoint)
and to an SMTP server with ``AUTH XOAUTH2`` (checked against the same fake). Then: access
tokens renewed before they expire, and a revoked grant stopping the relay with a clear error
(status, doctor, an event) instead of a retry loop.
"""

from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from agenticmail_testing.daemon import DaemonHandle, unique, wait_until
from agenticmail_testing.dovecot import dovecot_available
from agenticmail_testing.oauth_provider import FakeOAuth
from agenticmail_testing.relay_provider import Provider
from agenticmail_testing.sse import EventStream
from tests.relay.helpers import OWNER, mail, new_for, relay_status

ROOT = Path(__file__).resolve().parents[2]
MARGIN = 2  # relay_oauth_refresh_margin_seconds: renew 2 s before expiry
SHORT_LIFETIME = 5  # the fake's token lifetime in the renewal tests: renewed every ~3 s


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    if not dovecot_available():
        pytest.skip("needs Dovecot")
    p = Provider(OWNER, oauth=True).start()
    yield p
    p.close()


@pytest.fixture(scope="module")
def daemon(provider: Provider) -> Iterator[DaemonHandle]:
    handle = DaemonHandle(owner_email=OWNER, relay_backoff_seconds=1,
                          relay_oauth_refresh_margin_seconds=MARGIN).start()
    yield handle
    handle.close()


def fake(provider: Provider) -> FakeOAuth:
    assert provider.oauth is not None
    return provider.oauth


class SetupRun:
    """``agenticmail relay setup --oauth ...`` in its own process; stderr read line by line."""

    def __init__(self, handle: DaemonHandle, provider: Provider, *args: str) -> None:
        cmd = [sys.executable, "-m", "agenticmail", "--home", str(handle.home), "relay",
               "setup", "--yes", "--json", "--oauth", "--address", OWNER,
               "--client-id", "test-client-id", "--smtp-host", "127.0.0.1",
               "--smtp-port", str(provider.sink.port), "--smtp-tls", "implicit",
               "--imap-host", "127.0.0.1", "--imap-port", str(provider.host.imap_port),
               "--ca-file", provider.ca_file, *args]
        env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
        self.proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        self.err: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.err.append(line)
            self.lines.put(line)

    def line(self, wanted: Callable[[str], bool], timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if wanted(line):
                return line
        raise AssertionError(f"setup never printed the line; stderr: {''.join(self.err)}")

    def finish(self) -> tuple[int, dict[str, Any] | None, str]:
        out, _ = self.proc.communicate(timeout=90)
        err = "".join(self.err)
        return self.proc.returncode, json.loads(out) if out.strip() else None, err


def sign_in_outlook(handle: DaemonHandle, provider: Provider) -> tuple[dict[str, Any], str]:
    """Device code: the owner reads the code the CLI prints and enters it at the provider."""
    run = SetupRun(handle, provider, "--provider", "outlook",
                   "--authority", fake(provider).authority)
    line = run.line(lambda text: "enter the code" in text)
    found = re.search(r"enter the code (\S+)", line)
    assert found is not None and fake(provider).approve(found[1]), line
    code, data, err = run.finish()
    assert code == 0 and data is not None, err
    return data, err


def sign_in_gmail(handle: DaemonHandle, provider: Provider) -> tuple[dict[str, Any], str]:
    """Loopback: the owner's browser opens the URL, consents, and is redirected back to the
    CLI's listener on 127.0.0.1."""
    base = fake(provider).base
    run = SetupRun(handle, provider, "--provider", "gmail",
                   "--client-secret", "test-client-secret", "--auth-url", f"{base}/authorize",
                   "--token-url", f"{base}/token", "--no-browser")
    url = run.line(lambda text: text.startswith("https://")).strip()
    assert "code_challenge_method=S256" in url and "redirect_uri=http%3A%2F%2F127.0.0.1" in url
    page = httpx.get(url, verify=provider.ssl_context(), follow_redirects=True, timeout=30)
    assert page.status_code == 200 and "close this window" in page.text, page.text
    code, data, err = run.finish()
    assert code == 0 and data is not None, err
    return data, err


def cli(handle: DaemonHandle, *args: str) -> tuple[int, str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    done = subprocess.run([sys.executable, "-m", "agenticmail", "--home", str(handle.home),
                           *args], env=env, capture_output=True, text=True, timeout=90)
    return done.returncode, done.stdout, done.stderr


def tokens_at_rest(handle: DaemonHandle, provider: Provider) -> list[str]:
    """Every token the fake ever issued that appears in clear in the daemon's database."""
    state = fake(provider).state
    issued = [*state.refresh, *state.access]
    files = [str(p) for p in handle.home.rglob("agenticmail.db*") if p.is_file()]
    # read by another process: closing a descriptor of the database in this one would drop
    # the in-process daemon's SQLite (POSIX) locks
    blob = subprocess.run(["cat", *files], capture_output=True, check=True).stdout
    return [t for t in issued if t.encode() in blob]


def mail_both_ways(daemon: DaemonHandle, provider: Provider) -> None:
    """An outside reply reaches the agent (IMAP XOAUTH2); the agent's mail leaves (SMTP
    XOAUTH2)."""
    created = daemon.create_agent(unique("oa"))
    name, key = created["agent"]["name"], created["api_key"]
    logins = len(provider.sink.handler.xoauth2_logins)
    with EventStream(daemon.api_url, key) as events:
        raw, mid = mail("hello agent", to=OWNER.replace("@", f"+{name}@"))
        provider.deliver(raw)
        events.next("message.new", where=new_for(mid))
        with daemon.client(key) as api:
            r = api.post("/v1/mail/send", json={"to": ["friend@example.org"],
                                                "subject": "out", "text": "hi"})
        assert r.status_code == 202, r.text
        sent = r.json()["message_id"]
        events.next("message.sent", where=lambda e: e["data"]["message_id"] == sent)
    assert len(provider.sink.with_id(sent)) == 1
    assert (OWNER, True) in provider.sink.handler.xoauth2_logins[logins:]


def test_outlook_device_code_setup_then_mail_flows_with_xoauth2(
        daemon: DaemonHandle, provider: Provider) -> None:
    fake(provider).set_lifetime(3600)
    saved, err = sign_in_outlook(daemon, provider)
    assert saved["relay"]["auth"] == "oauth2" and saved["relay"]["idle"] is True
    state = fake(provider).state
    printed = err + json.dumps(saved)
    assert not [t for t in [*state.refresh, *state.access] if t in printed]  # no token shown
    status = wait_until(lambda: (s := relay_status(daemon))["mode"] == "idle" and s,
                        timeout=15, what="the relay connected")
    assert status["oauth"]["provider"] == "microsoft"
    assert status["oauth"]["signin_required"] is None
    # the grant is stored encrypted: no token the provider issued is in the database in clear
    assert tokens_at_rest(daemon, provider) == []
    mail_both_ways(daemon, provider)
    # Dovecot checked the relay's bearer tokens at the introspection endpoint
    assert any(active for _, active in fake(provider).introspected)
    code, out, _ = cli(daemon, "relay", "status")
    assert code == 0 and "OAuth2 (microsoft" in out, out


def test_gmail_loopback_setup_then_mail_flows_with_xoauth2(
        daemon: DaemonHandle, provider: Provider) -> None:
    fake(provider).set_lifetime(3600)
    grants = len(fake(provider).grants)
    saved, _ = sign_in_gmail(daemon, provider)
    assert saved["relay"]["auth"] == "oauth2"
    # the code was exchanged with its PKCE verifier (the fake checks it), then refreshed once
    kinds = [g.grant_type for g in fake(provider).grants[grants:] if g.ok]
    assert kinds == ["authorization_code", "refresh_token"], kinds
    status = wait_until(lambda: (s := relay_status(daemon))["mode"] == "idle" and s,
                        timeout=15, what="the relay connected")
    assert status["oauth"]["provider"] == "google"
    assert tokens_at_rest(daemon, provider) == []
    mail_both_ways(daemon, provider)


def test_access_tokens_are_renewed_before_they_expire(
        daemon: DaemonHandle, provider: Provider) -> None:
    oauth = fake(provider)
    oauth.set_lifetime(SHORT_LIFETIME)
    sign_in_outlook(daemon, provider)
    seen = len(oauth.introspected)
    refreshed = oauth.refreshes(ok=True)
    # the relay renews its token (and reconnects) MARGIN s before expiry, by itself
    wait_until(lambda: oauth.refreshes(ok=True) >= refreshed + 2, timeout=30,
               what="two renewals")
    wait_until(lambda: relay_status(daemon)["mode"] == "idle", timeout=15,
               what="the relay connected")
    status = relay_status(daemon)
    assert status["failures"] == 0 and status["last_error"] is None, status
    # no login was ever tried with a token that had expired
    assert all(active for _, active in oauth.introspected[seen:]), oauth.introspected[seen:]
    mail_both_ways(daemon, provider)


def test_a_revoked_grant_stops_the_relay_with_a_clear_error_not_a_retry_loop(
        daemon: DaemonHandle, provider: Provider) -> None:
    oauth = fake(provider)
    oauth.set_lifetime(SHORT_LIFETIME)
    sign_in_outlook(daemon, provider)
    wait_until(lambda: relay_status(daemon)["mode"] == "idle", timeout=15,
               what="the relay connected")
    before = oauth.refreshes(ok=False)
    with EventStream(daemon.api_url, daemon.master_key) as events:
        oauth.revoke()  # the owner removes the app's access in their account settings
        event = events.next("relay.signin_required", timeout=30)
    assert event["data"]["address"] == OWNER
    assert "revoked" in event["data"]["reason"]
    status = relay_status(daemon)
    assert status["mode"] == "signin_required" and not status["connected"], status
    assert "relay setup --oauth" in status["last_error"], status
    assert status["oauth"]["signin_required"] and status["next_retry_at"] is None
    failed = oauth.refreshes(ok=False)
    assert failed == before + 1
    code, out, _ = cli(daemon, "relay", "status")
    assert code == 0 and "needs a new sign-in" in out, out
    code, out, _ = cli(daemon, "doctor", "--json")
    report = json.dumps(json.loads(out))
    assert "revoked or has expired" in report, out
    # an agent's outside mail waits (queued) rather than failing; nobody asked the provider
    # again: the lost grant is known without a round trip
    created = daemon.create_agent(unique("oa"))
    with daemon.client(created["api_key"]) as api:
        r = api.post("/v1/mail/send", json={"to": ["friend@example.org"], "subject": "later",
                                            "text": "waits for the sign-in"})
    assert r.status_code == 202, r.text
    outbox_id = r.json()["id"]

    def tried() -> dict[str, Any] | None:
        with daemon.client() as owner:
            row: dict[str, Any] = owner.get(f"/v1/mail/outbox/{outbox_id}").json()["outbox"]
        return row if row["attempts"] >= 1 and row["last_error"] else None

    row = wait_until(tried, timeout=15, what="the sender tried the message")
    assert row["status"] != "failed" and "sign-in" in row["last_error"], row
    assert oauth.refreshes(ok=False) == failed
    # signing in again brings the relay back
    oauth.set_lifetime(3600)
    sign_in_outlook(daemon, provider)
    wait_until(lambda: relay_status(daemon)["mode"] == "idle", timeout=15,
               what="the relay connected again")


def test_a_token_revoked_before_it_expires_is_found_at_the_next_login(
        daemon: DaemonHandle, provider: Provider) -> None:
    """A long-lived access token revoked with its grant: the connection is cut (the provider
    restarts), the next login is refused, and instead of retrying that token until it
    expires (an hour) the relay renews it, learns the grant is gone and stops."""
    oauth = fake(provider)
    oauth.set_lifetime(3600)
    sign_in_outlook(daemon, provider)
    wait_until(lambda: relay_status(daemon)["mode"] == "idle", timeout=15,
               what="the relay connected")
    failed = oauth.refreshes(ok=False)
    with EventStream(daemon.api_url, daemon.master_key) as events:
        oauth.revoke()
        provider.stop_imap()
        provider.start_imap()
        events.next("relay.signin_required", timeout=30)
    status = relay_status(daemon)
    assert status["mode"] == "signin_required" and "relay setup --oauth" in status["last_error"]
    assert oauth.refreshes(ok=False) == failed + 1
    oauth.set_lifetime(3600)
    sign_in_outlook(daemon, provider)
    wait_until(lambda: relay_status(daemon)["mode"] == "idle", timeout=15,
               what="the relay connected again")


def test_bad_oauth_input_is_refused_with_a_stable_code_and_nothing_saved(
        daemon: DaemonHandle, provider: Provider) -> None:
    oauth = fake(provider)
    base = {"provider": "outlook", "address": OWNER, "smtp_host": "127.0.0.1",
            "smtp_port": provider.sink.port, "smtp_tls": "implicit", "imap_host": "127.0.0.1",
            "imap_port": provider.host.imap_port, "ca_file": provider.ca_file}
    grant = {"client_id": "test-client-id", "refresh_token": "rt-never-issued",
             "authority": oauth.authority}
    with daemon.client() as owner:
        before = owner.get("/v1/relay").json()["relay"]
        cases = [
            ({**base, "provider": "other", "oauth": grant}, 400, "invalid_request"),
            ({**base, "oauth": {**grant, "authority": "http://127.0.0.1:1/t"}}, 400,
             "invalid_request"),
            (base, 400, "invalid_request"),  # neither a password nor a grant
            ({**base, "oauth": grant}, 502, "signin_required"),  # a grant the provider refuses
        ]
        for body, status, code in cases:
            r = owner.put("/v1/relay", json=body)
            assert r.status_code == status and r.json()["error"]["code"] == code, r.text
        assert "rt-never-issued" not in r.text
        after = owner.get("/v1/relay").json()["relay"]
    assert after.get("account") == before.get("account")
    code, _, err = cli(daemon, "relay", "setup", "--yes", "--oauth", "--provider", "other",
                       "--address", OWNER, "--client-id", "x")
    assert code != 0 and err.startswith("error: ") and "--oauth is for" in err, err
