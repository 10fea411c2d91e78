"""The public Python client against a real daemon: sync and async, typed results, the API's
error codes as the exception tree, wait_for_message, and events() resuming after a restart."""

from __future__ import annotations

import base64

import httpx
import pytest

from agenticmail import AsyncClient, Client, errors
from agenticmail.client import models as m
from agenticmail.client._base import ERROR_CLASSES, error_from_response
from agenticmail_testing.daemon import DaemonHandle, free_port, unique


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
        reply = await b.reply(got.uid, "hello back")
        assert reply.status == "queued"
        back = await a.wait_for_message(thread=got.thread_id, timeout=20, since=0)
        assert back.message is not None and back.message.subject == "Re: async hello"
        thread = await a.get_thread(got.thread_id or "")
        assert isinstance(thread, m.Thread) and thread.message_count == 2
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
    assert sync_methods - async_methods <= {"close", "frames", "iter_threads", "get", "post",
                                            "delete", "download", "health"}


def test_owner_methods(daemon: DaemonHandle, agent_pair: tuple[dict, dict]) -> None:
    alice, bob = agent_pair
    name = alice["agent"]["name"]
    with Client(api_key=daemon.master_key, base_url=daemon.api_url, agent=name) as owner:
        assert owner.whoami().name == name
        sent = owner.send(bob["agent"]["address"], "from the owner's client", "x")
        assert owner.get_outbox(sent.id).message_id == sent.message_id
        owner.create_key(name, "extra")
        rotated = owner.rotate_key(name)
        assert rotated["api_key"].startswith("ak_")
        assert sorted(k.name for k in owner.list_keys(name)) == ["default", "extra"]  # kept
        assert owner.verify_audit()["ok"] is True
        assert owner.audit(limit=5)["entries"]
        assert isinstance(owner.spam_log(), list)
        assert owner.update_metadata(name, {"team": "ops"}).metadata["team"] == "ops"
        assert isinstance(owner.get_route(), dict)


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
