"""The shipped Email Worker (agenticmail/templates/email_worker.js) run for real in workerd
(``wrangler dev``, the npm project in tests/worker, installed by ``setup/install.sh --dev``),
posting to a real daemon with domain mode set up. Raw messages go in through wrangler's local
email trigger (``POST /cdn-cgi/handler/email?from=…&to=…``); its answer shows a
``setReject``. The signing secret reaches the Worker as a secret binding (``.dev.vars`` in a
temporary directory), never through the script. One Worker process for the module."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from agenticmail.security.webhook_signing import new_secret, signed_headers
from agenticmail.services import domain_config
from agenticmail.services.domain_config import INBOUND_PATH
from agenticmail_testing.daemon import unique, wait_until
from agenticmail_testing.ports import free_port
from agenticmail_testing.sse import EventStream
from tests.domain.inbound_helpers import DOMAIN, InboundDaemon, envelope, message

ROOT = Path(__file__).resolve().parents[2]
WORKER = ROOT / "agenticmail" / "templates" / "email_worker.js"
WRANGLER = ROOT / "tests" / "worker" / "node_modules" / ".bin" / "wrangler"


class Worker:
    """``wrangler dev`` serving the Worker on a free loopback port."""

    def __init__(self, url: str, process: subprocess.Popen[bytes], log: Path) -> None:
        self.url, self.process, self.log = url, process, log

    def email(self, raw: bytes, to: str, sender: str = "friend@sender.example"
              ) -> httpx.Response:
        """Hand ``raw`` to the Worker's ``email()`` as Email Routing would."""
        return httpx.post(f"{self.url}/cdn-cgi/handler/email",
                          params={"from": sender, "to": to}, content=raw, timeout=60)


@pytest.fixture(scope="module")
def worker(inbound_daemon: InboundDaemon, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[Worker]:
    if shutil.which("node") is None:
        pytest.skip("needs Node.js (20 or newer) for workerd")
    assert WRANGLER.exists(), ("wrangler is not installed: run setup/install.sh --dev "
                               "(npm ci in tests/worker)")
    where = tmp_path_factory.mktemp("worker")
    port = free_port()
    (where / "wrangler.toml").write_text(
        f'name = "agenticmail-inbound"\nmain = "{WORKER}"\n'
        'compatibility_date = "2025-01-01"\n\n[vars]\n'
        f'INBOUND_URL = "{inbound_daemon.handle.api_url}{INBOUND_PATH}"\n')
    secrets = where / ".dev.vars"  # what `wrangler secret put` is in production
    secrets.touch(mode=0o600)
    secrets.write_text(f'INBOUND_SECRET="{inbound_daemon.secret}"\n')
    log = where / "wrangler.log"
    env = {**os.environ, "WRANGLER_SEND_METRICS": "false", "CI": "1",
           "XDG_CONFIG_HOME": str(where / "config"), "NO_COLOR": "1"}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(WRANGLER), "dev", "--config", str(where / "wrangler.toml"),
             "--ip", "127.0.0.1", "--port", str(port), "--show-interactive-dev-session=false"],
            cwd=where, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
    url = f"http://127.0.0.1:{port}"

    def answering() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"wrangler dev exited:\n{log.read_text()[-3000:]}")
        try:
            httpx.get(url, timeout=2)  # any answer: the Worker has no fetch(), so 500
            return True
        except httpx.HTTPError:
            return False

    try:
        wait_until(answering, timeout=90, interval=0.1, what="workerd (wrangler dev)")
        yield Worker(url, process, log)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


def subjects(inbound_daemon: InboundDaemon, key: str) -> list[str]:
    with inbound_daemon.handle.client(key) as api:
        r = api.get("/v1/mail/messages", params={"limit": 100})
    assert r.status_code == 200, r.text
    return sorted(m["subject"] for m in r.json()["messages"])


def test_the_worker_delivers_to_the_agent_its_address_names(
        worker: Worker, inbound_daemon: InboundDaemon) -> None:
    created = inbound_daemon.handle.create_agent(unique("wk"))
    name, key = created["agent"]["name"], created["api_key"]
    with EventStream(inbound_daemon.handle.api_url, key) as events:
        plain, plain_id = message("through the worker", f"{name}@{DOMAIN}")
        tagged, tagged_id = message("tagged through the worker", f"{name}+orders@{DOMAIN}")
        for raw, to in ((plain, f"{name}@{DOMAIN}"), (tagged, f"{name}+orders@{DOMAIN}")):
            r = worker.email(raw, to)
            assert r.status_code == 200, (r.text, worker.log.read_text()[-2000:])
        for mid in (plain_id, tagged_id):
            event = events.next("message.new", where=lambda e, m=mid:
                                e["data"]["message"]["message_id"] == m)
            assert event["data"]["agent"] == name
    assert subjects(inbound_daemon, key) == ["tagged through the worker", "through the worker"]


