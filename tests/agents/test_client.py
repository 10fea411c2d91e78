"""The public Python client against a real daemon: sync and async, typed results, the API's
error codes as the exception tree, wait_for_message, and events() resuming after a restart."""

from __future__ import annotations

import base64
import inspect
import smtplib
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import httpx
import pytest

from agenticmail import AsyncClient, Client, errors
from agenticmail.client import models as m
from agenticmail.client._base import ERROR_CLASSES, error_from_response
from agenticmail_testing.daemon import DaemonHandle, unique
from agenticmail_testing.dovecot import dovecot_available
from agenticmail_testing.ports import free_port
from agenticmail_testing.relay_provider import Provider
from agenticmail_testing.sse import EventStream
from tests.e2e.test_inbound_protection import INJECTION_TEXT
from tests.relay.helpers import OWNER, send_held


@pytest.mark.parametrize("code", sorted(ERROR_CLASSES))
def test_every_error_code_maps_to_its_class(code: str) -> None:
    cls = ERROR_CLASSES[code]
    response = httpx.Response(418, json={"error": {"code": code, "message": "boom",
                                                   "hint": "try again"}},
                              headers={"Retry-After": "7"})
    exc = error_from_response(response)
    assert type(exc) is cls and exc.code == code
    assert exc.message == "boom" and exc.hint == "try again"
    if isinstance(exc, errors.RateLimited):
        assert exc.retry_after == 7


def test_unknown_codes_and_garbage() -> None:
    exc = error_from_response(httpx.Response(400, json={"error": {"code": "url_refused",
                                                                  "message": "no"}}))
    assert isinstance(exc, errors.InvalidRequest) and exc.code == "url_refused"
    exc = error_from_response(httpx.Response(502, text="<html>proxy</html>"))
    assert type(exc) is errors.AgenticMailError and "502" in exc.message


