"""Mail that reaches an INBOX without the daemon (a mail client's APPEND) is announced at once:
the local Dovecot pushes each new INBOX message to the daemon, which wakes the watcher."""

from __future__ import annotations

import shutil
import subprocess
from email.message import EmailMessage

import httpx
import pytest
from imapclient import IMAPClient

from agenticmail.services.arrivals import PUSH_PATH
from agenticmail_testing.daemon import DaemonHandle, wait_until
from agenticmail_testing.sse import EventStream


def _wakes(daemon: DaemonHandle, name: str) -> int:
    with daemon.client() as owner:
        return int(owner.get("/v1/health").json()["watchers"][name]["wakes"])


def test_a_mail_clients_append_wakes_the_watcher(daemon: DaemonHandle,
                                                 agent_pair: tuple[dict, dict]) -> None:
    """Dovecot's own IDLE notification comes 500 ms late (compiled in); its push notification
    wakes the watcher as soon as the APPEND is saved, and the watcher counts the wake."""
    assert daemon.daemon is not None
    if not getattr(daemon.daemon.ctx.host, "push_enabled", False):
        pytest.skip("this Dovecot has no push_notification Lua driver")
    _, bob = agent_pair
    name, creds = bob["agent"]["name"], bob["mail"]
    before = _wakes(daemon, name)
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "x@example.org", creds["username"], "appended"
    msg.set_content("filed by a mail client")
    with EventStream(daemon.api_url, bob["api_key"]) as stream:
        client = IMAPClient("127.0.0.1", port=creds["imap_port"], ssl=False, timeout=10)
        try:
            client.login(creds["username"], creds["password"])
            client.append("INBOX", msg.as_bytes())
        finally:
            client.logout()
        stream.next("message.new", 10,
                    where=lambda e: e["data"]["message"]["subject"] == "appended")
    wait_until(lambda: _wakes(daemon, name) > before, what="the push to wake bob's watcher")


@pytest.mark.parametrize("auth", [None, "Bearer not-the-secret", "Basic eDp5"])
def test_the_push_path_takes_only_the_hosts_secret(daemon: DaemonHandle,
                                                   agent_pair: tuple[dict, dict],
                                                   auth: str | None) -> None:
    alice, bob = agent_pair
    headers = {"X-Mailbox-User": bob["agent"]["address"]}
    if auth:
        headers["Authorization"] = auth
    before = _wakes(daemon, bob["agent"]["name"])
    r = httpx.post(f"{daemon.api_url}{PUSH_PATH}", headers=headers)
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
    # an agent's own key is not the host's secret either
    r = httpx.post(f"{daemon.api_url}{PUSH_PATH}",
                   headers={**headers, "Authorization": f"Bearer {alice['api_key']}"})
    assert r.status_code == 401
    assert _wakes(daemon, bob["agent"]["name"]) == before


def test_only_lmtp_and_mail_clients_sessions_load_the_push_plugins(
        daemon: DaemonHandle) -> None:
    """The watchers' sessions come over the daemon's unix socket: no ``local`` block matches
    them, so a thousand of them carry no Lua state; mail clients (TCP) and LMTP do."""
    assert daemon.daemon is not None
    host = daemon.daemon.ctx.host
    doveconf = shutil.which("doveconf")
    if not getattr(host, "push_enabled", False) or doveconf is None:
        pytest.skip("this Dovecot has no push_notification Lua driver")

    def plugins(*filters: str) -> set[str]:
        args = [a for f in filters for a in ("-f", f)]
        conf = str(host.config_path)  # type: ignore[attr-defined]
        out = subprocess.run([doveconf, "-c", conf, *args, "-h", "mail_plugins"],
                             capture_output=True, text=True, check=True)
        return set(out.stdout.split())

    push = {"notify", "push_notification", "mail_lua", "push_notification_lua"}
    assert push <= plugins("protocol=lmtp")
    assert push <= plugins("protocol=imap", "local=127.0.0.1")
    assert not push & plugins("protocol=imap")
