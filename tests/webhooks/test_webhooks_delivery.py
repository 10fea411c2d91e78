"""The delivery rules of ``services/webhooks.py`` driven directly (no daemon): real POSTs to a
real receiver or a closed port, the outcome recorded as the dispatcher would."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from agenticmail.config import Settings
from agenticmail.errors import ConfigError, InvalidRequest
from agenticmail.models import Role
from agenticmail.providers.webhook_http import WebhookPoster
from agenticmail.services import audit, webhooks
from agenticmail.services.auth import Principal
from agenticmail.services.context import ServiceContext, build_context, transaction
from agenticmail.store import agents as agent_store
from agenticmail.store import events as event_log
from agenticmail_testing.daemon import wait_until
from agenticmail_testing.ports import free_port
from agenticmail_testing.webhook_receiver import Receiver

OWNER = Principal("master")


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[ServiceContext]:
    settings = Settings(home=tmp_path, webhook_retry_seconds="0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0",
                        webhook_timeout_seconds=2.0, webhook_disable_after_seconds=0.5)
    context = build_context(settings)
    yield context
    context.db.close()


def _agent(ctx: ServiceContext, name: str) -> Principal:
    with transaction(ctx) as tx:
        agent_store.insert_agent(tx.conn, name=name, address=f"{name}@localhost",
                                 role=Role.SECRETARY, display_name=name, metadata={},
                                 password_enc="x")
    return Principal("agent", agent_store.get_agent(ctx.db, name))


def _deliver_due(ctx: ServiceContext) -> list[str]:
    async def run() -> list[str]:
        poster = WebhookPoster()
        try:
            return [await webhooks.deliver(ctx, poster, message)
                    for message in webhooks.due(ctx, 10, set())]
        finally:
            await poster.aclose()
    return asyncio.run(run())


def test_an_endpoint_failing_for_too_long_is_disabled_with_an_event(
        ctx: ServiceContext) -> None:
    endpoint = webhooks.create(ctx, OWNER, f"http://127.0.0.1:{free_port()}/", []).endpoint
    webhooks.send_test(ctx, OWNER, endpoint.id)

    def disabled() -> bool:
        _deliver_due(ctx)  # one attempt each time: the port is closed, every attempt fails
        return not webhooks.get(ctx, OWNER, endpoint.id).enabled

    wait_until(disabled, 20, interval=0.1, what="the endpoint to be disabled")
    state = webhooks.get(ctx, OWNER, endpoint.id)
    assert state.disabled_reason is not None and "failed for" in state.disabled_reason
    [event] = [e for e in event_log.after(ctx.db, 0) if e.type == "webhook.disabled"]
    assert event.data["endpoint"] == endpoint.id
    assert _deliver_due(ctx) == []  # a disabled endpoint gets no more attempts
    attempts = webhooks.deliveries(ctx, OWNER, endpoint.id)
    assert attempts and all(a["outcome"] == "error" for a in attempts)


def test_a_success_clears_the_failing_clock(ctx: ServiceContext) -> None:
    with Receiver() as receiver:
        endpoint = webhooks.create(ctx, OWNER, receiver.url, []).endpoint
        receiver.answer(500)
        webhooks.send_test(ctx, OWNER, endpoint.id)
        assert _deliver_due(ctx) == ["failure"]
        assert webhooks.get(ctx, OWNER, endpoint.id).failing_since is not None
        assert _deliver_due(ctx) == ["success"]
        assert webhooks.get(ctx, OWNER, endpoint.id).failing_since is None


def test_a_message_is_given_up_after_the_last_retry(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, webhook_retry_seconds="0,0")
    context = build_context(settings)
    try:
        with Receiver() as receiver:
            endpoint = webhooks.create(context, OWNER, receiver.url, []).endpoint
            receiver.answer(503, 503, 503)
            webhooks.send_test(context, OWNER, endpoint.id)
            webhooks.send_test(context, OWNER, endpoint.id)
            outcomes = [o for _ in range(4) for o in _deliver_due(context)]
            assert outcomes == ["failure", "failure", "failure", "success"]
            assert webhooks.queue(context, OWNER, endpoint.id) == {
                "pending": 0, "delivered": 1, "failed": 1}
            # the first message is given up; the next one is sent after it, not before
            first, second = (json.loads(r.body)["id"] for r in receiver.bodies()[::3])
            assert first < second
    finally:
        context.db.close()


def test_an_agents_endpoint_is_checked_again_at_delivery(ctx: ServiceContext) -> None:
    """An agent endpoint accepted while the owner allowed loopback is refused at delivery
    once that is no longer allowed (as when DNS now answers a private address)."""
    agent = _agent(ctx, "rebind")
    allowing = dataclasses.replace(ctx.settings, webhook_agent_allow_http=True,
                                   webhook_agent_networks="127.0.0.0/8")
    with Receiver() as receiver:
        ctx.settings = allowing
        endpoint = webhooks.create(ctx, agent, receiver.url, []).endpoint
        webhooks.send_test(ctx, agent, endpoint.id)
        assert _deliver_due(ctx) == ["success"]
        ctx.settings = dataclasses.replace(allowing, webhook_agent_networks="")
        webhooks.send_test(ctx, agent, endpoint.id)
        assert _deliver_due(ctx) == ["refused"]
        assert len(receiver.bodies()) == 1  # nothing reached the receiver
        [refused, _] = webhooks.deliveries(ctx, agent, endpoint.id)
        assert "127.0.0.1" in (refused["error"] or "")


def test_an_agents_https_endpoint_is_called_on_the_checked_address_with_its_name(
        ctx: ServiceContext) -> None:
    """The connection goes to the address that was checked, yet TLS verifies the certificate
    for the URL's host name and the Host header names it (DNS-rebinding-proof pinning)."""
    ca = trustme.CA()
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(server_tls)  # no IP address in the certificate
    client_tls = ssl.create_default_context()
    ca.configure_trust(client_tls)
    agent = _agent(ctx, "pinned")
    ctx.settings = dataclasses.replace(ctx.settings, webhook_agent_networks="127.0.0.0/8,::1")
    with Receiver(tls=server_tls) as receiver:
        endpoint = webhooks.create(ctx, agent, receiver.url, []).endpoint
        webhooks.send_test(ctx, agent, endpoint.id)

        async def run() -> list[str]:
            poster = WebhookPoster(verify=client_tls)
            try:
                return [await webhooks.deliver(ctx, poster, m)
                        for m in webhooks.due(ctx, 10, set())]
            finally:
                await poster.aclose()

        assert asyncio.run(run()) == ["success"]
        [request] = receiver.bodies()
        assert request.headers["host"] == f"localhost:{receiver.port}"