def test_the_worker_rejects_mail_for_an_unknown_recipient(
        worker: Worker, inbound_daemon: InboundDaemon) -> None:
    raw, _ = message("anyone there?", f"nobody-{uuid.uuid4().hex[:8]}@{DOMAIN}")
    to = f"nobody-{uuid.uuid4().hex[:8]}@{DOMAIN}"
    r = worker.email(raw, to)
    # the local trigger answers 400 with the reason the Worker gave message.setReject()
    assert r.status_code == 400, r.text
    assert r.text == f"Worker rejected email with the following reason: {to}: no such mailbox"


def test_forged_stale_and_replayed_posts_are_refused_and_deliver_nothing(
        worker: Worker, inbound_daemon: InboundDaemon) -> None:
    created = inbound_daemon.handle.create_agent(unique("fg"))
    name, key = created["agent"]["name"], created["api_key"]
    to = f"{name}@{DOMAIN}"

    def attempt(subject: str) -> bytes:
        return envelope(message(subject, to)[0], to)

    unsigned = inbound_daemon.send(attempt("unsigned"), {})
    body = attempt("wrong secret")
    wrong = inbound_daemon.send(body, signed_headers(
        "whsec_" + "A" * 43 + "=", "msg_wrong", time.time(), body))
    body = attempt("stale")
    stale = inbound_daemon.send(body, signed_headers(
        inbound_daemon.secret, "msg_stale", time.time() - 6 * 60, body))
    body = attempt("from the future")
    future = inbound_daemon.send(body, signed_headers(
        inbound_daemon.secret, "msg_future", time.time() + 6 * 60, body))
    for r, code in ((unsigned, "invalid_signature"), (wrong, "invalid_signature"),
                    (stale, "stale_timestamp"), (future, "stale_timestamp")):
        assert (r.status_code, r.json()["error"]["code"]) == (401, code), r.text

    with EventStream(inbound_daemon.handle.api_url, key) as events:
        raw, mid = message("genuine", to)
        r = worker.email(raw, to)  # the Worker's own post: accepted
        assert r.status_code == 200, r.text
        events.next("message.new", where=lambda e: e["data"]["message"]["message_id"] == mid)
    body = attempt("replayed")
    headers = signed_headers(inbound_daemon.secret, f"msg_{uuid.uuid4()}", time.time(), body)
    first = inbound_daemon.send(body, headers)
    assert first.status_code == 200, first.text
    replay = inbound_daemon.send(body, headers)
    assert (replay.status_code, replay.json()["error"]["code"]) == (409, "replayed_webhook")
    other = attempt("replayed id, other body")  # the id is spent, whatever it now signs
    again = inbound_daemon.send(other, signed_headers(inbound_daemon.secret,
                                                     headers["webhook-id"], time.time(), other))
    assert (again.status_code, again.json()["error"]["code"]) == (409, "replayed_webhook")
    assert subjects(inbound_daemon, key) == ["genuine", "replayed"]


def test_a_secret_out_of_step_makes_the_worker_retry_not_bounce(
        worker: Worker, inbound_daemon: InboundDaemon) -> None:
    created = inbound_daemon.handle.create_agent(unique("rt"))
    name, key = created["agent"]["name"], created["api_key"]
    assert inbound_daemon.handle.daemon is not None
    rotated = domain_config.encrypt(inbound_daemon.handle.daemon.ctx, new_secret())
    inbound_daemon.save(inbound_secret_enc=rotated)  # the Worker still signs with the old one
    try:
        raw, _ = message("signed with the old secret", f"{name}@{DOMAIN}")
        r = worker.email(raw, f"{name}@{DOMAIN}")
    finally:
        inbound_daemon.save()
    # the Worker threw (Email Routing answers the sender 4xx: try again later), no setReject
    assert r.status_code == 500 and "rejected" not in r.text, r.text
    assert subjects(inbound_daemon, key) == []