def test_sync_client_typed_and_real_errors(daemon: DaemonHandle,
                                           agent_pair: tuple[dict, dict],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    alice, bob = agent_pair
    monkeypatch.setenv("AGENTICMAIL_API_KEY", alice["api_key"])
    monkeypatch.setenv("AGENTICMAIL_URL", daemon.api_url)
    with Client() as a, Client(api_key=bob["api_key"], base_url=daemon.api_url) as b:
        me = a.whoami()
        assert isinstance(me, m.Agent) and me.name == alice["agent"]["name"]
        sent = a.send(bob["agent"]["address"], "typed hello", "hi bob",
                      attachments=[{"filename": "a.txt",
                                    "content_base64": base64.b64encode(b"abc").decode()}],
                      idempotency_key="k1")
        assert isinstance(sent, m.Accepted) and sent.status == "queued"
        assert a.send(bob["agent"]["address"], "typed hello", "hi bob",
                      idempotency_key="k1").duplicate
        got = b.wait_for_message(subject="typed hello", timeout=20, since=0)
        assert isinstance(got, m.WaitResult) and not got.timed_out and got.message
        assert got.message.subject == "typed hello" and got.uid is not None
        page = b.list_messages()
        assert (isinstance(page, m.MessagePage) and page.messages[0].from_.endswith(
            alice["agent"]["address"])) or alice["agent"]["address"] in page.messages[0].from_
        message = b.get_message(got.uid)
        assert isinstance(message, m.Message) and message.security is not None
        assert b.get_attachment(got.uid, 0) == b"abc"
        done = b.batch("read", [got.uid])
        assert isinstance(done, m.BatchResult) and done.count == 1
        assert [mm.uid for mm in b.iter_messages(page_size=1)] == [got.uid]
        threads = b.list_threads()
        assert isinstance(threads.threads[0], m.ThreadSummary)
        assert b.wait_for_message(subject="never", timeout=0.3).timed_out

        with pytest.raises(errors.NotFound) as nf:
            b.get_message(99999)
        assert nf.value.code == "not_found"
        with pytest.raises(errors.PermissionDenied):
            b.list_keys(alice["agent"]["name"])  # owner only
        with pytest.raises(errors.InvalidRequest):
            b.wait_for_message(timeout=999)
        with pytest.raises(errors.PermissionDenied):  # an agent key may not read owner's disk
            b.send(alice["agent"]["address"], "x", "y", attachments=[{"path": "/etc/hostname"}])
    with Client(api_key="ak_" + "0" * 48, base_url=daemon.api_url) as bad, \
            pytest.raises(errors.AuthenticationFailed):
        bad.list_messages()
    with Client(api_key=daemon.master_key, base_url=daemon.api_url) as owner:
        owner.create_key(alice["agent"]["name"], "tool")
        with pytest.raises(errors.Conflict):
            owner.create_key(alice["agent"]["name"], "tool")
    with Client(api_key=bob["api_key"], base_url=f"http://127.0.0.1:{free_port()}") as down, \
            pytest.raises(errors.DaemonUnavailable):
        down.list_messages()


async def test_async_client(daemon: DaemonHandle, agent_pair: tuple[dict, dict]) -> None:
    alice, bob = agent_pair
    async with AsyncClient(api_key=alice["api_key"], base_url=daemon.api_url) as a, \
            AsyncClient(api_key=bob["api_key"], base_url=daemon.api_url) as b:
        sent = await a.send(bob["agent"]["address"], "async hello", "hi")
        assert isinstance(sent, m.Accepted)
        got = await b.wait_for_message(subject="async hello", timeout=20, since=0)
        assert got.message is not None and got.message.subject == "async hello"
        assert got.uid is not None
        done = await b.batch("unread", [got.uid])
        assert isinstance(done, m.BatchResult) and done.uids == [got.uid]
        reply = await b.reply(got.uid, "hello back")
        assert reply.status == "queued"
        back = await a.wait_for_message(thread=got.thread_id, timeout=20, since=0)
        assert back.message is not None and back.message.subject == "Re: async hello"
        thread = await a.get_thread(got.thread_id or "")
        assert isinstance(thread, m.Thread) and thread.message_count == 2
        assert [t.id async for t in a.iter_threads(page_size=1)] == [got.thread_id]
        with pytest.raises(errors.NotFound):
            await a.get_thread("tnothing")
        async for event in a.events(last_event_id="0"):
            assert isinstance(event, m.Event) and event.type
            break


def test_events_resume_across_a_daemon_restart() -> None:
    handle = DaemonHandle().start()
    try:
        alice, bob = handle.create_agent(unique("a")), handle.create_agent(unique("b"))
        with Client(api_key=alice["api_key"], base_url=handle.api_url) as a, \
                Client(api_key=bob["api_key"], base_url=handle.api_url) as b:
            stream = b.events(types=["message.new"], last_event_id="0", give_up_after=60)
            a.send(bob["agent"]["address"], "before 1", "x")
            a.send(bob["agent"]["address"], "before 2", "x")
            seen = [next(stream), next(stream)]
            handle.stop()
            handle.start()
            a.send(bob["agent"]["address"], "after 1", "x")
            a.send(bob["agent"]["address"], "after 2", "x")
            seen += [next(stream), next(stream)]
        subjects = [e.data["message"]["subject"] for e in seen]
        assert sorted(subjects) == ["after 1", "after 2", "before 1", "before 2"]
        assert len({e.id for e in seen}) == 4  # nothing twice
    finally:
        handle.close()


def test_generated_client_methods_are_fresh() -> None:
    """Client and AsyncClient methods come from one template (scripts/build/client.py)."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    run = subprocess.run([sys.executable, "-m", "scripts.build.client", "--check"],
                         capture_output=True, text=True, cwd=root)
    assert run.returncode == 0, run.stdout
    sync_methods = {n for n in dir(Client) if not n.startswith("_")}
    async_methods = {n for n in dir(AsyncClient) if not n.startswith("_")}
    assert sync_methods ^ async_methods == {"close", "aclose"}


def test_owner_methods(daemon: DaemonHandle, agent_pair: tuple[dict, dict]) -> None:
    alice, bob = agent_pair
    name = alice["agent"]["name"]
    with Client(api_key=daemon.master_key, base_url=daemon.api_url, agent=name) as owner:
        assert owner.whoami().name == name
        sent = owner.send(bob["agent"]["address"], "from the owner's client", "x")
        assert owner.get_outbox(sent.id).message_id == sent.message_id
        owner.create_key(name, "extra")
        rotated = owner.rotate_key(name)
        assert rotated.api_key.startswith("ak_")
        assert sorted(k.name for k in owner.list_keys(name)) == ["default", "extra"]  # kept
        assert owner.update_metadata(name, {"team": "ops"}).metadata["team"] == "ops"


@pytest.fixture(scope="module")
def owned() -> Iterator[tuple[DaemonHandle, Provider]]:
    """A daemon whose owner has a mail account (the stand-in relay provider) to relay by."""
    if not dovecot_available():
        pytest.skip("needs Dovecot")
    provider = Provider(OWNER).start()
    handle = DaemonHandle(owner_email=OWNER).start()
    yield handle, provider
    handle.close()
    provider.close()


async def _(answer: Any) -> Any:
    """The same scenario for Client and AsyncClient: await what the async client returns."""
    return await answer if inspect.isawaitable(answer) else answer


async def _owner_routes(owner: Client | AsyncClient, handle: DaemonHandle,
                        provider: Provider) -> None:
    """Every owner/admin method answers with its model (the API's response schema)."""
    kept = await _(owner.create_agent(unique("keep")))  # the last agent cannot be deleted
    assert isinstance(kept, m.CreatedAgent) and isinstance(kept.agent, m.Agent)
    assert kept.api_key.startswith("ak_") and kept.mail.password and kept.mail.imap_port
    agent = handle.create_agent(unique("own"))
    name = agent["agent"]["name"]

    health = await _(owner.health())
    assert isinstance(health, m.Health) and health.status == "ok"
    assert isinstance(health.mail_host, m.MailHostState) and health.mail_host.ok
    assert health.components and health.agents and health.agents >= 1
    assert isinstance(health.storage, m.StorageState) and health.storage.ok
    anonymous = httpx.get(f"{handle.api_url}/v1/health").json()
    assert set(anonymous) == {"status", "version"}  # nothing about agents or mail

    presets = await _(owner.relay_presets())
    assert isinstance(presets["gmail"], m.RelayPreset)
    assert presets["gmail"].smtp_host == "smtp.gmail.com"
    saved = await _(owner.set_relay(**provider.relay_account()))
    assert isinstance(saved, m.RelaySaved) and saved.address == OWNER
    assert isinstance(saved.imap, m.ImapEndpoint) and saved.imap.tls is True
    relay = await _(owner.get_relay())
    assert isinstance(relay, m.RelayStatus) and relay.configured
    assert isinstance(relay.account, m.RelayAccount) and relay.account.address == OWNER
    route = await _(owner.get_route())
    assert isinstance(route, m.Route) and route.has_password and route.address == OWNER

    keep, _mid = send_held(handle, agent["api_key"], "keep")
    drop, _mid = send_held(handle, agent["api_key"], "drop")
    held = await _(owner.list_held())
    assert all(isinstance(h, m.HeldMail) for h in held)
    assert {keep, drop} <= {h.id for h in held}
    assert all(h.request is None for h in held)
    raw = await _(owner.get("/v1/pending"))
    assert all("request" not in h for h in raw["pending"])  # a list shows no message body
    one = await _(owner.get_held(keep))
    assert isinstance(one, m.HeldMail) and one.findings and one.request is not None
    approved = await _(owner.approve_held(keep))
    assert isinstance(approved, m.HeldMail) and approved.status == "approved"
    rejected = await _(owner.reject_held(drop))
    assert isinstance(rejected, m.HeldMail) and rejected.status == "rejected"

    with EventStream(handle.api_url, agent["api_key"]) as events:
        spam = EmailMessage()
        spam["From"], spam["To"], spam["Subject"] = "m@evil.example", agent["agent"]["address"], \
            "urgent task"
        spam.set_content(INJECTION_TEXT)
        with smtplib.LMTP(handle.lmtp_socket) as lmtp:
            lmtp.send_message(spam, to_addrs=[agent["agent"]["address"]])
        events.next("message.spam")
    log = [e for e in await _(owner.spam_log()) if e.agent == name]
    assert len(log) == 1 and isinstance(log[0], m.SpamLogEntry) and log[0].score >= 40
    assert log[0].subject == "urgent task" and log[0].rules

    rotated = await _(owner.rotate_key(name))
    assert isinstance(rotated, m.RotatedKey) and rotated.api_key.startswith("ak_")
    assert isinstance(rotated.agent, m.Agent) and rotated.agent.name == name
    password = await _(owner.rotate_password(name))
    assert isinstance(password, m.RotatedPassword) and password.mail.password

    page = await _(owner.audit(limit=3))
    assert isinstance(page, m.AuditPage) and page.total >= 3 and len(page.entries) == 3
    assert isinstance(page.entries[0], m.AuditEntry)
    checked = await _(owner.verify_audit())
    assert isinstance(checked, m.AuditCheck) and checked.ok and checked.head is not None
    anchor = f"{checked.head.id}:{checked.head.hash}"
    assert (await _(owner.verify_audit([anchor]))).ok

    assert await _(owner.disable_relay()) is None
    assert not (await _(owner.get_relay())).configured
    route = await _(owner.set_route(host="127.0.0.1", port=provider.sink.port,
                                    address=OWNER, ca_file=provider.ca_file))
    assert isinstance(route, m.Route) and route.has_password is False
    assert await _(owner.clear_route()) is None
    assert await _(owner.get_route()) is None

    deleted = await _(owner.delete_agent(name))
    assert isinstance(deleted, m.DeletedAgent) and deleted.deleted == name
    assert isinstance(deleted.report, m.DeletionReport) and deleted.report.message_count >= 1
    with pytest.raises(errors.NotFound):
        await _(owner.get_agent(name))


async def test_owner_routes_typed_sync(owned: tuple[DaemonHandle, Provider]) -> None:
    handle, provider = owned
    with Client(api_key=handle.master_key, base_url=handle.api_url) as owner:
        await _owner_routes(owner, handle, provider)


async def test_owner_routes_typed_async(owned: tuple[DaemonHandle, Provider]) -> None:
    handle, provider = owned
    async with AsyncClient(api_key=handle.master_key, base_url=handle.api_url) as owner:
        await _owner_routes(owner, handle, provider)
        assert (await owner.get("/v1/agents"))["agents"]


async def test_async_events_resume_across_a_daemon_restart() -> None:
    import asyncio

    handle = DaemonHandle().start()
    try:
        alice, bob = handle.create_agent(unique("a")), handle.create_agent(unique("b"))
        async with AsyncClient(api_key=alice["api_key"], base_url=handle.api_url) as a, \
                AsyncClient(api_key=bob["api_key"], base_url=handle.api_url) as b:
            stream = b.events(types=["message.new"], last_event_id="0", give_up_after=60)
            await a.send(bob["agent"]["address"], "before", "x")
            seen = [await anext(stream)]
            await asyncio.to_thread(handle.stop)
            await asyncio.to_thread(handle.start)
            await a.send(bob["agent"]["address"], "after", "x")
            seen.append(await anext(stream))
            await stream.aclose()
        assert [e.data["message"]["subject"] for e in seen] == ["before", "after"]
        assert seen[0].id < seen[1].id
    finally:
        handle.close()