def test_event_filters_and_owner_scope(ctx: ServiceContext) -> None:
    alice, bob = _agent(ctx, "alice"), _agent(ctx, "bob")
    assert alice.agent is not None and bob.agent is not None
    url = "https://example.org/hook"
    everything = webhooks.create(ctx, OWNER, url, []).endpoint
    groups = webhooks.create(ctx, OWNER, url, ["message.*"], agent="alice").endpoint
    flags = webhooks.create(ctx, OWNER, url, ["message.flags"], agent="bob").endpoint
    with transaction(ctx) as tx:
        tx.emit("message.flags", "alice", {"agent": "alice", "folder": "INBOX", "uid": 1,
                                           "flags": []}, agent_id=alice.agent.id)
        tx.emit("message.expunged", "bob", {"agent": "bob", "folder": "INBOX", "uid": 1},
                agent_id=bob.agent.id)
        tx.emit("relay.disabled", None, {})
    queued = {e.id: webhooks.queue(ctx, OWNER, e.id)["pending"]
              for e in (everything, groups, flags)}
    assert queued == {everything.id: 3, groups.id: 1, flags.id: 0}


def test_an_event_and_its_webhook_messages_commit_together(ctx: ServiceContext) -> None:
    endpoint = webhooks.create(ctx, OWNER, "https://example.org/hook", []).endpoint
    with pytest.raises(RuntimeError), transaction(ctx) as tx:
        tx.emit("relay.disabled", None, {})
        raise RuntimeError("the state change failed")
    assert webhooks.queue(ctx, OWNER, endpoint.id)["pending"] == 0
    assert event_log.after(ctx.db, 0) == []


@pytest.mark.parametrize("bad", [{"webhook_retry_seconds": "1,x"},
                                 {"webhook_retry_seconds": "-1"},
                                 {"webhook_agent_networks": "10.0.0.0/8,nonsense"},
                                 {"webhook_timeout_seconds": 0.0}])
def test_a_bad_webhook_setting_is_a_config_error(tmp_path: Path, bad: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match=next(iter(bad))):
        webhooks.check_settings(Settings(home=tmp_path, **bad))


def test_unknown_event_types_are_refused(ctx: ServiceContext) -> None:
    with pytest.raises(InvalidRequest, match="unknown event type"):
        webhooks.create(ctx, OWNER, "https://example.org/", ["nope.*"])


def test_finished_messages_are_pruned_with_their_attempts(ctx: ServiceContext) -> None:
    with Receiver() as receiver:
        endpoint = webhooks.create(ctx, OWNER, receiver.url, []).endpoint
        webhooks.send_test(ctx, OWNER, endpoint.id)
        assert _deliver_due(ctx) == ["success"]
        webhooks.send_test(ctx, OWNER, endpoint.id)  # still pending: never pruned
    assert webhooks.prune(ctx, keep_seconds=3600) == 0
    assert webhooks.prune(ctx, keep_seconds=-1) == 1
    assert webhooks.queue(ctx, OWNER, endpoint.id) == {"pending": 1, "delivered": 0,
                                                       "failed": 0}
    assert webhooks.deliveries(ctx, OWNER, endpoint.id) == []


def test_a_replay_while_the_message_is_on_its_way_still_sends_it_again(
        ctx: ServiceContext) -> None:
    with Receiver() as receiver:
        endpoint = webhooks.create(ctx, OWNER, receiver.url, []).endpoint
        webhooks.send_test(ctx, OWNER, endpoint.id)
        [taken] = webhooks.due(ctx, 10, set())  # the dispatcher has taken it ...
        assert webhooks.replay(ctx, OWNER, endpoint.id, webhook_id=taken.webhook_id) == 1

        async def run() -> str:
            poster = WebhookPoster()
            try:
                return await webhooks.deliver(ctx, poster, taken)  # ... and now it lands
            finally:
                await poster.aclose()

        assert asyncio.run(run()) == "success"
        assert webhooks.queue(ctx, OWNER, endpoint.id)["pending"] == 1  # the replay stands
        assert _deliver_due(ctx) == ["success"]
        assert [r.webhook_id for r in receiver.bodies()] == [taken.webhook_id] * 2


def test_the_defaults_are_the_issue_s_schedule(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    assert webhooks.retry_delays(settings) == [5, 300, 1800, 7200, 18000, 36000, 36000]
    assert settings.webhook_timeout_seconds == 15
    assert settings.webhook_disable_after_seconds == 5 * 24 * 3600


def test_the_secret_is_stored_encrypted_and_shown_once(ctx: ServiceContext) -> None:
    created = webhooks.create(ctx, OWNER, "https://example.org/hook", [])
    rotated = webhooks.rotate_secret(ctx, OWNER, created.endpoint.id)
    ctx.db.close()  # everything on disk (WAL included) from here
    stored = b"".join(p.read_bytes() for p in ctx.settings.home.glob("agenticmail.db*"))
    for secret in (created.secret, rotated.secret):
        assert secret.encode() not in stored and secret[6:].encode() not in stored
    assert "secret" not in created.endpoint.to_dict()
    assert "secret" not in json.dumps(created.endpoint.to_dict())


def test_an_agents_changes_and_a_disabling_are_audited(ctx: ServiceContext) -> None:
    agent = _agent(ctx, "audited")
    ctx.settings = dataclasses.replace(ctx.settings, webhook_agent_allow_http=True,
                                       webhook_agent_networks="127.0.0.0/8")
    with Receiver() as receiver:
        endpoint = webhooks.create(ctx, agent, receiver.url + "?token=s3cret", []).endpoint
        webhooks.rotate_secret(ctx, agent, endpoint.id)
        receiver.answer(410)
        webhooks.send_test(ctx, agent, endpoint.id)
        assert _deliver_due(ctx) == ["gone"]
    webhooks.delete(ctx, agent, endpoint.id)
    entries = audit.list_entries(ctx, limit=10)["entries"]
    assert [(e["actor"], e["action"]) for e in reversed(entries)] == [
        ("agent:audited", "webhook.create"), ("agent:audited", "webhook.rotate_secret"),
        ("system", "webhook.disable"), ("agent:audited", "webhook.delete")]
    assert entries[-1]["detail"] == {"host": "127.0.0.1"}
    assert "s3cret" not in json.dumps(entries)
